"""``limit_clamp`` (issue 14, fifteenth session): the step model with the searched TDP as a clamp, demand then
min(TDP, demand) (:mod:`archsweep.search.clamp`). The clamp itself is monotone and never above the limit, and
is the demand where the limit does not bind; fitted on a synthetic grid whose outputs follow the clamp, the
model recovers the demand where the TDP does not bind, predicts a power <= the TDP and non-decreasing in it, no
change at all between TDP twins, and a design just under a power cap apart from its neighbour just over it
where the additive step model does not; the local search fits it when asked (and only then), and with it finds
a planted extreme behind infeasible points, deterministically; the option reaches the sampler and bad specs
get clear errors."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import IntDistribution
from search_study import sampler_options_error
from search_toy_space import enqueued_then_asked

from archsweep.load.searchspec import parse_search_spec
from archsweep.search.clamp import ClampedStepModel, clamp_term, clamped, fit_clamped_step_model
from archsweep.search.localsearch import ParetoLocalSearchSampler
from archsweep.search.ridge import constraint_transform
from archsweep.search.stepmodel import StepModel, fit_step_model
from archsweep.search.storage import make_sampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_clamp_is_monotone_capped_and_the_demand_below_the_limit() -> None:
    demand = np.linspace(100.0, 1500.0, 141)
    for limit in (300.0, 700.0, 1200.0):
        power = clamped(demand, limit)
        assert np.all(power <= limit) and np.all(np.diff(power) >= 0)
        free = demand <= limit
        assert np.array_equal(power[free], demand[free]) and np.all(power[~free] == limit)
        assert np.all(clamp_term(np.log(demand[free]), np.log(limit)) == 0)
        assert np.allclose(np.exp(clamp_term(np.log(demand), np.log(limit))), power / demand)
    levels = np.array([300.0, 700.0, 1200.0])
    assert np.all(np.diff(clamped(900.0, levels)) >= 0)  # non-decreasing in the limit


# a synthetic grid (units 0..5, clock 0..4, TDP levels) whose outputs follow the clamp: demand power a product of
# the two axes' factors, power = min(TDP, demand), throughput x (power / demand)^0.8, the TDP constraint reports
# (power - TDP) / TDP, a 900 W cap on the power
SIZES = (6, 5, 4)
LEVELS = (600.0, 800.0, 1000.0, 1200.0)
CAP = 900.0


def _demand(i: np.ndarray) -> np.ndarray:
    return 300.0 * 1.25 ** i[:, 0] * 1.15 ** i[:, 1]


def _outputs(i: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(targets: -log throughput, log(1 + v) of the cap and of the TDP constraint; v of the TDP constraint; power)."""
    tdp = np.asarray(LEVELS)[i[:, 2]]
    demand = _demand(i)
    power = clamped(demand, tdp)
    throughput = (1.0 + i[:, 0]) * (1.0 + 0.2 * i[:, 1]) * (power / demand) ** 0.8
    v_tdp = (power - tdp) / tdp
    targets = np.column_stack([-np.log(throughput), constraint_transform(power / CAP - 1.0),
                               constraint_transform(v_tdp)])
    return targets, v_tdp, power


GRID = np.array(list(itertools.product(*(range(s) for s in SIZES))))


def _fit(points: np.ndarray) -> ClampedStepModel:
    targets, v_tdp, _ = _outputs(points)
    return fit_clamped_step_model(points, targets, SIZES, 2, LEVELS, v_tdp, limit_column=2, ridge=1e-6)


def test_fit_recovers_the_demand_where_the_limit_does_not_bind() -> None:
    model = _fit(GRID)
    _, v_tdp, _ = _outputs(GRID)
    free = v_tdp < -0.02
    recovered = np.array([model.known[tuple(int(x) for x in p)] for p in GRID[free]])
    assert np.allclose(np.exp(recovered), _demand(GRID[free]), rtol=1e-12)  # exact: log T + log(1 + v)
    assert np.allclose(np.exp(model.log_demand(GRID)), _demand(GRID), rtol=1e-6)  # the additive demand model
    assert model.slopes[0] == pytest.approx(-0.8, abs=1e-3)  # -log throughput follows 0.8 log(power / demand)
    assert model.slopes[1] == pytest.approx(1.0, abs=1e-3)  # the cap's power is the clamped power


def test_steps_follow_the_clamp() -> None:
    rng = np.random.default_rng(0)
    train = GRID[rng.choice(len(GRID), 60, replace=False)]
    model = _fit(train)
    targets, _, _ = _outputs(train)
    parents = np.repeat(train, len(GRID), axis=0)
    children = np.tile(GRID, (len(train), 1))
    predicted = np.repeat(targets, len(GRID), axis=0) + model.step(parents, children)
    true, _, power = _outputs(children)
    assert np.allclose(predicted, true, atol=1e-3)  # every column of every step, clamped or not
    tdp = np.asarray(LEVELS)[children[:, 2]]
    predicted_power = CAP * np.exp(predicted[:, 1])
    assert np.all(predicted_power <= tdp * (1 + 1e-3))  # power <= TDP
    by_tdp = predicted_power.reshape(len(train), SIZES[0] * SIZES[1], SIZES[2])
    assert np.all(np.diff(by_tdp, axis=2) >= -1e-6)  # non-decreasing in the TDP
    # TDP twins (the limit does not bind at either level): no change in any column but the TDP's own
    twin = (power < tdp * 0.98) & (_demand(parents) < np.asarray(LEVELS)[parents[:, 2]] * 0.98) & np.all(
        parents[:, :2] == children[:, :2], axis=1)
    assert twin.any() and np.allclose(model.step(parents[twin], children[twin])[:, :2], 0.0, atol=1e-12)


def test_tells_just_under_the_cap_from_just_over_it_where_the_additive_model_does_not() -> None:
    points = GRID
    targets, _, power = _outputs(points)
    additive: StepModel = fit_step_model(points, targets, SIZES)
    model = _fit(points)
    # every step to a child at a TDP above the cap whose power is within 10 % of the cap
    tdp = np.asarray(LEVELS)[points[:, 2]]
    near = np.flatnonzero((tdp > CAP) & (np.abs(power / CAP - 1) < 0.1))
    pairs = [(p, c) for c in near for p in range(len(points)) if np.abs(points[p] - points[c]).sum() == 1]
    parents = points[[p for p, _ in pairs]]
    children = points[[c for _, c in pairs]]
    truth = targets[[c for _, c in pairs], 1] > 0
    for m, right in ((model, 1.0), (additive, None)):
        guess = targets[[p for p, _ in pairs], 1] + m.step(parents, children)[:, 1] > 0
        share = float(np.mean(guess == truth))
        if right is not None:
            assert share == right
        else:
            assert share < 0.95


SPACE = {"a": IntDistribution(0, 5), "b": IntDistribution(0, 5), "tdp_w": IntDistribution(12, 24, step=12)}
POWER_CAP = 18.0


def _toy(p: dict[str, Any]) -> tuple[list[float], dict[str, float]]:
    """(minimised objectives: -throughput, price; constraint values by name): demand (a + 1)(b + 1), power
    min(TDP, demand), throughput demand x (power / demand)^0.9, the cap 18; the TDP 24 costs 3 more."""
    demand = float((p["a"] + 1) * (p["b"] + 1))
    power = min(float(p["tdp_w"]), demand)
    throughput = demand * (power / demand) ** 0.9
    return ([-throughput, float(p["a"] + p["b"] + (3 if p["tdp_w"] == 24 else 0))],
            {"violation_power_w_max": power / POWER_CAP - 1, "violation_tdp": (power - p["tdp_w"]) / p["tdp_w"]})


START = ([{"a": a, "b": b, "tdp_w": 12} for a in range(6) for b in range(6)]  # the clamped level, every point
         + [{"a": a, "b": b, "tdp_w": 24} for a in range(6) for b in range(6) if (a + 1) * (b + 1) <= 8]
         + [{"a": 5, "b": 5, "tdp_w": 24}])  # infeasible
PLANTED = {(5, 2, 24), (2, 5, 24)}  # demand 18: the throughput extreme under the cap


def _run(clamp: bool, seed: int, trials: int) -> tuple[list[tuple[int, int, int]], ParetoLocalSearchSampler]:
    sampler = ParetoLocalSearchSampler(optuna.samplers.RandomSampler(seed=seed), SPACE, start=len(START), seed=seed,
                                       model=True, ridge=True, clamp=clamp)
    return enqueued_then_asked(sampler, SPACE, START, trials, _toy), sampler


@pytest.mark.parametrize("seed", [0, 1])
def test_local_search_fits_the_clamp_and_finds_the_ridge(seed: int) -> None:
    budget = len(START) + 8
    asked, sampler = _run(True, seed, budget)
    assert sampler._memo is not None and isinstance(sampler._memo[1].model, ClampedStepModel)
    assert sampler._memo[1].ridge is not None and isinstance(sampler._memo[1].ridge.model, ClampedStepModel)
    local = asked[len(START):]
    assert PLANTED & set(local)  # found within 8 proposals
    assert len(set(local)) == len(local) and not set(local) & set(asked[:len(START)])  # every proposal new
    assert _run(True, seed, budget)[0] == asked  # deterministic per seed
    _, plain = _run(False, seed, len(START) + 2)
    assert plain._memo is not None and isinstance(plain._memo[1].model, StepModel)  # without the option: additive


def _spec(options: dict[str, Any], tdp: bool = True) -> Any:
    parameters: dict[str, Any] = {"compute_units": {"range": [66, 132], "step": 22}}
    if tdp:
        parameters["tdp_w"] = {"values": ["700 W", "800 W", "900 W"]}
    return parse_search_spec({"parameters": parameters, "sampler": {"name": "tpe", "options": options},
                              "trials": 100}, file="s.yaml")


def test_option_reaches_the_local_search() -> None:
    sampler = make_sampler(_spec({"local_search_start": 0.5, "local_search_model": True, "limit_clamp": True}), 0)
    assert isinstance(sampler, ParetoLocalSearchSampler) and sampler._clamp == (1, "violation_tdp")
    plain = make_sampler(_spec({"local_search_start": 0.5, "local_search_model": True}), 0)
    assert isinstance(plain, ParetoLocalSearchSampler) and plain._clamp is None


@pytest.mark.parametrize(("options", "parameters", "allowed"), [
    ({"limit_clamp": True, "local_search_start": 0.5}, None, "local_search_model or local_search_ridge alongside"),
    ({"limit_clamp": True, "local_search_start": 0.5, "local_search_model": True},
     {"compute_units": {"range": [66, 132], "step": 22}}, "a searched discrete limit parameter (tdp_w)"),
    ({"limit_clamp": 1, "local_search_start": 0.5, "local_search_model": True}, None, "boolean"),
])
def test_bad_options(tmp_path: Path, options: dict[str, Any], parameters: dict[str, Any] | None,
                     allowed: str) -> None:
    path, text = sampler_options_error(tmp_path, options, parameters)
    assert f"{path}: search.sampler.options.limit_clamp" in text
    assert allowed in text
