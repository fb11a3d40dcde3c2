"""The pruned search's per-key tables are cached across batches of one process (issue 14): a warm
cache makes the keys finer (tighter bounds), never changes the answer."""

from __future__ import annotations

import numpy as np
from model_helpers import cold_key_context
from random_hardware import CAL, TECH

from archsweep.model.driver import _best_mappings
from archsweep.model.training import key_tables, table_cache
from archsweep.model.training import pruned_search as ps
from archsweep.model.training.job_kind import TrainingJobKind


def test_warm_cache_gives_exact_keys_and_the_exhaustive_answer():
    wl, mappings, fixed_dp, ctx, hw = cold_key_context("llama3-70b", 120, 3)
    cold, _ = key_tables.keys(hw, False, ctx)
    exact, _ = key_tables.keys(hw, False, None, budget=10**9)
    assert len(cold) < len(exact)  # a cold cache and 120 distinct designs: rounded keys
    key_tables.lookup(hw, wl, mappings, fixed_dp, CAL, ctx, exact)  # warm every exact key
    warm, _ = key_tables.keys(hw, False, ctx)
    np.testing.assert_array_equal(warm, exact)
    # Cached tables equal freshly computed ones.
    fresh = key_tables.per_key_tables(hw, wl, mappings, fixed_dp, CAL, exact[:3], np.zeros(3, dtype=np.int64))
    for got, want in zip(key_tables.lookup(hw, wl, mappings, fixed_dp, CAL, ctx, exact[:3]), fresh):
        np.testing.assert_array_equal(got, want)
    want = _best_mappings(TrainingJobKind(wl, CAL), hw, mappings, "step_time_s", TECH)
    for _ in range(2):  # warm, then warm again (nothing recomputed)
        np.testing.assert_array_equal(ps.best_mapping_indices(hw, wl, mappings, fixed_dp, CAL, "step_time_s"), want)
    key_tables.clear_cache()
    np.testing.assert_array_equal(ps.best_mapping_indices(hw, wl, mappings, fixed_dp, CAL, "step_time_s"), want)


def test_cache_is_bounded_in_bytes():
    lru = table_cache._Lru(1000)
    for i in range(10):
        lru.put(i, (np.zeros(50),))  # 400 bytes each
    assert sum(v[0].nbytes for v in lru._data.values()) <= 1000
    assert 9 in lru and 0 not in lru
