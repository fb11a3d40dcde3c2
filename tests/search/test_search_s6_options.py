"""Search options of issue 14's sixth session: the Latin-hypercube start over the grid levels
(``lhs_startup_trials``), the gap parents and final exploitation phase of the local search
(``local_search_parents: gap``, ``local_search_final``) and TPE's ``gamma``/``gamma_max``/
``consider_endpoints``/``prior_weight``. Behaviour: proposals are valid grid points, no point is
proposed twice, the same seed gives the same trials, every level of every axis is in the start."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from search_study import sampler_options_error
from search_toy_space import AXES, SPACE, asked_and_told, grid_index, objectives, told_study

from archsweep.load.searchspec import parse_search_spec
from archsweep.search.frontgaps import crowding_distance
from archsweep.search.localsearch import ParetoLocalSearchSampler
from archsweep.search.proposing import to_global
from archsweep.search.startup import SobolStartupSampler, level_design
from archsweep.search.storage import TopFraction, make_sampler

optuna.logging.set_verbosity(optuna.logging.WARNING)
NAMES = sorted(AXES)


def _asked(sampler: optuna.samplers.BaseSampler, trials: int, batch: int = 4) -> list[dict[str, Any]]:
    return asked_and_told(sampler, trials, objectives, batch)


# -- Latin hypercube over the levels ------------------------------------------------------------

@pytest.mark.parametrize("n", [10, 12, 27])
def test_level_design_balances_every_axis(n: int) -> None:
    units = level_design(SPACE, n, seed=3)
    assert units.shape == (n, 3) and np.all((units > 0) & (units < 1))
    for j, name in enumerate(NAMES):
        m = len(AXES[name].values)
        counts = np.bincount(np.floor(units[:, j] * m).astype(int), minlength=m)
        assert counts.min() >= n // m and counts.max() <= -(-n // m)  # each level floor(n/m) or ceil(n/m) times


def test_level_design_continuous_axis_is_stratified_and_seeded() -> None:
    space = {**SPACE, "d": FloatDistribution(1.0, 2.0)}
    units = level_design(space, 16, seed=1)
    strata = np.floor(units[:, sorted(space).index("d")] * 16).astype(int)
    assert sorted(strata) == list(range(16))
    assert np.array_equal(units, level_design(space, 16, seed=1))
    assert not np.array_equal(units, level_design(space, 16, seed=2))


def test_level_design_large_start_is_balanced_without_the_pairwise_distances() -> None:
    units = level_design(SPACE, 5000, seed=0)
    assert np.bincount(np.floor(units[:, 2] * 3).astype(int)).tolist() in ([1667, 1667, 1666], [1667, 1666, 1667],
                                                                          [1666, 1667, 1667])


def test_level_design_is_maximin_among_its_candidates() -> None:
    def gap(u: np.ndarray) -> float:
        d = ((u[:, None] - u[None]) ** 2).sum(axis=2)
        return float(d[np.triu_indices(len(u), 1)].min())

    assert gap(level_design(SPACE, 12, seed=0, candidates=64)) >= gap(level_design(SPACE, 12, seed=0, candidates=1))


def test_lhs_start_proposes_every_level_then_hands_over() -> None:
    sampler = SobolStartupSampler(optuna.samplers.RandomSampler(seed=0), SPACE, 10, seed=4, design="lhs")
    asked = _asked(sampler, 20)
    start = [grid_index(p) for p in asked[:10]]
    for j, name in enumerate(NAMES):
        assert {i[j] for i in start} == set(range(len(AXES[name].values)))  # every level of every axis
    assert len(set(start)) == 10  # distinct points
    assert asked == _asked(SobolStartupSampler(optuna.samplers.RandomSampler(seed=0), SPACE, 10, seed=4, design="lhs"), 20)
    with pytest.raises(ValueError, match="design: got 'halton'"):
        SobolStartupSampler(optuna.samplers.RandomSampler(), SPACE, 4, seed=0, design="halton")


# -- gap parents and the final phase -------------------------------------------------------------

def test_crowding_distance_ranks_the_ends_of_the_largest_gap() -> None:
    front = np.array([[0.0, 10.0], [1.0, 9.0], [2.0, 8.0], [8.0, 2.0], [9.0, 1.0], [10.0, 0.0]])
    score = crowding_distance(front)
    assert set(np.argsort(score)[-2:]) == {2, 3}  # the points bordering the gap between x = 2 and 8
    assert np.allclose(score, score[::-1])  # symmetric front, symmetric scores
    assert crowding_distance(front[:1]).tolist() == [1.0]


def _local(seed: int, **options: Any) -> ParetoLocalSearchSampler:
    return ParetoLocalSearchSampler(optuna.samplers.RandomSampler(seed=seed), SPACE, start=30, seed=seed, **options)


def test_extremes_rule_steps_from_each_objective_best_first() -> None:
    """The first local proposal is a one-axis neighbour of the best finished point on one of the
    objectives."""
    sampler = ParetoLocalSearchSampler(optuna.samplers.RandomSampler(seed=0), SPACE, start=20, seed=0, parents="extremes")
    study = told_study(sampler, 30, objectives, batch=1)
    feasible = [t for t in study.trials if t.constraints["limit"] <= 0]
    best = {grid_index(min(feasible, key=lambda t: t.values[j]).params) for j in range(2)}
    proposal = grid_index(study.ask(SPACE).params)
    assert any(sum(abs(a - b) for a, b in zip(proposal, e)) == 1 for e in best)


@pytest.mark.parametrize("options", [{"parents": "gap"}, {"parents": "extremes"},
                                     {"parents": "gap", "global_share": 0.5, "final": 60},
                                     {"global_share": 0.75, "final": 50, "model": True}])
def test_local_search_variants_propose_new_grid_points(options: dict[str, Any]) -> None:
    asked = _asked(_local(0, **options), 120)
    indices = [grid_index(p) for p in asked]  # every proposal on the grid
    share, final = options.get("global_share", 0.0), options.get("final")
    # The local phase starts at the first batch (of 4) after 30 distinct finished points; from there a
    # trial goes to the local search unless to_global routes it to the global sampler (never once
    # ``final`` distinct points are finished), and every local proposal is a point not asked before.
    start = next(b for b in range(0, 120, 4) if len(set(indices[:b])) >= 30)
    local = [n for n in range(start, 120)
             if not to_global(n, share) or (final is not None and len(set(indices[:n - n % 4])) >= final)]
    assert len(local) >= 20
    assert all(indices[n] not in indices[:n] for n in local)
    if not share:
        assert len(set(indices[30:])) == 90
    assert asked == _asked(_local(0, **options), 120)  # reproducible by seed
    assert asked != _asked(_local(1, **options), 120)


def test_final_phase_stops_the_global_share() -> None:
    """With every trial of the local phase to the global (random) sampler but the final phase,
    the final phase's trials are new grid points (neighbours of the front), the earlier ones not
    necessarily."""
    asked = _asked(_local(2, global_share=0.999, final=80), 160)
    indices = [grid_index(p) for p in asked]
    first = next(b for b in range(0, 160, 4) if len(set(indices[:b])) >= 80)  # first batch of the final phase
    final, earlier = indices[first:first + 24], set(indices[:first])  # before the front's neighbours run out
    assert 0 < len(final) and len(set(final)) == len(final) and not set(final) & earlier


def test_bad_parents() -> None:
    with pytest.raises(ValueError, match="parents: got 'width'"):
        ParetoLocalSearchSampler(optuna.samplers.RandomSampler(), SPACE, start=1, parents="width")


# -- study options ------------------------------------------------------------------------------

def _spec(options: dict[str, Any], name: str = "tpe", trials: int = 100) -> Any:
    return parse_search_spec({"parameters": {"tdp_w": {"values": ["700 W", "800 W", "900 W"]},
                                             "compute_units": {"range": [66, 132], "step": 22}},
                              "sampler": {"name": name, "options": options}, "trials": trials}, file="s.yaml")


def test_options_reach_the_samplers() -> None:
    sampler = make_sampler(_spec({"multivariate": True, "gamma": 0.2, "gamma_max": 40, "consider_endpoints": True,
                                  "prior_weight": 0.5, "lhs_startup_trials": 8, "local_search_start": 0.5,
                                  "local_search_parents": "gap", "local_search_final": 0.25}), 0)
    assert isinstance(sampler, ParetoLocalSearchSampler)
    assert sampler._parent_rule == "gap" and sampler._start == 50 and sampler._final == 75
    startup = sampler._main
    assert isinstance(startup, SobolStartupSampler) and len(startup._points) == 8
    tpe = startup._main
    assert isinstance(tpe, optuna.samplers.TPESampler)
    assert tpe._gamma(100) == 20 and tpe._gamma(1000) == 40
    assert tpe._parzen_estimator_parameters.consider_endpoints and tpe._parzen_estimator_parameters.prior_weight == 0.5
    assert TopFraction(0.1)(1000) == 100 and pickle.loads(pickle.dumps(TopFraction(0.3, 7)))(100) == 7
    capped = make_sampler(_spec({"multivariate": True, "gamma_max": 30}), 0)
    assert isinstance(capped, optuna.samplers.TPESampler) and capped._gamma(1000) == 30 and capped._gamma(100) == 10


def test_gamma_alone_keeps_optunas_single_objective_cap() -> None:
    """Optuna's TPE caps the below set at 25 for one objective (default_gamma) and not for several: a
    ``gamma`` option alone changes the fraction, not that cap; ``gamma_max`` sets it."""
    one = make_sampler(_spec({"gamma": 0.2}), 0, objectives=1)
    several = make_sampler(_spec({"gamma": 0.2}), 0, objectives=2)
    assert isinstance(one, optuna.samplers.TPESampler) and isinstance(several, optuna.samplers.TPESampler)
    assert one._gamma(100) == several._gamma(100) == 20
    assert one._gamma(1000) == 25 and several._gamma(1000) == 200
    assert make_sampler(_spec({"gamma": 0.2, "gamma_max": 40}), 0, objectives=1)._gamma(1000) == 40
    default = make_sampler(_spec({}), 0, objectives=1)  # no option: Optuna's own default_gamma
    assert optuna.samplers.TPESampler(seed=0)._gamma is None and default._gamma is None


@pytest.mark.parametrize(("options", "key", "allowed"), [
    ({"qmc_startup_trials": 4, "lhs_startup_trials": 4}, "lhs_startup_trials: got 4",
     "one start design: qmc_startup_trials or lhs_startup_trials, not both"),
    ({"local_search_parents": "width"}, "local_search_parents: got 'width'", "one of contribution, gap, extremes, gain"),
    ({"gamma": 0}, "gamma: got 0", "a number > 0"),
    ({"local_search_final": 2}, "local_search_final: got 2", "a number <= 1"),
])
def test_bad_options(tmp_path: Path, options: dict[str, Any], key: str, allowed: str) -> None:
    path, text = sampler_options_error(tmp_path, options)
    assert f"{path}: search.sampler.options.{key}; allowed: {allowed}" in text
