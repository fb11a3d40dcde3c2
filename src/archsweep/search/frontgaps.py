"""Where a found front has gaps: the crowding distance of each front point (``local_search_parents: gap``).

NSGA-II's crowding distance (Deb et al., "A fast and elitist multiobjective genetic algorithm:
NSGA-II", IEEE TEC 6(2), 2002, Sec. III-B): objectives scaled to [0, 1] over the front, the points
sorted on each objective, and each point scores the sum over objectives of the distance between
its two sorted neighbours, i.e. the size of the gaps it borders. The two points at the ends of
the largest gap score highest. NSGA-II gives the extreme points an infinite distance; here an
extreme point scores twice its one-sided gap, so the extremes compete with the interior gaps
instead of always coming first.
"""

from __future__ import annotations

import numpy as np

__all__ = ["crowding_distance"]


def crowding_distance(front: np.ndarray) -> np.ndarray:
    """Crowding distance of each row of ``front`` (points x objectives, any direction), module doc.
    Duplicate rows score as the gaps around them; a front of one point scores 1."""
    points = np.asarray(front, dtype=np.float64)
    n, k = points.shape
    if n <= 1:
        return np.ones(n)
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    scaled = (points - low) / span
    out = np.zeros(n)
    for j in range(k):
        order = np.argsort(scaled[:, j], kind="stable")
        v = scaled[order, j]
        gaps = np.diff(v)  # n - 1 gaps along objective j
        around = np.empty(n)
        around[1:-1] = gaps[:-1] + gaps[1:]
        around[0], around[-1] = 2 * gaps[0], 2 * gaps[-1]
        out[order] += around
    return out
