"""Which terms make the search's best mapping faster than a row's stated one (issue 10 investigations).

    python benchmarks/optimism_walk.py RUN_ID [RUN_ID ...]

For each ``run_id`` of data/validation/training_runs.csv: the stated mapping and the search-optimism
search's best mapping (as ``archsweep validate --optimism``: validation/optimism.py), then a walk from
the one to the other changing one mapping field at a time (every mapping field of ``archsweep.spec.strategy``
but dp, which follows, pinned at each step from the evaluated mappings, so the first line is the stated mapping
and the last the searched best): at each step the first field left, in the order ep, tp, cp, pp, vpp,
micro_batch, zero, recompute, sequence parallelism, TP overlap, flash attention, DP overlap, whose change gives
a mapping within the mapping's limits (EP must divide the data-parallel ranks), else the first left. Each step prints the step time,
its throughput over the stated mapping's, the HBM share (and whether the step violates the mapping's
limits) and the change of each step term against the previous step; ``host`` is the MoE host time in the
compute and recompute terms (their values predicted again with ``moe_layer_host_overhead_s`` 0,
subtracted; ``compute`` is what is left, the device work). Last, the
published rows of the same job in every source (model, part, count, global batch, sequence, precision as
the recipe, any release): their measurement, the model's prediction and the search's best over the
fastest of them. A diagnostic: nothing here enters a fit or a figure.

    python benchmarks/optimism_walk.py --rows rows.csv

reads a ``archsweep validate --optimism --output rows.csv`` file and sets each row's best / measured
beside best / the fastest published run of its job in any source (the later releases of the forward
group included: a published preset may be slower than one NVIDIA published later for the same job),
with the median and the rows above 1.25 of both, all rows and the non-forward rows.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from row_breakdown import _TERMS, _value

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import load_catalog
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.validation.ceiling import precision_class
from archsweep.validation.cells import read_measurements
from archsweep.validation.holdout import FORWARD_TEST_GROUPS
from archsweep.validation.metrics import predict_metric
from archsweep.validation.optimism import _given_order, _job_key, best_searched
from archsweep.validation.rows import calibration_stack, row_calibration
from archsweep.validation.run import evaluate_plan, plan_row

#: (result field, strategy key) in the walk's order: EP first (it moves the all-to-all between
#: scale-up and scale-out), the micro-batch after the pipeline (it sets the micro-batch count); then the
#: flags: sequence parallelism (Korthikanti's rows: the search may turn it on), TP overlap (a stated
#: ``tp_overlap=on`` the search, which keeps only flash attention and DP overlap, may turn off), and the
#: two the search keeps (equal at both ends). Every mapping field of STRATEGY_KEYS but dp (derived).
_WALK = (("ep", "ep"), ("tp", "tp"), ("cp", "cp"), ("pp", "pp"), ("vpp", "vpp"), ("micro_batch", "mb"),
         ("zero_stage", "zero"), ("recompute", "recompute"), ("sequence_parallel", "sp"), ("tp_overlap", "tp_overlap"),
         ("flash_attention", "fa"), ("dp_overlap", "dp_overlap"))
_FLAGS = ("sequence_parallel", "tp_overlap", "flash_attention", "dp_overlap")
_RECOMPUTE_NAMES = {0.0: "none", 1.0: "selective", 2.0: "full"}


def _job(row: dict[str, str]) -> tuple[object, ...]:
    """The job of a row in any source: validation.optimism's job key without the source, the precision as the
    model's class (validation.ceiling.precision_class: FP8-MX and MXFP8 one recipe, a stack's FP8 default its
    recipe), release and mapping left out."""
    return (*_job_key(row)[1:-1], precision_class(row) or _job_key(row)[-1])


def _text(name: str, value: float) -> str:
    if name == "recompute":
        return _RECOMPUTE_NAMES[value]
    return ("on" if value > 0 else "off") if name in _FLAGS else str(int(value))


def _strategy(fields: dict[str, float]) -> str:
    """A fully pinned strategy text for the mapping ``fields`` (dp follows from the others)."""
    return ",".join(f"{key}={_text(name, fields[name])}" for name, key in _WALK)


def _fields(result: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: _value(result, name) for name, _ in _WALK}


def _valid(plan, strategy: str, cache: dict, tech, cal) -> bool:
    return _value(evaluate_plan(plan, strategy, cache, tech, cal), "violation_mapping") <= 0


@dataclass(frozen=True)
class StatedAndBest:
    """A validation row as the search-optimism figure evaluates it (validation/optimism.py): its plan, its row
    calibration, the technology and evaluation cache used, the stated strategy and its result, and the search's
    best result."""

    plan: Any
    cal: Any
    tech: Any
    cache: dict
    stated: str
    given: dict[str, np.ndarray]
    best: dict[str, np.ndarray]


def stated_and_best(row: dict[str, str]) -> StatedAndBest:
    """:class:`StatedAndBest` of a training_runs.csv row (its cells as read); shared with sc21_no_recompute_fit."""
    catalog, tech, cache = load_catalog(), load_technology(), {}
    plan = plan_row(row, catalog)
    cal = row_calibration(row, load_calibration(stack=calibration_stack(row)), plan.workload.architecture)
    stated, given = min(((st, evaluate_plan(plan, st, cache, tech, cal)) for st in plan.strategies),
                        key=lambda p: _given_order(p[1]))
    _, best = best_searched(row, plan, cache, tech, cal)
    return StatedAndBest(plan, cal, tech, cache, stated, given, best)


def walk(run_id: str, rows: dict[str, dict[str, str]]) -> str:
    """The walk's lines for ``run_id`` (see the module doc)."""
    row = rows[run_id]
    sb = stated_and_best(row)
    plan, cal, tech, cache, given, best = sb.plan, sb.cal, sb.tech, sb.cache, sb.given, sb.best
    no_host = replace(cal, moe_layer_host_overhead_s=0.0)
    current, target = _fields(given), _fields(best)
    lines = [f"{run_id} [{calibration_stack(row)}], measured {plan.measured:.5g} {plan.metric}, "
             f"predicted {predict_metric(plan, given, None):.5g} at the stated mapping"]
    step0 = _value(given, "step_time_s")
    previous: dict[str, float] | None = None
    steps = [("stated", dict(current))]
    left = [name for name, _ in _WALK if current[name] != target[name]]
    while left:  # the first field (in _WALK's order) whose change alone gives a valid mapping, else the first
        trial = [(name, current | {name: target[name]}) for name in left]
        name, current = next(((n, f) for n, f in trial if _valid(plan, _strategy(f), cache, tech, cal)), trial[0])
        left.remove(name)
        steps.append((f"{name}={_text(name, target[name])}", current))
    for label, fields in steps:
        st = _strategy(fields)
        res, res0 = evaluate_plan(plan, st, cache, tech, cal), evaluate_plan(plan, st, cache, tech, no_host)
        terms = {k.removesuffix("_time_s").removesuffix("_comm_exposed_s").removesuffix("_s"): _value(res, k) for k in _TERMS}
        host = [_value(res, k) - _value(res0, k) for k in ("compute_time_s", "recompute_time_s")]
        terms["compute"], terms["recompute"] = terms["compute"] - host[0], terms["recompute"] - host[1]
        terms["host"] = sum(host)  # the MoE host time inside the compute and recompute terms
        step = _value(res, "step_time_s")
        bad = " (violates the mapping's limits)" if _value(res, "violation_mapping") > 0 else ""
        hbm = _value(res, "memory_per_accelerator_bytes") / _value(res, "hbm_capacity_bytes")
        head = (f"  {label:>16}: step {step:.4g} s, x{step0 / step:.3f} over stated, HBM {hbm:.3f}{bad}, "
                f"micro-batches {_value(res, 'microbatches'):g}")
        if previous is None:
            body = ", ".join(f"{k} {v:.3g}" for k, v in terms.items() if abs(v) > 1e-4)
        else:
            body = ", ".join(f"{k} {terms[k] - previous[k]:+.3g}" for k in terms if abs(terms[k] - previous[k]) > 1e-3)
        lines.append(head + "\n" + " " * 20 + ("terms (s): " if previous is None else "change (s): ") + body)
        previous = terms
    lines.append(_published(row, rows, _value(best, "step_time_s"), step0, predict_metric(plan, given, None), plan.metric))
    return "\n".join(lines)


def _published(row: dict[str, str], rows: dict[str, dict[str, str]], step_best: float, step0: float,
               predicted: float, metric: str) -> str:
    """The same job's published rows (any source) and the search's best over the fastest of them."""
    if metric not in ("tokens_per_s_per_gpu", "tflops_per_gpu", "mfu_pct"):
        return "  same-job rows: the row's metric is not a throughput; not compared"
    best_throughput = predicted * step0 / step_best  # the best mapping's prediction (optimism.py's best / measured x measured)
    same = [r for r in rows.values() if _job(r) == _job(row)]
    out = ["  same job published (run_id: measured " + metric + ", mapping tp/pp/vpp/ep/mb, dispatcher):"]
    for r in sorted(same, key=lambda r: float(r[metric] or "nan")):
        out.append(f"    {r['run_id']}: {r[metric]}, {r['tp']}/{r['pp']}/{r['vpp'] or '-'}/{r['ep']}/{r['micro_batch']},"
                   f" {r['moe_token_dispatcher'] or '-'}")
    fastest = max((float(r[metric]) for r in same if r[metric]), default=math.nan)
    out.append(f"  search's best mapping predicted {best_throughput:.5g}:"
               f" {best_throughput / fastest:.3f} x the fastest published run of the job ({fastest:.5g})")
    return "\n".join(out)


def over_fastest(optimism: list[dict[str, str]], rows: dict[str, dict[str, str]]) -> list[tuple[str, str, float, float]]:
    """(run_id, source group, best / measured, best / fastest measured row of the same job in any source) for
    each row of a ``validate --optimism --output`` file with a best / measured figure and no ``baseline of`` note
    (optimism.py leaves those out); the same job's rows are compared in the row's own metric only."""
    out = []
    for r in optimism:
        ratio, row = r.get("best_over_measured", ""), rows.get(r["run_id"])
        if not ratio or row is None or "baseline of" in r.get("optimism_note", ""):
            continue
        metric = r["metric"]
        same = [float(o["measured"]) for o in optimism if o["metric"] == metric and o["run_id"] in rows
                and _job(rows[o["run_id"]]) == _job(row)]  # as validate reads each row's measurement
        lower_is_faster = metric == "step_time_s"
        fastest = min(same) if lower_is_faster else max(same)
        measured = float(r["measured"])
        scale = fastest / measured if lower_is_faster else measured / fastest
        out.append((r["run_id"], r["source_group"], float(ratio), float(ratio) * scale))
    return out


def _summary(items: list[tuple[str, str, float, float]]) -> str:
    lines = []
    for label, keep in (("all", lambda g: True), ("non-forward", lambda g: g not in FORWARD_TEST_GROUPS)):
        sel = [i for i in items if keep(i[1])]
        own, fast = [i[2] for i in sel], [i[3] for i in sel]
        lines.append(f"{label} ({len(sel)} rows): best / measured median {statistics.median(own):.3f}, "
                     f"{sum(x > 1.25 for x in own)} > 1.25; best / fastest published run of the job median "
                     f"{statistics.median(fast):.3f}, {sum(x > 1.25 for x in fast)} > 1.25")
    moved = [i for i in items if i[2] > 1.25 and i[3] <= 1.25]
    lines += [f"  {i[0]} ({i[1]}): {i[2]:.3f} -> {i[3]:.3f}" for i in moved]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the walk of each run_id, or with ``--rows`` the summary against the fastest published run of each
    job (see the module doc); argparse's 2 on an unknown run_id."""
    parser = argparse.ArgumentParser(description="Which terms make the search's best mapping faster than the stated one.")
    parser.add_argument("run_ids", nargs="*", metavar="RUN_ID", help="run_id of data/validation/training_runs.csv")
    parser.add_argument("--rows", metavar="CSV", help="a validate --optimism --output file: best / measured against "
                        "best / the fastest published run of the same job, every row")
    args = parser.parse_args(argv)
    if not args.run_ids and not args.rows:
        parser.error("give at least one RUN_ID or --rows CSV")
    rows = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
    unknown = [r for r in args.run_ids if r not in rows]
    if unknown:
        parser.error(f"data/validation/training_runs.csv has no run_id {unknown[0]!r}")
    if args.rows:
        with open(args.rows, newline="") as fh:
            print(_summary(over_fastest(list(csv.DictReader(fh)), rows)))
    for run_id in args.run_ids:
        print(walk(run_id, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
