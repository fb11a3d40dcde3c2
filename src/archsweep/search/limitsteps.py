"""Steps down the limit axis: a design's clamped versions (``limit_steps``; pure numpy and moocore).

The model caps a package's power at its TDP by DVFS: a design draws its demand power D at the nominal
clock whatever the TDP T, and where D > T the clock falls until the power is T, power = min(T, D)
(:mod:`archsweep.search.clamp`). A design with a lower TDP is the same design **clamped**: the same price,
a lower clock, throughput and (at the lower voltage) energy per token, and the power is T, so a lower
TDP also turns a design over the power cap into one under it. On search-quality grid 1 the recommended
search's low seeds miss mostly such clamped designs (``docs/search-quality-history.md``, s17-A): seed 6
misses 0.0196 of the exhaustive hypervolume, 0.0243 of it (together, overlapping) in clamped front
points, among them (176 compute units, 2.1 GHz, HBM3, 8 stacks, 900 GB/s) at TDP 700 W, 0.0061 alone,
whose TDP-1,100 W version (0.4 % over the 1,000 W cap, the TDP not binding) the run had evaluated and
whose lower TDPs it never proposed: two steps down the TDP axis, through the 900 W level.

The rule: every finished **base** (a found front point, or an infeasible point) proposes its **child**,
the same design at the highest limit level below both its own level and its demand (exact when the
limit does not bind, ``(1 + v) T``; the clamped model's imputation when it binds) that no trial holds or
implies. The clamped step model (:func:`~archsweep.search.clamp.fit_clamped_step_model`, fitted on the
objectives and the constraints in :func:`~archsweep.search.ridge.constraint_transform`'s form) predicts
the child from the base: on the limit axis only the clamp term moves, z = log(min(T, D) / D), so the
prediction is the base's measured values plus the fitted clamp slopes times the child's z. Children
predicted to violate a constraint are dropped; of the others the one whose predicted objectives add the
most hypervolume to the found front (:func:`~archsweep.search.parentgain.predicted_gain`; the
contribution rule's reference point) is proposed when that gain is positive, ties drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from archsweep.search.clamp import ClampedStepModel, fit_clamped_step_model
from archsweep.search.grid import Index
from archsweep.search.parentgain import predicted_children, predicted_gain
from archsweep.search.ridge import constraint_transform
from archsweep.search.stepmodel import objective_transform

__all__ = ["LimitSteps", "limit_step", "limit_step_data", "step_down"]


@dataclass(frozen=True)
class LimitSteps:
    """What the rule reads: the bases' grid indices (n), measured minimised objectives (n, k) and constraint
    values (n, c); the found front (p, k) and its reference point (k,); the objectives' log columns (k,);
    the clamped model over k objective then c constraint columns, and the limit axis."""

    bases: tuple[Index, ...]
    values: np.ndarray
    violations: np.ndarray
    front: np.ndarray
    reference: np.ndarray
    logged: np.ndarray
    model: ClampedStepModel
    axis: int


def limit_step_data(rows: np.ndarray, indices: Sequence[Index], constraints: np.ndarray, front: np.ndarray,
                    reference: np.ndarray, bases: Sequence[int], sizes: Sequence[int], axis: int,
                    levels: Sequence[float], slot: int) -> LimitSteps:
    """Fit the rule's model on every complete trial: ``rows`` (n, k) minimised objectives, ``indices`` grid
    indices, ``constraints`` (n, c) constraint values (> 0 violated) of which column ``slot`` is the limit's
    ((used - limit) / limit); ``front``/``reference`` the found front and its reference point; ``bases`` the
    positions of the trials that may step down (found front and infeasible points); the limit on ``axis``
    with ``levels``."""
    rows = np.asarray(rows, dtype=np.float64)
    constraints = np.asarray(constraints, dtype=np.float64)
    transformed, logged = objective_transform(rows)
    k = rows.shape[1]
    targets = np.hstack([transformed, constraint_transform(constraints)])
    model = fit_clamped_step_model(np.array(indices), targets, sizes, axis, levels, constraints[:, slot], k + slot)
    chosen = list(bases)
    return LimitSteps(tuple(indices[i] for i in chosen), rows[chosen], constraints[chosen], front, reference,
                      logged, model, axis)


def step_down(base: Index, log_demand: float, axis: int, log_levels: np.ndarray,
              taken: set[Index] | frozenset[Index]) -> Index | None:
    """``base`` at the highest level of ``axis`` below its own and below ``log_demand`` (log of the demand, in
    the levels' log unit; NaN: unknown, every lower level) that is not in ``taken``; None when there is none."""
    for level in range(base[axis] - 1, -1, -1):
        if np.isfinite(log_demand) and not log_levels[level] < log_demand:
            continue
        child = base[:axis] + (level,) + base[axis + 1:]
        if child not in taken:
            return child
    return None


def limit_step(data: LimitSteps, taken: set[Index] | frozenset[Index], rng: np.random.Generator) -> Index | None:
    """The child (module doc) predicted feasible that adds the most hypervolume to the found front, if it
    adds any; ties drawn with ``rng``. ``taken``: points finished, in flight or implied (never proposed)."""
    model, k = data.model, data.front.shape[1]
    pairs: dict[Index, int] = {}
    for b, base in enumerate(data.bases):
        child = step_down(base, model.known.get(base, np.nan), data.axis, model.log_levels, taken)
        if child is not None and child not in pairs:
            pairs[child] = b
    if not pairs:
        return None
    children = list(pairs)
    chosen = np.array([pairs[c] for c in children])
    step = model.step(np.array([data.bases[b] for b in chosen]), np.array(children))
    violations = constraint_transform(data.violations[chosen]) + step[:, k:]
    feasible = np.all(violations <= 0, axis=1)
    if not feasible.any():
        return None
    keep = np.flatnonzero(feasible)
    predicted = predicted_children(data.values[chosen[keep]], step[keep, :k], data.logged)
    gains = predicted_gain(predicted, data.front, data.reference)
    best = int(np.lexsort((rng.random(len(keep)), gains))[-1])
    return children[int(keep[best])] if gains[best] > 0 else None
