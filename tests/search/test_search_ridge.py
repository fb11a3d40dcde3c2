"""``local_search_ridge`` (issue 14, thirteenth session): a line search from an infeasible neighbour of a front
point to the feasibility boundary. The line rule brackets and bisects (hand-built step model); on a tiny grid
with a planted throughput extreme behind infeasible points the local search finds it within a few proposals
with the rule and not without it; the same seed gives the same trials; the budget is kept (every trial asked
is one grid point, the rule's proposals distinct and new); the option reaches the sampler and bad specs get
clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import IntDistribution
from search_study import sampler_options_error
from search_toy_space import enqueued_then_asked

from archsweep.load.searchspec import parse_search_spec
from archsweep.search.localsearch import ParetoLocalSearchSampler
from archsweep.search.ridge import boundary_candidates, constraint_transform
from archsweep.search.stepmodel import StepModel
from archsweep.search.storage import make_sampler

optuna.logging.set_verbosity(optuna.logging.WARNING)

# a hand-built step model over (units 0..3, clock 0..5, limit 0..1), columns (objective, constraint):
# each unit or clock level adds 0.1 to log(1 + v) of the constraint; the limit's upper level adds 0.5
MODEL = StepModel((np.array([[0.0, 0.0], [-0.1, 0.1], [-0.2, 0.2], [-0.3, 0.3]]),
                   np.array([[0.0, 0.0], [-0.1, 0.1], [-0.2, 0.2], [-0.3, 0.3], [-0.4, 0.4], [-0.5, 0.5]]),
                   np.array([[0.0, 0.0], [-0.2, 0.5]])))
SIZES = (4, 6, 2)
FRONT = [(3, 5, 0)]


def _candidates(violations: dict[tuple[int, ...], float], taken: frozenset[tuple[int, ...]] = frozenset()
                ) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return boundary_candidates(FRONT, {k: np.array([v]) for k, v in violations.items()}, SIZES, MODEL,
                               slice(1, None), taken)


def test_line_search_predicts_continues_bisects_and_stops() -> None:
    assert constraint_transform(np.array([0.3]))[0] == pytest.approx(np.log(1.3))
    known = {(3, 5, 0): -0.1, (3, 5, 1): 0.3}  # the front point's limit raised: 30 % over a constraint
    # log 1.3 = 0.26: the first point predicted feasible is 3 levels down each axis, from the infeasible start
    assert _candidates(known) == [((0, 5, 1), (3, 5, 1)), ((3, 2, 1), (3, 5, 1))]
    # that point came out infeasible: the clock line goes on from it
    assert _candidates({**known, (3, 2, 1): 0.05})[1] == ((3, 1, 1), (3, 2, 1))
    # a feasible point known further on: bisection between it and the furthest infeasible one
    assert _candidates({**known, (3, 1, 1): -0.2})[1] == ((3, 3, 1), (3, 5, 1))
    # infeasible next to feasible: the boundary is found, that line is done
    assert _candidates({**known, (3, 2, 1): 0.05, (3, 1, 1): -0.2}) == [((0, 5, 1), (3, 5, 1))]
    # a point in flight on the way holds a line back
    assert _candidates(known, frozenset({(3, 3, 1)})) == [((0, 5, 1), (3, 5, 1))]


def test_no_line_where_the_constraint_is_not_predicted_to_fall() -> None:
    rising = StepModel((MODEL.effects[0], MODEL.effects[1][::-1].copy(), MODEL.effects[2]))  # clock down raises it
    got = boundary_candidates(FRONT, {(3, 5, 0): np.array([-0.1]), (3, 5, 1): np.array([0.3])}, SIZES, rising,
                              slice(1, None), frozenset())
    assert [c for c, _ in got] == [(0, 5, 1)]
    # a feasible neighbour starts no line; neither does a neighbour never evaluated
    assert _candidates({(3, 5, 0): -0.1, (3, 5, 1): -0.01}) == []
    assert _candidates({(3, 5, 0): -0.1}) == []


SPACE = {"a": IntDistribution(0, 5), "b": IntDistribution(0, 5), "z": IntDistribution(0, 1)}
CAP = 18.0


def _toy(p: dict[str, Any]) -> tuple[list[float], dict[str, float]]:
    """(minimised objectives: -throughput, price; the power constraint's value by name). ``z`` = 0 clamps the power
    at 12 (the throughput then grows by 0.1 per unit of unclamped demand), ``z`` = 1 does not (and costs 3); the
    cap is 18. Planted throughput extremes: (5, 2, 1) and (2, 5, 1) (18 at price 10), two or three steps past
    infeasible points along one axis from (5, 5, 1), the raised-limit neighbour of the clamped extreme (5, 5, 0)."""
    raw = (p["a"] + 1) * (p["b"] + 1)
    power = raw if p["z"] else min(raw, 12)
    throughput = power if p["z"] or raw <= 12 else 12 + 0.1 * (raw - 12)
    return [-float(throughput), float(p["a"] + p["b"] + 3 * p["z"])], {"violation_power_w_max": power / CAP - 1}


PLANTED = {(5, 2, 1), (2, 5, 1)}
START = ([{"a": a, "b": b, "z": 0} for a in range(6) for b in range(6)]  # the clamped level, every point
         + [{"a": a, "b": b, "z": 1} for a in range(6) for b in range(6) if (a + 1) * (b + 1) <= 8]  # dominated
         + [{"a": 5, "b": 5, "z": 1}])  # infeasible


def _run(ridge: bool, seed: int, trials: int) -> list[tuple[int, int, int]]:
    """Grid points of ``trials`` trials: those of ``START`` (enqueued), then the local search (no global share),
    in batches of 2."""
    sampler = ParetoLocalSearchSampler(optuna.samplers.RandomSampler(seed=seed), SPACE, start=len(START), seed=seed,
                                       model=True, ridge=ridge)
    return enqueued_then_asked(sampler, SPACE, START, trials, _toy)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_finds_the_planted_extreme_behind_infeasible_points(seed: int) -> None:
    budget = len(START) + 8
    with_rule = _run(True, seed, budget)
    assert len(with_rule) == budget
    assert PLANTED & set(with_rule[len(START):])  # found within 8 proposals
    local = with_rule[len(START):]
    assert len(set(local)) == len(local) and not set(local) & set(with_rule[:len(START)])  # every proposal new
    assert not PLANTED & set(_run(False, seed, budget))  # the one- and two-axis neighbourhood does not reach it
    assert _run(True, seed, budget) == with_rule  # deterministic per seed


def _spec(options: dict[str, Any]) -> Any:
    return parse_search_spec({"parameters": {"tdp_w": {"values": ["700 W", "800 W", "900 W"]},
                                             "compute_units": {"range": [66, 132], "step": 22}},
                              "sampler": {"name": "tpe", "options": options}, "trials": 100}, file="s.yaml")


def test_option_reaches_the_local_search() -> None:
    sampler = make_sampler(_spec({"local_search_start": 0.5, "local_search_ridge": True}), 0)
    assert isinstance(sampler, ParetoLocalSearchSampler) and sampler._ridge
    plain = make_sampler(_spec({"local_search_start": 0.5}), 0)
    assert isinstance(plain, ParetoLocalSearchSampler) and not plain._ridge


@pytest.mark.parametrize(("options", "allowed"), [
    ({"local_search_ridge": True}, "local_search_start alongside"),
    ({"local_search_ridge": "yes", "local_search_start": 0.5}, "boolean"),
])
def test_bad_options(tmp_path: Path, options: dict[str, Any], allowed: str) -> None:
    path, text = sampler_options_error(tmp_path, options, None)
    assert f"{path}: search.sampler.options.local_search_ridge" in text
    assert allowed in text
