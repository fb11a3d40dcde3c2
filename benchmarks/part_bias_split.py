"""Split a validation group's signed error by part, precision, model size, layout and source table (issue 10).

    archsweep validate --measurements data/validation/training_runs.csv --summary-only --output rows.csv
    python benchmarks/part_bias_split.py rows.csv [--group nemo] [--all-archs]

Reads the per-row output of ``archsweep validate --output`` and the row facts of
data/validation/training_runs.csv (precision, params_B, tp, cp, fsdp_zero, accelerator_canonical), keeps the
modelled (``ok``) rows of ``--group`` (default nemo) that are dense (``arch_type`` not starting with ``moe``;
``--all-archs`` keeps MoE too), and prints per part the row count, the mean signed error (%, + = the model too
fast on throughput metrics) and the MAPE, then the same split by precision (per-tensor FP8 / current scaling /
NeMo's "FP8" / NeMo 24.07's "FP8 (Transformer Engine)" taken as one recipe, FP8-MX = MXFP8), by model size, by layout (TP > 1, CP > 1, FSDP) and by
source table (the NeMo long-sequence table against the Megatron-Bridge performance tables).
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from archsweep.load.paths import data_dir

_PRECISION = {"FP8-CS": "FP8 per-tensor", "FP8": "FP8 per-tensor", "FP8 (per-tensor)": "FP8 per-tensor",
              "FP8 (Transformer Engine)": "FP8 per-tensor", "FP8-MX": "MXFP8"}


def rows(output_csv: str, group: str, all_archs: bool) -> pd.DataFrame:
    """The modelled rows of ``group`` from ``output_csv`` joined with their training_runs.csv facts."""
    out = pd.read_csv(output_csv)
    facts = pd.read_csv(data_dir() / "validation" / "training_runs.csv",
                        usecols=["run_id", "arch_type", "precision", "params_B", "tp", "cp", "fsdp_zero",
                                 "accelerator_canonical"])
    df = out[(out.source_group == group) & (out.status == "ok")].merge(facts, on="run_id")
    if not all_archs:
        df = df[~df.arch_type.astype(str).str.startswith("moe")]
    df = df.assign(precision=df.precision.map(lambda p: _PRECISION.get(p, p)),
                   abs_error=df.error_pct.abs(),
                   layout=[("TP" if tp > 1 else "") + ("CP" if cp > 1 else "") + ("FSDP" if "FSDP" in str(f) else "")
                           or "DP only" for tp, cp, f in zip(df.tp.fillna(1), df.cp.fillna(1), df.fsdp_zero)],
                   table=df.run_id.str.split("_").str[0])
    return df


def split(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Row count, mean signed error (%) and MAPE (%) per value of the columns ``by``."""
    return df.groupby(by).agg(rows=("error_pct", "size"), mean_signed_pct=("error_pct", "mean"),
                              mape_pct=("abs_error", "mean")).round(2)


def main(argv: list[str] | None = None) -> int:
    """Print the splits for a ``validate --output`` file (see the module doc); 2 when ``--group`` names no
    modelled row of it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_csv", help="per-row file of archsweep validate --output")
    parser.add_argument("--group", default="nemo", help="source_group to split (default nemo)")
    parser.add_argument("--all-archs", action="store_true", help="keep MoE rows too")
    args = parser.parse_args(argv)
    df = rows(args.output_csv, args.group, args.all_archs)
    if df.empty:
        groups = sorted(pd.read_csv(args.output_csv).source_group.dropna().unique())
        parser.error(f"{args.output_csv}: no modelled row of --group {args.group!r}"
                     f"{'' if args.all_archs else ' (dense only; --all-archs keeps MoE)'}; groups: {', '.join(groups)}")
    for by in (["accelerator_canonical"], ["accelerator_canonical", "precision"],
               ["accelerator_canonical", "params_B"], ["accelerator_canonical", "layout"],
               ["accelerator_canonical", "table"]):
        print(split(df, by).to_string(), end="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
