"""Exact design objectives on a late share of the surrogate's trials (``surrogate_exact_share``; issue 14, s26-S).

The surrogate's Gaussian process of the package price is smooth; the price is not: it steps down 15-17 % where a
design splits into chiplets, a cliff across compute units x bandwidth, and a GP fitted to trials on the expensive
side of it over-predicts the single-die designs below it (``docs/search-quality-history.md``, s23-U: the cheap end
of grid 1's front on seed 18). ``surrogate_exact_design`` takes the exact price on every surrogate trial; it fixed
that seed and lost another to a different trajectory (s24-D). Here only a late share of the surrogate's trials
take it: from ``start`` distinct finished grid points on, the surrogate's own trials whose rank r among them has
floor((r + 1) x) > floor(r x) (a share x, evenly spaced) are proposed by a second surrogate sampler that computes
the design-only objectives exactly (screens, optimistic point, belief), its own models refitted on the same
trials; every other trial is the plain surrogate's, whose models and proposals are unchanged by these trials'
existence except through the points they evaluate. With ``surrogate_grid_share`` 0.5 and x = 0.25 the exact trials
are every other whole-grid trial (ranks 3 mod 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial

from archsweep.search.acquisition import best_candidate
from archsweep.search.grid import grid_axes
from archsweep.search.proposing import FINISHED_STATES, ProposingSampler, to_global
from archsweep.search.surrogate import SurrogateSampler

__all__ = ["ExactShareSampler", "WideReferenceSurrogate", "EXACT_SHARE_START", "WIDEN"]

#: Fraction of the study's trials that must be distinct finished grid points before the first exact trial: the
#: midpoint, so the first half of a search is the plain surrogate's (chosen before any run, not tuned).
EXACT_SHARE_START = 0.5
#: The exact trials' acquisition reference point: the found front's nadir plus 10 % of each range, moved this many
#: ranges farther out (one range past the nadir in all; chosen before any run, not tuned).
WIDEN = 0.9


class WideReferenceSurrogate(SurrogateSampler):
    """The surrogate sampler with its acquisition's reference point ``WIDEN`` of the found front's ranges farther
    out (module doc): a candidate beyond the found front's nadir in one objective (a cheaper, slower design) gains."""

    def _best(self, model: Any, front: np.ndarray, free: np.ndarray, threshold: float) -> int | None:
        return best_candidate(model.front, front, model.optimistic, model.feasible, free, threshold, WIDEN)


class ExactShareSampler(ProposingSampler):
    """The plain surrogate's proposals, and the exact-design surrogate's on a late share of them (module doc).

    Args:
        main: the sampler both surrogates wrap (the other trials and their fallbacks).
        space: the search's distributions.
        plain: the surrogate sampler of most trials (predicts every objective), wrapping ``main``.
        exact: the same surrogate with the exact design objectives (``design``), wrapping ``main``.
        share: the surrogate's trials it proposes (``surrogate_share``), in (0, 1].
        exact_share: the share x in (0, 1] of the surrogate's own trials, by rank, that ``exact`` proposes.
        start: distinct finished grid points before the first exact trial (>= 0).
        twins: ``slack_twins`` (as the surrogates').
    """

    def __init__(self, main: BaseSampler, space: Mapping[str, BaseDistribution], *, plain: SurrogateSampler,
                 exact: SurrogateSampler, share: float, exact_share: float, start: int, twins: bool = False) -> None:
        if not 0.0 < exact_share <= 1.0:
            raise ValueError(f"exact_share: got {exact_share}; allowed: 0 < exact_share <= 1")
        if not 0.0 < share <= 1.0:
            raise ValueError(f"share: got {share}; allowed: 0 < share <= 1")
        if start < 0:
            raise ValueError(f"start: got {start}; allowed: an integer >= 0")
        super().__init__(main, space, grid_axes(space), twins)
        self._plain, self._exact_sampler = plain, exact
        self._share, self._exact_share, self._start = share, exact_share, start

    def is_exact(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        """Whether ``trial`` is one of the exact sampler's (a surrogate trial of rank r with floor((r + 1) x) >
        floor(r x), once ``start`` distinct grid points are finished)."""
        if not to_global(trial.number, self._share):
            return False
        if not to_global(int((trial.number + 1) * self._share) - 1, self._exact_share):
            return False
        finished = [t for t in study.get_trials(deepcopy=False) if t.state in FINISHED_STATES]
        return len({self._trial_index(t) for t in finished} - {None}) >= self._start

    def _propose(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any] | None:
        sampler = self._exact_sampler if self.is_exact(study, trial) else self._plain
        return sampler._propose(study, trial)
