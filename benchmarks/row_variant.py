"""A validation row predicted with some of its cells replaced (issue 10 investigations).

    python benchmarks/row_variant.py RUN_ID [column=value ...]

Reads ``run_id`` from data/validation/training_runs.csv, replaces the named columns (e.g. a later
release's layout of the same preset: ``pp=1 vpp= ep=16 dp=16 moe_token_dispatcher=hybridep
moe_a2a_overlap=no tokens_per_s_per_gpu=8901 tflops_per_gpu=205``) and predicts it as
``archsweep validate`` does (the row's plan, its stack's calibration with the stated CUDA-graph scope, the
fastest valid mapping of its strategies). Prints the prediction against the (replaced) measurement and the
step's terms. A published figure that is not a validation row can be set against the model this way
without adding the row; replacing the measurement also needs the consistent ``tflops_per_gpu`` (the
planner checks FLOPs per token).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from row_breakdown import _TERMS, _value, row_step

from archsweep.load.catalog import load_catalog
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.model.training.mapping import MappingArrays
from archsweep.validation.cells import read_measurements
from archsweep.validation.metrics import predict_metric
from archsweep.validation.rows import calibration_stack


def predict_variant(row: dict[str, str]) -> str:
    """The prediction of ``row`` (a validation row's cells) as ``archsweep validate`` makes it, as text."""
    rs = row_step(row, load_catalog(), load_technology())
    plan, result = rs.plan, rs.result
    predicted = predict_metric(plan, result, None)
    return "\n".join([
        f"  [{calibration_stack(row)}] {plan.metric} measured {plan.measured:.5g}, predicted {predicted:.5g}"
        f" ({100 * (predicted - plan.measured) / plan.measured:+.1f} %)",
        "  mapping " + ", ".join(f"{f.name}={_value(result, f.name):g}" for f in fields(MappingArrays))
        + f", micro-batches {_value(result, 'microbatches'):g}, HBM share "
        f"{_value(result, 'memory_per_accelerator_bytes') / _value(result, 'hbm_capacity_bytes'):.3f}"
        + (" (violates the mapping's limits)" if _value(result, "violation_mapping") > 0 else ""),
        f"  step {_value(result, 'step_time_s'):.4g} s = "
        + " + ".join(f"{k.removesuffix('_s')} {_value(result, k):.4g}" for k in _TERMS if _value(result, k) > 0)])


def main(argv: list[str] | None = None) -> int:
    """Print the variant's prediction; argparse's 2 on an unknown run_id or a malformed column=value."""
    parser = argparse.ArgumentParser(description="A validation row predicted with some cells replaced.")
    parser.add_argument("run_id", metavar="RUN_ID", help="run_id of data/validation/training_runs.csv")
    parser.add_argument("cells", nargs="*", metavar="COLUMN=VALUE", help="cells to replace (empty value allowed)")
    args = parser.parse_args(argv)
    rows = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
    if args.run_id not in rows:
        parser.error(f"data/validation/training_runs.csv has no run_id {args.run_id!r}")
    row = dict(rows[args.run_id])
    for cell in args.cells:
        column, sep, value = cell.partition("=")
        if not sep or column not in row:
            parser.error(f"{cell!r}: expected COLUMN=VALUE with a column of training_runs.csv")
        row[column] = value
    print(f"{args.run_id}" + (" with " + " ".join(args.cells) if args.cells else ""))
    print(predict_variant(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
