"""Issue 14 (first-batch speed): the cheaper ways the pruned search builds its key tables give the
same numbers as the ways they replace.

* ``stage_compute`` is the compute side of ``training_step``: its compute, recompute and bubble
  are training_step's own arrays (bit for bit), so tables built from it bound the step as before;
* the A table on a (keys x mappings) grid per accelerator count equals the flat per-pair
  evaluation it replaced (bit for bit: the same elementwise operations, broadcast);
* ``unique_rows`` equals ``np.unique(axis=0, return_inverse=True)``;
* the key budget is cost-aware: a small batch over many mappings buys few keys.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from random_hardware import CAL, random_candidates

from archsweep.load.workloads import load_workload
from archsweep.model.training import key_tables
from archsweep.model.training.mapping import enumerate_mappings
from archsweep.model.training.step import stage_compute, training_step
from archsweep.spec.hardware import HardwareArrays


@pytest.mark.parametrize("workload", ["llama3-70b", "deepseek-v3"])
def test_stage_compute_is_training_steps_compute_side(workload):
    wl = load_workload(workload)
    mappings, fixed_dp = enumerate_mappings(wl)
    hw = random_candidates(6, seed=11)
    rows = HardwareArrays(**{k: v[:, None] for k, v in hw.columns().items()})
    mp2 = mappings.reshape((1, len(mappings)))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        res = training_step(rows, wl, mp2, CAL, fixed_dp)
        sc = stage_compute(rows, wl, mp2, CAL, fixed_dp)
    for got, want in ((sc.compute, res.compute_time_s), (sc.recompute, res.recompute_time_s), (sc.bubble, res.bubble_time_s)):
        np.testing.assert_array_equal(np.broadcast_to(got, want.shape), want)
    assert np.all(np.broadcast_to(sc.valid, res.valid.shape) >= res.valid)  # training_step adds the offload check


@pytest.mark.parametrize("workload", ["llama3-70b", "deepseek-v3"])
def test_grid_tables_equal_the_flat_evaluation(workload):
    wl = load_workload(workload)
    mappings, fixed_dp = enumerate_mappings(wl)
    hw = random_candidates(40, seed=12)
    key_rows, key_of = key_tables.keys(hw, wl.training.precision == "fp8", None, budget=10**9)
    key_rows = key_rows[:12]
    first = np.zeros(len(key_rows), dtype=np.int64)
    _, _, valid, _ = key_tables.per_key_tables(hw, wl, mappings, fixed_dp, CAL, key_rows, first)
    assert valid.any()
    got = key_tables._compute_tables(hw, wl, mappings, fixed_dp, CAL, key_rows, first, valid)
    ideal = key_tables._ideal_rows(hw, key_rows, first)
    r, c = np.nonzero(valid)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        sc = stage_compute(HardwareArrays(**{n: v[r] for n, v in ideal.columns().items()}), wl, mappings.take(c),
                           replace(CAL, kernel_overhead_s=0.0), fixed_dp)
    want = np.zeros(valid.shape)
    want[r, c] = sc.compute + sc.recompute + sc.bubble
    np.testing.assert_array_equal(got, want)


def test_unique_rows_is_numpys_unique_over_rows():
    rng = np.random.default_rng(3)
    cases = [rng.integers(0, 4, (500, 6)).astype(float) * 1.5, rng.uniform(size=(300, 3)),
             rng.uniform(size=(2000, 8)),  # 2,000^8 codes overflow int64: numpy's own form
             np.zeros((0, 4)), np.full((7, 2), 4096.0), np.array([[1.0, np.nan], [1.0, np.nan], [0.0, 2.0]])]
    for a in cases:
        found, inverse = np.unique(a, axis=0, return_inverse=True)
        got, got_inverse = key_tables.unique_rows(a)
        np.testing.assert_array_equal(got, found)
        np.testing.assert_array_equal(got_inverse, inverse.reshape(-1))


def test_small_batch_over_many_mappings_buys_few_keys():
    """100 candidates over DeepSeek-V3's ~20,000 mappings: at most _MIN_KEYS + 100 * _KEY_WORK /
    mappings new keys (a key costs one pass over the count's valid mappings), or the coarsest
    ladder's keys where even those are more; with one mapping the same batch gets more keys."""
    cols = {k: np.asarray(v).copy() for k, v in random_candidates(100, seed=13).columns().items()}
    cols["accelerator_count"][:] = 4096.0  # one count and efficiency: the fields vary, the ladders can round
    cols["matrix_efficiency"][:] = 0.7
    hw = HardwareArrays(**cols)
    m = len(enumerate_mappings(load_workload("deepseek-v3"))[0])
    rows, _ = key_tables.keys(hw, False, None, mappings=m)
    cap = key_tables._MIN_KEYS + 100 * key_tables._KEY_WORK // m
    # The coarsest ladder (one step per octave) is taken whatever its size: the cap is the larger.
    exact, _ = key_tables.keys(hw, False, None, budget=10**9)
    coarse = np.column_stack([exact[:, 0]] + [key_tables._round_up(exact[:, j], 1) for j in range(1, exact.shape[1])])
    assert cap < 32
    assert len(rows) <= max(cap, len(key_tables.unique_rows(coarse)[0]))
    assert len(key_tables.keys(hw, False, None, mappings=1)[0]) > len(rows)  # few mappings: more keys
