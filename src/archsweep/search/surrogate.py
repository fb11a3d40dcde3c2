"""Surrogate proposals on the grid: Gaussian processes and hypervolume improvement (``surrogate_share``).

Once ``start`` distinct grid points are finished (COMPLETE or FAIL) and until ``stop`` are, the trials
whose study trial number n has ``floor((n + 1) share) > floor(n share)`` (a share ``share``, evenly
spaced) are proposed here; the others, and a selected trial when no candidate gains hypervolume (or
there is no feasible trial yet), go to the wrapped sampler (the global sampler, or the Pareto local
search of :mod:`archsweep.search.localsearch`, which applies its own ``global_share`` rule to the same
trial numbers: the two shares do not compose as fractions of what is left). A proposal:

* **Model**: one Gaussian process per objective and one for the largest constraint value
  (:mod:`archsweep.search.gp`) over the grid-level positions scaled to [0, 1], fitted on every
  finished trial; objectives of one sign in log space (:func:`~archsweep.search.stepmodel.objective_transform`).
  The hyperparameters are refitted (on at most ``_FIT_POINTS`` of the trials) when the finished
  trials have grown by half since the last fit; every update conditions on all finished trials.
* **Candidates**: the free (not finished, not in flight) one- and two-axis grid neighbours of the
  feasible non-dominated trials (one-axis moves of up to ``reach`` steps, ``neighbour_reach``), plus ``_RANDOM_POOL`` free grid points drawn at random (exploration).
  The predicted mean of every candidate is computed (O(n) each); the standard deviation (O(n^2)
  each) only for the random ones and the ``_SCREENED`` neighbours whose mean reaches farthest beyond
  the front (additive-epsilon margin, :func:`~archsweep.search.stepmodel.front_margin`).
* **Acquisition**: the optimistic prediction (mean minus ``beta`` standard deviations, each
  objective minimised; the upper-confidence-bound rule of Srinivas et al., ICML 2010, per objective)
  is mapped back to the objectives' units, and the candidate with the largest hypervolume improvement
  over the found front (exact, moocore; reference: the found front's nadir plus 10 % of its range)
  times its probability of feasibility (the constraint GP's probability of a value <= 0) is
  proposed (Emmerich et al., "Single- and multiobjective evolutionary optimization assisted by
  Gaussian random field metamodels", IEEE TEVC 10(4), 2006, use the expected improvement; the
  optimistic point is its cheap stand-in). The exact improvement is computed for the ``_SHORTLIST``
  candidates whose optimistic point is farthest beyond the front, among those with a probability of
  feasibility of at least ``_LIKELY_FEASIBLE`` when there are any (without that filter, 24-28 % of
  the proposals were infeasible on the search-quality grid: optimism pushes them against the power cap).
* **Batches**: a trial still in flight enters the front with its predicted mean (the "Kriging
  believer" of Ginsbourger et al., "Kriging is well-suited to parallelize optimization", 2010), so
  the trials of one batch spread out instead of piling on one region.

Continuous parameters are left to the wrapped sampler's ``sample_independent``. Everything is read
back from the study's trials at each ask, as in the local search, so workers sharing a storage
cooperate; a per-process memo keeps the fitted model while no trial has finished.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState
from scipy.stats import norm

from archsweep.results.hypervolume import hypervolume, reference_point
from archsweep.results.pareto import non_dominated_mask
from archsweep.search.gp import GaussianProcess, fit_gp
from archsweep.search.grid import Index, checked_reach, grid_axes, neighbours
from archsweep.search.proposing import _FINISHED, CONSTRAINT_CAP, ProposingSampler, _constraints, _to_global
from archsweep.search.stepmodel import front_margin, objective_transform
from archsweep.spec.search import DEFAULT_SURROGATE_BETA

__all__ = ["SurrogateSampler"]

#: Random free grid points added to the front's neighbours as candidates at each model update.
_RANDOM_POOL = 512
#: Front neighbours whose variance is computed at each model update (the best by predicted mean).
_SCREENED = 1024
#: Candidates whose exact hypervolume improvement is computed at each ask (~40 us each, 3 objectives).
_SHORTLIST = 128
#: Probability of feasibility a candidate needs to enter the shortlist (when any candidate has it).
_LIKELY_FEASIBLE = 0.5
#: Refit the hyperparameters when the finished trials have grown by this factor since the last fit,
#: on at most ``_FIT_POINTS`` of them drawn at random (the O(n^3) likelihood); the model then
#: conditions on every finished trial with those hyperparameters.
_REFIT_GROWTH = 1.5
_FIT_POINTS = 300


@dataclass(frozen=True)
class _Model:
    """What one model update gives every ask until the next trial finishes."""

    front: np.ndarray  # found feasible non-dominated points, minimised, objective units
    pool: np.ndarray  # candidate grid indices (m, axes)
    optimistic: np.ndarray  # (m, k) optimistic predictions, minimised, objective units
    feasible: np.ndarray  # (m,) probability of feasibility
    gps: tuple[GaussianProcess, ...]
    logged: np.ndarray  # which objectives are modelled in log space
    template: np.ndarray  # a finite row of the minimised objectives (each column's sign)


def _untransform(t: np.ndarray, logged: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Inverse of :func:`objective_transform` column by column (``template``: a value of each column's sign)."""
    sign = np.where(template < 0, -1.0, 1.0)
    return np.where(logged, sign * np.exp(sign * t), t)


class SurrogateSampler(ProposingSampler):
    """GP hypervolume-improvement proposals for ``share`` of the trials after ``start`` (module doc).

    Args:
        main: the sampler of the other trials.
        space: the search's distributions (the discrete ones form the grid).
        start: distinct finished points before the first proposal (>= 2).
        share: fraction of the later trials proposed here (by trial number, module doc), in (0, 1];
            a selected trial falls back to ``main`` when no candidate gains hypervolume.
        beta: standard deviations of optimism (>= 0).
        seed: seed of the random candidates (with the number of finished trials).
        stop: distinct finished points after which the surrogate proposes nothing (None: never).
        reach: the most steps of a one-axis move among the front's neighbours (>= 1).
    """

    def __init__(self, main: BaseSampler, space: Mapping[str, BaseDistribution], *, start: int, share: float,
                 beta: float = DEFAULT_SURROGATE_BETA, seed: int = 0, stop: int | None = None, reach: int = 1) -> None:
        if start < 2:
            raise ValueError(f"start: got {start}; allowed: an integer >= 2")
        if not 0.0 < share <= 1.0:
            raise ValueError(f"share: got {share}; allowed: 0 < share <= 1")
        if beta < 0:
            raise ValueError(f"beta: got {beta}; allowed: beta >= 0")
        super().__init__(main, space, grid_axes(space))
        self._sizes = np.array([len(a.values) for a in self._axes], dtype=np.int64)
        self._start, self._share, self._beta, self._seed, self._stop = start, share, beta, seed, stop
        self._reach = checked_reach(reach)
        self._memo: tuple[int, _Model | None] | None = None
        self._theta: list[np.ndarray | None] = []
        self._fitted_at = 0
        self._random_count = 0
        self._believed: dict[Index, np.ndarray] = {}  # predicted means of in-flight points, this model

    # -- model ----------------------------------------------------------------------------

    def _unit(self, indices: np.ndarray) -> np.ndarray:
        return np.asarray(indices, dtype=np.float64) / np.maximum(self._sizes - 1, 1)

    def _fit(self, x: np.ndarray, targets: list[np.ndarray]) -> list[GaussianProcess]:
        refit = len(x) >= _REFIT_GROWTH * self._fitted_at or len(self._theta) != len(targets)
        if len(self._theta) != len(targets):
            self._theta = [None] * len(targets)
        gps = []
        rng = np.random.default_rng([self._seed, len(x)])
        for j, y in enumerate(targets):
            rows = np.flatnonzero(np.isfinite(y))
            theta = self._theta[j]
            if (refit or theta is None) and len(rows) <= _FIT_POINTS:
                gp = fit_gp(x[rows], y[rows], theta)  # fitted on every row: the model itself
            else:
                if refit or theta is None:
                    subset = rng.choice(rows, _FIT_POINTS, replace=False)
                    theta = fit_gp(x[subset], y[subset], theta).theta
                gp = fit_gp(x[rows], y[rows], theta, optimise=False)
            self._theta[j] = gp.theta
            gps.append(gp)
        if refit:
            self._fitted_at = len(x)
        return gps

    def _model(self, study: optuna.Study, finished: list[FrozenTrial]) -> _Model | None:
        if self._memo is not None and self._memo[0] == len(finished):
            return self._memo[1]
        _, completed = self._completed(study, finished)
        rows = [values for _, _, values in completed]
        indices = [index for _, index, _ in completed]
        violation = [max(c) if (c := _constraints(t)) else -1.0 for t, _, _ in completed]
        model = None
        if len(rows) >= 2:
            model = self._update(np.stack(rows), np.array(indices, dtype=np.int64), np.array(violation),
                                 len(finished))
        self._memo = (len(finished), model)
        self._believed = {}
        return model

    def _update(self, values: np.ndarray, indices: np.ndarray, violation: np.ndarray, count: int) -> _Model | None:
        # a non-finite violation is told as CONSTRAINT_CAP (search.dedup.finite_or_cap): as large as the largest finite one
        finite = violation < CONSTRAINT_CAP
        violation = np.where(finite, violation, violation[finite].max(initial=1.0) if finite.any() else 1.0)
        feasible = (violation <= 0) & np.all(np.isfinite(values), axis=1)
        if not feasible.any():
            return None
        points = values[feasible]
        mask = non_dominated_mask(points)
        front, front_index = points[mask], indices[feasible][mask]
        transformed, logged = objective_transform(values)
        x = self._unit(indices)
        constrained = bool(np.any(violation > 0))
        targets = [transformed[:, k] for k in range(values.shape[1])] + ([violation] if constrained else [])
        gps = self._fit(x, targets)
        known = frozenset(map(tuple, indices.tolist()))
        rng = np.random.default_rng([self._seed, count])
        pool = self._pool(front_index, known, rng)
        if len(pool) == 0:
            return None
        template = values[np.isfinite(values).all(axis=1)][0]
        k = values.shape[1]
        # stage 1: the mean of every candidate (O(m n)); the variance (O(m n^2)) only for the
        # _SCREENED neighbours whose mean reaches farthest beyond the front, and the random draws
        xq = self._unit(pool)
        mean = _untransform(np.stack([gps[j].predict(xq, std=False)[0] for j in range(k)], axis=1), logged, template)
        span = np.maximum(front.max(axis=0) - front.min(axis=0), 1e-300)
        margin = front_margin(mean, front, span)
        explore = np.zeros(len(pool), dtype=bool)
        explore[len(pool) - self._random_count:] = True
        keep = explore.copy()
        keep[np.argsort(-np.where(explore, -np.inf, margin), kind="stable")[:_SCREENED]] = True
        pool, xq = pool[keep], xq[keep]
        optimistic = np.empty((len(pool), k))
        for j in range(k):
            mu, sd = gps[j].predict(xq)
            optimistic[:, j] = mu - self._beta * sd
        optimistic = _untransform(optimistic, logged, template)
        probability = np.ones(len(pool))
        if constrained:
            mu, sd = gps[-1].predict(xq)
            probability = norm.cdf(-mu / np.maximum(sd, 1e-9))
        return _Model(front, pool, optimistic, probability, tuple(gps[:k]), logged, template)

    def _pool(self, front: np.ndarray, known: frozenset[Index], rng: np.random.Generator) -> np.ndarray:
        """Free one- and two-axis neighbours of the front, then (the last ``self._random_count`` rows)
        free random grid points that are not among them."""
        sizes = tuple(int(s) for s in self._sizes)
        near: set[Index] = set()
        for parent in map(tuple, front.tolist()):
            one, two = neighbours(parent, sizes, 2, self._reach)
            near.update(n for n in one + two if n not in known)
        total = int(np.prod(self._sizes))
        draws = np.unravel_index(rng.integers(0, total, size=min(_RANDOM_POOL, total)), sizes)
        far = sorted({n for n in zip(*(d.tolist() for d in draws)) if n not in known and n not in near})
        self._random_count = len(far)
        return np.array(sorted(near) + far, dtype=np.int64).reshape(-1, len(self._axes))

    # -- proposal ---------------------------------------------------------------------------

    def _predicted_mean(self, model: _Model, index: Index) -> np.ndarray:
        if index not in self._believed:
            xq = self._unit(np.array([index]))
            mean = np.array([float(gp.predict(xq, std=False)[0][0]) for gp in model.gps])
            self._believed[index] = _untransform(mean, model.logged, model.template)
        return self._believed[index]

    def _propose(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any] | None:
        if not self._axes:
            return None
        trials = study.get_trials(deepcopy=False)
        finished = [t for t in trials if t.state in _FINISHED]
        distinct = len({self._trial_index(t) for t in finished} - {None})
        if distinct < self._start or (self._stop is not None and distinct >= self._stop):
            return None
        if not _to_global(trial.number, self._share):
            return None
        model = self._model(study, finished)
        if model is None:
            return None
        flying = [i for t in trials if t.state == TrialState.RUNNING and t.number != trial.number
                  for i in [self._trial_index(t)] if i is not None]
        front = model.front
        if flying:
            believed = np.stack([self._predicted_mean(model, i) for i in flying])
            front = np.vstack([front, believed])
            front = front[non_dominated_mask(front)]
        taken = set(flying)
        free = np.array([tuple(p) not in taken for p in model.pool.tolist()])
        chosen = self._best(model, front, free)
        if chosen is None:
            return None
        return {axis.name: axis.values[int(i)] for axis, i in zip(self._axes, model.pool[chosen])}

    def _best(self, model: _Model, front: np.ndarray, free: np.ndarray) -> int | None:
        span = model.front.max(axis=0) - model.front.min(axis=0)
        reference = reference_point(model.front)
        inside = free & np.all(model.optimistic < reference, axis=1)
        likely = inside & (model.feasible >= _LIKELY_FEASIBLE)  # the shortlist is of likely feasible points
        candidates = np.flatnonzero(likely if likely.any() else inside)
        if len(candidates) == 0:
            return None
        margin = front_margin(model.optimistic[candidates], front, np.where(span > 0, span, 1.0))
        order = np.argsort(-margin, kind="stable")[:_SHORTLIST]
        shortlist = candidates[order[margin[order] > 0]]
        if len(shortlist) == 0:
            return None
        base = hypervolume(front, reference)
        gains = np.array([hypervolume(np.vstack([front, model.optimistic[c]]), reference) - base for c in shortlist])
        score = gains * model.feasible[shortlist]
        best = int(np.argmax(score))
        return int(shortlist[best]) if score[best] > 0 else None
