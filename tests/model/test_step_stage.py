"""Issue 14 (speed, s10): the pruned search's last round reuses the refined bound's compute side.

``search_bounds.refined_stage`` evaluates ``stage_compute`` once per (candidate, compute class) of the
pairs it bounds; ``training_step(stage=step.take_stage(...))`` of those pairs (their own mappings: the ZeRO
stage and the overlap flags may differ from the class's first mapping) returns every output of the plain
``training_step``, element for element (``assert_array_equal``, not a tolerance), for dense, MoE, MLA,
FP8, LoRA and module-recompute workloads on random hardware at several accelerator counts. The DP
collectives of one group share their placement and bandwidths (``collectives.tiers``): the same times as
the per-collective functions.
"""

from __future__ import annotations

import numpy as np
import pytest
import random_hardware as rh

from archsweep.model import collectives as coll
from archsweep.model.training import key_tables
from archsweep.model.training.mapping import enumerate_mappings
from archsweep.model.training.search_bounds import refined_bounds, refined_stage
from archsweep.model.training.step import take_stage, training_step


@pytest.mark.parametrize(("name", "variant"), rh.WORKLOAD_VARIANTS)
def test_training_step_with_the_refined_stage_is_the_plain_step(name, variant):
    wl = rh.workload_variant(name, variant)
    mappings, fixed_dp = enumerate_mappings(wl)
    hw, rows, cols, rng = rh.random_pairs(mappings, 7, 2000, seed=51)
    classes = key_tables.compute_classes(mappings)
    zero = np.zeros(len(rows))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        bound, stage = refined_stage(hw, wl, mappings, fixed_dp, rh.CAL, classes, rows, cols, zero, zero, zero)
        np.testing.assert_array_equal(bound, refined_bounds(hw, wl, mappings, fixed_dp, rh.CAL, classes, rows, cols,
                                                            zero, zero, zero))
        assert stage is not None
        sc, position, size = stage
        assert size < len(rows)  # pairs of one (candidate, compute class) share a position
        keep = rng.random(len(rows)) < 0.5  # the survivors of the refined bound, in the search
        part, mp = rh.pair_arrays(hw, mappings, rows[keep], cols[keep])
        reused = training_step(part, wl, mp, rh.CAL, fixed_dp, take_stage(sc, position[keep], size))
        plain = training_step(part, wl, mp, rh.CAL, fixed_dp)
    assert np.isfinite(plain.step_time_s).any()
    rh.assert_fields_equal(reused, plain)


def test_collectives_on_shared_tiers_equal_the_plain_ones():
    hw = rh.random_candidates(64, seed=53)
    rng = np.random.default_rng(54)
    n = rng.choice([1.0, 2.0, 8.0, 16.0, 64.0, 256.0], 64)
    stride = rng.choice([1.0, 2.0, 4.0, 8.0, 32.0], 64)
    size = rng.uniform(1e3, 1e10, 64)
    on = coll.tiers(hw, n, stride, 0.8)
    np.testing.assert_array_equal(coll.allreduce_on(hw, size, on), coll.allreduce_time_s(hw, size, n, stride, 0.8))
    np.testing.assert_array_equal(coll.sharded_on(hw, size, on), coll.reduce_scatter_time_s(hw, size, n, stride, 0.8))
    np.testing.assert_array_equal(coll.sharded_on(hw, size, on), coll.all_gather_time_s(hw, size, n, stride, 0.8))
