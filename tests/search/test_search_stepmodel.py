"""The step model of the Pareto local search (``local_search_model``) and the global share of its
local phase (``local_search_global``): archsweep.search.stepmodel, archsweep.search.localsearch."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
import pytest
from search_toy_space import AXES, SPACE

from archsweep.search.localsearch import ParetoLocalSearchSampler, neighbours
from archsweep.search.stepmodel import fit_step_model, front_margin, objective_transform

optuna.logging.set_verbosity(optuna.logging.WARNING)

SIZES = tuple(len(AXES[name].values) for name in sorted(AXES))


def _objectives(p: dict[str, Any]) -> tuple[list[float], float]:
    """Two conflicting positive objectives (minimised) and a constraint (> 0 violated)."""
    c = "xyz".index(p["c"])
    f1 = 1 + p["a"] + 2 * p["b"] + c
    f2 = 1 + (9 - p["a"]) ** 2 + (2 - p["b"]) * 3 + (2 - c) * 0.5
    return [f1, f2], float(p["a"] + p["b"] - 10)


def _index(p: dict[str, Any]) -> tuple[int, ...]:
    return tuple(int(AXES[name].index(p[name])) for name in sorted(AXES))  # type: ignore[arg-type]


def _run(seed: int, *, trials: int = 120, start: int = 40, model: bool = True, share: float = 0.0,
         main: optuna.samplers.BaseSampler | None = None) -> tuple[list[dict[str, Any]], list[bool]]:
    """Asked points in order and, per trial, whether it was asked before any earlier trial was at
    its point (batches of 4 asked together)."""
    sampler = ParetoLocalSearchSampler(main or optuna.samplers.RandomSampler(seed=seed), SPACE, start=start,
                                       seed=seed, model=model, global_share=share)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    asked: list[dict[str, Any]] = []
    new: list[bool] = []
    while len(asked) < trials:
        batch = [study.ask(SPACE) for _ in range(4)]
        for trial in batch:
            new.append(_index(trial.params) not in {_index(p) for p in asked})
            asked.append(dict(trial.params))
        for trial in batch:
            values, constraint = _objectives(trial.params)
            trial.set_constraint("limit", constraint)
            study.tell(trial, values)
    return asked, new


def test_fit_recovers_additive_effects_exactly() -> None:
    """On an additive function of the levels, each step's predicted change is the true change."""
    rng = np.random.default_rng(0)
    sizes = (4, 3, 5)
    effects = [rng.normal(size=s) for s in sizes]
    indices = np.array([[rng.integers(s) for s in sizes] for _ in range(200)])
    target = sum(effects[a][indices[:, a]] for a in range(3))[:, None]
    model = fit_step_model(indices, target, sizes, ridge=1e-9)
    parents = np.array([[0, 0, 0], [3, 2, 4], [1, 1, 2]])
    children = np.array([[1, 0, 0], [3, 1, 4], [2, 1, 3]])
    truth = sum(effects[a][children[:, a]] - effects[a][parents[:, a]] for a in range(3))
    np.testing.assert_allclose(model.step(parents, children)[:, 0], truth, atol=1e-6)


def test_fit_ignores_non_finite_targets_and_unseen_levels_stay_at_zero() -> None:
    indices = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    target = np.array([[1.0, np.nan], [2.0, np.inf], [1.0, 3.0], [2.0, 4.0]])
    model = fit_step_model(indices, target, (3, 2), ridge=1e-9)
    step = model.step(np.array([[0, 0]]), np.array([[1, 0]]))
    assert step[0, 0] == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.isfinite(step))
    assert np.all(model.effects[0][2] == 0)  # level 2 of axis 0 never seen: no effect


def test_objective_transform_logs_one_signed_columns_only() -> None:
    values = np.array([[-100.0, 2.0, -1.0], [-10.0, 4.0, 3.0], [-1.0, np.nan, 0.5]])
    out, logged = objective_transform(values)
    assert logged.tolist() == [True, True, False]
    np.testing.assert_allclose(out[:, 0], -np.log([100.0, 10.0, 1.0]))  # maximised: still minimised
    np.testing.assert_allclose(out[:2, 1], np.log([2.0, 4.0]))
    np.testing.assert_array_equal(out[:, 2], values[:, 2])


def test_front_margin_sign_is_dominance() -> None:
    front = np.array([[0.0, 1.0], [1.0, 0.0]])
    scale = np.array([1.0, 1.0])
    margin = front_margin(np.array([[0.5, 0.5], [1.0, 1.0], [-0.2, 0.0], [2.0, 2.0]]), front, scale)
    assert margin[0] == pytest.approx(0.5)  # between the two: beats each by 0.5 in one objective
    assert margin[1] == pytest.approx(0.0)  # weakly dominated
    assert margin[2] == pytest.approx(1.0)  # dominates (1, 0); beats (0, 1) by 1.0 in the second objective
    assert margin[3] == pytest.approx(-1.0)  # dominated, 1.0 behind
    assert np.all(front_margin(front, np.zeros((0, 2)), scale) == np.inf)


def test_model_proposals_are_new_grid_neighbours_of_the_front() -> None:
    """Local phase with the step model: every proposal is on the grid, never a point asked before
    (the 270-point grid has enough free neighbours), and a one- or two-axis neighbour of a
    feasible non-dominated point among those asked before its batch."""
    asked, new = _run(0, trials=120, start=40)
    local = [k for k in range(0, len(asked), 4) if len({_index(p) for p in asked[:k]}) >= 40]
    assert len(local) > 15 and all(new[local[0]:])
    for k in local:
        told = asked[:k]
        feasible = [p for p in told if _objectives(p)[1] <= 0]
        values = np.array([_objectives(p)[0] for p in feasible])
        front = [p for p, v in zip(feasible, values)
                 if not np.any(np.all(values <= v, axis=1) & np.any(values < v, axis=1))]
        reachable = {n for p in front for group in neighbours(_index(p), SIZES, 2) for n in group}
        for p in asked[k:k + 4]:
            assert _index(p) in reachable


def test_model_picks_the_predicted_best_neighbour_on_an_additive_problem() -> None:
    """On objectives the model fits exactly, the local phase finds more of the exact front than
    the random neighbour draw with the same budget (seeds 0-5: 109 against 94 of 6 x 27)."""
    grid = [{"a": a, "b": b, "c": c} for a in AXES["a"].values for b in AXES["b"].values for c in AXES["c"].values]
    feasible = [p for p in grid if _objectives(p)[1] <= 0]
    values = np.array([_objectives(p)[0] for p in feasible])
    exact = {tuple(v) for v in values if not np.any(np.all(values <= v, axis=1) & np.any(values < v, axis=1))}

    def found(model: bool, seed: int) -> int:
        asked, _ = _run(seed, trials=60, start=20, model=model)
        return len({tuple(_objectives(p)[0]) for p in asked if _objectives(p)[1] <= 0} & exact)

    assert sum(found(True, s) for s in range(6)) > sum(found(False, s) for s in range(6))


class _Counting(optuna.samplers.RandomSampler):
    """Random sampler that records the trial numbers whose parameters it drew."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed=seed)
        self.numbers: set[int] = set()

    def sample_independent(self, study: optuna.Study, trial: optuna.trial.FrozenTrial, param_name: str,
                           param_distribution: optuna.distributions.BaseDistribution) -> Any:
        self.numbers.add(trial.number)
        return super().sample_independent(study, trial, param_name, param_distribution)


@pytest.mark.parametrize("share", [0.25, 0.5])
def test_global_share_sends_that_fraction_of_the_local_phase_to_the_global_sampler(share: float) -> None:
    """The evenly spaced ``share`` of the local phase's trials go to the global sampler; without
    the share the local phase (the 270-point grid has free neighbours throughout) sends none."""
    local_phase = set(range(60, 120))  # 40 distinct points are known well before trial 60
    main = _Counting(1)
    _run(1, trials=120, start=40, share=share, main=main)
    assert main.numbers & local_phase == {n for n in local_phase if int((n + 1) * share) > int(n * share)}
    assert len(main.numbers & local_phase) == pytest.approx(share * len(local_phase), abs=1)
    plain = _Counting(1)
    _run(1, trials=120, start=40, main=plain)
    assert not plain.numbers & local_phase


def test_bad_global_share() -> None:
    for share in (-0.1, 1.0):
        with pytest.raises(ValueError, match="global_share"):
            ParetoLocalSearchSampler(optuna.samplers.RandomSampler(), SPACE, start=1, global_share=share)


class _Stuck(optuna.samplers.BaseSampler):
    """A global sampler that proposes the same grid point for every trial (relative sampling)."""

    POINT = {"a": 4, "b": 1.0, "c": "y"}

    def infer_relative_search_space(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
        return dict(SPACE)

    def sample_relative(self, study: optuna.Study, trial: optuna.trial.FrozenTrial,
                        search_space: dict[str, Any]) -> dict[str, Any]:
        return dict(self.POINT)

    def sample_independent(self, study: optuna.Study, trial: optuna.trial.FrozenTrial, param_name: str,
                           param_distribution: optuna.distributions.BaseDistribution) -> Any:
        raise AssertionError("relative only")


@pytest.mark.parametrize("fresh", [True, False])
def test_fresh_moves_a_repeated_global_proposal_to_a_free_neighbour(fresh: bool) -> None:
    """With ``fresh``, a global proposal where a trial already is (finished or in the same batch)
    becomes a new one-axis neighbour of it while one is free (6 here), then a two-axis one; without
    it the point repeats."""
    sampler = ParetoLocalSearchSampler(_Stuck(), SPACE, start=10_000, seed=0, fresh=fresh)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    asked = []
    for _ in range(4):
        batch = [study.ask(SPACE) for _ in range(4)]
        asked += [_index(t.params) for t in batch]
        for trial in batch:
            study.tell(trial, _objectives(trial.params)[0])
    point = _index(_Stuck.POINT)
    if not fresh:
        assert set(asked) == {point}
        return
    one, two = neighbours(point, SIZES, 2)
    assert asked[0] == point and len(set(asked)) == len(asked)
    assert set(asked[1:7]) == set(one)
    assert set(asked[7:]) <= set(two)
