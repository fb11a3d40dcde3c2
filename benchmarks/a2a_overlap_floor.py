"""The MoE rows that run Megatron-Core's EP all-to-all overlap without CUDA graphs, against a host-issue floor per
merged layer call (issue 10, s21-M; a diagnostic: nothing of it is priced in the model).

    python benchmarks/a2a_overlap_floor.py [RUN_ID ...] [--floor A_MS C_US]

Without run ids: every row of data/validation/training_runs.csv that states ``moe_a2a_overlap`` yes, no
``moe_cuda_graph_scope`` and no ``layer_cuda_graphs``. Per row and MoE layer-micro-batch (ms): ``T`` the MoE layer's
forward + backward as the step prices it (of it ``host`` the stack's host time), ``L`` the time the measurement
implies, T + (measured step - predicted step) / (MoE layers of the busiest stage x micro-batches), i.e. the whole
residual put on the MoE layers (benchmarks/moe_host_residual.py's ``_layer_mbs``); ``n`` the per-expert launches the
model counts per layer-micro-batch (local experts x (2 + 4 GEMMs (2 under LoRA) + 4 operands x split-quantise kernels
of a low-precision recipe); model/transformer.py). Under the combined 1F1B schedule the host is at most one layer pair
ahead (NVIDIA/Megatron-LM b0cc2706dd megatron/core/models/common/model_chunk_schedule_plan.py
``TransformerLayerSchedulePlan.run``), so without graphs a merged layer call takes at least its host issue time H;
``--floor A_MS C_US`` prices H = A + C x n (ms, us) and prints each row's error with max(T, H) in place of T (the
step taken as linear in the layer time). No source sizes A or C (docs/model-accuracy.md s21-M).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from moe_host_residual import _layer_mbs
from row_breakdown import _value, row_step

from archsweep.load.catalog import load_catalog
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.model.gemm import pick
from archsweep.model.training.mapping import expert_tensor_parallel
from archsweep.model.transformer import layer_costs
from archsweep.validation.cells import read_measurements
from archsweep.validation.metrics import predict_metric


@dataclass(frozen=True)
class FloorRow:
    """One row's MoE layer-micro-batch figures (see the module doc); times in s."""

    run_id: str
    error_pct: float
    layer_s: float
    host_s: float
    implied_s: float
    local_experts: float
    launches: float
    layer_mbs: float
    step_pred_s: float
    step_meas_s: float
    metric_is_step: bool


def overlap_without_graphs(row: Mapping[str, str]) -> bool:
    """``row`` states the EP all-to-all overlap, no MoE graph scope and no per-layer graphs."""
    return (row["moe_a2a_overlap"].strip().lower() == "yes" and row["moe_cuda_graph_scope"].strip() in ("", "none")
            and row["layer_cuda_graphs"].strip().lower() in ("", "no", "none"))


def floor_row(row: Mapping[str, str], catalog, tech) -> FloorRow:
    """:class:`FloorRow` of a MoE training_runs.csv row, evaluated as ``archsweep validate`` does."""
    rs = row_step(dict(row), catalog, tech)
    etp = expert_tensor_parallel(rs.mp, np.asarray(float(rs.plan.count) / (rs.mp.tp * rs.mp.pp * rs.mp.cp)))
    lc = layer_costs(rs.hw, rs.wl, rs.mp, rs.cal, rs.peak, etp)
    wl, cal, hw, mp = rs.wl, rs.cal, rs.hw, rs.mp
    local = float(wl.moe.num_experts) / float(np.ravel(mp.ep)[0])
    per_expert = 2.0 + (2.0 if wl.training.mode == "finetune_lora" else 4.0)
    if wl.training.precision == "fp8":  # split-quantise kernels per operand, 2 operands each way (transformer.py)
        quant = float(np.ravel(pick(hw.fp8_gemm_layouts == "any", cal.fp8_split_quantize_kernels_any_layout,
                                    cal.fp8_split_quantize_kernels))[0])
        per_expert += 4.0 * quant
    predicted = predict_metric(rs.plan, rs.result, None)
    step_pred = _value(rs.result, "step_time_s")
    is_step = rs.plan.metric in ("step_time_s", "steady_step_time_s")
    # a throughput-like metric (tokens/s, TFLOP/s, MFU) scales as 1 / step
    step_meas = float(rs.plan.measured) if is_step else step_pred * predicted / rs.plan.measured
    mbs = _layer_mbs(row)
    layer = float(np.ravel(lc.moe_fwd_s + lc.moe_bwd_s)[0])
    host = float(cal.moe_layer_host_overhead_s + cal.moe_host_s_per_token * float(np.ravel(mp.micro_batch)[0])
                 * float(row["seq_len"]) / float(np.ravel(mp.cp)[0]))
    return FloorRow(row["run_id"], 100.0 * (predicted - rs.plan.measured) / rs.plan.measured, layer, host,
                    layer + (step_meas - step_pred) / mbs, local, local * per_expert, mbs, step_pred, step_meas,
                    is_step)


def floored_error_pct(fr: FloorRow, a_s: float, c_s: float) -> float:
    """``fr``'s error, %, with the MoE layer-micro-batch at max(T, a + c x n) (step linear in the layer time)."""
    extra = max(0.0, a_s + c_s * fr.launches - fr.layer_s) * fr.layer_mbs
    step = fr.step_pred_s + extra
    if fr.metric_is_step:
        return 100.0 * (step - fr.step_meas_s) / fr.step_meas_s
    return 100.0 * (fr.step_meas_s - step) / step


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_ids", nargs="*", help="rows to report (default: every overlap row without graphs)")
    ap.add_argument("--floor", nargs=2, type=float, metavar=("A_MS", "C_US"),
                    help="price the host floor H = A + C x n and print each row's error with it")
    args = ap.parse_args(argv)
    rows = read_measurements(data_dir() / "validation" / "training_runs.csv")
    by_id = {r["run_id"]: r for r in rows}
    unknown = [r for r in args.run_ids if r not in by_id]
    if unknown:
        ap.error(f"run ids not in training_runs.csv: {', '.join(unknown)}")
    chosen = [by_id[r] for r in args.run_ids] or [r for r in rows if overlap_without_graphs(r)]
    catalog, tech = load_catalog(), load_technology()
    print("run_id,error_pct,T_ms,host_ms,L_ms,local_experts,n" + (",error_with_floor_pct" if args.floor else ""))
    for row in chosen:
        fr = floor_row(row, catalog, tech)
        line = (f"{fr.run_id},{fr.error_pct:+.1f},{1e3 * fr.layer_s:.2f},{1e3 * fr.host_s:.2f},"
                f"{1e3 * fr.implied_s:.2f},{fr.local_experts:g},{fr.launches:g}")
        if args.floor:
            line += f",{floored_error_pct(fr, args.floor[0] * 1e-3, args.floor[1] * 1e-6):+.1f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
