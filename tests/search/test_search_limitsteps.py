"""``limit_steps`` (issue 14, s17-A): a local trial proposes a design's clamped version at a lower limit level
(:mod:`archsweep.search.limitsteps`). The step down the limit axis lands on the same design at the highest free
level below its level and its demand; the sibling fit recovers a planted clamp response; the rule proposes, among
the children of the infeasible neighbours of the found front whose TDP does not bind that it predicts feasible,
the one with the largest predicted hypervolume gain (none when none is predicted feasible); on a toy grid whose outputs
follow the clamp the local search proposes the clamped versions of over-cap designs, each a new grid point,
deterministically per seed; the option reaches the sampler and bad specs get clear errors."""

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
from archsweep.results.pareto import non_dominated_mask
from archsweep.search.limitsteps import MIN_PAIRS, LimitSteps, limit_step, limit_step_data, sibling_slopes, step_down
from archsweep.search.localsearch import ParetoLocalSearchSampler
from archsweep.search.parentgain import predicted_children, predicted_gain
from archsweep.search.ridge import constraint_transform
from archsweep.search.storage import make_sampler

optuna.logging.set_verbosity(optuna.logging.WARNING)

# the toy: designs (a, b) of demand power (a + 1)(b + 1) at four TDP levels; power = min(TDP, demand), throughput
# demand x (power / demand)^0.9, energy per unit of work (power / demand)^0.3 x (1 + 0.05 a + 0.1 b); a cap of 21 on
# the power, the TDP constraint (power - TDP) / TDP
LEVELS = (10, 20, 30, 40)
CAP = 21.0  # just above a level: the clamp at 20 W makes an over-cap design feasible
SPACE = {"a": IntDistribution(0, 5), "b": IntDistribution(0, 5), "tdp_w": IntDistribution(10, 40, step=10)}


def toy(p: dict[str, Any]) -> tuple[list[float], dict[str, float]]:
    """(minimised objectives: -throughput, energy per unit of work; constraint values by name)."""
    demand = float((p["a"] + 1) * (p["b"] + 1))
    power = min(float(p["tdp_w"]), demand)
    throughput = demand * (power / demand) ** 0.9
    energy = (power / demand) ** 0.3 * (1.0 + 0.05 * p["a"] + 0.1 * p["b"])
    return ([-throughput, energy],
            {"violation_power_w_max": power / CAP - 1, "violation_tdp": (power - p["tdp_w"]) / p["tdp_w"]})


LOG_LEVELS = np.log(np.array(LEVELS))


@pytest.mark.parametrize("seed", range(5))
def test_step_down_is_the_highest_free_lower_level_below_the_demand(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        base = (int(rng.integers(3)), int(rng.integers(len(LEVELS))), int(rng.integers(3)))
        log_demand = float(rng.uniform(1.0, 4.0)) if rng.random() < 0.7 else float("nan")
        taken = {(base[0], int(level), base[2]) for level in range(len(LEVELS)) if rng.random() < 0.4}
        child = step_down(base, log_demand, 1, LOG_LEVELS, taken)
        allowed = [level for level in range(base[1]) if (base[0], level, base[2]) not in taken
                   and (np.isnan(log_demand) or LOG_LEVELS[level] < log_demand)]
        if not allowed:
            assert child is None
        else:
            assert child == (base[0], max(allowed), base[2])  # same design, the highest allowed level


def test_sibling_slopes_recover_a_quadratic_clamp_response() -> None:
    """Designs at every limit level, each column a design term plus a z + b z^2 (z from the exact demand of the
    unclamped member): the fit recovers (a, b) exactly; a design seen at one level gives no pair."""
    rng = np.random.default_rng(0)
    coefficients = np.array([[-0.8, 0.3], [0.1, 0.4]])  # (a, b) x two columns
    indices, targets, limit_values = [], [], []
    for design in range(6):
        demand = float(rng.uniform(20.0, 45.0))  # above the lowest levels: clamped there
        offset = rng.normal(size=2)
        for level in range(len(LEVELS)):
            z = min(0.0, float(LOG_LEVELS[level]) - np.log(demand))
            indices.append((design, level))
            targets.append(offset + coefficients[0] * z + coefficients[1] * z * z)
            limit_values.append(min(demand, LEVELS[level]) / LEVELS[level] - 1.0)
    indices.append((99, 0))  # a lone design: no pair
    targets.append(np.array([5.0, 5.0]))
    limit_values.append(-0.5)
    fitted = sibling_slopes(indices, np.array(targets), np.array(limit_values), 1, LOG_LEVELS)
    assert fitted is not None and np.allclose(fitted, coefficients, atol=1e-9)
    few = sibling_slopes(indices[:2], np.array(targets[:2]), np.array(limit_values[:2]), 1, LOG_LEVELS)
    assert MIN_PAIRS > 1 and few is None


# every grid point of the toy (a, b, TDP level), its outputs as a study would tell them
GRID = [dict(zip(SPACE, (a, b, LEVELS[t]))) for a, b, t in itertools.product(range(6), range(6), range(len(LEVELS)))]


def _index(p: dict[str, Any]) -> tuple[int, int, int]:
    return p["a"], p["b"], LEVELS.index(p["tdp_w"])


def _data(points: list[dict[str, Any]]) -> LimitSteps:
    """The rule's data fitted on ``points`` (two minimised objectives, the cap and the TDP constraints)."""
    rows = np.array([toy(p)[0] for p in points])
    constraints = np.array([[toy(p)[1]["violation_power_w_max"], toy(p)[1]["violation_tdp"]] for p in points])
    feasible = np.all(constraints <= 0, axis=1)
    kept = np.flatnonzero(feasible)
    front_positions = kept[non_dominated_mask(rows[kept])]
    front = rows[front_positions]
    reference = front.max(axis=0) + 0.1 * (front.max(axis=0) - front.min(axis=0))
    bases = [*front_positions.tolist(), *np.flatnonzero(~feasible).tolist()]
    return limit_step_data(rows, [_index(p) for p in points], constraints, front, reference, bases, (6, 6, 4), 2,
                           LEVELS, 1)


TOP = [p for p in GRID if p["tdp_w"] == LEVELS[-1]]  # every design at the highest TDP: the large ones over the cap
# the diagonal designs at the lowest TDP: the large ones clamped (what the clamp slopes are fitted on)
DIAGONAL = [p for p in GRID if p["a"] == p["b"] and p["tdp_w"] == LEVELS[0]]


def _next_to_front(data: LimitSteps, b: int) -> bool:
    front = [q for q, v in zip(data.bases, data.violations) if np.all(v <= 0)]
    return any(int(np.abs(np.subtract(q, data.bases[b])).sum()) == 1 for q in front)


def test_rule_proposes_the_feasible_child_with_the_largest_predicted_gain() -> None:
    """The bases are the infeasible points one step from a found front point with the TDP not binding; of
    their children predicted to meet the cap, the largest predicted gain (whatever its sign) is proposed."""
    data = _data(TOP + DIAGONAL)
    known = {_index(p) for p in TOP + DIAGONAL}
    rng = np.random.default_rng(0)
    chosen = limit_step(data, known, rng)
    assert chosen is not None
    # by hand: every base's child, the model's prediction, the feasible ones' gains
    children, predicted, feasible = [], [], []
    for b, base in enumerate(data.bases):
        if np.all(data.violations[b] <= 0) or not data.violations[b, 1] < -0.02 or not _next_to_front(data, b):
            continue
        log_d = data.log_demand[base]
        child = step_down(base, log_d, 2, data.log_levels, known)
        if child is None or child in children:
            continue
        zb, zc = (min(0.0, data.log_levels[i[2]] - log_d) for i in (base, child))
        step = (zc - zb) * data.slopes[0] + (zc ** 2 - zb ** 2) * data.slopes[1]
        children.append(child)
        predicted.append(predicted_children(data.values[b][None], step[None, :2], data.logged)[0])
        violations = constraint_transform(data.violations[b]) + step[2:]
        feasible.append(bool(violations[0] <= 0))  # the cap (the TDP's own constraint: met by the clamp)
    assert children
    gains = predicted_gain(np.array(predicted)[feasible], data.front, data.reference)
    best = max(gains)
    assert chosen in {c for c, g in zip([c for c, ok in zip(children, feasible) if ok], gains) if g == best}
    # the clamp model is close on this toy: the chosen design really meets the cap
    _, constraints = toy(dict(zip(SPACE, (chosen[0], chosen[1], LEVELS[chosen[2]]))))
    assert constraints["violation_power_w_max"] <= 0


def test_rule_is_silent_when_every_child_is_taken_or_infeasible() -> None:
    data = _data(TOP + DIAGONAL)
    every = {_index(p) for p in GRID}
    assert limit_step(data, every, np.random.default_rng(0)) is None
    # only the infeasible designs' children left free at a level still over the cap: none predicted feasible
    over = {_index(p) for p in GRID if p["tdp_w"] > CAP}
    assert limit_step(data, every - over, np.random.default_rng(0)) is None


START = TOP + DIAGONAL


def _run(seed: int, trials: int, steps: bool = True) -> tuple[list[tuple[Any, ...]], ParetoLocalSearchSampler]:
    sampler = ParetoLocalSearchSampler(optuna.samplers.RandomSampler(seed=seed), SPACE, start=len(START), seed=seed,
                                       model=True, steps=steps)
    return enqueued_then_asked(sampler, SPACE, START, trials, toy), sampler


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_local_search_proposes_clamped_versions_of_over_cap_designs(seed: int) -> None:
    budget = len(START) + 8
    asked, sampler = _run(seed, budget)
    local = asked[len(START):]
    assert len(set(local)) == len(local) and not set(local) & set(asked[:len(START)])  # every proposal new
    over = {(a, b) for a, b, t in asked[:len(START)] if toy(dict(zip(SPACE, (a, b, t))))[1]["violation_power_w_max"] > 0}
    clamped_over = [(a, b, t) for a, b, t in local if (a, b) in over and t < LEVELS[-1]]
    assert len(clamped_over) >= 4  # the clamped versions of over-cap designs come first
    assert all(toy(dict(zip(SPACE, p)))[1]["violation_power_w_max"] <= 0 for p in clamped_over)  # predicted right
    assert _run(seed, budget)[0] == asked  # deterministic per seed
    assert sampler._memo is not None and sampler._memo[1].steps is not None
    plain_asked, plain = _run(seed, len(START) + 2, steps=False)
    assert plain._memo is not None and plain._memo[1].steps is None  # without the option: no data, no rule


def _spec(options: dict[str, Any]) -> Any:
    parameters = {"compute_units": {"range": [66, 132], "step": 22}, "tdp_w": {"values": ["700 W", "800 W"]}}
    return parse_search_spec({"parameters": parameters, "sampler": {"name": "tpe", "options": options},
                              "trials": 100}, file="s.yaml")


def test_option_reaches_the_local_search() -> None:
    sampler = make_sampler(_spec({"local_search_start": 0.5, "limit_steps": True}), 0)
    assert isinstance(sampler, ParetoLocalSearchSampler) and sampler._steps == (1, "violation_tdp")
    plain = make_sampler(_spec({"local_search_start": 0.5}), 0)
    assert isinstance(plain, ParetoLocalSearchSampler) and plain._steps is None


@pytest.mark.parametrize(("options", "parameters", "allowed"), [
    ({"limit_steps": True}, None, "local_search_start alongside"),
    ({"limit_steps": True, "local_search_start": 0.5},
     {"compute_units": {"range": [66, 132], "step": 22}}, "a searched discrete limit parameter (tdp_w)"),
    ({"limit_steps": 1, "local_search_start": 0.5}, None, "boolean"),
])
def test_bad_options(tmp_path: Path, options: dict[str, Any], parameters: dict[str, Any] | None,
                     allowed: str) -> None:
    path, text = sampler_options_error(tmp_path, options, parameters)
    assert f"{path}: search.sampler.options.limit_steps" in text
    assert allowed in text

