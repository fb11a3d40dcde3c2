"""What the Blackwell dense rows would need if attention ran at cuDNN's published rate (issue 10, s26-C).

    archsweep validate --measurements data/validation/training_runs.csv --optimism --output rows.csv
    python benchmarks/attention_offset.py rows.csv [--groups nemo,mbridge-forward]

For every modelled (``ok``) dense throughput row of ``--groups`` on H100, B200, GB200 and GB300 this re-evaluates the
row at its stated mapping as ``validate`` does (``row_breakdown.row_step``) and splits one layer's forward + backward
time (:func:`archsweep.model.transformer.layer_costs` at the row's calibration) into the attention kernels (forward
and backward core, kernel overheads off), the memory-bound time (what goes when ``hbm_bw_efficiency`` is unbounded)
and the rest ("GEMM": the Linear GEMMs). It then prices the attention kernels at cuDNN's rate: the model's
forward / backward rate scaled by cuDNN's published causal BF16 rate at seq 8192, head dim 128 over the model's rate
of the same part at 8192 (:data:`CUDNN`, :data:`MODEL_8K`), on rows whose kernel runs at the model's cuDNN-class
rate (the FlashAttention-2 stacks of NeMo 24.07 keep theirs). The step's compute time shrinks by the layer's
saving in proportion (DVFS not re-run: the clock stays the row's), giving ``err_cudnn`` (throughput error, + = the
model too fast). Prints per part and source the mean and MAPE with either rate; least squares of the relative
missing time (measured - predicted) / measured on the compute shares (uniform, GEMM only, GEMM + attention) with
either rate, on all rows and without the NVFP4 rows, the NeMo 25.04 long-sequence rows and the GB200 405B FP8-MX
25.09 row (s21-E); and the GB300 / GB200 ratios of the same run id measured, modelled and with cuDNN's attention.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import replace

import numpy as np
import pandas as pd
from row_breakdown import _value, row_step

from archsweep.load.catalog import load_catalog
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.model.transformer import layer_costs
from archsweep.validation.cells import read_measurements

# NVIDIA/cudnn-frontend benchmark/sdpa_benchmark_training results (docs/model-accuracy.md s25-A): causal, seq 8192,
# head dim 128, BF16 forward / backward TFLOP/s. H100: the H200 cuDNN 9.19 file (same SMs and clock); B200 and GB300
# cuDNN 9.13.1 (NGC 25.09), GB200 cuDNN 9.17.0 (NGC 25.11).
CUDNN = {"H100-SXM": (644.0, 541.0), "B200": (1384.0, 995.0), "GB200": (1583.0, 1211.0), "GB300": (1716.0, 1150.0)}
# The model's forward / backward attention kernel rate of the part on the Megatron-Bridge 8192-token rows (TFLOP/s).
MODEL_8K = {"H100-SXM": (556.0, 478.0), "B200": (916.0, 788.0), "GB200": (957.0, 823.0), "GB300": (1348.0, 1160.0)}
THROUGHPUT = ("tokens_per_s_per_gpu", "tflops_per_gpu")


def _scalar(x) -> float:
    return float(np.ravel(x)[0])


def split_rows(rows_file: str, groups: list[str]) -> pd.DataFrame:
    """One line per dense throughput row: shares of a layer (GEMM / attention / memory), attention rates
    (TFLOP/s), the compute share of the step, and the error with the model's and with cuDNN's attention (%)."""
    measured = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
    catalog, tech = load_catalog(), load_technology()
    out = []
    with open(rows_file, newline="", encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            row = measured.get(r["run_id"])
            if (r["status"] != "ok" or r["accelerator"] not in CUDNN or r["metric"] not in THROUGHPUT
                    or r["source_group"] not in groups or row is None or row["arch_type"].startswith("moe")):
                continue
            rs = row_step(row, catalog, tech)
            hw, wl, mp, cal, peak = rs.hw, rs.wl, rs.mp, rs.cal, rs.peak
            kernels = layer_costs(hw, wl, mp, replace(cal, kernel_overhead_s=0.0), peak)
            no_mem = layer_costs(hw, wl, mp, replace(cal, kernel_overhead_s=0.0, hbm_bw_efficiency=1e30), peak)
            full = layer_costs(hw, wl, mp, cal, peak)
            total = _scalar(full.dense_fwd_s + full.dense_bwd_s)
            a_fwd, a_bwd = _scalar(kernels.attn_core_fwd_s), _scalar(kernels.attn_core_bwd_s)
            memory = _scalar(kernels.dense_fwd_s + kernels.dense_bwd_s) - _scalar(no_mem.dense_fwd_s + no_mem.dense_bwd_s)
            flops = _scalar(full.attn_core_flops)
            rate_f, rate_b = flops / a_fwd / 1e12, 2.5 * flops / a_bwd / 1e12
            part = r["accelerator"]
            ref_f, ref_b = MODEL_8K[part]
            k_f, k_b = (CUDNN[part][0] / ref_f, CUDNN[part][1] / ref_b) if rate_f > 0.85 * ref_f else (1.0, 1.0)
            saving = a_fwd * (1.0 - 1.0 / k_f) + a_bwd * (1.0 - 1.0 / k_b)
            step, compute = _value(rs.result, "step_time_s"), _value(rs.result, "compute_time_s")
            err = float(r["error_pct"])
            measured_step = step * (1.0 + err / 100.0)
            out.append({"run_id": r["run_id"], "group": r["source_group"], "part": part, "precision": row["precision"],
                        "err": err, "err_cudnn": 100.0 * (measured_step / (step - compute * saving / total) - 1.0),
                        "gemm_sh": (total - memory - a_fwd - a_bwd) / total, "attn_sh": (a_fwd + a_bwd) / total,
                        "mem_sh": memory / total, "compute_sh": compute / step, "rate_fwd": rate_f, "rate_bwd": rate_b,
                        "measured": float(r["measured"])})
    return pd.DataFrame(out)


def fits(df: pd.DataFrame, column: str) -> list[str]:
    """Per part: least squares of the relative missing time on the compute shares of the measured step."""
    lines = []
    for part, d in df.groupby("part"):
        e = d[column].to_numpy() / 100.0
        y = e / (1.0 + e)
        comp = d.compute_sh.to_numpy() / (1.0 + e)
        designs = {"uniform": comp[:, None], "GEMM": (comp * d.gemm_sh.to_numpy())[:, None],
                   "GEMM+attn": np.column_stack([comp * d.gemm_sh.to_numpy(), comp * d.attn_sh.to_numpy()])}
        text = [f"  {part:9s} n={len(d):2d} mean {100 * e.mean():+5.1f} % rms {np.sqrt(np.mean(y ** 2)):.3f}"]
        for name, x in designs.items():
            coef, *_ = np.linalg.lstsq(x, y, rcond=None)
            text.append(f"{name} " + "/".join(f"{c:+.3f}" for c in coef) + f" rms {np.sqrt(np.mean((y - x @ coef) ** 2)):.3f}")
        lines.append("  ".join(text))
    return lines


def pairs(df: pd.DataFrame) -> pd.DataFrame:
    """GB300 / GB200 throughput ratios of the rows whose run ids differ only in the system."""
    key = df.run_id.str.replace("DGX-GB300", "X").str.replace("DGX-GB200", "X")
    a, b = df[df.part == "GB200"].set_index(key[df.part == "GB200"]), df[df.part == "GB300"].set_index(key[df.part == "GB300"])
    common = a.index.intersection(b.index)
    x, y = a.loc[common], b.loc[common]
    return pd.DataFrame({"measured": y.measured / x.measured,
                         "model": y.measured * (1 + y.err / 100) / (x.measured * (1 + x.err / 100)),
                         "model_cudnn": y.measured * (1 + y.err_cudnn / 100) / (x.measured * (1 + x.err_cudnn / 100))},
                        index=common)


def main() -> None:
    """Print the tables of the module doc."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", help="an archsweep validate --output file")
    parser.add_argument("--groups", default="nemo,mbridge-forward")
    args = parser.parse_args()
    df = split_rows(args.rows, args.groups.split(","))
    df["source"] = np.where(df.run_id.str.startswith("nemo_longseq"), "NeMo long-seq",
                            np.where(df.run_id.str.startswith("mbridge"), "Megatron-Bridge", "NeMo 24.07 / dgxc"))
    summary = df.groupby(["part", "source"]).agg(rows=("err", "size"), mean=("err", "mean"),
                                                 mape=("err", lambda s: s.abs().mean()), mean_cudnn=("err_cudnn", "mean"),
                                                 mape_cudnn=("err_cudnn", lambda s: s.abs().mean()), attn_share=("attn_sh", "mean"))
    print(summary.round(2).to_string())
    bridge = df[df.source != "NeMo 24.07 / dgxc"]
    kept = bridge[~bridge.precision.str.contains("NVFP4") & (bridge.source == "Megatron-Bridge")
                  & ~bridge.run_id.str.contains("25.09_DGX-GB200_LLAMA3.1-405B_FP8-MX")]
    for label, rows in (("Megatron-Bridge and long-sequence rows", bridge), ("Megatron-Bridge rows, no NVFP4 / s21-E row", kept)):
        for column in ("err", "err_cudnn"):
            print(f"{label}, {'model' if column == 'err' else 'cuDNN'} attention: extra time per component")
            print("\n".join(fits(rows, column)))
    print(pairs(df).round(3).to_string())


if __name__ == "__main__":
    main()
