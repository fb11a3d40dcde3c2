"""The pruned best-mapping search returns exactly the exhaustive search's mapping, and its bound
is a true lower bound of training_step's step time (random candidates, dense and MoE)."""

from __future__ import annotations

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import _best_mappings
from archsweep.model.training import pruned_search as ps
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.mapping import enumerate_mappings
from archsweep.model.training.search_bounds import block_bounds
from archsweep.model.training.step import training_step
from archsweep.spec.hardware import HardwareArrays

TECH = load_technology()

CAL = load_calibration()


def _random_candidates(n: int, seed: int) -> HardwareArrays:
    """Wide random perturbations of H100-SXM: compute, clock, HBM, both networks, topologies, counts."""
    rng = np.random.default_rng(seed)
    base = get_accelerator("H100-SXM").design
    cols = {k: np.full(n, v, dtype=object if isinstance(v, str) else float) for k, v in base.as_dict().items()}
    cols["compute_units"] = rng.integers(32, 300, n).astype(float)
    cols["matrix_flops_per_cycle_per_unit_fp8"] = rng.choice([0.0, 4096.0, 8192.0], n)
    cols["matrix_efficiency"] = rng.uniform(0.5, 0.95, n)
    cols["clock_hz"] = rng.uniform(0.8e9, 2.5e9, n)
    cols["hbm_stacks"] = rng.integers(2, 9, n).astype(float)
    cols["hbm_bw_per_stack_bytes_per_s"] = rng.uniform(200e9, 2e12, n)
    cols["hbm_capacity_per_stack_bytes"] = rng.choice([8e9, 16e9, 24e9, 36e9], n)
    cols["scaleup_bw_bytes_per_s"] = rng.uniform(50e9, 1.8e12, n)
    cols["scaleout_bw_bytes_per_s"] = rng.uniform(12.5e9, 400e9, n)
    cols["scaleup_latency_s"] = rng.uniform(0.5e-6, 5e-6, n)
    cols["scaleout_latency_s"] = rng.uniform(2e-6, 20e-6, n)
    cols["scaleup_domain_size"] = rng.choice([4.0, 8.0, 16.0, 64.0, 72.0], n)
    cols["scaleup_topology"] = rng.choice(["switched", "torus2d", "torus3d"], n).astype(object)
    cols["scaleout_topology"] = rng.choice(["rail_optimized", "fat_tree", "dragonfly", "torus3d"], n).astype(object)
    cols["scaleout_oversubscription"] = rng.choice([1.0, 2.0, 4.0], n)
    cols["accelerator_count"] = rng.choice([64.0, 512.0, 1024.0, 2048.0, 4096.0, 6144.0], n)
    return HardwareArrays.from_columns(cols)


def _key_tables(hw: HardwareArrays, wl, mappings, fixed_dp, cal=CAL) -> tuple[np.ndarray, ...]:
    """The pruned search's per-key tables for ``hw`` (each key's first candidate as its row):
    (key_of, bound, launch, valid, total), ``key_of[i]`` the table row of candidate i."""
    keys, key_of = ps._keys(hw, wl.training.precision == "fp8")
    first = np.zeros(len(keys), dtype=np.int64)
    first[key_of[::-1]] = np.arange(len(key_of))[::-1]
    return (key_of, *ps._per_key_tables(hw, wl, mappings, fixed_dp, cal, keys, first))


CASES = [("llama3-70b", 300), ("mixtral-8x7b", 40), ("deepseek-v3", 40),
         pytest.param("llama3-70b", 3000, marks=pytest.mark.slow), pytest.param("mixtral-8x7b", 2000, marks=pytest.mark.slow),
         pytest.param("deepseek-v3", 2000, marks=pytest.mark.slow)]


@pytest.mark.parametrize(("workload", "n"), CASES)
@pytest.mark.parametrize("objective", ["step_time_s", "memory_per_accelerator_bytes"])
def test_same_index_as_exhaustive(workload, n, objective):
    wl = load_workload(workload)
    mappings, fixed_dp = enumerate_mappings(wl)
    hw = _random_candidates(n, seed=len(workload))
    want = _best_mappings(TrainingJobKind(wl, CAL), hw, mappings, objective, TECH)
    got = ps.best_mapping_indices(hw, wl, mappings, fixed_dp, CAL, objective)
    assert np.array_equal(got, want)


@pytest.mark.parametrize(("workload", "n", "per_domain"), [("llama3-70b", 30, 0.0), ("mixtral-8x7b", 4, 0.0),
                                                     ("deepseek-v3", 4, 0.0), ("deepseek-v3", 4, 1.0)])
def test_bound_is_below_every_step_time(workload, n, per_domain):
    """The full bound (compute table / clock + launch overhead, max DP overlap, + communication)
    is <= step_time_s for every candidate and valid mapping, and the feasibility tables equal
    training_step's (valid, memory) on the real candidate; also with the per-domain EP dispatch
    (``moe_dispatch_per_domain``, tests/model/test_ep_dispatch.py)."""
    from dataclasses import replace

    from archsweep.model.training import comm_bound

    cal = replace(CAL, moe_dispatch_per_domain=per_domain)
    wl = load_workload(workload)
    mappings, fixed_dp = enumerate_mappings(wl)
    hw = _random_candidates(n, seed=7)
    key_of, bound, launch, valid, total = _key_tables(hw, wl, mappings, fixed_dp, cal)
    rows = HardwareArrays(**{k: v[:, None] for k, v in hw.columns().items()})
    mp2 = mappings.reshape((1, len(mappings)))
    res = training_step(rows, wl, mp2, cal, fixed_dp)
    x = comm_bound.features(hw, cal)
    lb = np.empty(res.step_time_s.shape)
    for i in range(n):
        l1, l2, dov, window = comm_bound.coefficients(wl, mp2, cal, fixed_dp, hw.accelerator_count[i],
                                                      hw.scaleup_domain_size[i])
        lb[i] = block_bounds(bound[key_of[i]][None], launch[key_of[i]][None], hw.clock_hz[i:i + 1], x[i:i + 1],
                                 l1[0], l2[0], dov[0], window[0])[0]
    assert np.array_equal(valid[key_of], res.valid)
    assert np.array_equal(total[key_of], res.memory.total_bytes)
    ok = res.valid
    assert np.all(lb[ok] <= res.step_time_s[ok] * (1 + 1e-8))  # rounding: ~1e-10 seen; search margin 1e-6
    assert np.all(lb[ok] > 0)


def test_issue_14_counts_without_a_valid_mapping_are_batched_and_exact():
    """768 = 3 x 256 accelerators with Llama-3 70B's global batch of 512: no mapping is valid, so
    every candidate takes the fallback; it was evaluated one candidate per call (87 candidates/s,
    2.3x slower than the exhaustive search) and is now batched, with the same indices."""
    wl = load_workload("llama3-70b")
    mappings, fixed_dp = enumerate_mappings(wl)
    hw = _random_candidates(120, seed=14)
    cols = {k: np.asarray(v).copy() for k, v in hw.columns().items()}
    cols["accelerator_count"][:80] = 768.0  # most without a valid mapping, the rest as drawn
    hw = HardwareArrays(**cols)
    got = ps.best_mapping_indices(hw, wl, mappings, fixed_dp, CAL, "step_time_s")
    want = _best_mappings(TrainingJobKind(wl, CAL), hw, mappings, "step_time_s", TECH)
    np.testing.assert_array_equal(got, want)
