"""NeMo containers released before FlashAttention-3 run FA2 attention kernels on Hopper (issue 10).

The NeMo 24.03.01 long-sequence table (LLAMA2-7B FP8 on DGX-H100, 4k-1M tokens with context
parallelism) falls from 768 to 536 model TFLOP/s per GPU as attention takes over the FLOPs; at
1M tokens that is ~313 TFLOP/s of executed (causal, 2.5x backward) attention, the 335 TFLOP/s that
FlashAttention-2 reaches on H100 (Dao, ICLR 2024, Sec. 4.1), not FlashAttention-3's ~600.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from measured_runs import runs

from archsweep.load.calibration import load_calibration
from archsweep.validation.row_stack import _pre_fa3_nemo, _stack, calibration_stack
from archsweep.validation.run import validate_rows

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


def test_the_container_rule_selects_the_rows_of_the_former_hand_list():
    """The NeMo 24.03 / 24.07 performance-table rows (27: 9 long-sequence, 6 + 12 pre-training / fine-tuning),
    the rows the hand list ("nemo 24.03", "nemo 24.05", "nemo 24.07", "nemo2403", "nemo2407") named; not the
    MLPerf rows of the NeMo Framework 23.09 / 24.04 containers, nor NeMo 24.09 and later."""
    hand_list = ("nemo 24.03", "nemo 24.05", "nemo 24.07", "nemo2403", "nemo2407")
    fa2 = {r["run_id"] for r in ROWS if calibration_stack(r).startswith("megatron-core-fa2")}
    listed = {r["run_id"] for r in ROWS
              if _stack(r) == "nemo" and any(v in (r["framework"] + " " + r["run_id"]).lower() for v in hand_list)}
    assert fa2 == listed and len(fa2) == 27
    mlperf_2404 = [r for r in ROWS if r["source_group"] == "mlperf" and "release 24.04" in r["framework"].lower()]
    assert mlperf_2404 and not fa2 & {r["run_id"] for r in mlperf_2404}
    assert _pre_fa3_nemo("nemo 24.07 (megatron-core)") and _pre_fa3_nemo("nemo2403_llama2")
    assert not _pre_fa3_nemo("megatron-bridge / nemo 25.09") and not _pre_fa3_nemo("nvidia nemo 24.09")


def test_h100_long_sequence_rows_lose_their_sequence_trend():
    """Before: +24 % at 4k rising to +58 % at 1M (the model ran Hopper attention at FA3 rates).
    With FA2 kernels every row is within 25 %, and the spread across 4k-1M is under 30 points."""
    rows = [r for r in ROWS if r["run_id"].startswith("nemo_longseq_h100_")]
    errors = np.array([res.error_pct for res in validate_rows(rows)])
    assert len(errors) == 9 and np.all(np.abs(errors) < 25.0), errors
    assert errors.max() - errors.min() < 30.0, errors
