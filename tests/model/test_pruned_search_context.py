"""The search context (cache key prefix) hashes once and behaves as the plain tuple it wraps."""

from __future__ import annotations

import pickle

from archsweep.load.calibration import load_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.training import key_tables
from archsweep.model.training.mapping import enumerate_mappings


def test_context_equals_and_hashes_as_its_tuple() -> None:
    wl, cal = load_workload("llama3-8b"), load_calibration()
    mappings, fixed_dp = enumerate_mappings(wl)
    ctx = key_tables.context(wl, mappings, fixed_dp, cal)
    plain = tuple(ctx)
    assert ctx == plain and hash(ctx) == hash(plain)
    assert {(plain, "tables", (1.0,)): 7}[(ctx, "tables", (1.0,))] == 7
    again = pickle.loads(pickle.dumps(ctx))
    assert again == ctx and hash(again) == hash(ctx)
    assert key_tables.context(wl, mappings, fixed_dp, cal) == ctx  # same inputs: same cache entries
