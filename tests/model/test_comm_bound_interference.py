"""The communication bound with the DP overlap's interference (issue 14, s18): ``kappa x sync`` of an overlapped
ZeRO 0-2 sync and ``kappa x`` every ZeRO-3 layer's gather and reduce-scatter are always exposed (and all of them
without the overlap), so the bound adds them (comm_bound.py items 3-4). It must stay below ``training_step``'s step
for any interference in [0, 1], with and without the DP overlap, and the pruned search must still return the
exhaustive search's mapping."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest
from random_hardware import CAL, TECH, assert_bound_below_step, random_candidates

from archsweep.load.workloads import load_workload
from archsweep.model.driver import _best_mappings
from archsweep.model.training import key_tables
from archsweep.model.training import pruned_search as ps
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.mapping import MappingArrays, enumerate_mappings

#: DeepSeek-V3's 61 layers over 16 stages with the MTP layer beside four on the last: that rank builds 5 layers.
HEAVY_LAST = "Et|(t*4|)*14t*4mL"


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
    assert_bound_below_step(wl, mappings, fixed_dp, cal, random_candidates(n, seed=int(10 * kappa) + n))


@pytest.mark.parametrize("kappa", [0.0, 0.2])
def test_zero3_bound_under_a_stated_layout_is_below_every_step_time(kappa):
    """Issue 14 (s18-R): under a stated pipeline layout the model divides a stage's ZeRO-3 gathers by the busiest
    rank's transformer + MTP layers (5 under HEAVY_LAST at pp 16, not ceil(61 / 16) = 4); the bound divides by the
    same count (layout_stage_layers), so its first-layer gathers never exceed the model's."""
    cal = replace(CAL, overlap_interference=kappa)
    wl = load_workload("deepseek-v3")
    wl = replace(wl, training=replace(wl.training, pipeline_layout=HEAVY_LAST))
    on, fixed_dp = enumerate_mappings(wl, {"zero_stage": 3, "pp": 16, "vpp": 1, "cp": 1}, tp_overlap=True)
    assert_bound_below_step(wl, on, fixed_dp, cal, random_candidates(3, seed=7))


@pytest.mark.parametrize("kappa", [0.2, 1.0])
def test_pruned_search_with_interference_equals_exhaustive(kappa):
    cal = replace(CAL, overlap_interference=kappa)
    wl, mappings, fixed_dp = _both_overlaps("llama3-70b")
    hw = random_candidates(40, seed=18)
    key_tables.clear_cache()
    got = ps.best_mapping_indices(hw, wl, mappings, fixed_dp, cal, "step_time_s")
    want = _best_mappings(TrainingJobKind(wl, cal), hw, mappings, "step_time_s", TECH)
    np.testing.assert_array_equal(got, want)
