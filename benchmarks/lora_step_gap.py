"""The MLPerf llama2_70b_lora rows' measured step against the model's, per layer and micro-batch (issue 10, s13-lora).

Reads data/validation/mlperf_lora_time_split.csv (each row's time to train split from its own logs), the row's
stated layout in data/validation/training_runs.csv and a per-row validation file (``archsweep validate --measurements
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

DATA = Path(__file__).resolve().parents[1] / "data" / "validation"
LAYERS = 80  # Llama 2 70B


def _read(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        return {r["run_id"]: r for r in csv.DictReader(handle)}


def micro_batches(row: dict[str, str]) -> int | None:
    """Micro-batches a step of a row with a stated layout: GBS / (dp x micro_batch), dp = GPUs / (tp x pp x cp)."""
    try:
        tp, pp, cp = (int(row[k] or 1) for k in ("tp", "pp", "cp"))
        dp = int(row["dp"]) if row["dp"] else int(row["num_accels"]) // (tp * pp * cp)
        return int(row["global_batch_seqs"]) // (dp * int(row["micro_batch"] or 1)) if row["tp"] else None
    except (KeyError, ValueError, ZeroDivisionError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", type=Path, help="per-row file of archsweep validate --output")
    parser.add_argument("--grep", default="", help="only run_ids containing this text")
    args = parser.parse_args()
    split, runs, pred = _read(DATA / "mlperf_lora_time_split.csv"), _read(DATA / "training_runs.csv"), _read(args.rows)
    print(f"{'row':58s} {'layout':>9s} {'graph':>5s} {'mb':>3s} {'share':>5s} {'log s':>7s} {'tracked':>7s} "
          f"{'model s':>7s} {'err %':>6s} {'miss ms/layer/mb':>16s}")
    for run_id, s in split.items():
        if args.grep not in run_id or run_id not in pred:
            continue
        row, p = runs[run_id], pred[run_id]
        mb = micro_batches(row)
        measured, model = float(s["steady_step_s"]), float(p["predicted"])
        layout = f"TP{row['tp']} CP{row['cp'] or 1}" if row["tp"] else "searched"
        gap = f"{(measured - model) / (mb * LAYERS) * 1e3:16.2f}" if mb else f"{'-':>16s}"
        print(f"{run_id[13:-16]:58s} {layout:>9s} {row['layer_cuda_graphs'] or '-':>5s} {mb or '-':>3} "
              f"{float(s['step_share']):5.2f} {measured:7.4f} {float(s['tracked_step_s']):7.4f} {model:7.4f} "
              f"{float(p['error_pct']):6.1f} {gap}")


if __name__ == "__main__":
    main()
