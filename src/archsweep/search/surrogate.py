"""Surrogate proposals on the grid: Gaussian processes and hypervolume improvement (``surrogate_share``).

Once ``start`` distinct grid points are finished (COMPLETE or FAIL) and until ``stop`` are, the trials whose study trial
number n has ``floor((n + 1) share) > floor(n share)`` (a share ``share``, evenly spaced) are proposed here; the others,
and a selected trial when no candidate gains hypervolume (or there is no feasible trial yet), go to the wrapped sampler
(the global sampler, or the Pareto local search of :mod:`archsweep.search.localsearch`, which applies its own
``global_share`` rule to the same trial numbers: the two shares do not compose as fractions of what is left). A
proposal:

* **Model**: one Gaussian process per objective and one for the largest constraint value (:mod:`archsweep.search.gp`)
  over the grid-level positions scaled to [0, 1], fitted on every finished trial; objectives of one sign in log space
  (:func:`~archsweep.search.stepmodel.objective_transform`). ``constraints="each"`` / ``"each_screened"``: one GP per
  constraint that some finished trial violates, on log(1 + max(v, -0.9)), the probability of feasibility the product of
  theirs. The largest value is a max over constraints with a kink where one of them is ~0 (the TDP constraint wherever
  DVFS clamps power to the TDP): on the search-quality grid b it hid the front's power-cap ridge points from the
  proposals (``docs/search-quality-history.md``, tenth session). The hyperparameters are refitted (on at most
  ``_FIT_POINTS`` of the trials) when the finished trials have grown by half since the last fit; every update conditions
  on all finished trials.
* **Candidates** (:mod:`archsweep.search.surrogatepool`; ``pool``): ``"neighbours"`` the free (not finished, not in
  flight) one- and two-axis grid neighbours of the feasible non-dominated trials (one-axis moves of up to ``reach``
  steps, ``neighbour_reach``), plus 512 free grid points drawn at random (exploration), the standard deviation (O(n^2)
  each) computed only for the random ones and the 1,024 neighbours whose predicted mean reaches farthest beyond the
  front; ``"grid"`` every free grid point, screened the same way by a mean computed for the whole grid at once (2,048
  kept); ``"both"`` the two sets: with ``grid_share`` x, the surrogate's own trials whose rank r among them has
  floor((r + 1) x) > floor(r x) choose among the whole-grid candidates only, the others among the neighbour set only
  (without it, among both); ``"fallback"`` the neighbour set first, the whole-grid one only when no neighbour gains hypervolume.
* **Acquisition**: the optimistic prediction (mean minus ``beta`` standard deviations, each objective minimised; the
  upper-confidence-bound rule of Srinivas et al., ICML 2010, per objective) is mapped back to the objectives' units, and
  the candidate with the largest hypervolume improvement over the found front (exact, moocore; reference: the found
  front's nadir plus 10 % of its range, farther out on ``wide``'s trials, :mod:`archsweep.search.widereference`) times
  its probability of feasibility (the constraint GP's probability of a value <= 0) is proposed
  (:mod:`archsweep.search.acquisition`; Emmerich et al., "Single- and multiobjective evolutionary optimization assisted
  by Gaussian random field metamodels", IEEE TEVC 10(4), 2006, use the expected improvement; the optimistic point is its
  cheap stand-in). The exact improvement is computed for the ``SHORTLIST`` candidates whose optimistic point is farthest
  beyond the front, among those with a probability of feasibility of at least ``_LIKELY_FEASIBLE`` when there are any
  (without that filter, 24-28 % of the proposals were infeasible on the search-quality grid: optimism pushes them
  against the power cap). With per-constraint models (``"each"``) there is no such filter, every candidate weighted by
  its probability; ``"each_screened"`` keeps it on the trials that choose among the neighbour set only (dropping it
  there cost grid 1 what grid b gained: ``docs/search-quality-history.md``, s10-quality2).
* **Batches**: a trial still in flight enters the front with its predicted mean (the "Kriging believer" of Ginsbourger
  et al., "Kriging is well-suited to parallelize optimization", 2010), so the trials of one batch spread out instead of
  piling on one region.

Continuous parameters are left to the wrapped sampler's ``sample_independent``. Everything is read back from the study's
trials at each ask, as in the local search, so workers sharing a storage cooperate; a per-process memo keeps the fitted
model while no trial has finished.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState
from scipy.stats import norm

from archsweep.results.pareto import non_dominated_mask
from archsweep.search.acquisition import best_candidate
from archsweep.search.designobjectives import DesignObjectives, overlay
from archsweep.search.gp import GaussianProcess, fit_gp
from archsweep.search.grid import Index, checked_reach, grid_axes
from archsweep.search.mappingattrs import MAPPING_ATTR
from archsweep.search.proposing import CONSTRAINT_CAP, FINISHED_STATES, ProposingSampler, to_global
from archsweep.search.rateaxes import rate_coordinates
from archsweep.search.stepmodel import objective_transform
from archsweep.search.surrogatemapping import (
    SURROGATE_MAPPING_MODES,
    WEIGHTED_MODES,
    MappingInputs,
    averaged_rows,
    axis_weights,
    mapping_inputs,
)
from archsweep.search.surrogatepool import (
    grid_candidates,
    neighbour_candidates,
    screen_neighbours,
    unit,
    untransform,
)
from archsweep.search.widereference import WideReference
from archsweep.spec.search import (
    DEFAULT_SURROGATE_BETA,
    DEFAULT_SURROGATE_CONSTRAINTS,
    DEFAULT_SURROGATE_POOL,
    SURROGATE_CONSTRAINT_MODELS,
    SURROGATE_POOLS,
)

__all__ = ["SurrogateSampler"]

#: Probability of feasibility a candidate needs to enter the shortlist (when any candidate has it).
_LIKELY_FEASIBLE = 0.5
#: Refit the hyperparameters when the finished trials have grown by this factor since the last fit,
#: on at most ``_FIT_POINTS`` of them drawn at random (the O(n^3) likelihood); the model then
#: conditions on every finished trial with those hyperparameters.
_REFIT_GROWTH = 1.5
_FIT_POINTS = 300
#: Whole-grid candidates (``pool`` "grid", "both", "fallback"): a point enters the screen when no constraint
#: GP predicts more than this (on log(1 + v) with per-constraint models: 5 % over a limit; 0 with the
#: largest-value model). The tenth session's choice, not tuned.
_GRID_SLACK = 0.05
#: ``constraints="each"``: a constraint value v is modelled as log(1 + max(v, _VIOLATION_FLOOR)) (a relative
#: constraint, used / limit - 1, whose ratio is a product of design factors: additive in log space).
_VIOLATION_FLOOR = -0.9


@dataclass(frozen=True)
class _Model:
    """What one model update gives every ask until the next trial finishes."""

    front: np.ndarray  # found feasible non-dominated points, minimised, objective units
    pool: np.ndarray  # candidate grid indices (m, axes)
    optimistic: np.ndarray  # (m, k) optimistic predictions, minimised, objective units
    feasible: np.ndarray  # (m,) probability of feasibility
    gps: tuple[GaussianProcess, ...]
    gridded: np.ndarray  # (m,) whether the candidate is in the whole-grid set
    neighbour: np.ndarray  # (m,) whether it is in the neighbour set (the front's neighbours, random points)
    logged: np.ndarray  # which objectives are modelled in log space
    template: np.ndarray  # a finite row of the minimised objectives (each column's sign)
    mapping: MappingInputs | None = None  # with surrogate_mapping: the gps take the mapping features too


class SurrogateSampler(ProposingSampler):
    """GP hypervolume-improvement proposals for ``share`` of the trials after ``start`` (module doc).

    Args:
        main: the sampler of the other trials.
        space: the search's distributions (the discrete ones form the grid).
        start: distinct finished points before the first proposal (>= 2).
        share: fraction of the later trials proposed here (by trial number, module doc), in (0, 1]; a selected trial
            falls back to ``main`` when no candidate gains hypervolume.
        beta: standard deviations of optimism (>= 0).
        seed: seed of the random candidates (with the number of finished trials).
        stop: distinct finished points after which the surrogate proposes nothing (None: never).
        reach: the most steps of a one-axis move among the front's neighbours (>= 1).
        pool: the candidates (module doc): "neighbours" (the front's free neighbours plus random points), "grid"
            (every free grid point, screened), "both" (the two sets) or "fallback" (the neighbours, the whole grid
            only when no neighbour gains).
        constraints: "max" (one GP of the largest constraint value; the probability >= 0.5 shortlist), "each" (one GP
            per constraint that some finished trial violates, on log(1 + v); feasibility = the product of their
            probabilities; no shortlist) or "each_screened" (as "each", with the shortlist on the trials that choose
            among the neighbour set only).
        grid_share: with pool "both" only: the share in (0, 1] of the surrogate's own trials (evenly spaced by their
            rank among them) that choose among the whole-grid set only, the others among the neighbour set only;
            None: every trial among both.
        twins: the grid points a finished trial implies through a limit that does not bind
            (:mod:`archsweep.search.twins`, ``slack_twins``) are no candidates.
        mapping: ``surrogate_mapping``: "off", or the objective GPs take each workload's chosen mapping as inputs too,
            a candidate's predicted from its nearest finished trials, "nearest", "optimistic", "weighted", "averaged"
            or "rates" (:mod:`archsweep.search.surrogatemapping`).
        design: ``surrogate_exact_design``: the study's design-only objectives (:mod:`archsweep.search.designobjectives`),
            exact for every candidate (screening, optimistic point, belief) in place of the GPs'; None: all predicted.
        wide: ``surrogate_wide_share``: the trials whose acquisition takes a wide reference point
            (:mod:`archsweep.search.widereference`); None: none.
    """

    def __init__(self, main: BaseSampler, space: Mapping[str, BaseDistribution], *, start: int, share: float,
                 beta: float = DEFAULT_SURROGATE_BETA, seed: int = 0, stop: int | None = None, reach: int = 1,
                 pool: str = DEFAULT_SURROGATE_POOL, constraints: str = DEFAULT_SURROGATE_CONSTRAINTS,
                 grid_share: float | None = None, twins: bool = False, mapping: str = "off",
                 design: DesignObjectives | None = None, wide: WideReference | None = None) -> None:
        if start < 2:
            raise ValueError(f"start: got {start}; allowed: an integer >= 2")
        if not 0.0 < share <= 1.0:
            raise ValueError(f"share: got {share}; allowed: 0 < share <= 1")
        if beta < 0:
            raise ValueError(f"beta: got {beta}; allowed: beta >= 0")
        if pool not in SURROGATE_POOLS:
            raise ValueError(f"pool: got {pool!r}; allowed: {', '.join(SURROGATE_POOLS)}")
        if constraints not in SURROGATE_CONSTRAINT_MODELS:
            raise ValueError(f"constraints: got {constraints!r}; allowed: {', '.join(SURROGATE_CONSTRAINT_MODELS)}")
        if grid_share is not None and not (0.0 < grid_share <= 1.0 and pool == "both"):
            raise ValueError(f"grid_share: got {grid_share} with pool {pool!r}; allowed: 0 < grid_share <= 1, "
                             "with pool 'both'")
        if mapping not in SURROGATE_MAPPING_MODES:
            raise ValueError(f"mapping: got {mapping!r}; allowed: {', '.join(SURROGATE_MAPPING_MODES)}")
        self._pool_kind, self._constraint_model, self._grid_share, self._mapping = pool, constraints, grid_share, mapping
        self._wide = wide
        super().__init__(main, space, grid_axes(space), twins)
        self._design = None if design is None else design.on_grid(self._axes, space)
        self._sizes = np.array([len(a.values) for a in self._axes], dtype=np.int64)
        self._start, self._share, self._beta, self._seed, self._stop = start, share, beta, seed, stop
        self._reach = checked_reach(reach)
        self._memo: tuple[int, _Model | None] | None = None
        self._theta: dict[str, list[np.ndarray | None]] = {}  # per model ("grid", "mapping"), per target
        self._fitted_at: dict[str, int] = {}
        self._axis_weights: tuple[int, np.ndarray] | None = None  # WEIGHTED_MODES: (trials they were chosen on, weights)
        self._believed: dict[Index, np.ndarray] = {}  # predicted means of in-flight points, this model

    # -- model ----------------------------------------------------------------------------

    @property
    def _each(self) -> bool:
        """Per-constraint feasibility models (``constraints`` "each" or "each_screened")."""
        return self._constraint_model != "max"

    def _threshold(self, whole: bool) -> float:
        """The probability of feasibility a candidate needs to enter the shortlist (when any candidate has
        it) on a trial whose candidates include the whole-grid set (``whole``) or not."""
        screened = self._constraint_model == "max" or (self._constraint_model == "each_screened" and not whole)
        return _LIKELY_FEASIBLE if screened else 0.0

    def _fit(self, x: np.ndarray, targets: list[np.ndarray], slot: str = "grid") -> list[GaussianProcess]:
        thetas = self._theta.get(slot, [])
        refit = len(x) >= _REFIT_GROWTH * self._fitted_at.get(slot, 0) or len(thetas) != len(targets)
        if len(thetas) != len(targets) or any(t is not None and len(t) != x.shape[1] + 2 for t in thetas):
            thetas = self._theta[slot] = [None] * len(targets)  # new targets, or new mapping features
        gps = []
        rng = np.random.default_rng([self._seed, len(x)])
        for j, y in enumerate(targets):
            rows = np.flatnonzero(np.isfinite(y))
            theta = thetas[j]
            if (refit or theta is None) and len(rows) <= _FIT_POINTS:
                gp = fit_gp(x[rows], y[rows], theta)  # fitted on every row: the model itself
            else:
                if refit or theta is None:
                    subset = rng.choice(rows, _FIT_POINTS, replace=False)
                    theta = fit_gp(x[subset], y[subset], theta).theta
                gp = fit_gp(x[rows], y[rows], theta, optimise=False)
            thetas[j] = gp.theta
            gps.append(gp)
        if refit:
            self._fitted_at[slot] = len(x)
        return gps

    def _model(self, study: optuna.Study, finished: list[FrozenTrial]) -> _Model | None:
        if self._memo is not None and self._memo[0] == len(finished):
            return self._memo[1]
        rows, indices, values = self._completed_columns(study, finished)
        attrs = ([t.user_attrs.get(MAPPING_ATTR) for t, _, _ in self._completed(study, finished)[1]]
                 if self._mapping != "off" else None)
        width = max((len(c) for c in values), default=0)
        violation = np.array([c if len(c) == width else [max(c, default=-1.0)] * width for c in values]
                             ).reshape(len(values), width) if width else np.full((len(values), 1), -1.0)
        if not self._each:
            violation = violation.max(axis=1, keepdims=True)
        model = None
        if len(rows) >= 2:
            model = self._update(np.stack(rows), np.array(indices, dtype=np.int64), violation, len(finished),
                                 self._implied(finished), attrs)
        self._memo = (len(finished), model)
        self._believed = {}
        return model

    def _update(self, values: np.ndarray, indices: np.ndarray, violation: np.ndarray, count: int,
                implied: frozenset[Index] = frozenset(), attrs: list[Any] | None = None) -> _Model | None:
        # a non-finite violation is told as CONSTRAINT_CAP (search.dedup.finite_or_cap): as large as the largest finite one
        # of its column; violation is (trials, constraints modelled): one column of the largest value, or one each
        finite = violation < CONSTRAINT_CAP
        violation = np.where(finite, violation, np.where(finite, violation, -np.inf).max(axis=0, initial=1.0))
        feasible = np.all(violation <= 0, axis=1) & np.all(np.isfinite(values), axis=1)
        if not feasible.any():
            return None
        points = values[feasible]
        mask = non_dominated_mask(points)
        front, front_index = points[mask], indices[feasible][mask]
        transformed, logged = objective_transform(values)
        x = unit(indices, self._sizes)
        violated = np.flatnonzero(np.any(violation > 0, axis=0))  # the constraints some trial violates
        limits = [np.log1p(np.maximum(violation[:, c], _VIOLATION_FLOOR)) if self._each else violation[:, c]
                  for c in violated]
        targets = [transformed[:, k] for k in range(values.shape[1])] + limits
        gps = self._fit(x, targets)
        known = frozenset(map(tuple, indices.tolist())) | implied  # implied: twins of finished trials
        rng = np.random.default_rng([self._seed, count])
        template = values[np.isfinite(values).all(axis=1)][0]
        k = values.shape[1]
        span = np.maximum(front.max(axis=0) - front.min(axis=0), 1e-300)
        pools, labels = [], []
        exact = None if self._design is None else self._exact
        if self._pool_kind != "grid":
            near, random_count = neighbour_candidates(front_index, known, tuple(int(n) for n in self._sizes),
                                                      self._reach, rng)
            if len(near):
                pools.append(screen_neighbours(near, random_count, gps[:k], logged, template, front, span, self._sizes,
                                               exact))
                labels.append(np.zeros(len(pools[-1]), dtype=bool))
        if self._pool_kind != "neighbours":
            taken = np.array(sorted(known), dtype=np.int64).reshape(-1, indices.shape[1]) if implied else indices
            pools.append(grid_candidates(gps, k, logged, template, front, span, taken, self._sizes,
                                         _GRID_SLACK if self._each else 0.0, rng, exact))
            labels.append(np.ones(len(pools[-1]), dtype=bool))
        if not pools:
            return None
        if self._pool_kind == "neighbours":  # one set, in its own order (neighbours, then the random points)
            pool, gridded, neighbour = pools[0], np.zeros(len(pools[0]), dtype=bool), np.ones(len(pools[0]), dtype=bool)
        else:  # one row per distinct candidate (sorted), with the sets it belongs to
            pool, inverse = np.unique(np.concatenate(pools), axis=0, return_inverse=True)
            inverse, label = np.asarray(inverse).reshape(-1), np.concatenate(labels)
            gridded, neighbour = np.zeros(len(pool), dtype=bool), np.zeros(len(pool), dtype=bool)
            gridded[inverse[label]] = True
            neighbour[inverse[~label]] = True
        xq = unit(pool, self._sizes)
        if len(pool) == 0:
            return None
        mapping = None if attrs is None else mapping_inputs(attrs, x)
        if mapping is not None and self._mapping == "rates":  # the compute-rate coordinates beside the grid's
            mapping = replace(mapping, extra=rate_coordinates(self._axes, indices))
        if mapping is not None and self._mapping in WEIGHTED_MODES:
            mapping = replace(mapping, weights=self._weights(mapping))
        objective_gps, inputs = gps[:k], xq
        if mapping is not None:  # the objectives' GPs on the grid and the mapping; candidates with predicted ones
            objective_gps = self._fit(np.hstack([x, mapping.features]), targets[:k], "mapping")
            inputs, owner = mapping.augment(xq, self._mapping, self._extra(mapping, pool))
            pool, gridded, neighbour, xq = pool[owner], gridded[owner], neighbour[owner], xq[owner]
        unique, back = (np.unique(inputs, axis=0, return_inverse=True) if self._mapping == "averaged"  # repeated rows
                        else (inputs, np.arange(len(inputs))))
        optimistic = np.empty((len(unique), k))
        for j in range(k):
            mu, sd = objective_gps[j].predict(unique)
            optimistic[:, j] = mu - self._beta * sd
        optimistic = untransform(optimistic[np.asarray(back).reshape(-1)], logged, template)
        if mapping is not None and self._mapping == "averaged":  # one row per candidate: the mean point
            keep, optimistic = averaged_rows(owner, optimistic)
            pool, gridded, neighbour, xq = pool[keep], gridded[keep], neighbour[keep], xq[keep]
        optimistic = overlay(optimistic, self._exact(pool))
        probability = np.ones(len(pool))
        for gp in gps[k:]:
            mu, sd = gp.predict(xq)
            probability *= norm.cdf(-mu / np.maximum(sd, 1e-9))
        return _Model(front, pool, optimistic, probability, tuple(objective_gps), gridded, neighbour, logged, template,
                      mapping)

    def _weights(self, mapping: MappingInputs) -> np.ndarray:
        """``"weighted"`` / ``"averaged"`` / ``"rates"``: the per-coordinate distance weights, chosen again on the GPs' refit schedule (when the
        finished trials have grown by ``_REFIT_GROWTH`` since)."""
        if self._axis_weights is None or len(mapping.x) >= _REFIT_GROWTH * self._axis_weights[0]:
            self._axis_weights = (len(mapping.x), axis_weights(mapping.coordinates, mapping.features))
        return self._axis_weights[1]

    def _extra(self, mapping: MappingInputs, indices: np.ndarray) -> np.ndarray | None:
        """The ``extra`` distance coordinates of grid points ``indices`` where the trials have them (``"rates"``)."""
        return None if mapping.extra is None else rate_coordinates(self._axes, indices)

    def _exact(self, indices: np.ndarray) -> np.ndarray | None:
        """``design``'s objectives of grid points ``indices`` (m, axes) (NaN where not exact); None without it."""
        return None if self._design is None else self._design.at(indices)

    # -- proposal ---------------------------------------------------------------------------

    def _predicted_mean(self, model: _Model, index: Index) -> np.ndarray:
        if index not in self._believed:
            xq = unit(np.array([index]), self._sizes)
            if model.mapping is not None:
                xq = model.mapping.augment(xq, "nearest", self._extra(model.mapping, np.array([index])))[0]
            mean = np.array([float(gp.predict(xq, std=False)[0][0]) for gp in model.gps])
            exact = self._exact(np.array([index]))
            self._believed[index] = overlay(untransform(mean, model.logged, model.template),
                                            None if exact is None else exact[0])
        return self._believed[index]

    def _propose(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any] | None:
        if not self._axes:
            return None
        trials = study.get_trials(deepcopy=False)
        finished = [t for t in trials if t.state in FINISHED_STATES]
        distinct = len({self._trial_index(t) for t in finished} - {None})
        if distinct < self._start or (self._stop is not None and distinct >= self._stop):
            return None
        if not to_global(trial.number, self._share):
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
        rank = int((trial.number + 1) * self._share) - 1  # this trial's rank among the surrogate's own trials
        widen = 0.0 if self._wide is None else self._wide.widen(rank, distinct)
        if self._grid_share is not None:  # the rank picks the whole-grid or the neighbour set
            whole = to_global(rank, self._grid_share)
            chosen = self._best(model, front, free & (model.gridded if whole else model.neighbour), whole, widen)
        elif self._pool_kind == "fallback":
            chosen = self._best(model, front, free & model.neighbour, False, widen)
            if chosen is None:
                chosen = self._best(model, front, free & model.gridded, True, widen)
        else:
            chosen = self._best(model, front, free, self._pool_kind != "neighbours", widen)
        if chosen is None:
            return None
        return {axis.name: axis.values[int(i)] for axis, i in zip(self._axes, model.pool[chosen])}

    def _best(self, model: _Model, front: np.ndarray, free: np.ndarray, whole: bool, widen: float) -> int | None:
        """The chosen row of ``model.pool`` among ``free`` (:func:`~archsweep.search.acquisition.best_candidate`), the
        shortlist threshold of a trial whose candidates include the whole-grid set (``whole``) or not."""
        return best_candidate(model.front, front, model.optimistic, model.feasible, free, self._threshold(whole), widen)
