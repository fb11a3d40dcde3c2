"""The toy three-axis grid (integer, stepped float, categorical) shared by the local-search and
step-model tests of tests/search/."""

from __future__ import annotations

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from archsweep.search.localsearch import grid_axes

SPACE = {
    "a": IntDistribution(0, 9, step=1),
    "b": FloatDistribution(0.0, 2.0, step=0.25),
    "c": CategoricalDistribution(["x", "y", "z"]),
}
AXES = {axis.name: axis for axis in grid_axes(SPACE)}
