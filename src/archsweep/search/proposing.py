"""A wrapper sampler that proposes some trials' grid points itself and leaves the others to the wrapped sampler.

:class:`~archsweep.search.localsearch.ParetoLocalSearchSampler` and
:class:`~archsweep.search.surrogate.SurrogateSampler` share this plumbing: at each ask,
``infer_relative_search_space`` calls the subclass's ``_propose``; a proposal (a full grid point) is
kept per trial number and returned by ``sample_relative``; without one, both hooks go to the wrapped
sampler, whose relative sample passes through ``_main_sampled`` (a subclass may move it). Every other
hook is the wrapped sampler's (:class:`~archsweep.search.delegating.DelegatingSampler`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from archsweep.search.delegating import DelegatingSampler
from archsweep.search.grid import Axis
from archsweep.search.twins import implied_twins

__all__ = ["ProposingSampler", "CONSTRAINT_CAP", "FINISHED_STATES", "to_global"]

#: The constraint value the worker tells for a non-finite one (:func:`archsweep.search.dedup.finite_or_cap`;
#: Optuna accepts no NaN/inf): violated, larger than any real one. Here, not in dedup, because dedup imports
#: storage, which imports the samplers.
CONSTRAINT_CAP = 1e300


FINISHED_STATES = (TrialState.COMPLETE, TrialState.FAIL)


def to_global(number: int, share: float) -> bool:
    """Whether trial ``number`` is among ``share`` of the study's trial numbers, evenly spaced
    (``floor((n + 1) s) > floor(n s)``; every other trial at 0.5): the local search's trials left to
    the global sampler, the surrogate's own trials. Both read the raw trial number, so equal shares
    pick the same trials."""
    return share > 0 and int((number + 1) * share) > int(number * share)


def _constraints(trial: FrozenTrial) -> list[float]:
    """The trial's constraint values (Optuna 5: a dict by name; older: a list)."""
    constraints: Any = trial.constraints
    return [float(c) for c in (constraints.values() if isinstance(constraints, Mapping) else constraints)]


class ProposingSampler(DelegatingSampler):
    """Base of the proposing wrappers: wraps ``main`` over ``space`` with grid ``axes`` (the space's
    discrete parameters); subclasses implement ``_propose``. ``twins`` (``slack_twins``): the grid points
    a finished trial implies (:mod:`archsweep.search.twins`) count as known (:meth:`_implied`)."""

    def __init__(self, main: BaseSampler, space: Mapping[str, BaseDistribution], axes: Sequence[Axis],
                 twins: bool = False) -> None:
        self._main, self._space, self._axes = main, dict(space), axes
        self._proposals: dict[int, dict[str, Any]] = {}  # trial number -> this sampler's proposal
        self._indices: dict[int, tuple[int, ...] | None] = {}  # trial number -> grid index, once every axis is set
        self._twins = twins
        self._twin_memo: tuple[int, frozenset[tuple[int, ...]]] = (0, frozenset())

    def _propose(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any] | None:
        """This trial's grid point (every axis), or None to leave the trial to the wrapped sampler."""
        raise NotImplementedError

    def _main_sampled(self, study: optuna.Study, trial: FrozenTrial, params: dict[str, Any]) -> dict[str, Any]:
        """The wrapped sampler's relative sample as this sampler returns it (unchanged here)."""
        return params

    def _trial_index(self, trial: FrozenTrial) -> tuple[int, ...] | None:
        """Grid index of a trial's parameters (None: an axis is missing or off the grid), cached once
        every axis has a value (a parameter never changes once set; another worker's trial may be
        seen while its parameters are being set)."""
        if trial.number in self._indices:
            return self._indices[trial.number]
        index = self._index(trial.params)
        if index is not None or all(axis.name in trial.params for axis in self._axes):
            self._indices[trial.number] = index
        return index

    def _completed(self, study: optuna.Study, finished: list[FrozenTrial]
                   ) -> tuple[np.ndarray, list[tuple[FrozenTrial, tuple[int, ...], np.ndarray]]]:
        """(the objectives' signs, +1 minimised / -1 maximised; (trial, grid index, signed values: smaller is
        better) of each complete trial of ``finished`` on the grid, in order)."""
        signs = np.array([-1.0 if d == StudyDirection.MAXIMIZE else 1.0 for d in study.directions])
        out = []
        for t in finished:
            index = self._trial_index(t)
            if t.state != TrialState.COMPLETE or t.values is None or index is None:
                continue
            out.append((t, index, signs * np.asarray(t.values, dtype=np.float64)))
        return signs, out

    def _completed_columns(self, study: optuna.Study, finished: list[FrozenTrial]
                           ) -> tuple[list[np.ndarray], list[tuple[int, ...]], list[list[float]]]:
        """The complete trials of ``finished`` on the grid (:meth:`_completed`), in order, as three columns:
        their signed objective values (smaller is better), grid indices and constraint values (<= 0: met)."""
        _, completed = self._completed(study, finished)
        return ([values for _, _, values in completed], [index for _, index, _ in completed],
                [_constraints(t) for t, _, _ in completed])

    def _implied(self, finished: list[FrozenTrial]) -> frozenset[tuple[int, ...]]:
        """The grid points the complete trials of ``finished`` imply through a limit that does not bind
        (:func:`~archsweep.search.twins.implied_twins`; empty without ``twins`` or with constraint values
        not stored by name), kept while no trial finishes."""
        if not self._twins:
            return frozenset()
        if self._twin_memo[0] != len(finished):
            pairs = [(index, t.constraints) for t in finished
                     if t.state == TrialState.COMPLETE and isinstance(t.constraints, Mapping)
                     for index in [self._trial_index(t)] if index is not None]
            self._twin_memo = (len(finished), frozenset(implied_twins(pairs, self._axes)))
        return self._twin_memo[1]

    def _index(self, params: Mapping[str, Any]) -> tuple[int, ...] | None:
        """Grid index of a parameter set, None when an axis is missing or off the grid."""
        out = []
        for axis in self._axes:
            if axis.name not in params:
                return None
            i = axis.index(params[axis.name])
            if i is None:
                return None
            out.append(i)
        return tuple(out)

    # -- Optuna hooks ---------------------------------------------------------------------------

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        proposal = self._propose(study, trial)
        if proposal is None:
            self._proposals.pop(trial.number, None)
            return self._main.infer_relative_search_space(study, trial)
        self._proposals[trial.number] = proposal
        return {axis.name: self._space[axis.name] for axis in self._axes}

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        proposal = self._proposals.pop(trial.number, None)
        if proposal is not None:
            return {k: v for k, v in proposal.items() if k in search_space}
        return self._main_sampled(study, trial, self._main.sample_relative(study, trial, search_space))
