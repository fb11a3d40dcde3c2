"""Search optimism ("no free lunch", issue 10): how much faster than a published, expert-tuned run
the model's own best-mapping search claims the same job can go.

For every row whose metric is a throughput (step time, tokens/s, TFLOP/s, MFU/HFU) the row is
planned as in :mod:`archsweep.validation.run`; the row's mapping is evaluated (``given``) and
the best-mapping search is run for the same model, accelerator, count, global batch, sequence
length, precision and software stack (flash attention, DP overlap), everything else searched.

    best / measured = (predicted / measured throughput of the stated mapping) x step_given / step_best

so the figure separates the model's error on the stated mapping from the optimism the search
adds on top. A median in [0.95, 1.10] and no row above 1.25 is the issue-10 target: a row above
1.25 points at a hole in the model that the search exploits.

Run: ``python -m archsweep.validation.optimism data/validation/training_runs.csv``.
"""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import load_catalog
from archsweep.load.technology import load_technology
from archsweep.model.training.mapping import _CP, _PP, _TP
from archsweep.spec.errors import ArchsweepError
from archsweep.validation.cells import read_measurements
from archsweep.validation.metrics import predict_metric
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import _evaluate, plan_row
from archsweep.validation.types import _MEMORY_METRICS, Skip

__all__ = ["OptimismRow", "search_optimism", "summarise"]

#: Keys of a row's strategy that describe the software stack, not a mapping choice: kept fixed.
_STACK_KEYS = ("fa", "dp_overlap")


@dataclass(frozen=True)
class OptimismRow:
    run_id: str
    source_group: str
    given_over_measured: float   # throughput predicted for the stated mapping / measured
    best_over_given: float       # step time of the stated mapping / of the searched best
    best_over_measured: float
    best_mapping: str
    reason: str = ""


def _stack_only(strategy: str) -> str:
    return ",".join(p for p in strategy.split(",") if p.split("=")[0] in _STACK_KEYS)


def _one(row: Mapping[str, str], catalog: Any, tech: Any, cache: dict) -> OptimismRow | None:
    try:
        plan = plan_row(row, catalog)
    except (Skip, ArchsweepError):
        return None
    if plan.metric in _MEMORY_METRICS:
        return None
    cal = load_calibration(stack=calibration_stack(row))
    try:
        given = _evaluate(plan, plan.strategies[0], cache, tech, cal)
        best = _evaluate(plan, _stack_only(plan.strategies[0]), cache, tech, cal)
        predicted = predict_metric(plan, given, None)
    except (Skip, ArchsweepError, ValueError, ArithmeticError, KeyError):
        return None
    if float(np.ravel(given["violation_mapping"])[0]) > 0 or not math.isfinite(predicted):
        return None
    e = predicted / plan.measured
    thr = 1.0 / e if plan.metric == "step_time_s" else e
    step_given = float(np.ravel(given["step_time_s"])[0])
    step_best = float(np.ravel(best["step_time_s"])[0])
    feasible = bool(np.ravel(best["feasible"])[0])
    chosen = ",".join(f"{k}={np.ravel(best[k])[0]}" for k in ("tp", "pp", "cp", "ep", "vpp", "micro_batch", "recompute",
                                                               "zero_stage"))
    ratio = step_given / step_best
    reason = "" if feasible else "search found no mapping that fits memory"
    outside = [f"{k}={float(np.ravel(v)[0]):g}" for k, v, allowed in (("tp", given["tp"], _TP), ("pp", given["pp"], _PP), ("cp", given["cp"], _CP))
               if float(np.ravel(v)[0]) not in allowed]
    if outside:
        reason = "stated mapping outside the searched space (" + ", ".join(outside) + ")"
    if float(np.ravel(given["violation_memory"])[0]) > 0:
        reason = "stated mapping exceeds HBM in the model (the search keeps to mappings that fit)"
    return OptimismRow(plan.run_id, plan.source_group, thr, ratio, thr * ratio, chosen, reason)


def search_optimism(rows: Iterable[Mapping[str, str]]) -> list[OptimismRow]:
    """One :class:`OptimismRow` per throughput row the model can plan (others are left out)."""
    catalog, tech, cache = load_catalog(), load_technology(), {}
    return [r for r in (_one(row, catalog, tech, cache) for row in rows) if r is not None]


def summarise(results: list[OptimismRow]) -> dict[str, Any]:
    ratios = [r.best_over_measured for r in results]
    if not ratios:
        return {"rows": 0}
    return {"rows": len(ratios), "median": statistics.median(ratios), "max": max(ratios),
            "above_1.25": sum(x > 1.25 for x in ratios),
            "median_best_over_given": statistics.median(r.best_over_given for r in results)}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else "data/validation/training_runs.csv"
    results = search_optimism(read_measurements(path))
    groups = sorted({r.source_group for r in results})
    for g in groups:
        s = summarise([r for r in results if r.source_group == g])
        print(f"{g:10s} rows={s['rows']:4d} median best/measured={s['median']:.3f} max={s['max']:.3f} "
              f"rows>1.25={s['above_1.25']} median best/given={s['median_best_over_given']:.3f}")
    s = summarise(results)
    print(f"{'all':10s} rows={s['rows']:4d} median best/measured={s['median']:.3f} max={s['max']:.3f} "
          f"rows>1.25={s['above_1.25']} median best/given={s['median_best_over_given']:.3f}")
    for r in sorted(results, key=lambda r: -r.best_over_measured)[:15]:
        print(f"  {r.run_id[:60]:60s} {r.best_over_measured:6.2f} (given/meas {r.given_over_measured:5.2f}, "
              f"best/given {r.best_over_given:5.2f}) {r.best_mapping} {r.reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
