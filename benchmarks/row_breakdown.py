"""Where the model spends a validation row's predicted step (issue 10 investigations).

    python benchmarks/row_breakdown.py RUN_ID [RUN_ID ...]

For each ``run_id`` of data/validation/training_runs.csv: the row's plan and chosen mapping as
``archsweep validate`` makes them, the step's terms (compute, bubble, exposed TP / CP / EP / PP / DP,
optimizer), and per layer per micro-batch the forward / backward time with the attention core's share
(the flash kernels alone, the rest being kernel overheads and ring-merge kernels).
"""

from __future__ import annotations

import sys
from dataclasses import fields, replace

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import load_catalog
from archsweep.load.part_physics import job_calibration
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.transformer import layer_costs
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation import run as validation_run
from archsweep.validation.cells import read_measurements
from archsweep.validation.layer_time import mapping_from_result
from archsweep.validation.metrics import predict_metric
from archsweep.validation.moe_graphs import graph_scope_calibration
from archsweep.validation.rows import calibration_stack

_RECOMPUTE = {"none": 0.0, "selective": 1.0, "full": 2.0}
_TERMS = ("compute_time_s", "recompute_time_s", "bubble_time_s", "tp_comm_exposed_s", "cp_comm_exposed_s",
          "ep_comm_exposed_s", "pp_comm_exposed_s", "dp_comm_exposed_s", "optimizer_time_s", "offload_exposed_s")


def _value(result: dict[str, np.ndarray], key: str) -> float:
    item = np.ravel(result[key])[0]
    if isinstance(item, str):
        return _RECOMPUTE.get(item, float(item == "on"))
    return float(item)


def breakdown(run_id: str) -> str:
    rows = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
    row = rows[run_id]
    catalog, tech = load_catalog(), load_technology()
    plan = validation_run.plan_row(row, catalog)
    base = graph_scope_calibration(row, load_calibration(stack=calibration_stack(row)))  # as validate
    cache: dict = {}
    results = [validation_run._evaluate(plan, s, cache, tech, base) for s in plan.strategies]
    valid = [r for r in results if _value(r, "violation_mapping") <= 0] or results
    result = min(valid, key=lambda r: _value(r, "step_time_s"))
    cal = job_calibration(base, plan.entry, plan.workload.training)
    hw = HardwareArrays.from_designs(plan.entry.design.replace(accelerator_count=plan.count))
    mp = mapping_from_result(result)
    wl = plan.workload
    peak = hw.peak_matrix_flops_fp8 if wl.training.precision == "fp8" else hw.peak_matrix_flops_bf16
    lc = layer_costs(hw, wl, mp, cal, peak)
    kernels = layer_costs(hw, wl, mp, replace(cal, kernel_overhead_s=0.0, hbm_bw_efficiency=1e30), peak)
    ms = lambda x: 1e3 * float(np.ravel(x)[0])  # noqa: E731 - local formatter
    predicted = predict_metric(plan, result, None)
    lines = [f"{run_id} [{calibration_stack(row)}]: {plan.metric} measured {plan.measured:.4g}, predicted "
             f"{predicted:.4g} ({100 * (predicted - plan.measured) / plan.measured:+.1f} %)",
             "  mapping " + ", ".join(f"{f.name}={_value(result, f.name):g}" for f in fields(MappingArrays))
             + f", micro-batches {_value(result, 'microbatches'):g}",
             f"  step {_value(result, 'step_time_s'):.4g} s = "
             + " + ".join(f"{k.removesuffix('_s')} {_value(result, k):.4g}" for k in _TERMS if _value(result, k) > 0),
             f"  per layer per micro-batch: forward {ms(lc.dense_fwd_s):.3f} ms (attention core {ms(lc.attn_core_fwd_s):.3f},"
             f" of it flash kernels {ms(kernels.attn_core_fwd_s):.3f}), backward {ms(lc.dense_bwd_s):.3f} ms;"
             f" executed core FLOPs {float(np.ravel(lc.attn_core_flops)[0]):.3e} per forward"]
    return "\n".join(lines)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(breakdown(name))
