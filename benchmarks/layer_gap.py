"""Where a row's step is missing time, in the model's units, and what a fixed cost per virtual-stage pass would do to
every group (issue 10, s14-h100moe). Reads a per-row file of ``archsweep validate`` (no model is run):

    archsweep validate --measurements data/validation/training_runs.csv --summary-only --output ROWS.csv
    python benchmarks/layer_gap.py ROWS.csv --moe --part H100          # per-row gap, MoE rows on H100
    python benchmarks/layer_gap.py ROWS.csv --chunk-cost 1 6.2 --scope moe --part H100

Per row (``tokens_per_s_per_gpu`` and ``step_time_s`` rows): the measured and predicted step, s, and the measured minus
predicted step per layer and micro-batch of the busiest pipeline stage (``ceil(layers / pp)`` layers x
``global_batch / (dp x micro_batch)`` micro-batches, ``dp = GPUs / (tp x pp x cp)``; the count of
``benchmarks/moe_host_residual.py``), per 4096 tokens of it, and per chunk pass (the forward or the backward of one
virtual stage for one micro-batch: ``2 x micro-batches x vpp``). Positive: the row is slower than the model.

``--chunk-cost MS``: a cost of MS ms added to the step per chunk pass, on the rows with ``vpp > 1`` of ``--scope``
(all rows, or MoE rows only: an ``ep`` cell above 1) and ``--part`` (a substring of ``accelerator_canonical``), and
the group MAPE after; with 0 it returns the file's own MAPE per group. A diagnostic of a candidate cost (a host or
P2P cost per virtual stage), not a model term: no constant of data/calibration prices it.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from archsweep.load.paths import data_dir

METRICS = ("tokens_per_s_per_gpu", "step_time_s")


@dataclass(frozen=True)
class RowGap:
    """One row: its measured and predicted step (s), the layer-micro-batches and chunk passes of its busiest stage per
    step, the tokens of one micro-batch, and whether the cost of ``--chunk-cost`` applies (vpp > 1)."""

    run_id: str
    group: str
    part: str
    moe: bool
    metric: str
    error_pct: float
    step_meas_s: float
    step_pred_s: float
    layer_mbs: float
    chunk_passes: float
    mb_tokens: float
    interleaved: bool

    @property
    def gap_ms_per_layer_mb(self) -> float:
        """Measured minus predicted step per layer and micro-batch, ms."""
        return 1e3 * (self.step_meas_s - self.step_pred_s) / self.layer_mbs

    @property
    def gap_ms_per_layer_4k(self) -> float:
        """The same per layer and 4096 tokens, ms."""
        return self.gap_ms_per_layer_mb * 4096.0 / self.mb_tokens

    @property
    def gap_ms_per_chunk_pass(self) -> float:
        """Measured minus predicted step per chunk pass, ms."""
        return 1e3 * (self.step_meas_s - self.step_pred_s) / self.chunk_passes

    def error_with_step_s(self, step_s: float) -> float:
        """The row's signed error, %, if the model's step were ``step_s`` (positive: the model too fast, as validate)."""
        if self.metric == "step_time_s":
            return 100.0 * (step_s / self.step_meas_s - 1.0)
        return 100.0 * (self.step_meas_s / step_s - 1.0)


def _num(cell: str, default: float) -> float:
    """A CSV cell as a number; ``default`` where empty or "n/a"."""
    try:
        return float(cell)
    except ValueError:
        return default


def row_gap(row: Mapping[str, str], result: Mapping[str, str]) -> RowGap | None:
    """The :class:`RowGap` of a training_runs.csv ``row`` and its validate ``result`` line; None for a row without a
    prediction. A metric other than :data:`METRICS` (TFLOP/s, MFU, memory) keeps its error only: steps nan, never
    interleaved, so no candidate cost applies to it (it still counts in the group MAPE, as in validate's summary)."""
    metric = result["metric"]
    if not result["predicted"] or not result["error_pct"]:
        return None
    if metric not in METRICS:
        nan = float("nan")
        return RowGap(run_id=row["run_id"], group=result["source_group"], part=row["accelerator_canonical"],
                      moe=_num(row["ep"], 1.0) > 1.0, metric=metric, error_pct=float(result["error_pct"]),
                      step_meas_s=nan, step_pred_s=nan, layer_mbs=nan, chunk_passes=nan, mb_tokens=nan,
                      interleaved=False)
    tp, pp, cp = (_num(row[k], 1.0) for k in ("tp", "pp", "cp"))
    vpp = _num(row["vpp"], 1.0)
    gpus, gbs, mb = float(row["num_accels"]), float(row["global_batch_seqs"]), _num(row["micro_batch"], 1.0)
    micro_batches = gbs / (gpus / (tp * pp * cp) * mb)
    meas, pred = float(result["measured"]), float(result["predicted"])
    if metric == "tokens_per_s_per_gpu":
        tokens = gbs * float(row["seq_len"]) / gpus
        meas, pred = tokens / meas, tokens / pred
    return RowGap(run_id=row["run_id"], group=result["source_group"], part=row["accelerator_canonical"],
                  moe=_num(row["ep"], 1.0) > 1.0, metric=metric, error_pct=float(result["error_pct"]),
                  step_meas_s=meas, step_pred_s=pred, layer_mbs=math.ceil(float(row["layers"]) / pp) * micro_batches,
                  chunk_passes=2.0 * micro_batches * vpp, mb_tokens=mb * float(row["seq_len"]), interleaved=vpp > 1.0)


def load_gaps(rows_csv: Path, runs_csv: Path) -> list[RowGap]:
    """Every row of the validate output ``rows_csv`` that :func:`row_gap` reads, with its cells from ``runs_csv``."""
    with runs_csv.open(newline="") as f:
        runs = {r["run_id"]: r for r in csv.DictReader(f)}
    with rows_csv.open(newline="") as f:
        results = list(csv.DictReader(f))
    gaps = (row_gap(runs[r["run_id"]], r) for r in results if r["run_id"] in runs)
    return [g for g in gaps if g is not None]


def group_mape(gaps: list[RowGap], chunk_cost_s: float, scope: str, part: str) -> dict[str, float]:
    """MAPE %, per source group and "all", with ``chunk_cost_s`` per chunk pass added to the model's step of the
    interleaved rows in ``scope`` ("all" or "moe") whose part contains ``part``."""
    errors: dict[str, list[float]] = defaultdict(list)
    for g in gaps:
        hit = g.interleaved and (scope == "all" or g.moe) and part in g.part
        err = g.error_with_step_s(g.step_pred_s + chunk_cost_s * g.chunk_passes) if hit else g.error_pct
        errors[g.group].append(abs(err))
        errors["all"].append(abs(err))
    return {k: sum(v) / len(v) for k, v in sorted(errors.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("rows", type=Path, help="per-row output of archsweep validate (--output)")
    parser.add_argument("--runs", type=Path, default=data_dir() / "validation" / "training_runs.csv")
    parser.add_argument("--part", default="", help="only rows whose accelerator_canonical contains this")
    parser.add_argument("--moe", action="store_true", help="only MoE rows (ep > 1) in the per-row listing")
    parser.add_argument("--chunk-cost", nargs="*", type=float, default=None, metavar="MS",
                        help="ms per chunk pass; print group MAPE instead of the per-row listing")
    parser.add_argument("--scope", choices=("all", "moe"), default="all", help="rows --chunk-cost applies to")
    args = parser.parse_args(argv)
    gaps = load_gaps(args.rows, args.runs)
    if args.chunk_cost is not None:
        base = group_mape(gaps, 0.0, args.scope, args.part)
        print("chunk_ms," + ",".join(base))
        for ms in [0.0, *args.chunk_cost]:
            mape = group_mape(gaps, ms * 1e-3, args.scope, args.part)
            print(f"{ms:g}," + ",".join(f"{mape[k]:.3f}" for k in base))
        return 0
    print("run_id,group,part,metric,err_pct,step_meas_s,step_pred_s,layer_mbs,chunk_passes,"
          "gap_ms_per_layer_mb,gap_ms_per_layer_4k,gap_ms_per_chunk_pass")
    for g in gaps:
        if g.metric in METRICS and args.part in g.part and (g.moe or not args.moe):
            print(f"{g.run_id},{g.group},{g.part},{g.metric},{g.error_pct:.1f},{g.step_meas_s:.2f},{g.step_pred_s:.2f},"
                  f"{g.layer_mbs:.0f},{g.chunk_passes:.0f},{g.gap_ms_per_layer_mb:.2f},{g.gap_ms_per_layer_4k:.2f},"
                  f"{g.gap_ms_per_chunk_pass:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
