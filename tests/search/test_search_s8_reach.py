"""``neighbour_reach`` (issue 14, eighth session): a front point's neighbours include the moves of
up to ``reach`` steps on one axis, in the Pareto local search (before the two-axis moves) and among
the surrogate's candidates. Behaviour: the neighbourhood is what it says, the proposals are new grid
points (no point asked twice, so every proposal is one model evaluation), the same seed gives the
same trials, and the option reaches both samplers or is refused without them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from search_study import sampler_options_error
from search_toy_space import SPACE, asked_and_told, grid_index, objectives

from archsweep.load.searchspec import parse_search_spec
from archsweep.search.grid import nearest_ring, neighbours
from archsweep.search.localsearch import ParetoLocalSearchSampler, _Parents
from archsweep.search.storage import make_sampler
from archsweep.search.surrogate import SurrogateSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_neighbours_within_reach_nearest_first() -> None:
    one, two = neighbours((1, 4), (10, 6), 2, reach=3)
    assert one[:4] == [(0, 4), (2, 4), (1, 3), (1, 5)]  # one step first
    assert set(one) == {(0, 4), (2, 4), (3, 4), (4, 4), (1, 1), (1, 2), (1, 3), (1, 5)}  # inside the grid only
    assert two == neighbours((1, 4), (10, 6), 2)[1]  # the two-axis moves stay one step on each axis
    assert neighbours((1, 4), (10, 6), 2, reach=1) == neighbours((1, 4), (10, 6), 2)


def test_local_search_steps_two_levels_once_one_step_is_known() -> None:
    """Every one-step neighbour of the only parent known: with reach 2 the proposal is a two-step
    move on one axis, not a two-axis move."""
    sampler = ParetoLocalSearchSampler(optuna.samplers.RandomSampler(seed=0), SPACE, start=0, seed=0, reach=2)
    parent = (4, 4, 1)
    one, _ = neighbours(parent, sampler._sizes, 1)
    chosen = sampler._drawn(_Parents((parent,), np.ones(1)), {parent, *one}, set(), np.random.default_rng(0))
    assert chosen is not None and sum(a != b for a, b in zip(chosen, parent)) == 1
    assert max(abs(a - b) for a, b in zip(chosen, parent)) == 2


def test_local_search_proposes_the_nearest_ring_first() -> None:
    """README: the moves of up to ``reach`` steps, nearest first. With one one-step move of the only
    parent still free (its two-step moves all free), every seed proposes it; once it is in flight, a
    two-step move comes, not a two-axis one."""
    sampler = ParetoLocalSearchSampler(optuna.samplers.RandomSampler(seed=0), SPACE, start=0, seed=0, reach=2)
    parent = (4, 4, 1)
    one, _ = neighbours(parent, sampler._sizes, 1)
    known = {parent, *one[1:]}
    for seed in range(20):
        assert sampler._drawn(_Parents((parent,), np.ones(1)), known, set(), np.random.default_rng(seed)) == one[0]
    chosen = sampler._drawn(_Parents((parent,), np.ones(1)), known, {one[0]}, np.random.default_rng(0))
    assert chosen is not None and sorted(abs(a - b) for a, b in zip(chosen, parent)) == [0, 0, 2]
    assert nearest_ring(parent, [(6, 4, 1), (5, 4, 1), (4, 2, 1)]) == [(5, 4, 1)]
    assert nearest_ring(parent, []) == []


def _local(seed: int, reach: int) -> ParetoLocalSearchSampler:
    return ParetoLocalSearchSampler(optuna.samplers.RandomSampler(seed=seed), SPACE, start=30, seed=seed, reach=reach)


def test_local_search_with_reach_proposes_new_points_and_is_seeded() -> None:
    asked = asked_and_told(_local(0, 2), 120, objectives)
    indices = [grid_index(p) for p in asked]
    start = next(b for b in range(0, 120, 4) if len(set(indices[:b])) >= 30)
    assert all(indices[n] not in indices[:n] for n in range(start, 120))  # no point asked twice in the local phase
    assert len(set(indices[start:])) == 120 - start  # each local trial is a distinct (counted) evaluation
    assert asked == asked_and_told(_local(0, 2), 120, objectives)
    assert asked != asked_and_told(_local(1, 2), 120, objectives)
    assert asked != asked_and_told(_local(0, 1), 120, objectives)  # the option changes the trials


def test_surrogate_with_reach_proposes_new_points_and_is_seeded() -> None:
    def run(seed: int) -> list[dict[str, Any]]:
        sampler = SurrogateSampler(optuna.samplers.RandomSampler(seed=seed), SPACE, start=12, share=1.0, seed=seed,
                                   reach=2)
        return asked_and_told(sampler, 40, objectives)

    asked = run(3)
    indices = [grid_index(p) for p in asked]
    assert all(indices[n] not in indices[:n] for n in range(12, 40))
    assert asked == run(3)


def test_reach_argument_errors() -> None:
    with pytest.raises(ValueError, match="reach: got 0"):
        ParetoLocalSearchSampler(optuna.samplers.RandomSampler(), SPACE, start=1, reach=0)
    with pytest.raises(ValueError, match="reach: got 0"):
        SurrogateSampler(optuna.samplers.RandomSampler(), SPACE, start=2, share=0.5, reach=0)


def test_option_reaches_both_samplers() -> None:
    spec = parse_search_spec({"parameters": {"tdp_w": {"values": ["700 W", "800 W", "900 W"]},
                                             "compute_units": {"range": [66, 132], "step": 22}},
                              "sampler": {"name": "tpe", "options": {"local_search_start": 0.5, "surrogate_share": 0.5,
                                                                     "neighbour_reach": 2}},
                              "trials": 100}, file="s.yaml")
    sampler = make_sampler(spec, 0)
    assert isinstance(sampler, SurrogateSampler) and sampler._reach == 2
    assert isinstance(sampler._main, ParetoLocalSearchSampler) and sampler._main._reach == 2


@pytest.mark.parametrize(("options", "allowed"), [
    ({"neighbour_reach": 0, "local_search_start": 0.5}, "a number >= 1"),
    ({"neighbour_reach": 2}, "local_search_start or surrogate_share > 0 alongside"),
])
def test_bad_reach(tmp_path: Path, options: dict[str, Any], allowed: str) -> None:
    path, text = sampler_options_error(tmp_path, options)
    assert f"{path}: search.sampler.options.neighbour_reach" in text and allowed in text
