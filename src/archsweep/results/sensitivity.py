"""Sensitivity results: the tidy ``sensitivity`` table, tornado charts and heatmaps.

Input: the xarray Datasets of :mod:`archsweep.sensitivity.evaluate` (tornado: dims
(parameter, setting); grid: dims (x, y)). Nothing here evaluates the model.

Table ``sensitivity`` (one row per study, workload, kind, grid, parameter, setting, x value,
y value, output): ``value``, ``base_value`` (tornado: the base design's value) and
``relative_change`` (tornado: value / base - 1), ``units``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["SENSITIVITY_KEYS", "plot_heatmap", "plot_tornado", "sensitivity_table", "tornado_order"]

SENSITIVITY_KEYS: tuple[str, ...] = ("study", "workload", "kind", "grid", "parameter", "setting", "x_value",
                                     "y_parameter", "y_value", "output")


def _text(value: Any) -> str:
    value = value.item() if hasattr(value, "item") else value
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def sensitivity_table(study: str, tornado: Any, grids: list[Any], outputs: tuple[str, ...]) -> pa.Table:
    """Long (tidy) rows of one workload's tornado and grid Datasets."""
    rows: dict[str, list[Any]] = {k: [] for k in (*SENSITIVITY_KEYS, "value", "base_value", "relative_change",
                                                   "units")}

    def add(kind: str, grid: str, parameter: str, setting: str, x: str, y_param: str, y: str, output: str,
            value: float, base: float, units: str) -> None:
        for key, v in zip(rows, (study, tornado.attrs["workload"], kind, grid, parameter, setting, x, y_param, y,
                                 output, value, base, value / base - 1.0 if base else np.nan, units)):
            rows[key].append(v)

    for output in outputs:
        base = float(tornado[f"base_{output}"])
        units = tornado[output].attrs.get("units", "")
        for i, parameter in enumerate(tornado["parameter"].values.tolist()):
            for j, setting in enumerate(("low", "high")):
                add("tornado", "", parameter, setting, str(tornado["setting_value"].values[i, j]), "", "", output,
                    float(tornado[output].values[i, j]), base, units)
        for ds in grids:
            x, y = ds[output].dims
            values = ds[output].transpose(x, y).values
            for i, xv in enumerate(ds[x].values):
                for j, yv in enumerate(ds[y].values):
                    add("grid", ds.attrs["grid"], x, "", _text(xv), y, _text(yv), output, float(values[i, j]),
                        np.nan, units)
    return pa.table(rows)


def tornado_order(ds: Any, output: str) -> list[str]:
    """Parameters by decreasing swing |high - low| of ``output`` (the tornado's bar order)."""
    values = ds[output].values
    swing = np.abs(values[:, 1] - values[:, 0])
    order = np.argsort(-np.nan_to_num(swing, nan=-1.0), kind="stable")
    return [ds["parameter"].values[i] for i in order]


def _figure(width: float = 7.0, height: float = 4.8) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def plot_tornado(ds: Any, output: str, path: Path) -> Path:
    """Horizontal bars of ``output``'s relative change at each parameter's low and high setting."""
    order = tornado_order(ds, output)
    fig, ax = _figure(height=1.2 + 0.35 * len(order))
    rel = ds[f"relative_change_{output}"]
    for k, name in enumerate(reversed(order)):
        low, high = (float(rel.sel(parameter=name, setting=s)) * 100 for s in ("low", "high"))
        settings = [str(ds["setting_value"].sel(parameter=name, setting=s).values) for s in ("low", "high")]
        ax.barh(k, low, color="tab:blue", label="low setting" if k == 0 else None)
        ax.barh(k, high, color="tab:orange", label="high setting" if k == 0 else None)
        ax.text(0, k, f"  {settings[0]} / {settings[1]}", va="center", fontsize=6, color="0.2")
    ax.set_yticks(range(len(order)), list(reversed(order)), fontsize=7)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(f"change of {output} from the base design ({float(ds[f'base_{output}']):.4g} "
                  f"{ds[output].attrs.get('units', '')}), %")
    ax.set_title(f"tornado: {output}, {ds.attrs['workload']}", fontsize=10)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    return path


def plot_heatmap(ds: Any, output: str, path: Path) -> Path:
    """``output`` over the grid's (x, y) values, annotated in each cell."""
    x, y = ds.attrs.get("x", ds[output].dims[0]), ds.attrs.get("y", ds[output].dims[1])
    values = ds[output].transpose(y, x).values
    fig, ax = _figure()
    image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(ds.sizes[x]), [_text(v) for v in ds[x].values], fontsize=7, rotation=30)
    ax.set_yticks(range(ds.sizes[y]), [_text(v) for v in ds[y].values], fontsize=7)
    if values.size <= 100:
        for (j, i), v in np.ndenumerate(values):
            ax.text(i, j, f"{v:.3g}", ha="center", va="center", fontsize=6, color="w")
    ax.set_xlabel(f"{x} [{ds[x].attrs.get('units', '')}]")
    ax.set_ylabel(f"{y} [{ds[y].attrs.get('units', '')}]")
    fig.colorbar(image, ax=ax, label=f"{output} [{ds[output].attrs.get('units', '')}]")
    ax.set_title(f"{output}, {ds.attrs['workload']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    return path
