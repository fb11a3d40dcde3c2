"""NeMo 24.03 / 24.07 rows run FlashAttention-2 kernels on Hopper (issue 10).

NeMo-Framework-Launcher 24.01-24.07 exports NVTE_FUSED_ATTN=0 into every job ("Disable cudnn FA until
we've tested it more", launcher_scripts/conf/config.yaml; removed 2024-08-29, after 24.07), so
TransformerEngine 1.x, which would otherwise pick cuDNN fused attention on sm90, runs flash-attn 2
(s8-fa2). The NeMo 24.03.01 long-sequence table (LLAMA2-7B FP8 on DGX-H100, 4k-1M tokens with context
parallelism) falls from 768 to 536 model TFLOP/s per GPU as attention takes over the FLOPs; at 1M tokens
that is ~313 TFLOP/s of executed (causal, 2.5x backward) attention, FlashAttention-2's H100 rate (335
TFLOP/s, FA3 Fig. 5(e)), not the ~540-620 of cuDNN / FlashAttention-3.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from measured_runs import runs, validated_of

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.model.attention_kernel import softmax_rate_factor
from archsweep.validation.row_stack import _pre_fa3_nemo, calibration_stack, stack_of

ROWS = runs()


def test_pre_fa3_nemo_rows_get_the_fa2_stack():
    stacks = {r["run_id"]: calibration_stack(r) for r in ROWS if r["source_group"] == "nemo"}
    # FP8 rows: the FP8 variant of the stack (same constants, no ZeRO-2/3: tests/model/test_zero3_overlap_comm.py)
    assert stacks["nemo_longseq_h100_llama2_7b_1024k"] == "megatron-core-fa2-fp8"
    assert stacks["nemo2407_LLAMA2-7B_8gpu"] == "megatron-core-fa2-fp8"
    assert load_calibration(stack="megatron-core-fa2-fp8") == replace(load_calibration(stack="megatron-core-fa2"),
                                                                       stack="megatron-core-fa2-fp8")
    assert stacks["nemo_longseq_b200_llama3_8b_1024k"] == "megatron-core"  # NeMo 25.04: cuDNN / FA3-era
    fa2 = load_calibration(stack="megatron-core-fa2")
    core = load_calibration(stack="megatron-core")
    assert fa2.attention_mma_cap_flops_per_cycle_per_unit == 2048 and core.attention_mma_cap_flops_per_cycle_per_unit == 0
    assert fa2.elementwise_traffic_multiplier == core.elementwise_traffic_multiplier
    assert fa2.flash_attention_efficiency == 0.84 and core.flash_attention_efficiency == 0.70


def _causal_forward_rate_flops(part: str, stack: str) -> float:
    """The flash-attention forward rate (causal, head dim 128) the model prices on ``part`` under
    ``stack``, composed as model/transformer.py composes it (capped MMA peak x large-GEMM efficiency x
    flash-attention efficiency x softmax factor)."""
    hw, cal = get_accelerator(part).design, load_calibration(stack=stack)
    units, clock = hw.compute_units, hw.clock_hz
    peak = units * hw.matrix_flops_per_cycle_per_unit_bf16 * clock
    cap = cal.attention_mma_cap_flops_per_cycle_per_unit
    attn_peak = min(peak, units * cap * clock) if cap > 0 else peak
    softmax = float(softmax_rate_factor(np.asarray(attn_peak / (units * clock)), cal,
                                        hw.softmax_exponentials_per_cycle_per_unit))
    return attn_peak * hw.matrix_efficiency * cal.flash_attention_efficiency * softmax


def test_fa2_kernels_run_at_fa2s_measured_h100_rate():
    """FlashAttention-2 on H100 SXM5, BF16 forward, causal, head dim 128, 16k: 335 TFLOP/s (FA3 paper,
    Fig. 5(e)); the cap alone (0.70 efficiency) priced it at 278. The cuDNN / FA3-era megatron-core
    stack keeps its 556 (between cuDNN's 539 and FA3's 616). On A100 (below the cap) the same 0.84 is
    FA2's 73 % of peak (FlashAttention-2 paper, Sec. 4.1) over A100's large-GEMM efficiency."""
    assert _causal_forward_rate_flops("H100-SXM", "megatron-core-fa2") == pytest.approx(335e12, rel=0.01)
    assert _causal_forward_rate_flops("H100-SXM", "megatron-core-fa2-fp8") == pytest.approx(335e12, rel=0.01)
    assert _causal_forward_rate_flops("H100-SXM", "megatron-core") == pytest.approx(556e12, rel=0.01)
    a100 = get_accelerator("A100-SXM4").design
    a100_peak = a100.compute_units * a100.matrix_flops_per_cycle_per_unit_bf16 * a100.clock_hz
    assert _causal_forward_rate_flops("A100-SXM4", "megatron-core-fa2") == pytest.approx(0.73 * a100_peak, rel=0.02)


def test_the_container_rule_selects_the_rows_of_the_former_hand_list():
    """The NeMo 24.03 / 24.07 performance-table rows (27: 9 long-sequence, 6 + 12 pre-training / fine-tuning),
    the rows the hand list ("nemo 24.03", "nemo 24.05", "nemo 24.07", "nemo2403", "nemo2407") named; not the
    MLPerf rows of the NeMo Framework 23.09 / 24.04 containers, nor NeMo 24.09 and later."""
    hand_list = ("nemo 24.03", "nemo 24.05", "nemo 24.07", "nemo2403", "nemo2407")
    fa2 = {r["run_id"] for r in ROWS if calibration_stack(r).startswith("megatron-core-fa2")}
    listed = {r["run_id"] for r in ROWS
              if stack_of(r) == "nemo" and any(v in (r["framework"] + " " + r["run_id"]).lower() for v in hand_list)}
    assert fa2 == listed and len(fa2) == 27
    mlperf_2404 = [r for r in ROWS if r["source_group"] == "mlperf" and "release 24.04" in r["framework"].lower()]
    assert mlperf_2404 and not fa2 & {r["run_id"] for r in mlperf_2404}
    assert _pre_fa3_nemo("nemo 24.07 (megatron-core)") and _pre_fa3_nemo("nemo2403_llama2")
    assert not _pre_fa3_nemo("megatron-bridge / nemo 25.09") and not _pre_fa3_nemo("nvidia nemo 24.09")


def test_h100_long_sequence_rows_lose_their_sequence_trend():
    """At FA3 / cuDNN rates: +24 % at 4k rising to +58 % at 1M; with the FA2 cap alone (278 TFLOP/s):
    +4.7 % at 4k falling to -15 % at 512k; at FA2's measured 335 TFLOP/s (s8-fa2): +9.5 % at 4k, +5.3 % at
    8k-16k, +1.0 .. +4.5 % at 32k-1M, so the error no longer follows attention's share of the step."""
    rows = [r for r in ROWS if r["run_id"].startswith("nemo_longseq_h100_")]
    errors = np.array([res.error_pct for res in validated_of(rows)])
    assert len(errors) == 9 and np.all(np.abs(errors) < 10.0), errors
    assert errors.max() - errors.min() < 10.0, errors
    assert np.all(errors[-5:] > 0.0), errors  # 64k-1M: no longer too slow
