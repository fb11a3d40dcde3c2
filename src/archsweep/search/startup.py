"""A space-filling first population in front of another Optuna sampler (``qmc_startup_trials``,
``lhs_startup_trials``).

The study's first ``n`` trials (by trial number, so several workers sharing a storage share one
sequence) take the points of one scrambled Sobol sequence (:class:`scipy.stats.qmc.Sobol`, seeded
with the search's ``seed``, not ``seed + worker``); later trials go to the main sampler. Optuna's
own :class:`~optuna.samplers.QMCSampler` cannot serve here: it learns the search space from a
first completed trial, so a first batch asked together would be uniform random.

Each unit coordinate maps to a parameter: the ``floor(u * m)``-th of ``m`` categorical choices or
stepped values, or a point of a continuous range (log ranges in log space). The main sampler's
``before_trial``/``after_trial`` see every trial, so NSGA-II counts the Sobol trials as its first
generation (``qmc_startup_trials`` = ``population_size`` makes that generation the Sobol points).

``lhs_startup_trials``: the first ``n`` points are a Latin hypercube over the grid's levels
(:func:`level_design`): each discrete axis of ``m`` levels takes every level ``floor(n / m)`` or
``ceil(n / m)`` times (so with ``n >= m`` every level of every axis is in the start, which a Sobol
or random start of the same size does not guarantee), a continuous range one point per ``1 / n``
stratum; of ``candidates`` random such designs the one with the largest smallest distance
between two points (level positions scaled to [0, 1]; maximin, Morris and Mitchell, "Exploratory
designs for computational experiments", J. Stat. Plan. Inference 43, 1995) is kept.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial

from archsweep.search.delegating import DelegatingSampler
from archsweep.search.grid import grid_axes

__all__ = ["SobolStartupSampler", "unit_to_value", "level_design"]


def unit_to_value(u: float, dist: BaseDistribution) -> Any:
    """The value of ``dist`` at unit coordinate ``u`` in [0, 1)."""
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[min(int(u * len(dist.choices)), len(dist.choices) - 1)]
    if isinstance(dist, (IntDistribution, FloatDistribution)) and dist.step is not None:
        count = int(round((dist.high - dist.low) / dist.step)) + 1
        value = dist.low + min(int(u * count), count - 1) * dist.step
        return int(value) if isinstance(dist, IntDistribution) else float(value)
    if isinstance(dist, (IntDistribution, FloatDistribution)) and dist.log:
        value = math.exp(math.log(dist.low) + u * (math.log(dist.high) - math.log(dist.low)))
    else:
        assert isinstance(dist, (IntDistribution, FloatDistribution))
        value = dist.low + u * (dist.high - dist.low)
    return min(max(int(round(value)), dist.low), dist.high) if isinstance(dist, IntDistribution) else float(value)


_MAXIMIN_LIMIT = 2048  # points; the maximin choice holds an n x n x axes array


def level_design(space: Mapping[str, BaseDistribution], n: int, seed: int, candidates: int = 32) -> np.ndarray:
    """``n`` x ``len(space)`` unit coordinates (columns in sorted parameter order): a maximin Latin
    hypercube over the levels (module doc). A discrete axis of ``m`` levels holds each level
    ``floor(n / m)`` or ``ceil(n / m)`` times, at the level's centre ``(k + 0.5) / m``. Above
    ``_MAXIMIN_LIMIT`` points the pairwise distances would not fit in memory: one random design."""
    if n < 0 or candidates < 1:
        raise ValueError(f"n, candidates: got {n}, {candidates}; allowed: n >= 0, candidates >= 1")
    if n > _MAXIMIN_LIMIT:
        candidates = 1
    names = sorted(space)
    sizes = {axis.name: len(axis.values) for axis in grid_axes(space)}  # 0: a continuous range
    levels = [sizes.get(name, 0) for name in names]
    rng = np.random.default_rng(seed)
    best, best_gap = np.zeros((n, len(names))), -1.0
    for _ in range(candidates):
        units, scaled = np.empty((n, len(names))), np.empty((n, len(names)))
        for j, m in enumerate(levels):
            if m > 0:
                # every level once per full round, the last partial round's levels drawn without repeats
                column = np.concatenate([np.arange(m)] * (n // m) + [rng.permutation(m)[: n % m]])
                column = rng.permutation(column).astype(np.int64)
                units[:, j] = (column + 0.5) / m
                scaled[:, j] = column / (m - 1) if m > 1 else 0.0
            else:
                units[:, j] = (rng.permutation(n) + rng.random(n)) / n
                scaled[:, j] = units[:, j]
        gap = _smallest_distance(scaled) if candidates > 1 else 0.0
        if gap > best_gap:
            best, best_gap = units, gap
    return best


def _smallest_distance(points: np.ndarray) -> float:
    if len(points) < 2:
        return 0.0
    d = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
    return float(d[np.triu_indices(len(points), 1)].min())


class SobolStartupSampler(DelegatingSampler):
    """Trials numbered below ``n`` from a scrambled Sobol sequence over ``space`` (``design`` "sobol")
    or from a maximin Latin hypercube over the levels (``design`` "lhs", :func:`level_design`); the
    rest from ``main``."""

    def __init__(self, main: BaseSampler, space: Mapping[str, BaseDistribution], n: int, seed: int,
                 design: str = "sobol") -> None:
        if design not in ("sobol", "lhs"):
            raise ValueError(f"design: got {design!r}; allowed: 'sobol' or 'lhs'")
        self._main, self._space, self._n = main, dict(space), n
        names = sorted(self._space)
        if design == "lhs":
            units = level_design(self._space, n, seed)
        else:
            with warnings.catch_warnings():  # a count that is not a power of two only loses balance properties
                warnings.simplefilter("ignore")
                from scipy.stats import qmc

                units = qmc.Sobol(len(names), scramble=True, seed=seed).random(max(n, 1))[:n]
        self._points = [{name: unit_to_value(float(u[j]), self._space[name]) for j, name in enumerate(names)}
                        for u in np.asarray(units)]

    def _startup(self, trial: FrozenTrial) -> bool:
        return trial.number < self._n

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        if self._startup(trial):
            return dict(self._space)
        return self._main.infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if self._startup(trial):
            return {k: v for k, v in self._points[trial.number].items() if k in search_space}
        return self._main.sample_relative(study, trial, search_space)
