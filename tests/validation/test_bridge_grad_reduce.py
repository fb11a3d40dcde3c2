"""Issue 10 (s11-gradbf16): the Megatron-Bridge performance scripts set ``grad_reduce_in_fp32 = False``, so a row of
NVIDIA's Megatron-Bridge tables holds and reduces BF16 gradients (2 B per parameter); other Megatron-Core rows
keep the stack's 4 B (data/calibration/software_stacks.yaml ``bridge_perf_grad_bytes_per_param``)."""

from __future__ import annotations

from measured_runs import runs_by_id

from archsweep.load.calibration import load_calibration
from archsweep.validation.grad_reduce import stated_grad_calibration
from archsweep.validation.rows import calibration_stack


def _grad_bytes(run_id: str) -> float:
    row = runs_by_id()[run_id]
    return stated_grad_calibration(row, load_calibration(stack=calibration_stack(row))).dp_grad_bytes_per_param


def test_bridge_rows_reduce_bf16_other_megatron_core_rows_fp32() -> None:
    assert _grad_bytes("mbridge-fwd_26.02.01_DGX-B300_GPT_OSS_120B_BF16_64") == 2.0  # megatron-core stack
    assert _grad_bytes("mbridge_26.02_DGX-B300_DeepSeekV3_MXFP8_256") == 2.0  # megatron-core-flex (based_on)
    nemo2407 = next(r for r, row in runs_by_id().items() if row["framework"].startswith("NeMo 24.07"))
    assert _grad_bytes(nemo2407) == 4.0


def test_stack_without_the_key_changes_nothing() -> None:
    row = runs_by_id()["mbridge-fwd_26.02.01_DGX-B300_GPT_OSS_120B_BF16_64"]
    cal = load_calibration(stack="pytorch-fsdp")
    assert stated_grad_calibration(row, cal) is cal
