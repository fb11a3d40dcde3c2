"""Line search to the feasibility boundary for the Pareto local search (``local_search_ridge``).

On the search-quality grid b the points the recommended sampler misses on its low seeds are three
front points at the throughput end (0.023-0.030 of the exhaustive hypervolume together, two thirds of
what those seeds miss): designs just under the power cap (power 1.1-1.5 % below it) with a TDP above
the cap, on the ridge where more compute units x clock would exceed the cap
(``docs/search-quality-history.md``, thirteenth session). Every low seed had evaluated the infeasible
point one TDP step above the found throughput extreme (power 11 % over the cap) and most the one a
unit step below that; the front points are two steps further along the clock or unit axis, through
infeasible points. A one- or two-axis neighbourhood does not reach them, and the surrogate's
feasibility model put them at probability 0.001-0.3 of feasibility (its mean off by 0.015-0.044 on
log(1 + v) against a standard deviation of ~0.01): a smooth model misses a boundary it has to
extrapolate to.

The rule: an infeasible finished point ``q`` one step on one axis from a feasible front point starts a
*line* along each other axis and direction in which the additive step model
(:mod:`archsweep.search.stepmodel`) predicts the violated constraints to fall. On a line
``q_k = q + k s e_b`` the nearest known feasible point ``q_f`` and the furthest known infeasible one
``q_i`` before it (``q`` itself when none) bracket the boundary (the violation is taken to fall
monotonically along the line). The next point is the
midpoint ``(i + f) // 2`` when ``f > i + 1`` (bisection), and, with no feasible point known, the
first one that the step model predicts feasible from ``q_i``; a line is done when ``f = i + 1`` (the
boundary found), when a step would leave the grid or meet a point in flight, or when no point on it
is predicted feasible. Each candidate is ranked by the step model's prediction of its objectives from
``q_i`` (its additive-epsilon margin beyond the found front): the local search proposes the best one
when that margin is positive, before its ordinary neighbour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from archsweep.search.grid import Index
from archsweep.search.stepmodel import Stepper

__all__ = ["RidgeData", "boundary_candidates", "constraint_transform"]


@dataclass(frozen=True)
class RidgeData:
    """What the boundary line search reads (the local search builds it, ``ridge`` rule): every finished point's
    constraint values and transformed objectives, the found front's transformed objectives, and a step model of
    the objectives followed by the constraints (:func:`constraint_transform`)."""

    violations: dict[Index, np.ndarray]
    values: dict[Index, np.ndarray]
    front: np.ndarray
    model: Stepper

#: Constraint values above this are modelled as this (a told non-finite value is ``CONSTRAINT_CAP``,
#: 1e300): only the sign of a step and where the value crosses 0 matter, and 10 x over a limit is far.
VIOLATION_CAP = 10.0
#: Constraint values below this are modelled as this (relative constraints, used / limit - 1 > -1:
#: the floor keeps log(1 + v) finite, as the surrogate's per-constraint models do).
VIOLATION_FLOOR = -0.9


def constraint_transform(violations: np.ndarray) -> np.ndarray:
    """log(1 + v) of the constraint values, ``v`` clipped to [``VIOLATION_FLOOR``, ``VIOLATION_CAP``]: a
    relative constraint (used / limit - 1) of a product of design factors is additive in log space;
    the transform keeps the sign (0 at the limit)."""
    return np.log1p(np.clip(np.asarray(violations, dtype=np.float64), VIOLATION_FLOOR, VIOLATION_CAP))


def boundary_candidates(front: Sequence[Index], violations: Mapping[Index, np.ndarray], sizes: Sequence[int],
                        model: Stepper, constraint_columns: slice, taken: set[Index] | frozenset[Index]
                        ) -> list[tuple[Index, Index]]:
    """(candidate, base) pairs of the open lines (module doc): ``front`` the feasible front points' grid
    indices, ``violations`` every finished point's constraint values (> 0 violated), ``model`` a step model
    whose ``constraint_columns`` are the constraints in :func:`constraint_transform`'s form (the same
    order as a violations row), ``taken`` the points in flight or otherwise not to propose. The base is
    the line's furthest known infeasible point, from which the candidate's objectives are predicted."""
    out: dict[Index, Index] = {}
    for parent in front:
        for a in range(len(sizes)):
            for da in (-1, 1):
                if not 0 <= parent[a] + da < sizes[a]:
                    continue
                start = parent[:a] + (parent[a] + da,) + parent[a + 1:]
                if start not in violations or not np.any(violations[start] > 0):
                    continue
                for b in range(len(sizes)):
                    if b == a:
                        continue
                    for sign in (-1, 1):
                        found = _line_candidate(start, b, sign, violations, sizes, model, constraint_columns, taken)
                        if found is not None and found[0] not in out:
                            out[found[0]] = found[1]
    return sorted(out.items())


def _line_candidate(start: Index, axis: int, sign: int, violations: Mapping[Index, np.ndarray],
                    sizes: Sequence[int], model: Stepper, columns: slice, taken: set[Index] | frozenset[Index]
                    ) -> tuple[Index, Index] | None:
    """The next point of the line from ``start`` along ``axis`` in direction ``sign`` and the line's furthest
    known infeasible point, or None when the line is done (module doc)."""
    def at(k: int) -> Index:
        return start[:axis] + (start[axis] + sign * k,) + start[axis + 1:]

    room = (sizes[axis] - 1 - start[axis]) if sign > 0 else start[axis]
    if room < 1:
        return None
    violated = violations[start] > 0
    first = model.step(np.array([start]), np.array([at(1)]))[0, columns]
    if not np.all(first[violated] < 0):  # the violated constraints are not predicted to fall this way
        return None
    statuses = {k: bool(np.any(violations[at(k)] > 0)) for k in range(1, room + 1) if at(k) in violations}
    feasible_at = min((k for k, bad in statuses.items() if not bad), default=None)
    last = max((k for k, bad in statuses.items() if bad and (feasible_at is None or k < feasible_at)), default=0)
    if feasible_at is not None:
        if feasible_at <= last + 1:
            return None  # the boundary is found
        target = (last + feasible_at) // 2
    else:
        if last >= room:
            return None  # infeasible to the grid's edge
        base = at(last)
        ks = np.arange(last + 1, room + 1)
        predicted = (constraint_transform(violations[base])[None, :]
                     + model.step(np.array([base] * len(ks)), np.array([at(int(k)) for k in ks]))[:, columns])
        ok = np.flatnonzero(np.all(predicted <= 0, axis=1))
        if len(ok) == 0:
            return None
        target = int(ks[ok[0]])
    candidate = at(target)
    if any(at(k) in taken for k in range(last + 1, target + 1)):
        return None  # a point in flight (or otherwise taken) on the way: the line waits
    return candidate, at(last)
