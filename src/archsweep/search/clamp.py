"""A step model with a searched limit as a clamp: demand, then min(limit, demand) (``limit_clamp``).

The model caps a package's power at its TDP by DVFS (``archsweep.model.driver``, ``_dvfs``;
``archsweep.model.power``, ``power_limited_clock_scale``): a design draws its **demand** power D at the
nominal clock, independent of the TDP, and where D exceeds the TDP T the clock falls until the power is T.
So power = min(T, D), and every output depends on T only through that clamp (where T does not bind the
design runs the same at every T: the exact rule of :mod:`archsweep.search.twins`). The additive step
model (:mod:`archsweep.search.stepmodel`) gives the TDP axis one effect averaged over clamped and
unclamped points, and gives the other axes' effects on power the average of a design's demand step
(unclamped) and of no step at all (clamped): on the search-quality grid b it cannot tell a design just
under the 900 W power cap from its neighbour just over it (``docs/search-quality-history.md``,
fourteenth and fifteenth sessions).

This model keeps the clamp as structure. From the limit's constraint column
(``violation_tdp = (P_busy - T) / T``, the busiest stage's power over its busy phase, ``power_busy_w``, the one
the DVFS holds; :data:`archsweep.spec.search.LIMIT_CONSTRAINTS`):

* **Demand**: a finished point whose limit does not bind (v < -``SLACK``) used its demand,
  log D = log T + log(1 + v), exactly; a clamped one (v >= -``SLACK``) only says D >= T. An additive
  model of log D over the other axes (ridge main effects, as the step model) is fitted on the
  unclamped points, then refitted with the clamped ones at max(prediction, log T) (a censored value
  imputed at its bound or the prediction above it; ``_IMPUTE_ROUNDS`` refits).
* **Clamp term**: z = min(0, log T - log D) (0 where the limit does not bind, the log of the clock's
  power share where it does).
* **Columns**: each other modelled column (objective or constraint) is additive over the other axes
  plus ``beta_k`` z (one fitted slope per column: how throughput, energy or a power constraint follow the
  clamp); the limit's own column, log(1 + v), is min(0, log D - log T) (floored as the constraint
  transform floors it) and needs no fit.

A step from a finished parent to a child: the parent's log D (exact, imputed, or predicted when it was
never finished), the child's log D = parent's + the demand model's step over the other axes, and every
column's change is its effects' step plus ``beta_k`` (z(child) - z(parent)). Same interface as
:class:`~archsweep.search.stepmodel.StepModel` (``step``), so the local search and its line search to the
feasibility boundary (:mod:`archsweep.search.ridge`) use either.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from archsweep.search.grid import Index
from archsweep.search.ridge import VIOLATION_FLOOR
from archsweep.search.stepmodel import RIDGE
from archsweep.search.twins import SLACK

__all__ = ["ClampedStepModel", "clamp_term", "clamped", "fit_clamped_step_model"]

#: Refits of the demand model with the clamped points' demand imputed at max(prediction, log T).
_IMPUTE_ROUNDS = 3
#: Penalty on the clamp slope (z is O(0.1): a unit penalty would shrink it like a level seen a few times).
_SLOPE_RIDGE = 1e-6
#: A limit constraint value above this is not read as a clamp (a told non-finite value, an error).
_CLAMP_CEILING = 10.0


def clamped(power: np.ndarray | float, limit: np.ndarray | float) -> np.ndarray:
    """The clamp itself: min(limit, demand) (W, or any unit of both)."""
    return np.minimum(np.asarray(limit, dtype=np.float64), np.asarray(power, dtype=np.float64))


def clamp_term(log_demand: np.ndarray, log_limit: np.ndarray) -> np.ndarray:
    """z = min(0, log T - log D) = log(min(T, D) / D): 0 where the limit does not bind."""
    return np.minimum(0.0, np.asarray(log_limit, dtype=np.float64) - np.asarray(log_demand, dtype=np.float64))


def _design(indices: np.ndarray, sizes: Sequence[int], skip: int) -> tuple[np.ndarray, np.ndarray]:
    """One-hot main-effect design over every axis but ``skip``; the block offsets (axis ``skip`` empty)."""
    widths = [0 if a == skip else s for a, s in enumerate(sizes)]
    offsets = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
    design = np.zeros((len(indices), int(offsets[-1])))
    for a in range(len(sizes)):
        if a != skip:
            design[np.arange(len(indices)), offsets[a] + indices[:, a]] = 1.0
    return design, offsets


def _ridge_fit(x: np.ndarray, y: np.ndarray, penalty: np.ndarray) -> tuple[np.ndarray, float]:
    """Ridge coefficients of centred ``y`` on ``x`` (per-coefficient ``penalty``) and the intercept."""
    centre = y.mean()
    coef = np.linalg.solve(x.T @ x + np.diag(penalty), x.T @ (y - centre))
    return coef, float(np.mean(y - x @ coef))


class ClampedStepModel:
    """Fitted demand and column effects (module doc); ``step`` as :meth:`StepModel.step`."""

    def __init__(self, limit_axis: int, log_levels: np.ndarray, demand: np.ndarray, demand_intercept: float,
                 effects: np.ndarray, slopes: np.ndarray, offsets: np.ndarray, known: dict[Index, float],
                 limit_column: int | None) -> None:
        self.limit_axis, self.log_levels = limit_axis, log_levels
        self.demand, self.demand_intercept = demand, demand_intercept
        self.effects, self.slopes, self.offsets = effects, slopes, offsets
        self.known, self.limit_column = known, limit_column

    def _rows(self, points: np.ndarray) -> np.ndarray:
        design = np.zeros((len(points), int(self.offsets[-1])))
        for a in range(points.shape[1]):
            if a != self.limit_axis:
                design[np.arange(len(points)), self.offsets[a] + points[:, a]] = 1.0
        return design

    def log_demand(self, points: np.ndarray) -> np.ndarray:
        """The demand model's prediction of log D at grid ``points`` (n, axes) (not the finished points' own)."""
        return self._rows(np.asarray(points, dtype=np.int64)) @ self.demand + self.demand_intercept

    def step(self, parents: np.ndarray, children: np.ndarray) -> np.ndarray:
        """Predicted change of every column from grid index ``parents`` (n, axes) to ``children``."""
        parents, children = np.asarray(parents, dtype=np.int64), np.asarray(children, dtype=np.int64)
        xp, xc = self._rows(parents), self._rows(children)
        own = np.array([self.known.get(tuple(int(i) for i in p), np.nan) for p in parents])
        log_dp = np.where(np.isfinite(own), own, xp @ self.demand + self.demand_intercept)
        log_dc = log_dp + (xc - xp) @ self.demand
        log_tp = self.log_levels[parents[:, self.limit_axis]]
        log_tc = self.log_levels[children[:, self.limit_axis]]
        zp, zc = clamp_term(log_dp, log_tp), clamp_term(log_dc, log_tc)
        delta = (xc - xp) @ self.effects + (zc - zp)[:, None] * self.slopes[None, :]
        if self.limit_column is not None:
            floor = np.log1p(VIOLATION_FLOOR)
            delta[:, self.limit_column] = (np.maximum(np.minimum(0.0, log_dc - log_tc), floor)
                                           - np.maximum(np.minimum(0.0, log_dp - log_tp), floor))
        return delta


def fit_clamped_step_model(indices: np.ndarray, targets: np.ndarray, sizes: Sequence[int], limit_axis: int,
                           levels: Sequence[float], limit_values: np.ndarray, limit_column: int | None = None,
                           ridge: float = RIDGE) -> ClampedStepModel:
    """Fit the clamped step model (module doc) on finished points ``indices`` (n, axes) with modelled columns
    ``targets`` (n, k; a non-finite value is left out of its column's fit), the limit on axis ``limit_axis``
    whose levels are ``levels`` (> 0, the limit's unit) and the limit's constraint values ``limit_values``
    (n,: (used - limit) / limit). ``limit_column``: the column of ``targets`` holding log(1 + v) of that
    constraint (predicted from the clamp, not fitted), or None."""
    indices = np.asarray(indices, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.float64)
    v = np.asarray(limit_values, dtype=np.float64)
    log_levels = np.log(np.asarray(levels, dtype=np.float64))
    log_t = log_levels[indices[:, limit_axis]]
    design, offsets = _design(indices, sizes, limit_axis)
    free = np.isfinite(v) & (v < -SLACK) & (v > -1.0)
    capped = np.isfinite(v) & (v >= -SLACK) & (v < _CLAMP_CEILING)
    log_d = np.full(len(v), np.nan)
    log_d[free] = log_t[free] + np.log1p(v[free])
    used = free | capped
    penalty = np.full(design.shape[1], ridge)
    if free.sum() >= 2:
        demand, intercept = _ridge_fit(design[free], log_d[free], penalty)  # the exact demands first
        for _ in range(_IMPUTE_ROUNDS if capped.any() else 0):
            log_d[capped] = np.maximum(design[capped] @ demand + intercept, log_t[capped])
            demand, intercept = _ridge_fit(design[used], log_d[used], penalty)
        log_d[capped] = np.maximum(design[capped] @ demand + intercept, log_t[capped])
    else:  # no demand seen: every point is taken as unclamped at its limit (z = 0, no clamp structure)
        demand, intercept = np.zeros(design.shape[1]), 0.0
        log_d = np.where(used, log_t, np.nan)
    z = np.where(used, clamp_term(log_d, log_t), 0.0)
    x = np.hstack([design, z[:, None]])
    penalty = np.concatenate([penalty, [_SLOPE_RIDGE]])
    effects = np.zeros((design.shape[1], targets.shape[1]))
    slopes = np.zeros(targets.shape[1])
    for k in range(targets.shape[1]):
        rows = np.isfinite(targets[:, k])
        if k == limit_column or rows.sum() < 2:
            continue
        coef, _ = _ridge_fit(x[rows], targets[rows, k], penalty)
        effects[:, k], slopes[k] = coef[:-1], coef[-1]
    known = {tuple(int(i) for i in indices[n]): float(log_d[n]) for n in np.flatnonzero(np.isfinite(log_d))}
    return ClampedStepModel(limit_axis, log_levels, demand, intercept, effects, slopes, offsets, known,
                            limit_column)
