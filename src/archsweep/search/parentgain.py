"""Which front point the local search walks from: the predicted gain of its best free neighbour
(``local_search_parents: gain``; pure numpy and moocore).

The Pareto local search (:mod:`archsweep.search.localsearch`) proposes a free grid neighbour of one
found front point, its parent. The ``contribution`` rule takes the parent with the largest exclusive
hypervolume contribution, which measures what the point itself holds, not what its neighbours may
add: on the search-quality grid b the low seeds' largest miss was one step from a found front point
that the rule reached only at evaluation 432-448 of 461 (``docs/search-quality-history.md``,
fifteenth session). The ``gain`` rule ranks the parents by what the step model
(:mod:`archsweep.search.stepmodel`, or the clamped one of :mod:`archsweep.search.clamp`) predicts the
best of their free neighbours adds to the found front's hypervolume (the expected-improvement idea
of hypervolume-based infill: Emmerich, Giannakoglou and Naujoks, "Single- and multiobjective
evolutionary optimization assisted by Gaussian random field metamodels", IEEE TEVC 10(4), 2006,
with the step model's point prediction in place of a Gaussian process), and that neighbour is the
one proposed.

* Prediction: a neighbour's objectives are its parent's measured values moved by the model's step
  in the model's space (:func:`~archsweep.search.stepmodel.objective_transform`): on a log column
  ``sign * log|v|`` grows by ``d``, so ``v`` becomes ``v * exp(sign(v) * d)``; on a linear column
  ``v + d``.
* Gain: the hypervolume of the found front with the predicted point added, minus the front's
  (minimised objectives, the reference point of the contribution rule: the front's nadir plus 10 %
  of each range); 0 for a point the front weakly dominates or outside the reference box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from archsweep.results.hypervolume import hypervolume
from archsweep.search.stepmodel import Stepper

__all__ = ["GainData", "memoised_gains", "predicted_children", "predicted_gain"]


def predicted_children(parent_values: np.ndarray, step: np.ndarray, logged: np.ndarray) -> np.ndarray:
    """Predicted minimised objectives (n, k) of children whose parents measured ``parent_values``
    (n, k), after the model's ``step`` (n, k) in its own space; ``logged`` (k,) marks the log columns."""
    parent_values = np.asarray(parent_values, dtype=np.float64)
    step = np.asarray(step, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = parent_values * np.exp(np.sign(parent_values) * step)
    return np.where(np.asarray(logged, dtype=bool), scaled, parent_values + step)


def predicted_gain(children: np.ndarray, front: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Hypervolume each predicted point of ``children`` (n, k) alone adds to ``front`` (p, k), minimised
    objectives, bounded by ``reference`` (k,); 0 where ``front`` weakly dominates it, it is not
    finite or it is not inside the reference box."""
    children = np.asarray(children, dtype=np.float64)
    front = np.asarray(front, dtype=np.float64)
    gains = np.zeros(len(children))
    inside = np.all(np.isfinite(children), axis=1) & np.all(children < reference, axis=1)
    if len(front):
        dominated = np.zeros(len(children), dtype=bool)
        for start in range(0, len(children), 1024):
            block = children[start:start + 1024]
            dominated[start:start + 1024] = np.any(np.all(front[None, :, :] <= block[:, None, :], axis=2), axis=1)
        inside &= ~dominated
    base = hypervolume(front, reference) if len(front) else 0.0
    for i in np.flatnonzero(inside):
        gains[i] = max(hypervolume(np.vstack([front, children[i][None]]), reference) - base, 0.0)
    return gains


@dataclass(frozen=True)
class GainData:
    """What the ``gain`` rule reads of the found front: the parents' measured minimised objectives
    (p, k), the reference point of their contributions (k,), the step model's log columns (k,) and a
    memo of each (parent position, child grid index) pair's predicted gain (valid while no trial finishes)."""

    front: np.ndarray
    reference: np.ndarray
    logged: np.ndarray
    memo: dict[tuple[int, tuple[int, ...]], float]


def memoised_gains(data: GainData, model: Stepper, indices: Sequence[tuple[int, ...]],
                   wanted: Sequence[tuple[int, Sequence[tuple[int, ...]]]]) -> list[list[float]]:
    """Predicted gain (:func:`predicted_gain`) of each child in ``wanted`` (parent position, its free
    children's grid indices); ``indices`` are the parents' grid indices, ``model`` the fitted step model
    (its first ``data.front.shape[1]`` columns the objectives). Pairs not in ``data.memo`` are computed in one batch
    and stored."""
    missing = [(k, child) for k, free in wanted for child in free if (k, child) not in data.memo]
    if missing:
        k_objectives = data.front.shape[1]
        bases = np.array([indices[k] for k, _ in missing])
        step = model.step(bases, np.array([child for _, child in missing]))[:, :k_objectives]
        children = predicted_children(data.front[[k for k, _ in missing]], step, data.logged)
        for pair, value in zip(missing, predicted_gain(children, data.front, data.reference)):
            data.memo[pair] = float(value)
    return [[data.memo[(k, child)] for child in free] for k, free in wanted]
