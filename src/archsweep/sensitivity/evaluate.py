"""Evaluate the model around a base design: tornado settings and 2-D grids, as xarray Datasets.

Every variable carries ``units`` and ``description`` attributes (CF-style), so the netCDF files
written from them are self-describing. A changed ``hbm_generation`` brings its own per-stack
bandwidth and capacity (as in sweeps: :func:`archsweep.candidates.hbm.hbm_per_stack_values`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from archsweep.candidates.hbm import hbm_per_stack_values
from archsweep.model.driver import evaluate_design_batch, evaluate_grid
from archsweep.spec.calibration import Calibration
from archsweep.spec.columns import column_dimension
from archsweep.spec.hardware import (
    HARDWARE_PARAMETERS,
    PARAMETER_BY_NAME,
    HardwareArrays,
)
from archsweep.spec.sensitivity import SensitivityGrid, SensitivitySpec
from archsweep.spec.stack import StackParallelism
from archsweep.spec.technology import Technology
from archsweep.spec.workload import Workload

__all__ = ["DESCRIPTIONS", "UNITS", "grid_dataset", "output_attrs", "tornado_dataset"]

#: Unit string of each dimension of :func:`archsweep.spec.columns.column_dimension`.
UNITS: dict[str, str] = {"bandwidth": "B/s", "bytes": "B", "power": "W", "time": "s", "frequency": "Hz",
                         "area": "mm2", "cost": "USD", "energy": "J", "dimensionless": "1", "count": "1"}

#: What the usual outputs mean (the model's definitions).
DESCRIPTIONS: dict[str, str] = {
    "tokens_per_s": "training throughput of the whole job, tokens per second",
    "usd_per_million_tokens": "TCO (capex amortised + energy at PUE) per million trained tokens, goodput included",
    "energy_per_token_j": "accelerator energy per trained token, whole job",
    "mfu": "model FLOP utilisation (6N + attention FLOP per token / peak of the nominal clock)",
    "hfu": "hardware FLOP utilisation (recompute included)",
    "step_time_s": "seconds per optimizer step",
    "power_w": "accelerator package power during training",
    "accelerator_cost_usd": "price of one accelerator package (dies, HBM, interposer, assembly, margin)",
    "package_area_mm2": "interposer area of the package (all dies and HBM stacks with routing overhead)",
    "system_capex_usd": "capital cost of accelerators, hosts and network",
    "time_to_train_s": "wall time of the whole training run at the achieved goodput",
}


#: Units of rates whose name does not end in a unit suffix.
_RATE_UNITS: dict[str, str] = {"tokens_per_s": "token/s", "usd_per_million_tokens": "USD/Mtoken",
                               "energy_per_token_j": "J/token", "tokens_per_s_per_w": "token/s/W"}


def output_attrs(name: str) -> dict[str, str]:
    """``units`` and ``description`` of an output or parameter column."""
    if name in _RATE_UNITS:
        return {"units": _RATE_UNITS[name], "description": DESCRIPTIONS.get(name, name.replace("_", " "))}
    if name in PARAMETER_BY_NAME:
        info = PARAMETER_BY_NAME[name]
        return {"units": UNITS.get(info.dimension, "1") if info.kind != "choice" else "", "description": info.description}
    return {"units": UNITS.get(column_dimension(name), "1"), "description": DESCRIPTIONS.get(name, name.replace("_", " "))}


def _text(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _with_hbm_rule(columns: dict[str, np.ndarray], spec: SensitivitySpec, changed: set[str]) -> dict[str, np.ndarray]:
    if "hbm_generation" in changed:
        follows = hbm_per_stack_values(np.asarray(columns["hbm_generation"], dtype=str), changed, file=spec.file,
                                       key_path="sensitivity")
        base_gen = spec.base["hbm_generation"]
        for key, values in follows.items():  # rows at the base generation keep the base's own per-stack values
            columns[key] = np.where(np.asarray(columns["hbm_generation"]) == base_gen, float(spec.base[key]), values)
    return columns


def tornado_dataset(spec: SensitivitySpec, workload: Workload, *, tech: Technology, calibration: Calibration,
                    objective: str = "step_time_s", parallelism: StackParallelism | None = None) -> xr.Dataset:
    """Outputs at the base design and at each parameter's low and high setting.

    Returns:
        Dataset with dims (parameter, setting=["low", "high"]): one variable per output;
        ``base_<output>`` scalars; coordinate ``setting_value`` (the setting, as text) and
        ``relative_change_<output>`` = value / base - 1.
    """
    rows = [dict(spec.base)]
    for p in spec.tornado:
        rows += [{**spec.base, p.name: p.low}, {**spec.base, p.name: p.high}]
    columns = {info.name: np.asarray([r[info.name] for r in rows], dtype=object if info.kind == "choice" else np.float64)
               for info in HARDWARE_PARAMETERS}
    columns = _with_hbm_rule(columns, spec, {p.name for p in spec.tornado})
    out = evaluate_design_batch(HardwareArrays.from_columns(columns), workload, tech=tech, calibration=calibration,
                                objective=objective, parallelism=parallelism)
    names = [p.name for p in spec.tornado]
    data: dict[str, Any] = {}
    for name in spec.outputs:
        values = np.asarray(out[name], dtype=np.float64)
        grid = values[1:].reshape(len(names), 2)
        data[name] = (("parameter", "setting"), grid, output_attrs(name))
        data[f"base_{name}"] = ((), values[0], output_attrs(name))
        data[f"relative_change_{name}"] = (("parameter", "setting"), grid / values[0] - 1.0,
                                           {"units": "1", "description": f"{name} / base - 1"})
    settings = np.asarray([[_text(p.low), _text(p.high)] for p in spec.tornado], dtype=str).reshape(len(names), 2)
    ds = xr.Dataset(data, coords={"parameter": names, "setting": ["low", "high"],
                                  "setting_value": (("parameter", "setting"), settings,
                                                    {"description": "the parameter's value (SI units, or the choice)"})})
    ds.attrs.update({"workload": workload.name, "kind": "tornado", "source_file": spec.file,
                     "base_design": "; ".join(f"{k}={v}" for k, v in spec.base.items())})
    return ds


def grid_dataset(spec: SensitivitySpec, grid: SensitivityGrid, workload: Workload, *, tech: Technology,
                 calibration: Calibration, objective: str = "step_time_s",
                 parallelism: StackParallelism | None = None) -> xr.Dataset:
    """Outputs on the (x, y) grid with every other parameter at the base (``evaluate_grid``)."""
    variables: dict[str, Any] = {}
    for info in HARDWARE_PARAMETERS:
        if info.name in (grid.x, grid.y):
            continue
        variables[info.name] = xr.DataArray(spec.base[info.name])
    coords = {grid.x: list(grid.x_values), grid.y: list(grid.y_values)}
    ds = xr.Dataset(variables, coords=coords)
    if "hbm_generation" in coords:
        gens = np.asarray(coords["hbm_generation"], dtype=str)
        follows = _with_hbm_rule({"hbm_generation": gens}, spec, {grid.x, grid.y})
        for key in ("hbm_bw_per_stack_bytes_per_s", "hbm_capacity_per_stack_bytes"):
            if key in follows and key not in coords:
                ds[key] = xr.DataArray(follows[key], dims=("hbm_generation",))
    result = evaluate_grid(ds, workload, tech=tech, calibration=calibration, objective=objective,
                           parallelism=parallelism)
    out = xr.Dataset({name: result[name if name in result else f"out_{name}"].assign_attrs(output_attrs(name))
                      for name in spec.outputs})
    for axis in (grid.x, grid.y):
        out[axis].attrs.update(output_attrs(axis))
    out = out.transpose(grid.x, grid.y)
    out.attrs.update({"workload": workload.name, "kind": "grid", "grid": grid.name, "x": grid.x, "y": grid.y,
                      "source_file": spec.file})
    return out
