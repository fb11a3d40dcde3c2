"""Per-step gap of the NeMo 24.07 table rows: measured step minus the model's step, and whether it is a per-step
constant or a per-token share (s11-nemo2407, docs/model-accuracy.md).

Step time = global batch x sequence / GPUs / tokens per s per GPU, for the measured and the predicted throughput of a
per-row ``archsweep validate --output`` file. The pre-training rows without context parallelism (CP rows have their
own per-token terms) are fitted two ways: gap = a + b x model step (a per-step constant has b ~ 0) and gap = k x model
step (a per-token cost); the residual spread says which fits. GPT3-20B is listed but left out of the fit (the model
charges it 0.31 s of exposed DP sync, the only pre-training row with a DP sync beyond its overlap window).

Run: ``archsweep validate --measurements data/validation/training_runs.csv --summary-only --output /tmp/rows.csv``
then ``python benchmarks/nemo2407_step_gap.py /tmp/rows.csv``. ``--what-if-constant C`` (a diagnostic, never a
model term: no source gives C) adds C seconds to the model step of every NeMo 24.07 row that ran Apex
``distributed_fused_adam`` (pre-training and SFT; the LoRA scripts run ``fused_adam``) and prints the nemo group's
MAPE (mean |error| over its ok rows) before and after.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
from pathlib import Path

RUNS = Path(__file__).resolve().parents[1] / "data" / "validation" / "training_runs.csv"
PREFIX = "nemo2407_"
NOT_FITTED = ("nemo2407_GPT3-20B_64gpu",)
METRIC = "tokens_per_s_per_gpu"
#: Mapping columns a row may leave empty (the stack's default, 1); batch, sequence and GPU count may not.
_DEFAULT_ONE = ("tp", "pp", "cp", "micro_batch")


def _num(row: dict[str, str], key: str, where: str) -> float:
    """A positive numeric cell of ``where`` (row ``row``); an empty cell is 1 only for the mapping columns
    :data:`_DEFAULT_ONE`, anything else stops with the file, run_id, column, value and what is allowed."""
    text = (row.get(key) or "").strip()
    if not text and key in _DEFAULT_ONE:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0 or not math.isfinite(value):
        allowed = "a positive number" + (" or empty (1)" if key in _DEFAULT_ONE else "")
        raise SystemExit(f"{where}: run_id {row.get('run_id')!r}, column {key!r}: {text!r}; allowed: {allowed}")
    return value


def step_gaps(rows_csv: Path, runs_csv: Path = RUNS) -> list[tuple[str, float, float, float, bool]]:
    """(run_id, micro-batches per step, measured step s, model step s, in the fit) per NeMo 24.07 row of the
    per-row file ``rows_csv`` (its metric must be tokens/s/GPU), with the batch, sequence, GPUs and mapping of
    ``runs_csv``."""
    runs = {r["run_id"]: r for r in csv.DictReader(runs_csv.open())}
    out = []
    for r in csv.DictReader(rows_csv.open()):
        if not r["run_id"].startswith(PREFIX) or r["status"] != "ok":
            continue
        if r["metric"] != METRIC:
            raise SystemExit(f"{rows_csv}: run_id {r['run_id']!r}, column 'metric': {r['metric']!r}; allowed: {METRIC} "
                             "(the step time is batch x sequence / GPUs / tokens per s per GPU)")
        if r["run_id"] not in runs:
            raise SystemExit(f"{rows_csv}: run_id {r['run_id']!r} is not in {runs_csv}")
        t = runs[r["run_id"]]
        where = str(runs_csv)
        tokens = _num(t, "global_batch_seqs", where) * _num(t, "seq_len", where) / _num(t, "num_accels", where)
        dp = _num(t, "num_accels", where) / (_num(t, "tp", where) * _num(t, "pp", where) * _num(t, "cp", where))
        micro = _num(t, "global_batch_seqs", where) / (dp * _num(t, "micro_batch", where))
        pretrain = "_SFT_" not in r["run_id"] and "_LoRA_" not in r["run_id"]
        fitted = pretrain and _num(t, "cp", where) == 1 and r["run_id"] not in NOT_FITTED
        measured, predicted = _num(r, "measured", str(rows_csv)), _num(r, "predicted", str(rows_csv))
        out.append((r["run_id"], micro, tokens / measured, tokens / predicted, fitted))
    return out


def fit(gaps: list[tuple[str, float, float, float, bool]]) -> tuple[float, float, float, float, float, float]:
    """Over the fitted rows of :func:`step_gaps`: (intercept s, slope, mean gap s, per-token share k, residual sd
    of a per-step constant s, residual sd of the per-token share s); gap = measured - model step."""
    x = [model for *_, model, fitted in gaps if fitted]
    g = [meas - model for _, _, meas, model, fitted in gaps if fitted]
    if len(x) < 2 or len(set(x)) < 2:
        raise SystemExit(f"{len(x)} fitted rows with {len(set(x))} distinct model steps: a line needs two")
    mx, mg = statistics.mean(x), statistics.mean(g)
    slope = sum((a - mx) * (b - mg) for a, b in zip(x, g)) / sum((a - mx) ** 2 for a in x)
    k = sum(a * b for a, b in zip(x, g)) / sum(a * a for a in x)
    return (mg - slope * mx, slope, mg, k, statistics.pstdev(g),
            statistics.pstdev([b - k * a for a, b in zip(x, g)]))


def what_if_constant(rows_csv: Path, constant_s: float) -> tuple[float, float]:
    """nemo group MAPE (%) of the per-row file as it is, and with ``constant_s`` added to the model step of the
    NeMo 24.07 rows that ran ``distributed_fused_adam`` (not LoRA)."""
    steps = {run_id: model for run_id, _, _, model, _ in step_gaps(rows_csv)}
    before, after = [], []
    for r in csv.DictReader(rows_csv.open()):
        if r["source_group"] != "nemo" or r["status"] != "ok":
            continue
        measured, predicted = float(r["measured"]), float(r["predicted"])
        before.append(abs(predicted / measured - 1.0))
        if r["run_id"] in steps and "_LoRA_" not in r["run_id"]:
            model = steps[r["run_id"]]
            predicted = predicted * model / (model + constant_s)
        after.append(abs(predicted / measured - 1.0))
    return 100 * statistics.mean(before), 100 * statistics.mean(after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", type=Path, help="per-row file of archsweep validate --output")
    parser.add_argument("--what-if-constant", type=float, default=None, metavar="C",
                        help="diagnostic: seconds added per step to the distributed_fused_adam rows")
    args = parser.parse_args()
    gaps = step_gaps(args.rows)
    print(f"{'row':36s} {'mb':>3s} {'meas s':>7s} {'model s':>7s} {'gap s':>6s} {'gap %':>6s}")
    for run_id, micro, meas, model, fitted in gaps:
        mark = "" if fitted else "  (not in the fit)"
        print(f"{run_id[len(PREFIX):]:36s} {micro:3.0f} {meas:7.3f} {model:7.3f} {meas - model:+6.3f} "
              f"{100 * (meas - model) / meas:+6.1f}{mark}")
    intercept, slope, mg, k, resid_const, resid_token = fit(gaps)
    sign = "-" if slope < 0 else "+"
    print(f"\n{sum(g[4] for g in gaps)} pre-training rows without CP: gap = {intercept:.3f} s {sign} {abs(slope):.4f} x "
          f"model step; mean gap {mg:.3f} s")
    print(f"per-step constant: residual sd {resid_const:.3f} s; per-token share k = {k:.4f}: residual sd "
          f"{resid_token:.3f} s")
    if args.what_if_constant is not None:
        before, after = what_if_constant(args.rows, args.what_if_constant)
        print(f"what-if {args.what_if_constant:.3f} s per step on the distributed_fused_adam rows: nemo MAPE "
              f"{before:.3f} -> {after:.3f} % (diagnostic, not a model term)")


if __name__ == "__main__":
    main()
