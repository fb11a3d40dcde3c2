"""Which component of the model's step a part's dense rows miss time in (s15-bwdense, issue 10).

    python benchmarks/component_offsets.py ROWS.csv [--parts B200,GB200,GB300,H100-SXM]

``ROWS.csv`` is an ``archsweep validate --output`` file. For every dense row of the listed parts with a throughput
metric (tokens or TFLOP/s per GPU) this re-evaluates the row at its stated mapping as ``validate`` does, splits the
model's compute time by the per-layer shares of three components of :func:`archsweep.model.transformer.layer_costs`
at the row's calibration — memory-bound (the time that goes when ``hbm_bw_efficiency`` is unbounded), the attention
core (forward core x 3.5: forward + backward at ``flash_attention_backward_flop_ratio`` 2.5) and the rest ("GEMM":
the Linear GEMMs) — and takes the measured step as the predicted one x (1 + error). Per part it prints the least
squares of the relative missing time, (measured - predicted) / measured, on each component's share of the measured
step: ``extra`` is how much longer than modelled the component runs (0.1: 10 % longer), with the rms of the relative
missing time before and after. Read docs/model-accuracy.md "s15-bwdense".
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass, replace

import numpy as np
from row_breakdown import _value, row_step

from archsweep.load.catalog import load_catalog
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.model.transformer import layer_costs
from archsweep.validation.cells import read_measurements

THROUGHPUT = ("tokens_per_s_per_gpu", "tflops_per_gpu")
COMPONENTS = ("GEMM", "attention", "memory")
FITS = ((0,), (1,), (0, 1), (0, 1, 2))


@dataclass(frozen=True)
class RowSplit:
    """One row: part, predicted and measured step (s), and the model's GEMM / attention / memory-bound time (s)."""

    run_id: str
    part: str
    predicted_s: float
    measured_s: float
    component_s: tuple[float, float, float]


def split_row(row: dict, part: str, error_pct: float, catalog, tech) -> RowSplit:
    """The model's step of ``row`` (on catalog part ``part``) at its stated mapping, split by its layer's component
    shares."""
    rs = row_step(row, catalog, tech)
    result, cal, hw, mp, wl, peak = rs.result, rs.cal, rs.hw, rs.mp, rs.wl, rs.peak

    def layer_s(c) -> float:
        return float(np.ravel(c.dense_fwd_s + c.dense_bwd_s)[0])

    full = layer_costs(hw, wl, mp, cal, peak)
    total = layer_s(full)
    memory = total - layer_s(layer_costs(hw, wl, mp, replace(cal, hbm_bw_efficiency=1e30), peak))
    attention = 3.5 * float(np.ravel(full.attn_core_fwd_s)[0])
    compute = _value(result, "compute_time_s")
    step = _value(result, "step_time_s")
    shares = ((total - memory - attention) / total, attention / total, memory / total)
    return RowSplit(row["run_id"], part, step, step * (1.0 + error_pct / 100.0),
                    tuple(compute * s for s in shares))  # type: ignore[arg-type]


def fit(rows: list[RowSplit], columns: tuple[int, ...]) -> tuple[np.ndarray, float, float]:
    """Least squares of (measured - predicted) / measured on the chosen components' shares of the measured step:
    (extra per component, rms before, rms after)."""
    y = np.array([(r.measured_s - r.predicted_s) / r.measured_s for r in rows])
    x = np.array([[r.component_s[c] / r.measured_s for c in columns] for r in rows])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    return coef, float(np.sqrt(np.mean(y ** 2))), float(np.sqrt(np.mean((y - x @ coef) ** 2)))


def collect(rows_file: str, parts: list[str]) -> list[RowSplit]:
    """:func:`split_row` of every ``ok`` dense throughput row of ``parts`` in the validate output ``rows_file``."""
    measured = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
    catalog, tech = load_catalog(), load_technology()
    with open(rows_file, newline="", encoding="utf-8") as handle:
        out = [r for r in csv.DictReader(handle)
               if r["status"] == "ok" and r["accelerator"] in parts and r["metric"] in THROUGHPUT]
    return [split_row(measured[r["run_id"]], r["accelerator"], float(r["error_pct"]), catalog, tech) for r in out
            if not measured[r["run_id"]]["arch_type"].startswith("moe")]


def main() -> None:
    """Print per part the mean component shares and the fits of :data:`FITS` (module doc)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", help="an archsweep validate --output file")
    parser.add_argument("--parts", default="B200,GB200,GB300,H100-SXM")
    args = parser.parse_args()
    parts = args.parts.split(",")
    splits = collect(args.rows, parts)
    for part in parts:
        own = [s for s in splits if s.part == part]
        if len(own) < 4:
            print(f"{part}: {len(own)} dense throughput rows, too few to fit")
            continue
        shares = np.mean([[c / s.measured_s for c in s.component_s] for s in own], axis=0)
        print(f"{part}: {len(own)} rows, mean shares of the measured step GEMM / attention / memory "
              + " / ".join(f"{v:.3f}" for v in shares))
        for columns in FITS:
            coef, before, after = fit(own, columns)
            names = " + ".join(COMPONENTS[c] for c in columns)
            print(f"  {names:26s} extra " + " / ".join(f"{v:+.3f}" for v in coef) + f"  rms {before:.3f} -> {after:.3f}")


if __name__ == "__main__":
    main()
