"""The communication bound with the DP overlap's interference (issue 14, s18): ``kappa x sync`` of an overlapped
ZeRO 0-2 sync and ``kappa x`` every ZeRO-3 layer's gather and reduce-scatter are always exposed (and all of them
without the overlap), so the bound adds them (comm_bound.py items 3-4). It must stay below ``training_step``'s step
for any interference in [0, 1], with and without the DP overlap, and the pruned search must still return the
exhaustive search's mapping."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest
from random_hardware import CAL, TECH, candidate_key_tables, random_candidates

from archsweep.load.workloads import load_workload
from archsweep.model.driver import _best_mappings
from archsweep.model.training import comm_bound, key_tables
from archsweep.model.training import pruned_search as ps
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.mapping import MappingArrays, enumerate_mappings
from archsweep.model.training.search_bounds import block_bounds
from archsweep.model.training.step import training_step
from archsweep.spec.hardware import HardwareArrays


def _both_overlaps(name: str) -> tuple:
    """(workload, its TP-overlapped mappings with the DP overlap on, then the same with it off, fixed dp)."""
    wl = load_workload(name)
    on, fixed_dp = enumerate_mappings(wl, tp_overlap=True)
    off, _ = enumerate_mappings(wl, {"dp_overlap": 0}, tp_overlap=True)
    both = MappingArrays(**{f.name: np.concatenate([np.asarray(getattr(on, f.name)).reshape(-1),
                                                    np.asarray(getattr(off, f.name)).reshape(-1)]) for f in fields(on)})
    return wl, both, fixed_dp


@pytest.mark.parametrize(("workload", "n"), [("llama3-70b", 6), ("deepseek-v3", 2)])
@pytest.mark.parametrize("kappa", [0.2, 0.6, 1.0])
def test_bound_with_interference_is_below_every_step_time(workload, n, kappa):
    cal = replace(CAL, overlap_interference=kappa)
    wl, mappings, fixed_dp = _both_overlaps(workload)
    hw = random_candidates(n, seed=int(10 * kappa) + n)
    key_of, bound, launch, _, _ = candidate_key_tables(hw, wl, mappings, fixed_dp, cal)
    mp2 = mappings.reshape((1, len(mappings)))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        res = training_step(HardwareArrays(**{k: v[:, None] for k, v in hw.columns().items()}), wl, mp2, cal, fixed_dp)
    x = comm_bound.features(hw, cal)
    for i in range(n):
        l1, l2, dov, window = comm_bound.coefficients(wl, mp2, cal, fixed_dp, hw.accelerator_count[i],
                                                      hw.scaleup_domain_size[i])
        lb = block_bounds(bound[key_of[i]][None], launch[key_of[i]][None], hw.clock_hz[i:i + 1], x[i:i + 1],
                          l1[0], l2[0], dov[0], window[0])[0]
        ok = res.valid[i]
        assert np.all(lb[ok] <= res.step_time_s[i][ok] * (1 + 1e-8))


@pytest.mark.parametrize("kappa", [0.2, 1.0])
def test_pruned_search_with_interference_equals_exhaustive(kappa):
    cal = replace(CAL, overlap_interference=kappa)
    wl, mappings, fixed_dp = _both_overlaps("llama3-70b")
    hw = random_candidates(40, seed=18)
    key_tables.clear_cache()
    got = ps.best_mapping_indices(hw, wl, mappings, fixed_dp, cal, "step_time_s")
    want = _best_mappings(TrainingJobKind(wl, cal), hw, mappings, "step_time_s", TECH)
    np.testing.assert_array_equal(got, want)
