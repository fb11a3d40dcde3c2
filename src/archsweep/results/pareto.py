"""Pareto (non-dominated) filtering and ranking for 2 to 4 objectives, pure numpy.

Convention (Optuna's, ``optuna/study/_multi_objective.py``): every function below works on
*minimisation* values; :func:`to_minimization` is the one place that flips maximised
objectives. A point ``q`` dominates ``p`` when ``q <= p`` in every objective and ``q < p`` in
at least one. Consequences:

* identical points do not dominate each other, so duplicates of a front point are all on
  the front (as in ``optuna.Study.best_trials``);
* a row with a NaN in any objective is never on the front and gets rank ``-1``.

Algorithms:

* 2 objectives: one lexicographic sort and a running minimum (Kung, Luccio & Preparata,
  "On finding the maxima of a set of vectors", J. ACM 22(4), 1975): O(n log n).
* 3 or more objectives: (a) on large inputs, a pivot prefilter: the minimiser of a strictly
  positive weighted sum of the range-normalised objectives is non-dominated, and every row
  it dominates is discarded in one column-wise pass (a few pivots remove almost all rows of
  typical data); (b) on the rest, moocore's dimension sweep (Lopez-Ibanez et al., moocore,
  ``is_nondominated``: O(n log n) for 3 objectives, in C). The earlier pure-numpy divide and
  conquer (Kung et al. 1975; Bentley, CACM 23(4), 1980) stays as ``_reference_mask``.
  Measured on 2 shared cores, 3 correlated objectives (benchmarks/pareto_scale.py): see README
  "Scale".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import moocore
import numpy as np

__all__ = ["Direction", "to_minimization", "non_dominated_mask", "pareto_ranks", "pareto_front_indices"]

Direction = Literal["minimize", "maximize"]
_DIRECTIONS: tuple[str, ...] = ("minimize", "maximize")


def to_minimization(values: np.ndarray, directions: Sequence[Direction]) -> np.ndarray:
    """Return a float64 copy of ``values`` (n, k) with maximised columns negated.

    This is the only place in archsweep that turns "maximize" into "minimize".

    Raises:
        ValueError: ``values`` is not 2-D, its column count differs from
            ``len(directions)``, or a direction is not "minimize"/"maximize".
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"values: got an array of shape {array.shape}; allowed: a 2-D array (n_points, n_objectives)")
    if array.shape[1] != len(directions):
        raise ValueError(
            f"directions: got {len(directions)} direction(s) for {array.shape[1]} objective column(s); "
            "allowed: one direction per column"
        )
    sign = np.empty(len(directions))
    for i, direction in enumerate(directions):
        if direction not in _DIRECTIONS:
            raise ValueError(f"directions[{i}]: got {direction!r}; allowed: one of {', '.join(_DIRECTIONS)}")
        sign[i] = -1.0 if direction == "maximize" else 1.0
    return array * sign


def _check_values(values_min: np.ndarray) -> np.ndarray:
    array = np.asarray(values_min, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < 1:
        raise ValueError(f"values_min: got an array of shape {array.shape}; allowed: a 2-D array (n_points, n_objectives)")
    return array


def _mask_1d(column: np.ndarray) -> np.ndarray:
    best = column.min()
    return column == best


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


def _weight_directions(k: int) -> np.ndarray:
    """Fixed positive weight vectors: the centre, then near each axis."""
    return np.vstack([np.ones((1, k)), np.full((k, k), 0.05) + np.eye(k)])


def _prefilter(values: np.ndarray) -> np.ndarray:
    """Indices of rows not dominated by a few cheap pivots (a superset of the front).

    A minimiser of a strictly positive weighted sum of range-normalised objectives is
    non-dominated once we walk to a dominator while one exists (this guards against
    rounding in the sum); each pivot discards the rows it dominates in one vectorised,
    column-wise pass. Stops as soon as a pivot discards less than a tenth of what is left.
    """
    n, k = values.shape
    remaining = np.arange(n)
    if n < 20_000:
        return remaining
    columns = [np.ascontiguousarray(values[:, j]) for j in range(k)]
    low = np.empty(k)
    span = np.empty(k)
    for j, col in enumerate(columns):
        lo, hi = float(col.min()), float(col.max())
        if not np.isfinite(lo) or not np.isfinite(hi):
            finite = col[np.isfinite(col)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        low[j], span[j] = lo, (hi - lo if hi > lo else 1.0)
    for w in _weight_directions(k):
        score = np.zeros(remaining.size)
        for j, col in enumerate(columns):
            score += w[j] * np.clip((col - low[j]) / span[j], 0.0, 1.0)
        pick = int(np.argmin(score))
        while True:
            point = [col[pick] for col in columns]
            le = np.ones(remaining.size, dtype=bool)
            lt = np.zeros(remaining.size, dtype=bool)
            for j, col in enumerate(columns):
                le &= col <= point[j]
                lt |= col < point[j]
            dominators = np.flatnonzero(le & lt)
            if dominators.size == 0:
                break
            pick = int(dominators[np.argmin(score[dominators])])
        keep = np.zeros(remaining.size, dtype=bool)
        for j, col in enumerate(columns):
            keep |= col < point[j]
        keep |= np.all([col == point[j] for j, col in enumerate(columns)], axis=0)
        before = remaining.size
        remaining = remaining[keep]
        columns = [col[keep] for col in columns]
        if remaining.size > 0.9 * before:
            break
    return remaining


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


def non_dominated_mask(values_min: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values_min`` (n, k), all minimised.

    Identical points are all non-dominated; rows containing NaN are never on the front
    (+/-inf are ordinary values). Works for any k >= 1. For k >= 2 the pivot prefilter runs
    first, then moocore's dimension sweep (``moocore.is_nondominated(keep_weakly=True)``:
    O(n log n) for k <= 3, Kung et al. 1975) on what is left; the pure-numpy path below is
    the reference it is tested against (``_reference_mask``).
    """
    values = _check_values(values_min)
    n, k = values.shape
    mask = np.zeros(n, dtype=bool)
    finite = ~np.isnan(values).any(axis=1) if k else np.ones(n, dtype=bool)
    if not finite.any():
        return mask
    rows = np.flatnonzero(finite)
    sub = values[rows] if rows.size != n else values
    if k == 1:
        mask[rows] = _mask_1d(sub[:, 0])
        return mask
    candidates = _prefilter(sub)
    sub_mask = np.zeros(sub.shape[0], dtype=bool)
    sub_mask[candidates] = moocore.is_nondominated(sub[candidates], keep_weakly=True)
    mask[rows] = sub_mask
    return mask


def _reference_mask(values_min: np.ndarray) -> np.ndarray:
    """The pure-numpy front (divide and conquer above), kept as the reference for tests."""
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


def pareto_ranks(values: np.ndarray, directions: Sequence[Direction], *, max_rank: int | None = None) -> np.ndarray:
    """Non-dominated sorting: rank 0 is the Pareto front, rank 1 the front of the rest, ...

    Args:
        values: objective values (n, k) in their natural direction.
        directions: "minimize"/"maximize" per column.
        max_rank: stop peeling after this rank; rows left get ``max_rank + 1``. ``None``
            ranks every row (one front extraction per rank, so cost grows with the number
            of fronts: bound it on multi-million-row tables).

    Returns:
        int64 ranks; ``-1`` for rows with NaN.
    """
    values_min = to_minimization(values, directions)
    n = values_min.shape[0]
    ranks = np.full(n, -1, dtype=np.int64)
    remaining = np.flatnonzero(~np.isnan(values_min).any(axis=1))
    rank = 0
    while remaining.size:
        if max_rank is not None and rank > max_rank:
            ranks[remaining] = max_rank + 1
            break
        front = non_dominated_mask(values_min[remaining])
        ranks[remaining[front]] = rank
        remaining = remaining[~front]
        rank += 1
    return ranks


def pareto_front_indices(values: np.ndarray, directions: Sequence[Direction]) -> np.ndarray:
    """Row indices (ascending) of the Pareto front of ``values`` in their natural directions."""
    return np.flatnonzero(non_dominated_mask(to_minimization(values, directions)))
