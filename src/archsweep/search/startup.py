"""A scrambled-Sobol first population in front of another Optuna sampler (``qmc_startup_trials``).

The study's first ``n`` trials (by trial number, so several workers sharing a storage share one
sequence) take the points of one scrambled Sobol sequence (:class:`scipy.stats.qmc.Sobol`, seeded
with the search's ``seed``, not ``seed + worker``); later trials go to the main sampler. Optuna's
own :class:`~optuna.samplers.QMCSampler` cannot serve here: it learns the search space from a
first completed trial, so a first batch asked together would be uniform random.

Each unit coordinate maps to a parameter: the ``floor(u * m)``-th of ``m`` categorical choices or
stepped values, or a point of a continuous range (log ranges in log space). The main sampler's
``before_trial``/``after_trial`` see every trial, so NSGA-II counts the Sobol trials as its first
generation (``qmc_startup_trials`` = ``population_size`` makes that generation the Sobol points).
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

__all__ = ["SobolStartupSampler", "unit_to_value"]


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


class SobolStartupSampler(DelegatingSampler):
    """Trials numbered below ``n`` from a scrambled Sobol sequence over ``space``; the rest from ``main``."""

    def __init__(self, main: BaseSampler, space: Mapping[str, BaseDistribution], n: int, seed: int) -> None:
        self._main, self._space, self._n = main, dict(space), n
        names = sorted(self._space)
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
