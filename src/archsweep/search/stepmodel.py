"""A step model for the Pareto local search: which grid neighbour is worth evaluating next (pure numpy).

The local search (:mod:`archsweep.search.localsearch`) proposes unevaluated grid neighbours of the
non-dominated points found so far. With ``local_search_model`` the parent (the one with the largest
hypervolume contribution) proposes the free neighbour with the best prediction instead of a random one:

* **Prediction**: an additive (main-effects) model of each objective and constraint over the grid
  axes, fitted by ridge least squares on every finished trial (one-hot encoding of each axis's
  level, Hastie, Tibshirani and Friedman, *The Elements of Statistical Learning*, 2nd ed., sec. 3.4.1,
  ridge regression). A neighbour's prediction is its parent's measured value plus the fitted effect
  of the step (the effect of the new level minus that of the parent's level, summed over the one or
  two axes moved), so the model only has to get the local step right, not the level. Objectives
  whose finished values are all positive are modelled in log space (a step then scales them: more
  compute units multiply the throughput, not add to it).
* **Rank**: the additive-epsilon margin by which the predicted point escapes the current front
  (Zitzler et al., "Performance assessment of multiobjective optimizers", IEEE TEVC 7(2), 2003,
  the additive epsilon indicator): ``min over front points f of max over objectives k of (f_k - c_k)``
  on minimised objectives scaled by the front's range. Positive: no front point dominates the
  prediction, and the larger, the farther it reaches beyond the front; negative: how far it is
  predicted to fall behind.

The predictions are rough (docs/search-quality-history.md: correlation 0.91, 0.68 and 0.97 of the predicted and true
log steps of throughput, energy and price on the search-quality grid), so they only order one
parent's few neighbours. Ranking every neighbour of every parent by predicted margin or predicted
hypervolume gain did worse than the random draw (0.944 and 0.938 against 0.971 at 1 %), skipping
neighbours predicted dominated no better (0.966-0.972).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

__all__ = ["StepModel", "Stepper", "fit_step_model", "front_margin", "objective_transform"]

#: Ridge penalty on the one-hot effects (in units of the transformed objective squared): keeps a
#: level seen once or never near zero effect instead of fitting its one point exactly.
RIDGE = 1.0


def objective_transform(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: log of the magnitude where every finite value has one sign and none is 0, else
    the value; returns the transformed array and the mask of log columns. ``values`` are minimised
    (a maximised objective negated), so the log column keeps the direction: ``sign * log|v|``."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.where(np.isfinite(values), values, np.nan)
    positive = np.all((finite > 0) | np.isnan(finite), axis=0)
    negative = np.all((finite < 0) | np.isnan(finite), axis=0)
    logged = (positive | negative) & np.any(np.isfinite(finite), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(logged, np.sign(finite) * np.log(np.abs(finite)), finite)
    return out, logged


class Stepper(Protocol):
    """What the local search reads of a step model: the predicted change of every modelled column from grid
    indices ``parents`` (n, axes) to ``children`` (:class:`StepModel`, :class:`archsweep.search.clamp.ClampedStepModel`)."""

    def step(self, parents: np.ndarray, children: np.ndarray) -> np.ndarray: ...


class StepModel:
    """Fitted main effects: ``effects[a][level]`` is a vector over the modelled columns."""

    def __init__(self, effects: tuple[np.ndarray, ...]) -> None:
        self.effects = effects

    def step(self, parents: np.ndarray, children: np.ndarray) -> np.ndarray:
        """Predicted change of every column from grid index ``parents`` (n, axes) to ``children``."""
        delta = np.zeros((len(parents), self.effects[0].shape[1] if self.effects else 0))
        for a, effect in enumerate(self.effects):
            delta += effect[children[:, a]] - effect[parents[:, a]]
        return delta


def fit_step_model(indices: np.ndarray, targets: np.ndarray, sizes: tuple[int, ...],
                   ridge: float = RIDGE) -> StepModel:
    """Ridge least-squares main effects of ``targets`` (n, k) on the grid ``indices`` (n, axes).

    Rows with a non-finite target are left out of that target's fit. Each column is centred first,
    so the intercept is not penalised; an axis's effects are the coefficients of its one-hot block.
    """
    indices = np.asarray(indices, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.float64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    design = np.zeros((len(indices), int(offsets[-1])))
    for a in range(len(sizes)):
        design[np.arange(len(indices)), offsets[a] + indices[:, a]] = 1.0
    coef = np.zeros((int(offsets[-1]), targets.shape[1]))
    for k in range(targets.shape[1]):
        rows = np.isfinite(targets[:, k])
        if rows.sum() < 2:
            continue
        x, y = design[rows], targets[rows, k] - targets[rows, k].mean()
        coef[:, k] = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
    return StepModel(tuple(coef[offsets[a]:offsets[a + 1]] for a in range(len(sizes))))


def front_margin(candidates: np.ndarray, front: np.ndarray, scale: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Additive-epsilon margin of each candidate (n, k) over ``front`` (p, k), minimised objectives
    divided by ``scale`` (k,): ``min_f max_k (f_k - c_k) / scale_k``; +inf with an empty front."""
    candidates = np.asarray(candidates, dtype=np.float64) / scale
    front = np.asarray(front, dtype=np.float64) / scale
    if len(front) == 0:
        return np.full(len(candidates), np.inf)
    out = np.empty(len(candidates))
    for start in range(0, len(candidates), chunk):
        block = candidates[start:start + chunk]
        out[start:start + chunk] = (front[None, :, :] - block[:, None, :]).max(axis=2).min(axis=1)
    return out

