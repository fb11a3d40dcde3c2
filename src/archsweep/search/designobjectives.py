"""Objectives a search knows exactly before it evaluates a point: those closed-form in the hardware design.

A study's objective that is one of :data:`archsweep.spec.columns.DESIGN_COLUMNS` (the package price, the die
area, the system capex, ...) depends on the design alone, the same for every workload and mapping, and costs
microseconds a candidate instead of a best-mapping search. With ``surrogate_exact_design`` the surrogate sampler
(:mod:`archsweep.search.surrogate`) takes these values from :class:`DesignObjectives` for every candidate instead
of predicting them with a Gaussian process: the package price steps down 15-17 % where a design splits into
chiplets, a cliff across compute units x bandwidth a smooth GP over-predicts on one side of (s23-U: it hid the cheap
end of grid 1's front on seed 18). Measured on both search-quality grids it is level with the GP's prediction
(paired +0.0003, SE 0.0009 / 0.0006; the worst seed moves): ``docs/search-quality-history.md``, s24-D.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from optuna.distributions import BaseDistribution

from archsweep.model.design import design_columns
from archsweep.results.pareto import Direction, to_minimization
from archsweep.search.aggregate import aggregate_workloads
from archsweep.search.grid import Axis
from archsweep.spec.columns import DESIGN_COLUMNS
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.technology import Technology

__all__ = ["DesignObjectives", "overlay"]

#: The hardware of grid points: searched parameter name -> values (one per point), to a candidate batch (the
#: worker's :func:`~archsweep.search.worker.hardware_batch` on the study's base design).
HardwareOf = Callable[[Mapping[str, np.ndarray]], HardwareArrays]


class DesignObjectives:
    """The study's design-only objectives, computed for any grid points (minimised, as the samplers see them).

    Args:
        hardware: the candidate batch of searched parameter values (:data:`HardwareOf`).
        tech: technology constants.
        columns: the study's objective columns, in order.
        directions: their directions ("minimize" / "maximize").
        workloads: workloads the objectives aggregate over.
        aggregate: the study's aggregation over workloads ("mean", "sum" or "worst"): a design column is the same
            for every workload, aggregated over ``workloads`` copies of it as the worker does
            (:func:`~archsweep.search.aggregate.aggregate_workloads`: "sum" ``workloads`` times it, the others it,
            to the last bit as the worker's).
    """

    def __init__(self, hardware: HardwareOf, tech: Technology, columns: Sequence[str], directions: Sequence[Direction],
                 workloads: int, aggregate: str) -> None:
        self._hardware, self._tech = hardware, tech
        self._columns = tuple(columns)
        self._directions = tuple(directions)
        self._workloads, self._aggregate = workloads, aggregate
        self.exact = np.array([c in DESIGN_COLUMNS for c in self._columns])
        self._axes: tuple[Axis, ...] = ()

    def on_grid(self, axes: Sequence[Axis], space: Mapping[str, BaseDistribution]) -> DesignObjectives:
        """These objectives at the grid points of ``axes`` (:meth:`at`), the search space ``space``'s discrete
        parameters; ValueError where a parameter of ``space`` is not on the grid (its value would be unknown)."""
        names = {axis.name for axis in axes}
        if names != set(space):
            raise ValueError("design: the exact design objectives need every searched parameter on the grid; not "
                             f"discrete: {', '.join(sorted(set(space) - names))}")
        grid = copy.copy(self)
        grid._axes = tuple(axes)
        return grid

    def at(self, indices: np.ndarray) -> np.ndarray:
        """:meth:`values` of the grid points ``indices`` (m, axes) of :meth:`on_grid`'s axes."""
        return self.values({axis.name: np.asarray(axis.values)[indices[:, a]] for a, axis in enumerate(self._axes)})

    def values(self, searched: Mapping[str, np.ndarray]) -> np.ndarray:
        """(points, objectives): the design-only objectives of the points ``searched`` (parameter name -> values),
        minimised (a maximised one negated) and aggregated as the worker tells them; NaN in the other columns."""
        hw = self._hardware(searched)
        design = design_columns(hw, self._tech)
        n = len(next(iter(searched.values()))) if searched else 0
        out = np.full((n, len(self._columns)), np.nan)
        for j, (column, direction) in enumerate(zip(self._columns, self._directions)):
            if self.exact[j]:
                stack = np.repeat(np.broadcast_to(np.asarray(design[column], dtype=np.float64), (n,))[None],
                                  self._workloads, axis=0)
                out[:, j] = aggregate_workloads(stack, self._aggregate, direction)
        return to_minimization(out, self._directions)


def overlay(predicted: np.ndarray, exact: np.ndarray | None) -> np.ndarray:
    """``predicted`` (minimised objectives) with every finite value of ``exact`` in its place."""
    return predicted if exact is None else np.where(np.isfinite(exact), exact, predicted)
