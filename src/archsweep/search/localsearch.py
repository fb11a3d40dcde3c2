"""Pareto local search on a stepped grid behind another Optuna sampler (``local_search_start``).

The classic refinement of a multi-objective search over a discrete design space (Paquete, Chiarandini
and Stuetzle, "Pareto local optimum sets in the biobjective TSP", 2004; Liefooghe et al., "On
dominance-based multiobjective local search", J. Heuristics 18, 2012): after a global phase, propose
the unevaluated grid neighbours of the current non-dominated feasible points.

* Global phase: while the study holds fewer than ``start`` distinct finished points, every trial
  goes to the global sampler (NSGA-II, TPE, ...).
* Local phase: the parents are the feasible non-dominated finished trials (minimised objectives,
  every constraint <= 0). A parent's neighbours are the grid points one step away on one axis, or,
  once those are all known, one step on each of two axes (``axes`` = 2). Stepped int/float ranges
  step by their ``step``; a categorical steps to the adjacent choice in the order the study lists
  it (``values: [HBM2e, HBM3, HBM3e, HBM4]``). A neighbour is free when no trial of the study,
  finished or still running, is at that point, so the trials of one batch get different points.
  The parent with the largest exclusive hypervolume contribution (reference: the parents' nadir
  plus 10 % of each range), divided by one plus its neighbours in flight, proposes one of its free
  neighbours (drawn with a generator seeded by ``seed`` and the trial number). When no parent has a
  free neighbour (a Pareto local optimum set), the trial goes to the global sampler.
* ``model`` (``local_search_model``): the parent's neighbour is not drawn but chosen by an additive
  step model fitted on every finished trial (:mod:`archsweep.search.stepmodel`): the free neighbour
  predicted to reach farthest beyond the current front.
* ``global_share`` (``local_search_global``): that fraction of the local phase's trials, evenly
  spaced by trial number, still goes to the global sampler, which keeps exploring regions the
  front has not reached (and learns from the local trials).
* ``fresh`` (``local_search_fresh``): in both phases, a point the global sampler proposes (its
  relative sampling: multivariate TPE, NSGA-II's crossover) where a trial of the study already is,
  finished or running, moves to a random free one- (then two-) axis neighbour of it. Deduplication
  (``search.deduplicate``) would otherwise only tell the known values again, which spends a trial
  of the sampler and repeats a point in its history; with ``local_search_start: 1`` this is the
  only change to the global sampler.
* ``parents`` (``local_search_parents``): ``contribution`` (above) or ``gap``: the parent is the
  front point with the largest crowding distance (:mod:`archsweep.search.frontgaps`), i.e. at the
  ends of the largest gaps of the found front in normalised objective space, divided likewise by
  one plus its neighbours in flight. ``extremes``: as ``contribution``, but the best front point on
  each objective proposes its free one-axis neighbours before any other parent (NSGA-II's infinite
  crowding distance of the extreme points): the reference point of the measure is the front's
  nadir, so a missed extreme loses the most. ``gain``: the parent whose best free neighbour the
  step model predicts to add the most hypervolume to the found front, / (1 + its neighbours in
  flight), proposes that neighbour; ties (every predicted gain 0) by contribution
  (:mod:`archsweep.search.parentgain`; fits the step model with or without ``model``).
* ``final`` (``local_search_final``): once this many distinct points are finished, the
  ``global_share`` no longer applies: every trial is a neighbour of a front point (the final
  exploitation phase).
* ``reach`` (``neighbour_reach``): a parent's one-axis neighbours are the moves of up to ``reach``
  steps on one axis (default 1), nearest ring first: a parent proposes (draws, or with the step
  model ranks) only its free moves of the fewest steps, so a move of k steps comes once every move
  of fewer steps is known or in flight; all of them before the one-step moves on two axes. On the
  search-quality grid b a level that is dominated (a TDP just below the power cap) separates the
  found front from its highest-throughput points: an exhaustive Pareto local search with one-step
  moves stops there (0.97 of the exhaustive hypervolume), with ``reach`` 2 it does not (0.99+).
* ``clamp`` (``limit_clamp``): the step models of ``model`` and ``ridge`` take the grid's limit axis
  (the TDP) as the clamp the model computes, demand then min(limit, demand)
  (:mod:`archsweep.search.clamp`), instead of one additive effect of the limit.
* ``steps`` (``limit_steps``): before its ordinary neighbour (after ``ridge``), a local trial proposes an
  infeasible neighbour of a front point, its limit (the TDP) not binding, at a lower limit level, clamped, when
  predicted feasible (:mod:`archsweep.search.limitsteps`).
* Continuous parameters (a range without step or points) are not on a grid: they are left to the
  global sampler's ``sample_independent`` in both phases.

Everything is read back from the study's trials at each ask (the parents, the points known, the
points in flight), so several workers sharing one RDB or journal study cooperate without other
state; a per-process memo only avoids recomputing the parents while no trial has finished. The
global sampler's ``before_trial``/``after_trial`` see every trial (NSGA-II counts the local trials
in its generations).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import moocore
import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from archsweep.results.pareto import non_dominated_mask
from archsweep.search.clamp import fit_clamped_step_model
from archsweep.search.frontgaps import crowding_distance
from archsweep.search.grid import GridAxis, Index, checked_reach, grid_axes, nearest_ring, neighbours
from archsweep.search.limitsteps import LimitSteps, limit_step, limit_step_data
from archsweep.search.parentgain import GainData, memoised_gains
from archsweep.search.proposing import FINISHED_STATES, ProposingSampler, to_global
from archsweep.search.ridge import RidgeData, boundary_candidates, constraint_transform
from archsweep.search.stepmodel import Stepper, fit_step_model, front_margin, objective_transform
from archsweep.search.twins import limit_axis

__all__ = ["GridAxis", "grid_axes", "neighbours", "ParetoLocalSearchSampler"]  # the grid's names re-exported


@dataclass(frozen=True)
class _Parents:
    """Feasible non-dominated finished trials: grid indices and exclusive hypervolume contributions;
    with the step model, also their transformed objectives and the fitted model."""

    indices: tuple[Index, ...]
    contribution: np.ndarray
    values: np.ndarray | None = None
    model: Stepper | None = None
    extremes: frozenset[int] = frozenset()  # positions of the best point on each objective (``extremes`` rule)
    ridge: RidgeData | None = None  # the boundary line search's data (``ridge`` rule)
    gain: GainData | None = None  # what the ``gain`` rule reads
    steps: LimitSteps | None = None  # what the ``steps`` rule reads


class _Walk(NamedTuple):
    """A parent with free neighbours (:meth:`ParetoLocalSearchSampler._drawn`): its position among the parents,
    its grid index, its free neighbours (nearest ring of one-axis moves, else two-axis moves), 1 where they go
    first (an ``extremes`` point's one-axis moves) and its neighbours in flight."""

    position: int
    parent: Index
    free: list[Index]
    first: int
    pending: int


@dataclass(frozen=True)
class _Limit:
    """The grid's limit axis for the clamped step model (``clamp``): its position, its levels, its
    constraint's place among a trial's constraint values and each complete trial's value of it."""

    axis: int
    levels: tuple[float, ...]
    slot: int
    values: np.ndarray


class ParetoLocalSearchSampler(ProposingSampler):
    """Global sampler until ``start`` distinct points are finished, then Pareto local search (module doc).

    Args:
        main: the global sampler.
        space: the search's distributions (the discrete ones form the grid).
        start: distinct finished points before the local phase (>= 0).
        axes: 1 (one-axis steps only) or 2 (then two-axis steps once a parent's one-axis neighbours are known).
        seed: seed of the neighbour draw (with the trial number).
        model: rank every free neighbour of every parent by the step model's prediction
            (:mod:`archsweep.search.stepmodel`) instead of drawing a neighbour of the parent with
            the largest contribution.
        global_share: the local phase's trials left to the global sampler, so it keeps exploring, and
            learning from the local trials: those whose study trial number n has
            ``floor((n + 1) share) > floor(n share)`` (a share of all trial numbers, evenly spaced).
            Under a :class:`~archsweep.search.surrogate.SurrogateSampler`, whose share picks by the
            same rule, this is not a share of the trials the surrogate leaves (equal shares pick the
            same numbers: only the surrogate's fallbacks then go to the global sampler).
        fresh: a point the global sampler proposes (relative sampling) where a trial already is
            moves to a random free one- (then two-) axis neighbour, in both phases.
        parents: "contribution" (largest exclusive hypervolume contribution first), "gap"
            (largest crowding distance first) or "extremes" (each objective's best point's one-axis
            neighbours first, then by contribution) or "gain" (the predicted gain of the best free
            neighbour first, :mod:`archsweep.search.parentgain`).
        final: distinct finished points after which ``global_share`` is 0 (None: never).
        reach: the most steps of a one-axis move (>= 1; module doc).
        ridge: before its ordinary neighbour, a local trial proposes the next point of a line search from
            an infeasible neighbour of a front point to the feasibility boundary (:mod:`archsweep.search.ridge`)
            when the step model predicts one beyond the found front.
        twins: the grid points a finished trial implies through a limit that does not bind
            (:mod:`archsweep.search.twins`, ``slack_twins``) count as known: never proposed, and a
            ``fresh`` global proposal at one moves off it.
        clamp: the step models of ``model`` and ``ridge`` take the grid's limit (the TDP) as a clamp
            (:mod:`archsweep.search.clamp`, ``limit_clamp``): demand, then min(limit, demand); without a
            limit axis, or with constraint values not stored by name, the additive step model.
        steps: before its ordinary neighbour (after ``ridge``), a local trial proposes an over-limit neighbour of
            a front point at a lower limit level, clamped (:mod:`archsweep.search.limitsteps`, ``limit_steps``).
    """

    def __init__(self, main: BaseSampler, space: Mapping[str, BaseDistribution], *, start: int, axes: int = 2,
                 seed: int = 0, model: bool = False, global_share: float = 0.0, fresh: bool = False,
                 parents: str = "contribution", final: int | None = None, reach: int = 1, twins: bool = False,
                 ridge: bool = False, clamp: bool = False, steps: bool = False) -> None:
        if start < 0:
            raise ValueError(f"start: got {start}; allowed: an integer >= 0")
        if not 0.0 <= global_share < 1.0:
            raise ValueError(f"global_share: got {global_share}; allowed: 0 <= global_share < 1")
        if axes not in (1, 2):
            raise ValueError(f"axes: got {axes}; allowed: 1 or 2")
        if parents not in ("contribution", "gap", "extremes", "gain"):
            raise ValueError(f"parents: got {parents!r}; allowed: 'contribution', 'gap', 'extremes' or 'gain'")
        super().__init__(main, space, grid_axes(space), twins)
        self._sizes = tuple(len(a.values) for a in self._axes)
        self._start, self._max_axes, self._seed = start, axes, seed
        self._memo: tuple[int, _Parents] | None = None
        self._model = model
        self._global_share = global_share
        self._fresh = fresh
        self._parent_rule, self._final = parents, final
        self._reach = checked_reach(reach)
        self._ridge = ridge
        self._clamp = limit_axis(self._axes) if clamp else None
        self._steps = limit_axis(self._axes) if steps else None

    # -- grid bookkeeping ------------------------------------------------------------------

    def _parents(self, study: optuna.Study, finished: list[FrozenTrial]) -> _Parents:
        if self._memo is not None and self._memo[0] == len(finished):
            return self._memo[1]
        rows, indices, constraints = self._completed_columns(study, finished)
        limit = self._limit(study, finished, self._clamp)
        feasible = [not any(c > 0 for c in cs) and bool(np.all(np.isfinite(v))) for cs, v in zip(constraints, rows)]
        parents = _Parents((), np.zeros(0))
        kept = np.flatnonzero(feasible) if rows else np.zeros(0, dtype=np.int64)
        if len(kept):
            values = np.unique(np.stack(rows)[kept], axis=0, return_index=True)
            points, first = values[0], kept[values[1]]
            mask = non_dominated_mask(points)
            front = points[mask]
            low, high = front.min(axis=0), front.max(axis=0)
            span = high - low
            reference = high + np.where(span > 0, 0.1 * span, np.where(high != 0, 0.1 * np.abs(high), 1.0))
            if self._parent_rule == "gap":
                contribution = crowding_distance(front)
            else:
                contribution = np.asarray(moocore.hv_contributions(front, ref=reference), dtype=np.float64)
            chosen = first[mask]
            extremes = frozenset(int(i) for i in front.argmin(axis=0)) if self._parent_rule == "extremes" else frozenset()
            parents = _Parents(tuple(indices[i] for i in chosen), contribution, extremes=extremes)
            if self._model or self._parent_rule == "gain":
                transformed, logged = objective_transform(np.stack(rows))
                model = self._fit(indices, transformed, limit, None)
                gain = GainData(front, reference, logged, {}) if self._parent_rule == "gain" else None
                parents = _Parents(parents.indices, contribution, transformed[chosen], model, extremes, gain=gain)
            if self._ridge and len({len(c) for c in constraints}) == 1 and constraints[0]:
                parents = dataclasses.replace(parents, ridge=self._ridge_data(rows, indices, constraints, chosen,
                                                                              limit))
            steps = self._limit(study, finished, self._steps)
            if steps is not None:  # the found front and the infeasible points (the rule picks its bases among them)
                bases = [*chosen, *(i for i, ok in enumerate(feasible) if not ok)]
                parents = dataclasses.replace(parents, steps=limit_step_data(
                    np.stack(rows), indices, np.array(constraints), front, reference, bases, self._sizes,
                    steps.axis, steps.levels, steps.slot))
        self._memo = (len(finished), parents)
        return parents

    def _limit(self, study: optuna.Study, finished: list[FrozenTrial], axis: tuple[int, str] | None) -> _Limit | None:
        """The limit ``axis`` (position, constraint; ``clamp``, ``steps``) and each complete trial's value of
        its constraint, or None."""
        if axis is None:
            return None
        position, name = axis
        _, completed = self._completed(study, finished)
        if not completed or not all(isinstance(t.constraints, Mapping) for t, _, _ in completed):
            return None  # constraint values not stored by name
        orders = {tuple(t.constraints) for t, _, _ in completed}
        if len(orders) != 1:
            return None
        names = list(next(iter(orders)))
        if name not in names:
            return None
        values = np.array([float(t.constraints[name]) for t, _, _ in completed])
        return _Limit(position, tuple(float(v) for v in self._axes[position].values), names.index(name), values)

    def _fit(self, indices: list[Index], targets: np.ndarray, limit: _Limit | None,
             limit_column: int | None) -> Stepper:
        """The additive step model, or with a limit the clamped one (:mod:`archsweep.search.clamp`)."""
        if limit is None:
            return fit_step_model(np.array(indices), targets, self._sizes)
        return fit_clamped_step_model(np.array(indices), targets, self._sizes, limit.axis, limit.levels,
                                      limit.values, limit_column)

    def _ridge_data(self, rows: list[np.ndarray], indices: list[Index], constraints: list[list[float]],
                    chosen: np.ndarray, limit: _Limit | None) -> RidgeData:
        transformed, _ = objective_transform(np.stack(rows))
        limits = np.array(constraints, dtype=np.float64)
        column = None if limit is None else transformed.shape[1] + limit.slot
        model = self._fit(indices, np.hstack([transformed, constraint_transform(limits)]), limit, column)
        return RidgeData({index: limits[i] for i, index in enumerate(indices)},
                      {index: transformed[i] for i, index in enumerate(indices)}, transformed[chosen], model)

    def _boundary(self, parents: _Parents, taken: set[Index], rng: np.random.Generator) -> Index | None:
        """The boundary line search's best candidate (module doc of :mod:`archsweep.search.ridge`): the
        largest predicted margin beyond the found front, if positive; ties drawn."""
        ridge = parents.ridge
        if ridge is None:
            return None
        k = ridge.front.shape[1]
        pairs = boundary_candidates(parents.indices, ridge.violations, self._sizes, ridge.model,
                                    slice(k, None), taken)
        if not pairs:
            return None
        bases = np.array([base for _, base in pairs])
        children = np.array([child for child, _ in pairs])
        predicted = np.stack([ridge.values[base] for _, base in pairs]) + ridge.model.step(bases, children)[:, :k]
        span = ridge.front.max(axis=0) - ridge.front.min(axis=0)
        margin = front_margin(predicted, ridge.front, np.where(span > 0, span, 1.0))
        margin = np.where(np.all(np.isfinite(predicted), axis=1), margin, -np.inf)
        best = int(np.lexsort((rng.random(len(pairs)), margin))[-1])
        return pairs[best][0] if margin[best] > 0 else None

    def _propose(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any] | None:
        """The local phase's point for ``trial`` (discrete parameters), or None (global sampler)."""
        if not self._axes:
            return None
        trials = study.get_trials(deepcopy=False)
        finished = [t for t in trials if t.state in FINISHED_STATES]
        known: set[Index] = set()
        for t in finished:
            index = self._trial_index(t)
            if index is not None:
                known.add(index)
        if len(known) < self._start:
            return None
        final = self._final is not None and len(known) >= self._final
        if not final and to_global(trial.number, self._global_share):
            return None
        parents = self._parents(study, finished)
        if not parents.indices:
            return None
        running = [t for t in trials if t.state == TrialState.RUNNING and t.number != trial.number]
        flying = {i for t in running for i in [self._trial_index(t)] if i is not None}
        rng = np.random.default_rng([self._seed, trial.number])
        taken = known | self._implied(finished)
        chosen = self._boundary(parents, taken | flying, rng) if self._ridge else None
        if chosen is None and parents.steps is not None:
            chosen = limit_step(parents.steps, taken | flying, rng)
        if chosen is None:
            chosen = self._drawn(parents, taken, flying, rng)
        if chosen is None:
            return None
        return {axis.name: axis.values[i] for axis, i in zip(self._axes, chosen)}

    def _drawn(self, parents: _Parents, known: set[Index], flying: set[Index],
               rng: np.random.Generator) -> Index | None:
        """A free neighbour of the parent with the largest contribution / (1 + neighbours in flight),
        from its nearest ring of free one-axis moves (else its two-axis moves): drawn at random, or
        with the step model the one with the largest predicted margin. With the ``gain`` rule the
        parents rank first by the predicted gain of their best free neighbour / (1 + neighbours in flight),
        that neighbour proposed; the contribution breaks ties (every predicted gain 0; no step model fitted yet)."""
        walks: list[_Walk] = []
        for k, parent in enumerate(parents.indices):
            one, two = neighbours(parent, self._sizes, self._max_axes, self._reach)
            free = nearest_ring(parent, [n for n in one if n not in known and n not in flying])
            first = int(k in parents.extremes and bool(free))  # an extreme's one-axis neighbours first
            if not free:
                free = [n for n in two if n not in known and n not in flying]
            if free:
                pending = sum(n in flying for n in one) + sum(n in flying for n in two)
                walks.append(_Walk(k, parent, free, first, pending))
        if not walks:
            return None
        gains = None
        if parents.gain is not None and parents.model is not None:
            gains = memoised_gains(parents.gain, parents.model, parents.indices, [(w.position, w.free) for w in walks])
        # (extreme first, predicted gain share, contribution share, a random draw per walk in order): the first largest
        scores = [(w.first, (max(gains[c]) if gains is not None else 0.0) / (1 + w.pending),
                   float(parents.contribution[w.position]) / (1 + w.pending), float(rng.random()))
                  for c, w in enumerate(walks)]
        c = max(range(len(walks)), key=scores.__getitem__)
        walk = walks[c]
        if gains is not None and scores[c][1] > 0:
            return walk.free[int(np.argmax(gains[c]))]
        if parents.model is not None:
            return self._best_child(parents, walk.parent, walk.free, rng)
        return walk.free[int(rng.integers(len(walk.free)))]

    def _best_child(self, parents: _Parents, parent: Index, free: list[Index], rng: np.random.Generator) -> Index:
        """The neighbour of ``parent`` whose predicted objectives reach farthest beyond the current
        front (additive-epsilon margin, :func:`~archsweep.search.stepmodel.front_margin`); ties drawn."""
        assert parents.model is not None and parents.values is not None
        p = parents.indices.index(parent)
        predicted = parents.values[p] + parents.model.step(np.array([parent] * len(free)), np.array(free))
        span = parents.values.max(axis=0) - parents.values.min(axis=0)
        margin = front_margin(predicted, parents.values, np.where(span > 0, span, 1.0))
        order = np.lexsort((rng.random(len(free)), margin))
        return free[int(order[-1])]

    def _main_sampled(self, study: optuna.Study, trial: FrozenTrial, params: dict[str, Any]) -> dict[str, Any]:
        return self._moved_off_known(study, trial, params) if self._fresh else params

    def _moved_off_known(self, study: optuna.Study, trial: FrozenTrial, params: dict[str, Any]) -> dict[str, Any]:
        """The global sampler's point, or, when a trial is already at it, a random free one- (then
        two-) axis neighbour of it (the point itself when none is free)."""
        fixed = {axis.name: axis.values[0] for axis in self._axes if len(axis.values) == 1}
        index = self._index({**fixed, **params})  # Optuna leaves single-value parameters out of the relative space
        if index is None:
            return params
        trials = study.get_trials(deepcopy=False)
        taken = {i for t in trials if t.number != trial.number for i in [self._trial_index(t)] if i is not None}
        taken |= self._implied([t for t in trials if t.state in FINISHED_STATES])
        if index not in taken:
            return params
        rng = np.random.default_rng([self._seed, trial.number, 1])
        one, two = neighbours(index, self._sizes, self._max_axes)
        free = [n for n in one if n not in taken] or [n for n in two if n not in taken]
        if not free:
            return params
        chosen = free[int(rng.integers(len(free)))]
        return {**params, **{axis.name: axis.values[i] for axis, i in zip(self._axes, chosen) if axis.name in params}}
