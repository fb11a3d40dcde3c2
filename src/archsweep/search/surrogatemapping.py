"""The surrogate's mapping-aware inputs (``surrogate_mapping``): each workload's chosen mapping beside the grid.

A design's objectives step where a workload's best mapping switches (``docs/search-quality-history.md``,
s19-T: grid 1's Llama-3 70B goes from tp 1 / dp 256 to tp 4 / dp 64 at 1,200-1,500 GB/s scale-up, its
energy per token falls 1.6 %; a stationary GP over the grid alone over-predicts the points just past the
switch by 1-4 % against a 0.3 % margin). With ``surrogate_mapping`` the objective GPs of
:class:`~archsweep.search.surrogate.SurrogateSampler` take, beside the grid positions, the numeric
features of each workload's mapping (:func:`~archsweep.search.mappingattrs.mapping_features`, told by
the worker as a trial attribute), each scaled to [0, 1] over the finished trials (a feature constant on
them is left out). A candidate's mapping is not known before it is evaluated; it is predicted from the
finished trials nearest to it on the grid (Euclidean in the [0, 1] grid positions, ties to the earlier
trial):

* ``"nearest"``: the mapping of the nearest finished trial;
* ``"optimistic"``: each distinct mapping among the :data:`NEIGHBOURS` nearest finished trials is a
  candidate row of its own, so the acquisition takes the best of them (optimism over the mapping, as
  over the GP's standard deviation);
* ``"weighted"``: the mapping of the nearest finished trial in a per-axis weighted distance, the weights
  (each one of :data:`AXIS_WEIGHTS`) those under which each finished trial's nearest other trial most often
  has its mapping (leave-one-out agreement, :func:`axis_weights`). A grid axis the mapping does not depend on
  gets weight 0: on both search-quality grids the TDP never changes a workload's mapping (the mapping search
  ranks by step time before the power clamp), grid b's process node neither, while one HBM stack more
  switches grid 1's Llama-3 70B mapping on 82 % of the grid's neighbour pairs (s21-F in
  ``docs/search-quality-history.md``). Unweighted, a candidate's nearest trial is as often one TDP step away
  (same mapping) as one stack step away (another one); grid 1 seed 3's unfound front points at 800 trials get
  a wrong mapping from 18 % of their nearest trials, 4-5 % weighted.
* ``"averaged"``: as ``"weighted"``, but the candidate's optimistic point is the mean of those predicted with
  each of its :data:`NEIGHBOURS` nearest finished trials' mappings (weighted distance; a mapping counted as
  often as it occurs among them): the expected point over the predicted mapping, not ``"optimistic"``'s best
  of them. A predicted mapping is a noisy input; the acquisition's maximum over ~3,000 candidates picks those
  whose wrong mapping makes them look better (a winner's curse: on grid 1 seed 18, ``"weighted"`` made 222 of
  392 proposals on a wrongly predicted Llama-3 70B mapping, s21-F; 199 of those 222 had 4 nearest trials that
  disagree, s22-Q). Scoring at the worst of them instead (s22-Q's ``cautious``) fixed grid 1's worst seeds but
  lost grid b seed 1 (0.9444); ``docs/search-quality-history.md``, s22-Q.
* ``"rates"``: as ``"weighted"``, with two more weighted coordinates in the distance beside the grid positions,
  the compute rate and its ratio to the scale-up bandwidth (:mod:`archsweep.search.rateaxes`; ``extra``).

The constraint GPs and the candidate screens (:mod:`archsweep.search.surrogatepool`) stay on the grid
alone. Nothing here changes what a trial evaluates; the proposals depend only on the finished trials,
so a seed's search stays reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from archsweep.search.mappingattrs import mapping_features

__all__ = ["SURROGATE_MAPPING_MODES", "WEIGHTED_MODES", "NEIGHBOURS", "AXIS_WEIGHTS", "MappingInputs", "mapping_inputs",
           "axis_weights", "averaged_rows"]

#: ``surrogate_mapping``: ``off`` (default), ``nearest``, ``optimistic``, ``weighted``, ``averaged`` or ``rates``
#: (module doc).
SURROGATE_MAPPING_MODES: tuple[str, ...] = ("off", "nearest", "optimistic", "weighted", "averaged", "rates")
#: The modes whose distance has per-axis weights (:func:`axis_weights`).
WEIGHTED_MODES: tuple[str, ...] = ("weighted", "averaged", "rates")
#: ``"optimistic"`` / ``"averaged"``: the finished trials whose mappings a candidate may take.
NEIGHBOURS = 4
#: ``"weighted"``: the values a grid axis's weight in the squared distance may take (coordinate search from
#: all ones, :data:`_PASSES` passes over the axes). Chosen once (s21-F), not tuned.
AXIS_WEIGHTS: tuple[float, ...] = (0.0, 1.0, 4.0, 16.0)
_PASSES = 2


@dataclass(frozen=True)
class MappingInputs:
    """The finished trials' grid positions ``x`` (n, d) and scaled mapping features ``features`` (n, f)."""

    x: np.ndarray
    features: np.ndarray
    weights: np.ndarray | None = None  # (d + e,) per-coordinate weights of the squared distance; None: all ones
    extra: np.ndarray | None = None  # (n, e) more distance coordinates of the trials (``"rates"``); None: none

    @property
    def coordinates(self) -> np.ndarray:
        """The trials' distance coordinates: ``x``, then ``extra`` where given."""
        return self.x if self.extra is None else np.hstack([self.x, self.extra])

    def nearest(self, xq: np.ndarray, k: int, extra_q: np.ndarray | None = None) -> np.ndarray:
        """Rows (m, min(k, n)) of the ``k`` finished trials nearest to each of ``xq`` (m, d), nearest first
        (a stable sort: equal distances keep the trials' order), in the squared distance weighted by ``weights``;
        ``extra_q`` (m, e): the candidates' ``extra`` coordinates (needed when the trials have them)."""
        if self.extra is not None:
            if extra_q is None:
                raise ValueError("nearest: the trials have extra distance coordinates; extra_q is needed")
            xq = np.hstack([xq, extra_q])
        squared = (xq[:, None, :] - self.coordinates[None, :, :]) ** 2
        d = squared.sum(axis=2) if self.weights is None else squared @ self.weights  # unweighted: as s20-E summed
        return np.argsort(d, axis=1, kind="stable")[:, :min(k, len(self.x))]

    def augment(self, xq: np.ndarray, mode: str, extra_q: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(inputs (r, d + f): each candidate's grid position with a predicted mapping's features, the candidate
        row of ``xq`` each belongs to (r,)): one row per candidate with ``"nearest"``, one per distinct mapping
        among its :data:`NEIGHBOURS` nearest with ``"optimistic"``, nearest first; ``"weighted"`` is ``"nearest"``
        in the weighted distance, which ``weights`` holds; ``"averaged"`` one row per each of the
        :data:`NEIGHBOURS` nearest in it, repeated mappings too; ``"rates"`` is ``"weighted"`` with the candidates'
        ``extra_q`` coordinates, which every mode's distance takes where the trials have ``extra``)."""
        if mode == "averaged" and len(xq):
            near = self.nearest(xq, NEIGHBOURS, extra_q)
            return np.hstack([np.repeat(xq, near.shape[1], axis=0), self.features[near.reshape(-1)]]), \
                np.repeat(np.arange(len(xq)), near.shape[1])
        if mode != "optimistic" or len(xq) == 0:
            rows = self.nearest(xq, 1, extra_q)[:, 0]
            return np.hstack([xq, self.features[rows]]), np.arange(len(xq))
        near = self.nearest(xq, NEIGHBOURS, extra_q)
        owner, chosen = [], []
        for i, rows in enumerate(near):
            _, first = np.unique(self.features[rows], axis=0, return_index=True)
            for r in rows[np.sort(first)]:
                owner.append(i)
                chosen.append(r)
        owner_rows, chosen_rows = np.asarray(owner, dtype=np.int64), np.asarray(chosen, dtype=np.int64)
        return np.hstack([xq[owner_rows], self.features[chosen_rows]]), owner_rows


def axis_weights(x: np.ndarray, features: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Per-coordinate weights (d,) of the squared distance between the trials' coordinates ``x`` (n, d: the grid
    positions, then ``"rates"``' extra ones, :attr:`MappingInputs.coordinates`) under which the most trials have the
    mapping (``features`` row, (n, f)) of their nearest other trial (ties to the earlier trial): coordinate search
    over :data:`AXIS_WEIGHTS` from ``start`` (None: all ones), keeping a change only when it lowers the leave-one-out
    disagreements; a coordinate constant over the trials keeps its weight."""
    n, d = x.shape
    weights = np.ones(d) if start is None else np.asarray(start, dtype=np.float64).copy()
    if n < 3:
        return weights
    _, label = np.unique(features, axis=0, return_inverse=True)
    label = np.asarray(label).reshape(-1)
    squared = (x[:, None, :] - x[None, :, :]) ** 2  # (n, n, d)
    diagonal = np.eye(n, dtype=bool)

    def disagreements(w: np.ndarray) -> int:
        distance = squared @ w
        distance[diagonal] = np.inf
        return int((label[np.argmin(distance, axis=1)] != label).sum())

    best = disagreements(weights)
    varying = np.flatnonzero(np.ptp(x, axis=0) > 0)
    for _ in range(_PASSES):
        for axis in varying:
            for value in AXIS_WEIGHTS:
                trial = weights.copy()
                trial[axis] = value
                if value == weights[axis] or not trial[varying].any():
                    continue
                count = disagreements(trial)
                if count < best:
                    best, weights = count, trial
    return weights


def averaged_rows(owner: np.ndarray, optimistic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``"averaged"``: one row per candidate again, from the rows of :meth:`MappingInputs.augment` (``owner``
    (r,), the candidate of each row, non-decreasing; ``optimistic`` (r, k) the rows' optimistic points, objective
    units): (each candidate's first row, the mean of its points (c, k))."""
    first = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    return first, np.add.reduceat(optimistic, first, axis=0) / np.diff(np.r_[first, len(owner)])[:, None]


def mapping_inputs(attrs: Sequence[Any], x: np.ndarray) -> MappingInputs | None:
    """The mapping inputs of finished trials with grid positions ``x`` (n, d) and mapping attributes ``attrs``
    (:data:`~archsweep.search.mappingattrs.MAPPING_ATTR` values), or None when a trial has none (the
    surrogate then models the grid alone), or when every mapping is the same. Workloads in sorted name order; features scaled to [0, 1] by
    their range over these trials, the constant ones left out."""
    if not len(attrs) or not isinstance(attrs[0], dict):
        return None
    workloads = sorted(attrs[0])
    rows = [mapping_features(a, workloads) for a in attrs]
    if any(r is None for r in rows):
        return None
    raw = np.stack([r for r in rows if r is not None])
    low, span = raw.min(axis=0), raw.max(axis=0) - raw.min(axis=0)
    varying = span > 0
    if not varying.any():
        return None
    return MappingInputs(np.asarray(x, dtype=np.float64), (raw[:, varying] - low[varying]) / span[varying])
