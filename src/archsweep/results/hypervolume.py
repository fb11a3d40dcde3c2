"""Hypervolume indicator of minimised objectives, computed by moocore (exact, any dimension).

moocore (Lopez-Ibanez et al., https://multi-objective.github.io/moocore/) implements the exact
algorithms: the 2-D sweep, the 3-D dimension sweep of Beume et al. (IEEE TEVC 13(5), 2009) and the
HV4D+ / WFG-style recursion above it. Optuna's own hypervolume is private API
(``optuna._hypervolume``), so it is used only as a cross-check in the tests. This module adds the
edge checks (shapes, finite reference point) and the per-trial history the search reports need.

Points that are not strictly better than the reference point in every objective add no volume
and are dropped; rows with NaN are dropped too.
"""

from __future__ import annotations

import moocore
import numpy as np

__all__ = ["hypervolume", "hypervolume_history", "reference_point"]


def _check(points_min: np.ndarray, reference_point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    points = np.asarray(points_min, dtype=np.float64)
    ref = np.asarray(reference_point, dtype=np.float64).reshape(-1)
    if points.ndim != 2:
        raise ValueError(f"points_min: got an array of shape {points.shape}; allowed: a 2-D array (n_points, n_objectives)")
    if points.shape[1] != ref.size:
        raise ValueError(
            f"reference_point: got {ref.size} coordinate(s) for {points.shape[1]} objective(s); allowed: one per objective"
        )
    if ref.size < 1:
        raise ValueError("reference_point: got no objectives; allowed: at least one objective")
    if not np.all(np.isfinite(ref)):
        raise ValueError(f"reference_point: got {ref.tolist()}; allowed: finite numbers")
    return points, ref


def hypervolume(points_min: np.ndarray, reference_point: np.ndarray) -> float:
    """Volume dominated by ``points_min`` (n, k) and bounded by ``reference_point`` (k,).

    All objectives minimised (use :func:`archsweep.results.pareto.to_minimization` first); units
    are the product of the objectives' units. Returns 0.0 for an empty set.

    Raises:
        ValueError: shapes disagree, no objective, or a non-finite reference point.
    """
    points, ref = _check(points_min, reference_point)
    inside = points[np.all(points < ref, axis=1)]  # NaN compares False
    if inside.shape[0] == 0:
        return 0.0
    if ref.size == 1:
        return float(ref[0] - inside[:, 0].min())
    return float(moocore.hypervolume(inside, ref=ref))


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


def reference_point(values_min: np.ndarray) -> np.ndarray:
    """Hypervolume reference point: the nadir of ``values_min`` plus 10 % of each range
    (plus 10 % of |nadir|, or 1, where the range is 0), so every point adds volume."""
    values = np.asarray(values_min, dtype=np.float64)
    low, high = values.min(axis=0), values.max(axis=0)
    span = high - low
    margin = np.where(span > 0, 0.1 * span, np.where(high != 0, 0.1 * np.abs(high), 1.0))
    return high + margin
