"""Per-local-expert quantisation kernels of a low-precision MoE layer (s7-smallmoe, issue 10):
TransformerEngine v2.8-v2.12 ``split_quantize`` quantises each expert's slice of a grouped-GEMM operand
with its own kernels (current scaling: amax + scale + cast; MXFP8: one cast; delayed scaling on a TN-only
part: one fused multi-tensor kernel), four operands per MoE layer and micro-batch (FC1 / FC2 inputs
forward, their output gradients backward). Checked: the added time is exactly
micro-batches x MoE layers x local experts x 4 x kernels x kernel_overhead_s, it grows with the local
experts (less EP), BF16 jobs pay none, and the recipes' counts are loaded with provenance."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.low_precision import load_low_precision_recipes
from archsweep.load.part_physics import recipe_calibration
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays

TECH = load_technology()
BASE = replace(load_calibration(), moe_layer_host_overhead_s=0.0)
WL = load_workload("qwen3-30b-a3b")
WL = replace(WL, training=replace(WL.training, seq_len=4096, global_batch_seqs=512, precision="fp8"))


def _step(part: str, ep: int, cal) -> float:
    design = get_accelerator(part).design.replace(accelerator_count=8)
    out = evaluate_design_batch(HardwareArrays.from_designs([design]), WL, tech=TECH, calibration=cal,
                                strategy=f"tp=1,pp=1,cp=1,ep={ep},mb=1,recompute=none,zero=1",
                                infeasible="least_violating")
    return float(out["step_time_s"][0])


def _quantize_time(part: str, ep: int, recipe: str) -> float:
    cal = recipe_calibration(BASE, recipe)
    none = replace(cal, fp8_split_quantize_kernels=0.0, fp8_split_quantize_kernels_any_layout=0.0)
    return _step(part, ep, cal) - _step(part, ep, none)


@pytest.mark.parametrize(("part", "recipe", "kernels"), [("H100-SXM", "current", 3), ("H100-SXM", "delayed", 0),
                                                         ("B200", "mxfp8", 1), ("B200", "delayed", 1)])
def test_added_time_is_the_kernel_count(part, recipe, kernels):
    micro_batches = 512 // 8  # dp 8, mb 1
    local = WL.moe.num_experts / 8
    expected = micro_batches * WL.moe_layers * local * 4 * kernels * BASE.kernel_overhead_s
    assert np.isclose(_quantize_time(part, 8, recipe), expected, rtol=1e-6, atol=1e-9)


def test_more_local_experts_cost_more_and_bf16_pays_none():
    assert _quantize_time("H100-SXM", 1, "current") > _quantize_time("H100-SXM", 8, "current") > 0
    bf16 = replace(WL, training=replace(WL.training, precision="bf16"))
    design = get_accelerator("H100-SXM").design.replace(accelerator_count=8)
    cal = recipe_calibration(BASE, "current")
    none = replace(cal, fp8_split_quantize_kernels=0.0)
    steps = [float(evaluate_design_batch(HardwareArrays.from_designs([design]), bf16, tech=TECH, calibration=c,
                                         strategy="tp=1,pp=1,cp=1,ep=8,mb=1,recompute=none,zero=1",
                                         infeasible="least_violating")["step_time_s"][0]) for c in (cal, none)]
    assert steps[0] == steps[1]


def test_recipe_counts_loaded():
    recipes = load_low_precision_recipes()
    assert (recipes["current"].split_quantize_kernels_tn_only, recipes["mxfp8"].split_quantize_kernels_any_layout,
            recipes["delayed"].split_quantize_kernels_tn_only, recipes["delayed"].split_quantize_kernels_any_layout) == (3, 1, 0, 1)
