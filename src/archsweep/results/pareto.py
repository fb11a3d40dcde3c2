"""Pareto (non-dominated) filtering and ranking for 2 to 4 objectives, pure numpy.

Convention (Optuna's, ``optuna/study/_multi_objective.py``): every function below works on
*minimisation* values; :func:`to_minimization` is the one place that flips maximised
objectives. A point ``q`` dominates ``p`` when ``q <= p`` in every objective and ``q < p`` in
at least one. Consequences:

* identical points do not dominate each other, so duplicates of a front point are all on
  the front (as in ``optuna.Study.best_trials``);
* a row with a NaN in any objective is never on the front and gets rank ``-1``.

Algorithms (2 or more objectives):

* the front: (a) on large inputs, pivot prefilters discard rows a pivot dominates, one column-wise pass
  per pivot: the rows of a random sample's front, in greedy set-cover order on the sample
  (:func:`_depth_prefilter` with depth 0), then minimisers of strictly positive weighted sums of the
  range-normalised objectives, which are non-dominated (:func:`_prefilter`); (b) on what is left,
  moocore's dimension sweep (Lopez-Ibanez et al., moocore, ``is_nondominated``: O(n log n) for 3
  objectives, in C);
* ranks to a depth (:func:`pareto_ranks` with ``max_rank``): :func:`_depth_prefilter` discards every row
  dominated by a row of rank >= depth (the deepest peeled front of a random sample), exactly, then the
  rest is peeled one front per rank.

The pure-numpy divide and conquer that came first (Kung, Luccio & Preparata, J. ACM 22(4), 1975;
Bentley, CACM 23(4), 1980) stays as the reference the tests compare with
(:mod:`archsweep.results.pareto_reference`). Measured on 2 shared cores, 3 correlated objectives
(benchmarks/pareto_scale.py): see README "Scale".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

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


def _weight_directions(k: int) -> np.ndarray:
    """Fixed positive weight vectors: the centre, then near each axis."""
    return np.vstack([np.ones((1, k)), np.full((k, k), 0.05) + np.eye(k)])


def _normalisation(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the lowest finite value and the finite range (1 where it is empty or zero), for
    the pivots' weighted sums."""
    k = len(columns)
    low = np.empty(k)
    span = np.empty(k)
    for j, col in enumerate(columns):
        lo, hi = float(col.min()), float(col.max())
        if not np.isfinite(lo) or not np.isfinite(hi):
            finite = col[np.isfinite(col)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        low[j], span[j] = lo, (hi - lo if hi > lo else 1.0)
    return low, span


def _score(columns: Sequence[np.ndarray], weights: np.ndarray, low: np.ndarray, span: np.ndarray) -> np.ndarray:
    """Weighted sum of the range-normalised columns (clipped to [0, 1]: infinities stay finite)."""
    score = np.zeros(columns[0].size)
    for j, col in enumerate(columns):
        score += weights[j] * np.clip((col - low[j]) / span[j], 0.0, 1.0)
    return score


def _strictly_dominated_by(columns: Sequence[np.ndarray], point: Sequence[float]) -> np.ndarray:
    """Rows that ``point`` dominates: ``point <= row`` in every column and ``<`` in one."""
    le = np.ones(columns[0].size, dtype=bool)
    lt = np.zeros(columns[0].size, dtype=bool)
    for j, col in enumerate(columns):
        le &= point[j] <= col
        lt |= point[j] < col
    return le & lt


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
    low, span = _normalisation(columns)
    for w in _weight_directions(k):
        score = _score(columns, w, low, span)
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
        keep = ~_strictly_dominated_by(columns, point)
        before = remaining.size
        remaining = remaining[keep]
        columns = [col[keep] for col in columns]
        if remaining.size > 0.9 * before:
            break
    return remaining


#: Rows of the random sample whose deepest peeled front gives :func:`_depth_prefilter` its pivots.
_PIVOT_SAMPLE_ROWS = 50_000


def _covering_pivots(pivots: np.ndarray, sample: np.ndarray, most: int = 256) -> np.ndarray:
    """Up to ``most`` of ``pivots`` in greedy set-cover order on ``sample`` (the one that dominates the most
    sample rows not yet dominated first), as far as each still dominates a thousandth of the sample. Only
    the ``most`` pivots that dominate the most sample rows on their own are considered."""
    if not len(pivots):  # the sample has no front that deep (every row on the front, all rows equal)
        return pivots
    sample_columns = [np.ascontiguousarray(sample[:, j]) for j in range(sample.shape[1])]
    covers = np.array([_strictly_dominated_by(sample_columns, pivot) for pivot in pivots])
    strongest = np.argsort(-covers.sum(axis=1), kind="stable")[:most]
    pivots, covers = pivots[strongest], covers[strongest]
    order: list[int] = []
    least = max(1, sample.shape[0] // 1000)
    while covers.shape[1]:
        gains = covers.sum(axis=1)
        best = int(np.argmax(gains))
        if gains[best] < least:
            break
        order.append(best)
        covers = covers[:, ~covers[best]]  # the sample rows still not dominated
    return pivots[order]


def _depth_prefilter(values: np.ndarray, depth: int) -> np.ndarray:
    """Indices of a superset of the rows of rank <= ``depth`` (no NaN in ``values``), found in a few
    column-wise passes instead of peeling ``depth + 1`` fronts of every row.

    Pivots: the rows of rank ``depth`` within a random sample of :data:`_PIVOT_SAMPLE_ROWS` rows. A row's
    rank within a subset is at most its rank in the whole (a chain of dominators in the subset is one in
    the whole), so each pivot has rank >= ``depth`` and every row it dominates has rank > ``depth``: those
    rows are discarded, pivot after pivot, in the order that covers the sample fastest
    (:func:`_covering_pivots`). Rounds repeat on the rows kept, with a new sample, while a round at least
    halves them and at least 4 samples' worth are left; below that nothing is discarded. Exact for ranks
    0..depth whatever the sample: a row of rank r <= depth is never discarded, nor is any row of a chain
    of ranks 0..r-1 that dominates it, so peeling the rows kept gives every such row its rank; and a kept
    row of rank > depth keeps a chain of depth + 1 dominators, so it ranks > depth there too. The sample
    is drawn with a fixed seed, so the result does not vary between runs (and never in its ranks).
    """
    n = values.shape[0]
    remaining = np.arange(n)
    columns = list(np.ascontiguousarray(values.T))  # one copy; each column contiguous
    generator = np.random.default_rng(0)
    while remaining.size >= 4 * _PIVOT_SAMPLE_ROWS:  # each round samples what the last one kept
        picked = generator.choice(remaining.size, _PIVOT_SAMPLE_ROWS, replace=False)
        sample = np.column_stack([col[picked] for col in columns])
        before = remaining.size
        deepest = pareto_ranks(sample, ["minimize"] * sample.shape[1], max_rank=depth) == depth
        for pivot in _covering_pivots(sample[deepest], sample):
            keep = ~_strictly_dominated_by(columns, pivot)
            remaining = remaining[keep]
            columns = [col[keep] for col in columns]
        if remaining.size > before // 2:
            break
    return remaining


def non_dominated_mask(values_min: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values_min`` (n, k), all minimised.

    Identical points are all non-dominated; rows containing NaN are never on the front
    (+/-inf are ordinary values). Works for any k >= 1. For k >= 2 the pivot prefilters run
    first, then moocore's dimension sweep (``moocore.is_nondominated(keep_weakly=True)``:
    O(n log n) for k <= 3, Kung et al. 1975) on what is left; it is tested against
    :func:`archsweep.results.pareto_reference.reference_mask`.
    """
    import moocore  # here: a search job needs this module's to_minimization, not moocore (~0.04 s of import)

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
    candidates = _depth_prefilter(sub, 0)
    candidates = candidates[_prefilter(sub[candidates])]
    sub_mask = np.zeros(sub.shape[0], dtype=bool)
    sub_mask[candidates] = moocore.is_nondominated(sub[candidates], keep_weakly=True)
    mask[rows] = sub_mask
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
    if max_rank is not None and values_min.shape[1] >= 2 and remaining.size:
        finite = values_min if remaining.size == n else values_min[remaining]
        candidates = remaining[_depth_prefilter(finite, max_rank)]
        ranks[remaining] = max_rank + 1  # rows the prefilter drops rank deeper; the rest are peeled below
        remaining = candidates
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
