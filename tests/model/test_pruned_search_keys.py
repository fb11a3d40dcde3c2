"""Issue 14 (speed): the pruning arguments added for per-core speed, each checked on its own.

* launch, validity and memory per accelerator count: the clock-free part of compute + recompute +
  bubble is kernel_overhead_s times kernel counts, which no hardware field but the count changes;
* mixed ladders: every candidate's key is its own values rounded UP (any such key bounds its
  step), cached finer keys are preferred, and the answer stays the exhaustive one over batches
  that warm the cache;
* the first-index tie rule of the final argmin.
"""

from __future__ import annotations

import numpy as np
import pytest
from model_helpers import cold_key_context
from random_hardware import CAL, TECH, random_candidates

from archsweep.load.workloads import load_workload
from archsweep.model.driver import _best_mappings
from archsweep.model.training import key_tables
from archsweep.model.training import pruned_search as ps
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.mapping import enumerate_mappings
from archsweep.spec.hardware import HardwareArrays


def _with_count(hw: HardwareArrays, count: float) -> HardwareArrays:
    cols = {k: np.asarray(v).copy() for k, v in hw.columns().items()}
    cols["accelerator_count"][:] = count
    return HardwareArrays(**cols)


@pytest.mark.parametrize("workload", ["llama3-70b", "deepseek-v3"])
def test_launch_valid_memory_depend_on_the_count_only(workload):
    """The per-count tables computed from any of 6 very different hardware rows are identical."""
    wl = load_workload(workload)
    mappings, fixed_dp = enumerate_mappings(wl)
    hw = _with_count(random_candidates(6, seed=41), 1024.0)
    tables = [key_tables._count_tables(hw, wl, mappings, fixed_dp, CAL, np.array([1024.0]), np.array([i]))
              for i in range(6)]
    for other in tables[1:]:
        for got, want in zip(other, tables[0]):
            np.testing.assert_array_equal(got, want)
    launch, valid, _ = tables[0]
    assert np.all(launch[valid] > 0)  # kernel_overhead_s > 0: a real, not a vacuous, bound term


def test_keys_round_up_and_prefer_cached_finer_keys():
    wl, mappings, fixed_dp, ctx, hw = cold_key_context("llama3-70b", 400, 5)
    rows, key_of = key_tables.keys(hw, False, ctx, mappings=len(mappings))
    exact_rows, exact_of = key_tables.keys(hw, False, None, budget=10**9)  # each candidate's own values
    mine = exact_rows[exact_of]
    assert np.array_equal(rows[key_of][:, 0], mine[:, 0])  # same accelerator count
    assert np.all(rows[key_of][:, 1:] >= mine[:, 1:])  # every other field rounded up
    assert len(rows) < len(exact_rows)
    # Warm the exact keys of the first 50 candidates: they take them, the others keep rounded keys.
    key_tables.lookup(hw, wl, mappings, fixed_dp, CAL, ctx, np.unique(mine[:50], axis=0))
    rows2, key_of2 = key_tables.keys(hw, False, ctx, mappings=len(mappings))
    np.testing.assert_array_equal(rows2[key_of2][:50], mine[:50])
    assert np.all(rows2[key_of2][:, 1:] >= mine[:, 1:])
    key_tables.clear_cache()


@pytest.mark.parametrize(("workload", "n", "batches", "narrow"),
                         [("llama3-70b", 200, 4, False), ("llama3-70b", 300, 4, True), ("deepseek-v3", 30, 3, False)])
def test_exhaustive_answer_while_the_cache_warms(workload, n, batches, narrow):
    """Batches in one process (keys bought, mixed ladders, cached tables): always the exhaustive
    index. ``narrow``: one count and efficiency, so candidates share keys and the leftover budget
    buys finer ones (checked: some candidate of a later batch gets a key of a finer ladder)."""
    wl = load_workload(workload)
    mappings, fixed_dp = enumerate_mappings(wl)
    key_tables.clear_cache()
    kind = TrainingJobKind(wl, CAL)
    for seed in range(batches):
        hw = random_candidates(n, seed=100 + seed)
        if narrow:
            cols = {k: np.asarray(v).copy() for k, v in hw.columns().items()}
            cols["accelerator_count"][:] = 4096.0
            cols["matrix_efficiency"][:] = 0.7
            hw = HardwareArrays(**cols)
        want = _best_mappings(kind, hw, mappings, "step_time_s", TECH)
        np.testing.assert_array_equal(ps.best_mapping_indices(hw, wl, mappings, fixed_dp, CAL, "step_time_s"), want)
    if narrow:  # the last batch mixes ladders: some candidates got a key finer than others'
        ctx = key_tables.context(wl, mappings, fixed_dp, CAL)
        rows, key_of = key_tables.keys(hw, False, ctx, mappings=len(mappings))
        own_rows, own_of = key_tables.keys(hw, False, None, budget=10**9)
        own = own_rows[own_of]
        ladder = np.full(n, -1)
        for level, steps in enumerate(key_tables._LADDERS):
            last = len(key_tables.KEY_FIELDS) + 2  # count, KEY_FIELDS and HBM bytes/cycle round; the law columns are exact
            rounded = np.column_stack([own[:, 0]] + [key_tables._round_up(own[:, j], steps) for j in range(1, last)]
                                      + [own[:, last:]])
            ladder[(ladder < 0) & np.all(rows[key_of] == rounded, axis=1)] = level
        assert np.all(ladder >= 0) and len(np.unique(ladder)) >= 2
    key_tables.clear_cache()


def test_mixed_keys_stay_within_the_table_bound(monkeypatch):
    """A warm cache of exact keys never lets a batch's tables exceed _TABLE_ELEMENTS (memory)."""
    wl = load_workload("llama3-70b")
    mappings, fixed_dp = enumerate_mappings(wl)
    key_tables.clear_cache()
    ctx = key_tables.context(wl, mappings, fixed_dp, CAL)
    hw = random_candidates(300, seed=9)
    exact_rows, _ = key_tables.keys(hw, False, None, budget=10**9)
    key_tables.lookup(hw, wl, mappings, fixed_dp, CAL, ctx, exact_rows)
    monkeypatch.setattr(key_tables, "_TABLE_ELEMENTS", 200 * len(mappings))
    rows, key_of = key_tables.keys(hw, False, ctx, mappings=len(mappings))
    assert len(rows) <= 200 < len(exact_rows)
    np.testing.assert_array_equal(rows[key_of][:, 0], exact_rows[key_tables.keys(hw, False, None, budget=10**9)[1]][:, 0])
    key_tables.clear_cache()


def test_first_minimum_takes_the_first_index_among_ties():
    owner = np.array([0, 0, 0, 1, 1, 2])
    score = np.array([2.0, 1.0, 1.0, np.inf, np.inf, 3.0])
    index = np.array([7, 9, 4, 5, 3, 8])
    low = np.array([1.0, np.inf, 3.0, np.inf])
    np.testing.assert_array_equal(ps._first_minimum(owner, score, index, low), [4, 3, 8, -1])
