"""Signed error of one part's rows by software release and model, across every source group (issue 10).

    archsweep validate --measurements data/validation/training_runs.csv --summary-only --output rows.csv
    python benchmarks/release_bias.py rows.csv [--part GB200] [--arch dense] [--no-fp4]

Reads the per-row output of ``archsweep validate --output`` and the row facts of
data/validation/training_runs.csv (``accelerator_canonical``, ``arch_type``, ``precision``, ``params_B``), keeps
the modelled (``ok``) rows of ``--part`` whose metric is a throughput or a step time, and prints per software
release (Megatron-Bridge table release from the run_id, MLPerf round and NGC container) and model size the row
count, the mean of "too fast" in % and the rows' values. "Too fast" is the model's speed over the measured speed
minus 1: the error itself on throughput metrics, ``1 / (1 + error) - 1`` on step times, so + is always the model
too fast. A release-independent term of the part (a clock, a power cap, a GEMM rate) moves every release alike;
a spread across releases at one model and layout is the software's (s19-F, docs/model-accuracy.md).
"""

from __future__ import annotations

import argparse
import re
import sys

import pandas as pd

from archsweep.load.paths import data_dir

_SPEED_METRICS = ("tokens_per_s_per_gpu", "tflops_per_gpu", "mfu_pct")
_TIME_METRICS = ("step_time_s",)


def release(run_id: str) -> str:
    """The software release a row's run_id names: ``bridge 26.02`` (Megatron-Bridge table or forward test),
    ``mlperf v5.0 ngc25.04`` (MLPerf round and container), else the run_id's first word."""
    bridge = re.match(r"mbridge(?:-fwd)?_([0-9.]+)_", run_id)
    if bridge:
        return f"bridge {bridge.group(1)}"
    mlperf = re.match(r"mlperf_train_(v[0-9.]+)_", run_id)
    if mlperf:
        ngc = re.search(r"_(ngc[0-9.]+)_", run_id)
        return f"mlperf {mlperf.group(1)}" + (f" {ngc.group(1)}" if ngc else "")
    return run_id.split("_")[0]


def too_fast_pct(metric: str, error_pct: float) -> float:
    """The model's speed over the measured one, minus 1, in % (+ = the model too fast)."""
    if metric in _TIME_METRICS:
        return 100.0 * (1.0 / (1.0 + error_pct / 100.0) - 1.0)
    return error_pct


def table(output_csv: str, part: str, arch: str, no_fp4: bool) -> pd.DataFrame:
    """The modelled throughput / step-time rows of ``part`` with ``release``, ``params_B`` and ``too_fast``."""
    out = pd.read_csv(output_csv)
    facts = pd.read_csv(data_dir() / "validation" / "training_runs.csv",
                        usecols=["run_id", "arch_type", "precision", "params_B", "accelerator_canonical"])
    df = out[(out.status == "ok") & out.metric.isin(_SPEED_METRICS + _TIME_METRICS)].merge(facts, on="run_id")
    df = df[df.accelerator_canonical == part]
    if arch != "all":
        df = df[df.arch_type.astype(str).str.lower().str.startswith(arch)]
    if no_fp4:
        df = df[~df.precision.astype(str).str.upper().str.contains("FP4")]
    return df.assign(release=df.run_id.map(release),
                     too_fast=[too_fast_pct(m, e) for m, e in zip(df.metric, df.error_pct)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows_csv", help="per-row output of archsweep validate --output")
    parser.add_argument("--part", default="GB200", help="accelerator_canonical (default GB200)")
    parser.add_argument("--arch", default="dense", help="arch_type prefix, or 'all' (default dense)")
    parser.add_argument("--no-fp4", action="store_true", help="leave out NVFP4 / MXFP4 rows")
    args = parser.parse_args(argv)
    df = table(args.rows_csv, args.part, args.arch, args.no_fp4)
    if df.empty:
        print(f"no modelled rows of part {args.part!r} (arch {args.arch!r}) in {args.rows_csv}", file=sys.stderr)
        return 1
    print(f"{args.part} ({args.arch}{', no FP4' if args.no_fp4 else ''}): mean too fast % (+ = model too fast)")
    for (rel, params), grp in df.groupby(["release", "params_B"], sort=True):
        values = ", ".join(f"{v:+.0f}" for v in sorted(grp.too_fast))
        print(f"  {rel:<24} {params:>6g}B  n={len(grp):2d}  mean {grp.too_fast.mean():+6.1f}  [{values}]")
    print(f"  all: n={len(df)}  mean {df.too_fast.mean():+.2f}  MAPE {df.error_pct.abs().mean():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
