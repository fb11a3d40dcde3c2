"""The pure-numpy Pareto front that :func:`archsweep.results.pareto.non_dominated_mask` is tested against.

2 objectives: one lexicographic sort and a running minimum (Kung, Luccio & Preparata, "On finding the
maxima of a set of vectors", J. ACM 22(4), 1975). 3 or more: divide and conquer on the sort order (Kung
et al. 1975) with dominance queries by divide and conquer on one column (Bentley, "Multidimensional
divide-and-conquer", CACM 23(4), 1980), after the same pivot prefilter. The library path (moocore's
dimension sweep) replaced it in the workflow; it stays as an independent implementation for the tests.
"""

from __future__ import annotations

import numpy as np

from archsweep.results.pareto import _check_values, _mask_1d, _prefilter

__all__ = ["reference_mask"]


def _mask_2d(values: np.ndarray) -> np.ndarray:
    """Non-dominated mask of finite 2-column ``values`` by lexicographic sort + running min."""
    n = values.shape[0]
    order = np.lexsort((values[:, 1], values[:, 0]))
    f0 = values[order, 0]
    f1 = values[order, 1]
    # Runs of identical points: a point is dominated iff some *different* point that sorts
    # before it has f1 <= its f1 (earlier points have f0 < or f0 == and f1 <).
    new_run = np.ones(n, dtype=bool)
    new_run[1:] = (f0[1:] != f0[:-1]) | (f1[1:] != f1[:-1])
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(n), 0))
    running_min = np.minimum.accumulate(f1)
    before = np.full(n, np.inf)
    has_before = run_start > 0
    before[has_before] = running_min[run_start[has_before] - 1]
    sorted_mask = ~(before <= f1)
    mask = np.empty(n, dtype=bool)
    mask[order] = sorted_mask
    return mask


def _weakly_dominated_brute(queries: np.ndarray, points: np.ndarray) -> np.ndarray:
    """For each query row: does some row of ``points`` satisfy points <= query everywhere?"""
    out = np.zeros(queries.shape[0], dtype=bool)
    if points.shape[0] == 0 or queries.shape[0] == 0:
        return out
    chunk = max(1, 4_000_000 // max(1, points.shape[0] * queries.shape[1]))
    for start in range(0, queries.shape[0], chunk):
        q = queries[start:start + chunk]
        out[start:start + chunk] = np.all(points[None, :, :] <= q[:, None, :], axis=2).any(axis=1)
    return out


def _weakly_dominated(queries: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Dominance query: for each query q (m, d), is there a point p (p, d) with p <= q?

    d = 1: a minimum. d = 2: sort points by column 0 and take a running minimum of
    column 1. d >= 3: divide and conquer on column 0 (Bentley, "Multidimensional
    divide-and-conquer", CACM 23(4), 1980): points below the split can only dominate
    queries above it in the remaining d - 1 columns.
    """
    m, d = queries.shape
    if m == 0 or points.shape[0] == 0:
        return np.zeros(m, dtype=bool)
    if d == 1:
        return points[:, 0].min() <= queries[:, 0]
    if d == 2:
        order = np.argsort(points[:, 0], kind="stable")
        p0 = points[order, 0]
        prefix_min = np.minimum.accumulate(points[order, 1])
        idx = np.searchsorted(p0, queries[:, 0], side="right")
        out = np.zeros(m, dtype=bool)
        has = idx > 0
        out[has] = prefix_min[idx[has] - 1] <= queries[has, 1]
        return out
    if m * points.shape[0] <= 200_000:
        return _weakly_dominated_brute(queries, points)
    split = float(np.median(queries[:, 0]))
    q_low = queries[:, 0] <= split
    if q_low.all():
        split = float(np.nextafter(split, -np.inf))
        q_low = queries[:, 0] <= split
        if not q_low.any():  # every query shares one value in column 0
            keep = points[:, 0] <= queries[0, 0]
            return _weakly_dominated(queries[:, 1:], points[keep, 1:])
    p_low = points[:, 0] <= split
    out = np.zeros(m, dtype=bool)
    q_high = ~q_low
    out[q_low] = _weakly_dominated(queries[q_low], points[p_low])
    high_hit = _weakly_dominated(queries[q_high, 1:], points[p_low, 1:])
    rest = ~high_hit
    high_out = high_hit.copy()
    high_out[rest] = _weakly_dominated(queries[q_high][rest], points[~p_low])
    out[q_high] = high_out
    return out


def _mask_sorted_unique(values: np.ndarray) -> np.ndarray:
    """Non-dominated mask of unique, lexicographically sorted rows (k >= 3).

    Divide and conquer on the sort order (Kung, Luccio & Preparata 1975): a row can only be
    dominated by an earlier row, so the front of the second half is filtered by the front
    of the first half with one dominance query on the remaining k - 1 columns.
    """
    n = values.shape[0]
    if n <= 256:
        le = np.all(values[:, None, :] <= values[None, :, :], axis=2)  # le[i, j]: i <= j
        return ~np.triu(le, k=1).any(axis=0)
    mid = n // 2
    left = _mask_sorted_unique(values[:mid])
    right = _mask_sorted_unique(values[mid:])
    front_left = values[:mid][left]
    right_idx = np.flatnonzero(right)
    hit = _weakly_dominated(values[mid:][right_idx, 1:], front_left[:, 1:])
    right[right_idx[hit]] = False
    return np.concatenate([left, right])


def _mask_nd(values: np.ndarray) -> np.ndarray:
    """Non-dominated mask of NaN-free ``values`` (n, k >= 3)."""
    n = values.shape[0]
    candidates = _prefilter(values)
    sub = values[candidates]
    order = np.lexsort(sub.T[::-1])
    ordered = sub[order]
    new_run = np.ones(ordered.shape[0], dtype=bool)
    new_run[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    run_id = np.cumsum(new_run) - 1
    unique_mask = _mask_sorted_unique(ordered[new_run])
    mask = np.zeros(n, dtype=bool)
    mask[candidates[order]] = unique_mask[run_id]
    return mask


def reference_mask(values_min: np.ndarray) -> np.ndarray:
    """The non-dominated mask of ``values_min`` (n, k), all minimised, with the conventions of
    :func:`archsweep.results.pareto.non_dominated_mask` (duplicates all on the front, NaN rows never)."""
    values = _check_values(values_min)
    n, k = values.shape
    mask = np.zeros(n, dtype=bool)
    finite = ~np.isnan(values).any(axis=1)
    if not finite.any():
        return mask
    rows = np.flatnonzero(finite)
    sub = values[rows]
    if k == 1:
        mask[rows] = _mask_1d(sub[:, 0])
    elif k == 2:
        candidates = _prefilter(sub)
        sub_mask = np.zeros(sub.shape[0], dtype=bool)
        sub_mask[candidates] = _mask_2d(sub[candidates])
        mask[rows] = sub_mask
    else:
        mask[rows] = _mask_nd(sub)
    return mask
