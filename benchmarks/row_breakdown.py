"""Where the model spends a validation row's predicted step (issue 10 investigations).

    python benchmarks/row_breakdown.py RUN_ID [RUN_ID ...] [--mapping ep=4,pp=2,vpp=4,micro_batch=4] [--best]

For each ``run_id`` of data/validation/training_runs.csv: the row's plan and chosen mapping as
``archsweep validate`` makes them, the step's terms (compute, bubble, exposed TP / CP / EP / PP / DP,
optimizer), the clock after DVFS and the power at it (W per accelerator, of its TDP; the static share; the busiest
stage's over the step and over its busy phase, the one the cap holds: model/driver.py ``_dvfs``), and per
layer per micro-batch the forward / backward time with the attention core's share (the flash kernels alone, the
rest being kernel overheads and ring-merge kernels). For a MoE model also
the MoE layer's terms per micro-batch (expert GEMMs with their achieved rate, router, permutation,
activation, per-expert launches and quantisation kernels, host time, one all-to-all). ``--mapping``
re-prices the MoE layer at other mapping fields (e.g. the search's best mapping; the step terms stay
those of the row's own mapping). ``--best`` adds the step's terms at the mapping the search-optimism
search picks for the row (validation/optimism.py: the same strategies, the same calibration), so the
stated and the searched step can be compared term by term.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import load_catalog
from archsweep.load.part_physics import job_calibration
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.model import collectives as coll
from archsweep.model.gemm import PartFill
from archsweep.model.projection import gemm_fwd_bwd
from archsweep.model.training.communication import ep_alltoalls_per_layer
from archsweep.model.training.mapping import MappingArrays, expert_tensor_parallel
from archsweep.model.transformer import layer_costs
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation import run as validation_run
from archsweep.validation.cells import read_measurements
from archsweep.validation.layer_time import mapping_from_result
from archsweep.validation.metrics import predict_metric
from archsweep.validation.rows import calibration_stack, row_calibration

_RECOMPUTE = {"none": 0.0, "selective": 1.0, "full": 2.0}
_TERMS = ("compute_time_s", "recompute_time_s", "bubble_time_s", "tp_comm_exposed_s", "cp_comm_exposed_s",
          "ep_comm_exposed_s", "pp_comm_exposed_s", "dp_comm_exposed_s", "optimizer_time_s", "offload_exposed_s")


def _value(result: dict[str, np.ndarray], key: str) -> float:
    item = np.ravel(result[key])[0]
    if isinstance(item, str):
        return _RECOMPUTE.get(item, float(item == "on"))
    return float(item)


def moe_terms(hw: HardwareArrays, wl, mp: MappingArrays, cal, peak, count: float) -> list[str]:
    """The MoE layer's terms per micro-batch at mapping ``mp`` on ``count`` accelerators, ms (as
    model/transformer.py and model/training/communication.py price them: the expert TP width and the EP
    group's rank stride of :func:`expert_tensor_parallel`, i.e. EP folded over TP with unsplit experts where EP
    does not fit in DP x CP)."""
    moe, f = wl.moe, lambda x: float(np.ravel(x)[0])  # noqa: E731 - local reader
    fp8 = wl.training.precision == "fp8"
    bpe, t, ep = (1.0 if fp8 else 2.0), f(mp.tp), f(mp.ep)
    et = f(expert_tensor_parallel(mp, np.asarray(count / (t * f(mp.pp) * f(mp.cp)))))
    tokens = f(mp.micro_batch) * wl.seq_len / f(mp.cp)
    local, h, ffn = moe.num_experts / ep, float(wl.hidden), float(moe.expert_ffn_hidden)
    m = ep * tokens * (et / t) * moe.top_k * moe.capacity_factor / moe.num_experts
    fill = PartFill.of(hw)
    up = gemm_fwd_bwd(m, (wl.ffn_matrices - 1) * ffn / et, h, local, peak, hw, bpe, cal, fill)
    down = gemm_fwd_bwd(m, h, ffn / et, local, peak, hw, bpe, cal, fill)
    shard = t if f(mp.sequence_parallel) > 0 else 1.0  # the MoE layer's input: the rank's sequence-parallel shard
    router = gemm_fwd_bwd(tokens / shard, float(moe.num_experts), h, 1.0, hw.peak_matrix_flops_bf16, hw, 2.0, cal, fill)
    bw = f(hw.hbm_bw_bytes_per_s) * cal.hbm_bw_efficiency
    routed = tokens * moe.top_k * moe.capacity_factor
    # permutation 1: the shard's copies (alltoall) or the local experts' received copies (flex)
    perm = 8.0 * (m * local if cal.moe_dispatch_per_domain > 0 else routed / shard) * h / bw
    pad_b = cal.moe_fp8_padding_bytes_per_element if fp8 else 0.0
    pad = pad_b * routed * h / bw + (3.0 * cal.kernel_overhead_s if pad_b > 0 else 0.0)
    act = (cal.elementwise_traffic_multiplier * cal.elementwise_bytes_per_token_per_ffn
           * (1.5 if wl.ffn_type == "swiglu" else 1.0) * routed * ffn / t / bw)
    any_layout = bool(np.ravel(hw.fp8_gemm_layouts == "any")[0])
    quant = (cal.fp8_split_quantize_kernels_any_layout if any_layout else cal.fp8_split_quantize_kernels) if fp8 else 0.0
    launches = (6.0 + 4.0 * quant) * local * cal.kernel_overhead_s
    stride = 1.0 if et < t else t * f(mp.cp)
    a2a = coll.ep_dispatch_time_s(hw, 2.0 * routed * h / t, mp.ep, np.asarray(stride), cal.collective_bw_efficiency,
                                  cal.moe_dispatch_per_domain, float(moe.num_experts), moe.top_k, moe.router_groups,
                                  moe.router_group_topk)
    ms = lambda x: 1e3 * f(x)  # noqa: E731 - local formatter
    rate = lambda flops, s: 3.0 * flops / s / 1e12  # noqa: E731 - forward FLOPs x 3 over forward + backward time
    return [f"  MoE layer at tp={t:g} etp={et:g} ep={ep:g} micro_batch={f(mp.micro_batch):g}: {local:g} local experts x {m:g} tokens,"
            f" per micro-batch (ms, forward / backward):",
            f"    expert FC1 {ms(up[0]):.3f} / {ms(up[1]):.3f} ({rate(f(up[2]), f(up[0]) + f(up[1])):.0f} TFLOP/s),"
            f" FC2 {ms(down[0]):.3f} / {ms(down[1]):.3f} ({rate(f(down[2]), f(down[0]) + f(down[1])):.0f} TFLOP/s),"
            f" router {ms(router[0]):.3f} / {ms(router[1]):.3f}",
            f"    permutation {ms(perm):.3f} / {ms(perm):.3f}, FP8 padding {ms(pad):.3f} / {ms(pad):.3f}, activation {ms(act):.3f} / {ms(2 * act):.3f},"
            f" per-expert launches + quantisation {ms(launches):.3f} in all ({quant:g} kernels per operand and expert),"
            f" host {1e3 * (cal.moe_layer_host_overhead_s + cal.moe_host_s_per_token * tokens):.2f}"
            f" ({1e3 * cal.moe_layer_host_overhead_s:.2f} per call + {1e3 * cal.moe_host_s_per_token * tokens:.2f} for the tokens),"
            f" one all-to-all {ms(a2a):.3f} ({f(ep_alltoalls_per_layer(mp)):g} per layer)"]


@dataclass(frozen=True)
class RowStep:
    """A validation row evaluated as ``archsweep validate`` evaluates it: its plan, its stack's row calibration
    (``base``), the result of the fastest of its strategies whose mapping is valid (of all of them where none is),
    and that result's job calibration, part (one design at the row's accelerator count), mapping, workload and
    matrix peak (FP8 or BF16 as the row's precision, FLOP/s)."""

    plan: Any
    base: Any
    result: dict[str, np.ndarray]
    cal: Any
    hw: HardwareArrays
    mp: MappingArrays
    wl: Any
    peak: np.ndarray


def row_step(row: dict[str, str], catalog, tech) -> RowStep:
    """:class:`RowStep` of a training_runs.csv row (its cells as read); the loop row_breakdown, row_variant,
    component_offsets and dense_residual share."""
    plan = validation_run.plan_row(row, catalog)
    base = row_calibration(row, load_calibration(stack=calibration_stack(row)),  # as validate
                           plan.workload.architecture)
    cache: dict = {}
    results = [validation_run.evaluate_plan(plan, s, cache, tech, base) for s in plan.strategies]
    valid = [r for r in results if _value(r, "violation_mapping") <= 0] or results
    result = min(valid, key=lambda r: _value(r, "step_time_s"))
    cal = job_calibration(base, plan.entry, plan.workload.training)
    hw = HardwareArrays.from_designs(plan.entry.design.replace(accelerator_count=plan.count))
    wl = plan.workload
    peak = hw.peak_matrix_flops_fp8 if wl.training.precision == "fp8" else hw.peak_matrix_flops_bf16
    return RowStep(plan, base, result, cal, hw, mapping_from_result(result), wl, peak)


def _override(mp: MappingArrays, text: str) -> MappingArrays:
    """``mp`` with the ``field=value`` pairs of ``text`` (comma separated) replaced."""
    pairs = dict(item.split("=") for item in text.split(",") if item)
    return replace(mp, **{k: np.asarray([float(v)]) for k, v in pairs.items()})


def breakdown(run_id: str, mapping: str = "") -> str:
    """The lines of the module doc for ``run_id`` (its own mapping; ``mapping``: MoE-layer fields re-priced)."""
    rows = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
    row = rows[run_id]
    rs = row_step(row, load_catalog(), load_technology())
    plan, result, cal, hw, mp, wl, peak = rs.plan, rs.result, rs.cal, rs.hw, rs.mp, rs.wl, rs.peak
    count = float(plan.count)
    etp = expert_tensor_parallel(mp, np.asarray(count / (mp.tp * mp.pp * mp.cp)))
    lc = layer_costs(hw, wl, mp, cal, peak, etp)
    kernels = layer_costs(hw, wl, mp, replace(cal, kernel_overhead_s=0.0, hbm_bw_efficiency=1e30), peak)
    ms = lambda x: 1e3 * float(np.ravel(x)[0])  # noqa: E731 - local formatter
    predicted = predict_metric(plan, result, None)
    lines = [f"{run_id} [{calibration_stack(row)}]: {plan.metric} measured {plan.measured:.4g}, predicted "
             f"{predicted:.4g} ({100 * (predicted - plan.measured) / plan.measured:+.1f} %)",
             "  mapping " + ", ".join(f"{f.name}={_value(result, f.name):g}" for f in fields(MappingArrays))
             + f", micro-batches {_value(result, 'microbatches'):g}, HBM share {_value(result, 'memory_per_accelerator_bytes') / _value(result, 'hbm_capacity_bytes'):.3f}",
             f"  step {_value(result, 'step_time_s'):.4g} s = "
             + " + ".join(f"{k.removesuffix('_s')} {_value(result, k):.4g}" for k in _TERMS if _value(result, k) > 0),
             f"  clock after DVFS {_value(result, 'clock_hz') / 1e9:.3f} GHz, power {_value(result, 'power_w'):.0f} W"
             f" of TDP {_value(result, 'tdp_w'):.0f} W (static {_value(result, 'power_static_w'):.0f} W); busiest stage"
             f" {_value(result, 'power_busiest_w'):.0f} W over the step, {_value(result, 'power_busy_w'):.0f} W over its"
             f" busy phase (what the cap holds)",
             f"  per layer per micro-batch: forward {ms(lc.dense_fwd_s):.3f} ms (attention core {ms(lc.attn_core_fwd_s):.3f},"
             f" of it flash kernels {ms(kernels.attn_core_fwd_s):.3f}), backward {ms(lc.dense_bwd_s):.3f} ms;"
             f" executed core FLOPs {float(np.ravel(lc.attn_core_flops)[0]):.3e} per forward"]
    if wl.moe is not None:
        lines += [f"  MoE layer per micro-batch as the step prices it: forward {ms(lc.moe_fwd_s):.3f} ms, backward"
                  f" {ms(lc.moe_bwd_s):.3f} ms (host {1e3 * cal.moe_layer_host_overhead_s:.2f} per call"
                  f" + {4096e3 * cal.moe_host_s_per_token:.2f} per 4,096 tokens of it in all)"]
        lines += moe_terms(hw, wl, _override(mp, mapping), cal, peak, count)
    return "\n".join(lines)


def best_breakdown(run_id: str) -> str:
    """The step's terms at the search-optimism search's best mapping for ``run_id`` (s)."""
    from archsweep.validation.optimism import best_searched

    rows = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
    row = rows[run_id]
    plan = validation_run.plan_row(row, load_catalog())
    cal = row_calibration(row, load_calibration(stack=calibration_stack(row)), plan.workload.architecture)
    tech, cache = load_technology(), {}
    _, best = best_searched(row, plan, cache, tech, cal)
    return "\n".join([
        "  search's best mapping " + ", ".join(f"{f.name}={_value(best, f.name):g}" for f in fields(MappingArrays))
        + f", micro-batches {_value(best, 'microbatches'):g}, HBM share {_value(best, 'memory_per_accelerator_bytes') / _value(best, 'hbm_capacity_bytes'):.3f}",
        f"  best step {_value(best, 'step_time_s'):.4g} s = "
        + " + ".join(f"{k.removesuffix('_s')} {_value(best, k):.4g}" for k in _TERMS if _value(best, k) > 0)])


def main(argv: list[str] | None = None) -> int:
    """Print the breakdown of each run_id given (see the module doc); 2 on an unknown run_id."""
    parser = argparse.ArgumentParser(description="Where the model spends a validation row's predicted step.")
    parser.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="run_id of data/validation/training_runs.csv")
    parser.add_argument("--mapping", default="", help="re-price the MoE layer at these mapping fields, e.g. ep=4,pp=2")
    parser.add_argument("--best", action="store_true", help="also the step's terms at the search's best mapping")
    args = parser.parse_args(argv)
    known = {r["run_id"] for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
    unknown = [r for r in args.run_ids if r not in known]
    if unknown:
        parser.error(f"data/validation/training_runs.csv has no run_id {unknown[0]!r}")
    for name in args.run_ids:
        print(breakdown(name, args.mapping))
        if args.best:
            print(best_breakdown(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
