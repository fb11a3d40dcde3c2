"""The candidate sets of the surrogate sampler (:mod:`archsweep.search.surrogate`) at one model update.

Two sets, chosen by ``surrogate_pool`` (issue 14, tenth session; ``docs/search-quality-history.md``):

* **the front's neighbours** (:func:`neighbour_candidates`, :func:`screen_neighbours`): the free one-
  and two-axis grid neighbours of the found front plus ``RANDOM_POOL`` free grid points drawn at random;
  the predicted mean of each (O(n) a candidate), the variance (O(n^2)) later only for the random ones
  and the ``SCREENED`` neighbours whose mean reaches farthest beyond the front.
* **the whole grid** (:func:`grid_candidates`): every free grid point's predicted mean at once
  (:func:`~archsweep.search.gp.grid_mean`, the product form of the kernel), then the ``GRID_SCREENED``
  points whose mean reaches farthest beyond the front among those not predicted to violate a constraint
  by more than a slack, plus ``RANDOM_POOL`` other free points drawn at random.

"Farthest beyond the front" is the additive-epsilon margin of
:func:`~archsweep.search.stepmodel.front_margin`. Inputs are grid-level positions scaled to [0, 1]
(:func:`unit`); objectives are minimised, in their own units after :func:`untransform`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from archsweep.search.designobjectives import overlay
from archsweep.search.gp import GaussianProcess, grid_mean
from archsweep.search.grid import Index, neighbours
from archsweep.search.stepmodel import front_margin

__all__ = ["RANDOM_POOL", "SCREENED", "GRID_SCREENED", "unit", "untransform", "neighbour_candidates",
           "screen_neighbours", "grid_candidates"]

#: Random free grid points added to either candidate set at each model update (exploration).
RANDOM_POOL = 512
#: Front neighbours whose variance is computed at each model update (the best by predicted mean).
SCREENED = 1024
#: Whole-grid candidates whose variance is computed at each model update (the best by predicted mean
#: among those within the constraint slack). 2,048 of grid b's 46,080 points: the tenth session's choice,
#: with the 23 ms product-kernel mean of every point it keeps a model update's cost near the neighbour set's.
GRID_SCREENED = 2048


def unit(indices: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Grid indices (m, axes) as positions in [0, 1]: level k of an axis of n levels at k / (n - 1)."""
    return np.asarray(indices, dtype=np.float64) / np.maximum(sizes - 1, 1)


def untransform(t: np.ndarray, logged: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Inverse of :func:`~archsweep.search.stepmodel.objective_transform` column by column (``template``:
    a value of each column's sign)."""
    sign = np.where(template < 0, -1.0, 1.0)
    return np.where(logged, sign * np.exp(sign * t), t)


def neighbour_candidates(front: np.ndarray, known: frozenset[Index], sizes: tuple[int, ...], reach: int,
                         rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """(candidates (m, axes), how many of them are random): the free one- and two-axis neighbours of the
    front's grid indices ``front`` (one-axis moves of up to ``reach`` steps), sorted, then the free random
    grid points (``RANDOM_POOL`` draws) that are not among them, sorted."""
    near: set[Index] = set()
    for parent in map(tuple, front.tolist()):
        one, two = neighbours(parent, sizes, 2, reach)
        near.update(n for n in one + two if n not in known)
    total = int(np.prod(sizes))
    draws = np.unravel_index(rng.integers(0, total, size=min(RANDOM_POOL, total)), sizes)
    far = sorted({n for n in zip(*(d.tolist() for d in draws)) if n not in known and n not in near})
    return np.array(sorted(near) + far, dtype=np.int64).reshape(-1, len(sizes)), len(far)


#: The objectives known exactly for grid points (m, axes): minimised, NaN where not known
#: (:meth:`archsweep.search.designobjectives.DesignObjectives.at`); used in place of the prediction.
ExactObjectives = Callable[[np.ndarray], np.ndarray | None]


def screen_neighbours(pool: np.ndarray, random_count: int, gps: list[GaussianProcess], logged: np.ndarray,
                      template: np.ndarray, front: np.ndarray, span: np.ndarray, sizes: np.ndarray,
                      exact: ExactObjectives | None = None) -> np.ndarray:
    """The rows of :func:`neighbour_candidates`' ``pool`` kept for the variance: the ``SCREENED`` neighbours
    whose predicted mean (``gps``: one GP per objective) reaches farthest beyond ``front`` (objective units,
    minimised; ``span`` its range), and the last ``random_count`` rows (the random points). ``exact``: the
    objectives known exactly (:data:`ExactObjectives`), in place of the prediction."""
    xq = unit(pool, sizes)
    mean = untransform(np.stack([gp.predict(xq, std=False)[0] for gp in gps], axis=1), logged, template)
    if exact is not None:
        mean = overlay(mean, exact(pool))
    margin = front_margin(mean, front, span)
    explore = np.zeros(len(pool), dtype=bool)
    explore[len(pool) - random_count:] = True
    keep = explore.copy()
    keep[np.argsort(-np.where(explore, -np.inf, margin), kind="stable")[:SCREENED]] = True
    return pool[keep]


def grid_candidates(gps: list[GaussianProcess], objectives: int, logged: np.ndarray, template: np.ndarray,
                    front: np.ndarray, span: np.ndarray, known: np.ndarray, sizes: np.ndarray, slack: float,
                    rng: np.random.Generator, exact: ExactObjectives | None = None) -> np.ndarray:
    """Whole-grid candidates (m, axes): of every grid point not in ``known`` (grid indices of the finished
    trials), the ``GRID_SCREENED`` whose predicted mean (the first ``objectives`` of ``gps``) reaches
    farthest beyond ``front`` among those whose every constraint GP (the rest of ``gps``) predicts at most
    ``slack``, then ``RANDOM_POOL`` other free points drawn at random (sorted by flat index). ``exact``: the
    objectives known exactly (:data:`ExactObjectives`), in place of the prediction."""
    shape = tuple(int(s) for s in sizes)
    free = np.ones(int(np.prod(shape)), dtype=bool)
    free[np.ravel_multi_index(tuple(known.T), shape)] = False
    flat = np.flatnonzero(free)
    if len(flat) == 0:
        return np.empty((0, len(shape)), dtype=np.int64)
    means = [grid_mean(gp, shape)[flat] for gp in gps]
    mean = untransform(np.stack(means[:objectives], axis=1), logged, template)
    if exact is not None:
        mean = overlay(mean, exact(np.stack(np.unravel_index(flat, shape), axis=1)))
    predicted = np.max(np.stack(means[objectives:], axis=1), axis=1) if len(means) > objectives else np.zeros(len(flat))
    margin = np.where(predicted <= slack, front_margin(mean, front, span), -np.inf)
    top = np.argsort(-margin, kind="stable")[:GRID_SCREENED]
    rest = np.setdiff1d(np.arange(len(flat)), top)
    drawn = rng.choice(rest, min(RANDOM_POOL, len(rest)), replace=False) if len(rest) else rest
    chosen = flat[np.concatenate([top, np.sort(drawn)])]
    return np.stack(np.unravel_index(chosen, shape), axis=1).astype(np.int64)
