"""Would the 2021 Megatron-LM code have fitted SC21 Table 1 without activation recomputation, and how fast
(issue 10 "no free lunch", s27-A)?

    python benchmarks/sc21_no_recompute_fit.py [RUN_ID ...]

For each SC21 Table 1 row (default: the five the search puts above 1.25 x measured, 1.7B-39.1B) the row's
mapping as ``archsweep validate`` evaluates it (full recomputation, the validator's micro-batch), then the same
tensor / pipeline layout without recomputation at micro-batch 1, 2 and 4, then the search-optimism search's best
mapping (validation/optimism.py). Each line: the step (s), best / measured as the optimism figure counts it
(the stated mapping's predicted / measured throughput x its step / this step), the HBM share the model counts,
whether it is under the stack's usable share (``hbm_usable_fraction`` of the ``megatron-2021`` stack, 0.78:
data/calibration/software_stacks.yaml) and the memory parts in GiB. The memory the model counts for this stack
is the 2021 code's (FP16 weights and gradients 2 + 2 B, FP32 master weights and Adam moments 12 B per parameter,
no distributed optimizer; Korthikanti et al.'s s b h (34 + 5 a s / h) per layer without flash attention): see
docs/model-accuracy.md, s27-A. A diagnostic: nothing here enters a fit or a figure.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np
from optimism_walk import stated_and_best
from row_breakdown import _value

from archsweep.load.paths import data_dir
from archsweep.validation.cells import read_measurements
from archsweep.validation.metrics import predict_metric
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import evaluate_plan

#: The SC21 Table 1 rows the search puts above 1.25 x measured (docs/model-accuracy.md, s8-optim .. s15-denseopt).
ABOVE = ("megatron21_t1_1.7B", "megatron21_t1_3.6B", "megatron21_t1_7.5B", "megatron21_t1_18.4B",
         "megatron21_t1_39.1B")
_GIB = 2.0 ** 30
_PARTS = ("weights", "gradients", "optimizer", "activations", "reserved")


@dataclass(frozen=True)
class Variant:
    """One mapping of a row: its label, step (s), best / measured, HBM share and memory parts (GiB)."""
    label: str
    step_s: float
    best_over_measured: float
    hbm_share: float
    parts_gib: dict[str, float]


def _variant(label: str, result: dict[str, np.ndarray], given_over_measured: float, step_given: float) -> Variant:
    step = _value(result, "step_time_s")
    share = _value(result, "memory_per_accelerator_bytes") / _value(result, "hbm_capacity_bytes")
    parts = {p: _value(result, f"memory_{p}_bytes") / _GIB for p in _PARTS}
    return Variant(label, step, given_over_measured * step_given / step, share, parts)


def variants(run_id: str, rows: dict[str, dict[str, str]]) -> tuple[str, float, list[Variant]]:
    """(header, the stack's usable HBM share, the row's mappings: stated, stated layout without recomputation
    at micro-batch 1 / 2 / 4, the search's best)."""
    row = rows[run_id]
    sb = stated_and_best(row)
    plan, cal, tech, cache, given_st, given = sb.plan, sb.cal, sb.tech, sb.cache, sb.stated, sb.given
    given_over_measured = plan.measured / predict_metric(plan, given, None)  # step-time metric
    step_given = _value(given, "step_time_s")
    found = [_variant("stated (full recompute)", given, given_over_measured, step_given)]
    layout = [p for p in given_st.split(",") if not p.startswith(("recompute=", "mb="))]
    for mb in (1, 2, 4):
        res = evaluate_plan(plan, ",".join([*layout, f"mb={mb}", "recompute=none"]), cache, tech, cal)
        found.append(_variant(f"stated layout, none, mb {mb}", res, given_over_measured, step_given))
    best = sb.best
    label = "best: " + " ".join(f"{k} {_value(best, k):g}" for k in ("tp", "pp", "vpp", "micro_batch"))
    found.append(_variant(label, best, given_over_measured, step_given))
    header = (f"{run_id} [{calibration_stack(row)}] measured {plan.measured:g} s, stated {given_st}, "
              f"micro-batch {_value(given, 'micro_batch'):g}")
    return header, cal.hbm_usable_fraction, found


def report(run_id: str, rows: dict[str, dict[str, str]]) -> str:
    """The lines for ``run_id`` (see the module doc)."""
    header, usable, found = variants(run_id, rows)
    lines = [header]
    for v in found:
        parts = " ".join(f"{p} {g:.1f}" for p, g in v.parts_gib.items())
        fits = "fits" if v.hbm_share <= usable else "over"
        lines.append(f"  {v.label:<34} step {v.step_s:7.3f} s  best/meas {v.best_over_measured:5.3f}  "
                     f"HBM {v.hbm_share:.3f} ({fits} {usable:g})  GiB: {parts}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_ids", nargs="*", default=list(ABOVE), help="SC21 Table 1 run_ids (default: the five above 1.25)")
    args = parser.parse_args(argv)
    rows = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
    unknown = [r for r in args.run_ids if r not in rows]
    if unknown:
        parser.error(f"run_id not in data/validation/training_runs.csv: {', '.join(unknown)}")
    for run_id in args.run_ids:
        print(report(run_id, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
