"""Hypervolume indicator for 2 to 4 minimised objectives: our own implementation.

Optuna computes hypervolumes in ``optuna._hypervolume``, which is private API that may change
in any release; archsweep therefore owns this code and only tests against Optuna's.

* 2 objectives: sort by the first objective, sum the rectangles (exact, O(n log n)).
* 3 objectives: slicing along the third objective (HSO), each slice a 2-D sweep: O(n^2 log n).
* 4 objectives: WFG (While, Bradstreet & Barone, "A fast way of calculating exact
  hypervolumes", IEEE TEVC 16(1), 2012, eqs. 6-7): the volume of a set is the sum over
  points of their exclusive volume; a point's exclusive volume is its box minus the
  volume of the other later points "limited" (component-wise max) by it, computed
  recursively on the non-dominated limited set, with the 3-D slicing as the base case.

Points that are not strictly better than the reference point in every objective add no
volume and are dropped; rows with NaN are dropped too.
"""

from __future__ import annotations

import numpy as np

from archsweep.results.pareto import non_dominated_mask

__all__ = ["hypervolume", "hypervolume_history"]


def _check(points_min: np.ndarray, reference_point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    points = np.asarray(points_min, dtype=np.float64)
    ref = np.asarray(reference_point, dtype=np.float64).reshape(-1)
    if points.ndim != 2:
        raise ValueError(f"points_min: got an array of shape {points.shape}; allowed: a 2-D array (n_points, n_objectives)")
    if points.shape[1] != ref.size:
        raise ValueError(
            f"reference_point: got {ref.size} coordinate(s) for {points.shape[1]} objective(s); allowed: one per objective"
        )
    if not 1 <= ref.size <= 4:
        raise ValueError(f"reference_point: got {ref.size} objectives; allowed: 1 to 4 objectives")
    if not np.all(np.isfinite(ref)):
        raise ValueError(f"reference_point: got {ref.tolist()}; allowed: finite numbers")
    return points, ref


def _relevant(points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Rows strictly inside the reference box (no NaN), reduced to their non-dominated set."""
    inside = np.all(points < ref, axis=1)  # NaN compares False
    kept = points[inside]
    if kept.shape[0] > 1:
        kept = kept[non_dominated_mask(kept)]
        kept = np.unique(kept, axis=0)
    return kept


def _hv_2d(front: np.ndarray, ref: np.ndarray) -> float:
    """Exact 2-D volume of a non-dominated set inside the reference box."""
    order = np.argsort(front[:, 0], kind="stable")
    x = front[order, 0]
    y = front[order, 1]
    upper = np.concatenate([ref[1:2], y[:-1]])
    return float(np.dot(ref[0] - x, upper - y))


def _area_any_2d(x: np.ndarray, y: np.ndarray, ref: np.ndarray) -> float:
    """2-D volume of any point set (dominated points allowed), inside the reference box."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    widths = np.diff(np.append(xs, ref[0]))
    return float(np.dot(widths, ref[1] - np.minimum.accumulate(y[order])))


def _hv_3d(front: np.ndarray, ref: np.ndarray) -> float:
    """3-D volume by slicing along the third objective (HSO; While et al., IEEE TEVC 10(1),
    2006): slab thickness times the 2-D area of the points below the slab."""
    order = np.argsort(front[:, 2], kind="stable")
    pts = front[order]
    thickness = np.diff(np.append(pts[:, 2], ref[2]))
    total = 0.0
    for i in np.flatnonzero(thickness > 0):
        total += thickness[i] * _area_any_2d(pts[: i + 1, 0], pts[: i + 1, 1], ref)
    return float(total)


def _non_dominated_small(points: np.ndarray) -> np.ndarray:
    """Unique non-dominated rows of a small set, sorted by the first objective (brute force)."""
    if points.shape[0] > 1:
        points = np.unique(points, axis=0)
    if points.shape[0] > 2000:
        return points[non_dominated_mask(points)]
    le = np.all(points[:, None, :] <= points[None, :, :], axis=2)
    np.fill_diagonal(le, False)
    return points[~le.any(axis=0)]


def _hv_wfg(front: np.ndarray, ref: np.ndarray) -> float:
    """WFG on a non-dominated set (k >= 2) sorted by the first objective."""
    n, k = front.shape
    if n == 0:
        return 0.0
    if k == 2:
        return _hv_2d(front, ref)
    if k == 3:
        return _hv_3d(front, ref)
    if n == 1:
        return float(np.prod(ref - front[0]))
    boxes = np.prod(ref - front, axis=1)
    total = 0.0
    for i in range(n):
        later = front[i + 1:]
        if later.shape[0] == 0:
            total += boxes[i]
            continue
        limited = _non_dominated_small(np.maximum(later, front[i]))
        total += boxes[i] - _hv_wfg(limited, ref)
    return float(total)


def hypervolume(points_min: np.ndarray, reference_point: np.ndarray) -> float:
    """Volume dominated by ``points_min`` (n, k) and bounded by ``reference_point`` (k,).

    All objectives minimised (use :func:`archsweep.results.pareto.to_minimization` first); units
    are the product of the objectives' units. k = 1..4. Returns 0.0 for an empty set.

    Raises:
        ValueError: shapes disagree, k outside 1..4, or a non-finite reference point.
    """
    points, ref = _check(points_min, reference_point)
    front = _relevant(points, ref)
    if front.shape[0] == 0:
        return 0.0
    if ref.size == 1:
        return float(ref[0] - front[:, 0].min())
    order = np.argsort(front[:, 0], kind="stable")
    return _hv_wfg(front[order], ref)


def hypervolume_history(values_min: np.ndarray, reference_point: np.ndarray) -> np.ndarray:
    """Hypervolume after each row of ``values_min`` (n, k), in row (trial) order.

    Incremental: a new point that is dominated, NaN or outside the reference box leaves the
    value unchanged; otherwise the value grows by the point's exclusive volume (its box
    minus the volume of the current front limited by it), and the front is updated.
    """
    points, ref = _check(values_min, reference_point)
    n = points.shape[0]
    history = np.zeros(n)
    front = np.empty((0, ref.size))
    current = 0.0
    for i in range(n):
        p = points[i]
        if np.all(p < ref) and not (
            front.shape[0] and np.any(np.all(front <= p, axis=1))
        ):
            if ref.size == 1:
                gain = float(ref[0] - p[0]) - current
            else:
                limited = np.maximum(front, p)
                gain = float(np.prod(ref - p)) - (hypervolume(limited, ref) if front.shape[0] else 0.0)
            current += gain
            keep = ~(np.all(p <= front, axis=1))
            front = np.vstack([front[keep], p])
        history[i] = current
    return history
