"""Per-local-expert GEMM launches of a MoE layer (s3-moehost): TransformerEngine's GroupedLinear runs
one cuBLAS GEMM per local expert (nvte_multi_stream_cublas_gemm), 2 forward + 4 backward per
expert, so fewer experts per rank (more EP) means a shorter launch chain after the host sync."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays

TECH = load_technology()
CAL = replace(load_calibration(), moe_layer_host_overhead_s=0.0)
B200 = get_accelerator("B200").design.replace(accelerator_count=8)
WL = load_workload("qwen3-30b-a3b")
WL = replace(WL, training=replace(WL.training, seq_len=4096, global_batch_seqs=512, precision="fp8"))


def _step(ep: int, t0: float) -> float:
    out = evaluate_design_batch(HardwareArrays.from_designs([B200]), WL, tech=TECH,
                                calibration=replace(CAL, kernel_overhead_s=t0),
                                strategy=f"tp=1,pp=1,cp=1,ep={ep},mb=1,recompute=none,zero=1", infeasible="least_violating")
    return float(out["step_time_s"][0])


def test_launch_chain_scales_with_local_experts():
    t0 = 4e-6
    launch_ep1 = _step(1, t0) - _step(1, 0.0)
    launch_ep8 = _step(8, t0) - _step(8, 0.0)
    assert launch_ep1 > launch_ep8 > 0
    experts = WL.moe.num_experts
    micro_batches = 512 // 8  # dp 8, mb 1
    expected = micro_batches * WL.moe_layers * (experts - experts / 8) * 6 * t0
    assert np.isclose(launch_ep1 - launch_ep8, expected, rtol=0.05), (launch_ep1 - launch_ep8, expected)
