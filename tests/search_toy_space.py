"""The toy three-axis grid (integer, stepped float, categorical) shared by the local-search and
step-model tests of tests/search/, two conflicting objectives on it, and the ask-and-tell loop they run
samplers with (`told_study`, `asked_and_told`); the enqueue-then-ask loop of the ``limit_clamp`` and ``local_search_ridge`` tests (their own grids)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from archsweep.search.localsearch import grid_axes

SPACE = {
    "a": IntDistribution(0, 9, step=1),
    "b": FloatDistribution(0.0, 2.0, step=0.25),
    "c": CategoricalDistribution(["x", "y", "z"]),
}
AXES = {axis.name: axis for axis in grid_axes(SPACE)}


def objectives(p: dict[str, Any]) -> tuple[list[float], float]:
    """Two conflicting objectives (both minimised) and a constraint (> 0 violated: a + b > 10) on SPACE."""
    c = "xyz".index(p["c"])
    return [p["a"] + 2 * p["b"] + c, (9 - p["a"]) ** 2 + (2 - p["b"]) * 3 + (2 - c) * 0.5], float(p["a"] + p["b"] - 10)


def grid_index(p: dict[str, Any]) -> tuple[int, ...]:
    """The grid index of the point ``p`` (axes in name order); an error when it is off the grid."""
    index = tuple(AXES[name].index(p[name]) for name in sorted(AXES))
    assert None not in index, p
    return index  # type: ignore[return-value]


def told_study(sampler: optuna.samplers.BaseSampler, trials: int,
               objectives: Callable[[dict[str, Any]], tuple[list[float], float]],
               batch: int = 4) -> optuna.Study:
    """A two-objective study over SPACE after ``trials`` (rounded up to whole batches) trials, asked ``batch`` at a
    time before any is told; ``objectives`` gives each one's values and constraint (``limit``)."""
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    asked = 0
    while asked < trials:
        batch_trials = [study.ask(SPACE) for _ in range(batch)]
        for trial in batch_trials:
            values, constraint = objectives(trial.params)
            trial.set_constraint("limit", constraint)
            study.tell(trial, values)
        asked += batch
    return study


def asked_and_told(sampler: optuna.samplers.BaseSampler, trials: int,
                   objectives: Callable[[dict[str, Any]], tuple[list[float], float]],
                   batch: int = 4) -> list[dict[str, Any]]:
    """The parameters of :func:`told_study`'s trials, in the order they were asked."""
    return [dict(t.params) for t in told_study(sampler, trials, objectives, batch).trials]


def enqueued_then_asked(sampler: optuna.samplers.BaseSampler, space: dict[str, Any], start: list[dict[str, Any]],
                        trials: int, outcome: Callable[[dict[str, Any]], tuple[list[float], dict[str, float]]]
                        ) -> list[tuple[Any, ...]]:
    """Grid points (each trial's values in ``space``'s key order) of ``trials`` trials (rounded up to a whole
    batch) of a two-objective study over ``space``: the ``start`` points enqueued and told one at a time, then the
    sampler's own, asked two at a time before either is told. ``outcome``: a point's minimised objectives and its
    constraint values by name (the ``limit_clamp`` and ``local_search_ridge`` tests' loop)."""
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    for params in start:
        study.enqueue_trial(params)
    asked: list[tuple[Any, ...]] = []
    while len(asked) < trials:
        batch = [study.ask(space) for _ in range(2 if len(asked) >= len(start) else 1)]
        for trial in batch:
            values, constraints = outcome(trial.params)
            for name, value in constraints.items():
                trial.set_constraint(name, value)
            study.tell(trial, values)
            asked.append(tuple(trial.params[name] for name in space))
    return asked
