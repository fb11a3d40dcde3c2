"""A sampler that wraps another Optuna sampler and hands it every hook it does not override.

Both wrappers of this package (:class:`~archsweep.search.startup.SobolStartupSampler` and
:class:`~archsweep.search.localsearch.ParetoLocalSearchSampler`) choose some trials' points
themselves and leave the rest, and every per-parameter and per-trial hook, to the wrapped sampler,
so the wrapped sampler sees every trial (NSGA-II counts them into its generations).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

__all__ = ["DelegatingSampler"]


class DelegatingSampler(BaseSampler):
    """Base of the wrappers: ``self._main`` is the wrapped sampler; subclasses override the
    relative-sampling hooks (``infer_relative_search_space``, ``sample_relative``)."""

    _main: BaseSampler

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._main.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._main.before_trial(study, trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._main.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._main.reseed_rng()
