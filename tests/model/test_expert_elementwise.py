"""The routed experts' unfused elementwise work: gpt-oss's clamped GLU and expert FC2 biases (issue 10, s12-gptoss).

Megatron-Core runs gpt-oss's activation clamp (``activation_func_clamp_value`` 7.0) as eager clamp / clamp / cat
kernels before its fused quick-GEGLU, and adds the experts' FC2 bias per local expert outside the grouped GEMM
(``TEGroupedMLP._apply_bias``). The stack constants (data/calibration/software_stacks.yaml) count the bytes: 16 B
forward and 30 B backward per routed-token x FFN element for the clamp, 12 B / 16 B per routed-token x hidden
element for the bias (BF16 probabilities; 28 / 40 B with the flex dispatchers' FP32 probabilities).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from model_helpers import first, mapping_arrays, part_batch, workload_4k

from archsweep.load.calibration import load_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.expert_elementwise import expert_elementwise
from archsweep.model.transformer import layer_costs

CAL = load_calibration(stack="megatron-core")
ZERO = replace(CAL, clamped_glu_bytes_fwd_per_element=0.0, expert_bias_bytes_fwd_per_element=0.0)


@pytest.mark.parametrize("part", ["GB300", "B200", "H100-SXM"])
def test_gpt_oss_layer_pays_the_counted_passes_at_the_hbm_rate(part):
    """gpt-oss-120b, micro-batch 4 x 4096 tokens, EP 64 (2 local experts): N x F = 16384 x 4 x 2880 =
    188,743,680 elements (F = hidden = 2880). Forward (16 + 12) B x N F / HBM rate + (3 + 2 x 2) kernels,
    backward (30 + 16) B x N F / rate + (9 + 4 x 2) kernels, over the same layer with the constants at 0."""
    hw, wl = part_batch(part, 64), workload_4k("gpt-oss-120b")
    on = layer_costs(hw, wl, mapping_arrays(ep=64, micro_batch=4), CAL, hw.peak_matrix_flops_bf16)
    off = layer_costs(hw, wl, mapping_arrays(ep=64, micro_batch=4), ZERO, hw.peak_matrix_flops_bf16)
    nf = 16384 * 4 * 2880
    bw = first(hw.hbm_bw_bytes_per_s) * CAL.hbm_bw_efficiency
    assert first(on.moe_fwd_s - off.moe_fwd_s) == pytest.approx(28 * nf / bw + 7 * CAL.kernel_overhead_s, rel=1e-9)
    assert first(on.moe_bwd_s - off.moe_bwd_s) == pytest.approx(46 * nf / bw + 17 * CAL.kernel_overhead_s, rel=1e-9)
    assert first(on.moe_hbm_bytes - off.moe_hbm_bytes) == pytest.approx(28 * nf, rel=1e-12)
    assert np.array_equal(on.dense_fwd_s, off.dense_fwd_s) and np.array_equal(on.moe_flops, off.moe_flops)


def test_gb300_layer_adds_two_of_the_three_missing_milliseconds():
    """The arithmetic of the brief, redone with the counted passes: 74 B x 188.7 M elements = 13.97 GB per layer
    and micro-batch, at GB300's 8 TB/s x 0.88 about 2.0 ms, against the 3.1 ms per layer and micro-batch the
    GB300 NVL72 rows missed (s11-gradbf16 item 3): a share of it, not more than it."""
    hw, wl = part_batch("GB300", 64), workload_4k("gpt-oss-120b")
    on = layer_costs(hw, wl, mapping_arrays(ep=64, micro_batch=4), CAL, hw.peak_matrix_flops_bf16)
    off = layer_costs(hw, wl, mapping_arrays(ep=64, micro_batch=4), ZERO, hw.peak_matrix_flops_bf16)
    added_ms = 1e3 * first(on.moe_fwd_s + on.moe_bwd_s - off.moe_fwd_s - off.moe_bwd_s)
    assert first(hw.hbm_bw_bytes_per_s) == pytest.approx(8e12, rel=0.01)
    assert 1.9 < added_ms < 2.2  # a share of the 3.1 ms missed, not all of it


def test_element_counts_with_ffn_width_and_tp_apart():
    """Review s12 finding 8: gpt-oss has F = H = 2880 and the tests above use tp = etp = 1, so swapping F and H, or
    tp and the expert TP width, passed them. Here F = 2 H = 5760, tp 2, expert TP 1, 2 local experts, N = 16384 x 4
    routed copies: the clamp runs over N F / tp elements, the bias add over N (etp / tp) H, each at its bytes per
    element and kernel count (CAL, megatron-core)."""
    hw, wl = part_batch("B200", 64), workload_4k("gpt-oss-120b")
    moe = replace(wl.architecture.moe, expert_ffn_hidden=5760)
    wl = replace(wl, architecture=replace(wl.architecture, moe=moe))
    got = expert_elementwise(wl, hw, CAL, 16384.0, 2.0, 1.0, 2.0)
    n, t0 = 16384.0 * 4, CAL.kernel_overhead_s
    bw = first(hw.hbm_bw_bytes_per_s) * CAL.hbm_bw_efficiency
    clamp_elems, bias_elems = n * 5760 / 2, n * (1 / 2) * 2880
    clamp_b, bias_b = CAL.clamped_glu_bytes_fwd_per_element, CAL.expert_bias_bytes_fwd_per_element
    assert first(got.fwd_bytes) == pytest.approx(clamp_b * clamp_elems + bias_b * bias_elems, rel=1e-12)
    assert first(got.clamp_fwd_s) == pytest.approx(clamp_b * clamp_elems / bw + CAL.clamped_glu_kernels_fwd * t0, rel=1e-12)
    bias_bwd = (CAL.expert_bias_bytes_bwd_per_element * bias_elems / bw
                + CAL.expert_bias_kernels_bwd_per_expert * 2 * t0)
    clamp_bwd = CAL.clamped_glu_bytes_bwd_per_element * clamp_elems / bw + CAL.clamped_glu_kernels_bwd * t0
    assert first(got.bwd_s) == pytest.approx(clamp_bwd + bias_bwd, rel=1e-12)


def test_moe_act_recompute_reruns_the_clamp_not_the_bias():
    hw = part_batch("B200", 64)
    on = layer_costs(hw, workload_4k("gpt-oss-120b", ("moe_act",)), mapping_arrays(ep=64, micro_batch=4), CAL, hw.peak_matrix_flops_bf16)
    off = layer_costs(hw, workload_4k("gpt-oss-120b", ("moe_act",)), mapping_arrays(ep=64, micro_batch=4), ZERO, hw.peak_matrix_flops_bf16)
    clamp = expert_elementwise(workload_4k("gpt-oss-120b"), hw, CAL, 16384.0, 1.0, 1.0, 2.0).clamp_fwd_s
    nf = 16384 * 4 * 2880
    assert clamp == pytest.approx(16 * nf / (first(hw.hbm_bw_bytes_per_s) * CAL.hbm_bw_efficiency)
                                  + 3 * CAL.kernel_overhead_s, rel=1e-9)
    assert first(on.moe_module_rc_s - off.moe_module_rc_s) == pytest.approx(first(clamp), rel=1e-9)


def test_bias_kernels_scale_with_local_experts_and_flex_moves_fp32():
    hw, wl = part_batch("B200", 64), workload_4k("gpt-oss-120b")
    ep64 = expert_elementwise(wl, hw, CAL, 16384.0, 1.0, 1.0, 2.0)
    ep8 = expert_elementwise(wl, hw, CAL, 16384.0, 1.0, 1.0, 16.0)
    assert first(ep8.fwd_s - ep64.fwd_s) == pytest.approx(14 * 2 * CAL.kernel_overhead_s, rel=1e-9)
    assert first(ep8.bwd_s - ep64.bwd_s) == pytest.approx(14 * 4 * CAL.kernel_overhead_s, rel=1e-9)
    flex = expert_elementwise(wl, hw, load_calibration(stack="megatron-core-flex"), 16384.0, 1.0, 1.0, 2.0)
    assert first(flex.fwd_bytes - ep64.fwd_bytes) == pytest.approx((28 - 12) * 16384 * 4 * 2880, rel=1e-12)


@pytest.mark.parametrize("stack", ["megatron-core-fa2", "pytorch-fsdp"])
def test_no_cost_without_the_architecture_or_the_stack(stack):
    """A plain SwiGLU MoE (qwen3-30b-a3b: no clamp, no expert biases) and a stack without the constants pay 0."""
    hw = part_batch("B200", 64)
    qwen = load_workload("qwen3-30b-a3b")
    assert first(expert_elementwise(qwen, hw, CAL, 4096.0, 1.0, 1.0, 16.0).fwd_s) == 0.0
    assert first(expert_elementwise(workload_4k("gpt-oss-120b"), hw, load_calibration(stack=stack), 4096.0, 1.0, 1.0, 16.0).bwd_s) == 0.0
    dense = load_workload("llama3-8b")
    assert first(expert_elementwise(dense, hw, CAL, 4096.0, 1.0, 1.0, 1.0).fwd_s) == 0.0

