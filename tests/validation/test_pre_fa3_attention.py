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
from archsweep.validation.rows import calibration_stack
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


def test_h100_long_sequence_rows_lose_their_sequence_trend():
    """Before: +24 % at 4k rising to +58 % at 1M (the model ran Hopper attention at FA3 rates).
    With FA2 kernels every row is within 25 %, and the spread across 4k-1M is under 30 points."""
    rows = [r for r in ROWS if r["run_id"].startswith("nemo_longseq_h100_")]
    errors = np.array([res.error_pct for res in validate_rows(rows)])
    assert len(errors) == 9 and np.all(np.abs(errors) < 25.0), errors
    assert errors.max() - errors.min() < 30.0, errors
