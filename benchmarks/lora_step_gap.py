"""The MLPerf llama2_70b_lora rows' measured step against the model's, per layer and micro-batch (issue 10, s13-lora).

Reads data/validation/mlperf_lora_time_split.csv (each row's time to train split from its own logs), the row's
workload and stated layout in data/validation/training_runs.csv (as the validation plans it:
``archsweep.validation.run.plan_row``) and a per-row validation file (``archsweep validate --measurements
data/validation/training_runs.csv --summary-only --output FILE``), and prints per row: layout, per-layer CUDA graphs,
micro-batches a step, the share of the time to train in steady steps, the step from the logs (block markers and the
callback's tracked_stats), the model's step, the error, and (measured - model) / (micro-batches x layers), the time a
layer and micro-batch misses. Rows whose layout is not stated print '-' for the per-layer figure.

Usage: python benchmarks/lora_step_gap.py FILE [--grep TEXT]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from archsweep.spec.strategy import parse_strategy
from archsweep.validation.cells import read_measurements
from archsweep.validation.run import plan_row
from archsweep.validation.types import RowPlan, Skip

DATA = Path(__file__).resolve().parents[1] / "data" / "validation"


def _read(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        return {r["run_id"]: r for r in csv.DictReader(handle)}


def micro_batches(plan: RowPlan) -> int | None:
    """Micro-batches a step of a row's plan (:func:`archsweep.validation.run.plan_row`) with a stated layout: GBS /
    (dp x micro_batch), dp = GPUs / (tp x pp x cp) where the strategy leaves dp to the count; None for a searched row."""
    if plan.mapping == "searched":
        return None
    fixed = parse_strategy(plan.strategies[0], source=plan.run_id)
    tp, pp, cp = (int(fixed.get(k, 1)) for k in ("tp", "pp", "cp"))
    dp = int(fixed["dp"]) if "dp" in fixed else plan.count // (tp * pp * cp)
    return plan.workload.training.global_batch_seqs // (dp * int(fixed.get("micro_batch", 1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", type=Path, help="per-row file of archsweep validate --output")
    parser.add_argument("--grep", default="", help="only run_ids containing this text")
    args = parser.parse_args()
    split, pred = _read(DATA / "mlperf_lora_time_split.csv"), _read(args.rows)
    runs = {r["run_id"]: r for r in read_measurements(DATA / "training_runs.csv")}
    print(f"{'row':58s} {'layout':>9s} {'graph':>5s} {'mb':>3s} {'share':>5s} {'log s':>7s} {'tracked':>7s} "
          f"{'model s':>7s} {'err %':>6s} {'miss ms/layer/mb':>16s}")
    for run_id, s in split.items():
        if args.grep not in run_id or run_id not in pred:
            continue
        row, p = runs[run_id], pred[run_id]
        try:
            plan: RowPlan | None = plan_row(row)
        except Skip:
            plan = None
        mb = micro_batches(plan) if plan is not None else None
        measured, model = float(s["steady_step_s"]), float(p["predicted"])
        layout = f"TP{row['tp']} CP{row['cp'] or 1}" if row["tp"] else "searched"
        gap = f"{(measured - model) / (mb * plan.workload.layers) * 1e3:16.2f}" if mb and plan else f"{'-':>16s}"
        print(f"{run_id[13:-16]:58s} {layout:>9s} {row['layer_cuda_graphs'] or '-':>5s} {mb or '-':>3} "
              f"{float(s['step_share']):5.2f} {measured:7.4f} {float(s['tracked_step_s']):7.4f} {model:7.4f} "
              f"{float(p['error_pct']):6.1f} {gap}")


if __name__ == "__main__":
    main()
