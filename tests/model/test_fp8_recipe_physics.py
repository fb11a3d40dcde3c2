"""FP8 recipe physics (issue 10): quantisation traffic per FP8 GEMM input, FP8-stored GEMM inputs in
activation memory, flash-attention backward at a lower share of peak; NeMo recipe defaults."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation.rows import mapping_of

TECH, CAL = load_technology(), load_calibration()
H100 = HardwareArrays.from_designs([get_accelerator("H100-SXM").design.replace(accelerator_count=8)])
STRATEGY = "tp=1,pp=1,cp=1,mb=1,recompute=none,zero=1,fa=on"


def _run(precision: str, cal=CAL, seq: int = 8192) -> dict[str, np.ndarray]:
    wl = load_workload("llama3-8b")
    wl = replace(wl, training=replace(wl.training, seq_len=seq, global_batch_seqs=64, precision=precision))
    return evaluate_design_batch(H100, wl, tech=TECH, calibration=cal, strategy=STRATEGY, infeasible="least_violating")


def test_fp8_quantisation_traffic_is_a_bounded_cost():
    none = replace(CAL, fp8_quantize_bytes_per_element=0.0)
    with_q, without = float(_run("fp8")["step_time_s"][0]), float(_run("fp8", none)["step_time_s"][0])
    # Llama 3 8B: ~43k output-gradient + ~18k input elements per token and layer at 4 B against
    # ~1.3 GFLOP of GEMMs: a few per cent, never a speed-up, never more than 15 %.
    assert 1.01 < with_q / without < 1.15
    assert with_q < float(_run("bf16")["step_time_s"][0])  # the FP8 recipe stays faster than BF16


def test_fp8_stores_gemm_inputs_in_one_byte():
    fp8, bf16 = _run("fp8"), _run("bf16")
    a8, a16 = float(fp8["memory_activations_bytes"][0]), float(bf16["memory_activations_bytes"][0])
    assert 0.75 * a16 < a8 < 0.95 * a16


def test_flash_attention_backward_slower_per_flop():
    assert 0.8 < CAL.flash_attention_backward_efficiency_ratio < 0.95
    same = replace(CAL, flash_attention_backward_efficiency_ratio=1.0)
    assert float(_run("bf16", seq=32768)["step_time_s"][0]) > float(_run("bf16", same, seq=32768)["step_time_s"][0])


def test_nemo_rows_get_recipe_defaults():
    row = {"run_id": "x", "framework": "Megatron-Bridge / NeMo 25.11", "tp": "4", "pp": "8", "cp": "1", "dp": "2",
           "num_accels": "64", "micro_batch": "1", "vpp": "5", "fsdp_zero": "none (DDP, distributed optimizer)"}
    notes: list[str] = []
    _, strategies, _, _ = mapping_of(row, load_workload("llama3-70b"), "tokens_per_s_per_gpu", notes)
    assert "sp=on" in strategies[0] and "tp_overlap=on" in strategies[0] and "dp_overlap=on" in strategies[0]
    assert "stack nemo" in notes
