"""Sensitivity of a design's outputs to its parameters: tornado (one at a time) and 2-D grids.

Evaluates the model around a base design (:mod:`archsweep.sensitivity.evaluate`), writes labelled
xarray grids as netCDF with units and descriptions, the DuckDB table ``sensitivity`` and the
tornado and heatmap plots (:mod:`archsweep.sensitivity.run`).
"""

from archsweep.sensitivity.evaluate import grid_dataset, tornado_dataset
from archsweep.sensitivity.run import run_sensitivity

__all__ = ["grid_dataset", "run_sensitivity", "tornado_dataset"]
