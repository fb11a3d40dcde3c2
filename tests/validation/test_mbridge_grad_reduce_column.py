"""``grad_sync_dtype`` of the Megatron-Bridge rows is the performance preset of the release each row ran
(data/validation/derive/mbridge_grad_reduce.py; issue 10, s17-I): every preset a row ran sets
``grad_reduce_in_fp32`` False at v0.1.0rc3 .. v0.5.1, a BF16 gradient buffer and data-parallel reduce with
Megatron-Core's optimizer; before, the model held and reduced those gradients at the stack's FP32 4 B."""

from __future__ import annotations

from dataclasses import replace

import pytest
from measured_runs import runs_by_id

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import load_catalog
from archsweep.load.part_physics import job_calibration
from archsweep.model.training.state_memory import model_state_bytes_per_param
from archsweep.spec.errors import InputError
from archsweep.spec.training import TrainingJob
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import plan_row

_ROW = "mbridge_26.02_DGX-GB300_LLAMA3-70B_MXFP8_64"


def test_every_mbridge_row_reduces_in_bf16_and_says_where_from():
    rows = {k: r for k, r in runs_by_id().items() if k.startswith(("mbridge_", "mbridge-fwd_"))}
    assert len(rows) == 210
    assert {r["grad_sync_dtype"] for r in rows.values()} == {"bf16"}
    assert {r["optim_dtype"] for r in rows.values()} == {""}  # Megatron-Core's optimizer
    assert all("mbridge_grad_reduce.py" in r["derived"] for r in rows.values())
    row = runs_by_id()["mbridge_25.09_DGX-GB200_LLAMA3-8B_FP8_(per-tensor)_8"]
    assert ("grad_sync_dtype bf16: Megatron-Bridge v0.1.0rc3 (bf71eba07, NeMo 25.09) "
            "scripts/performance/configs/llama3/llama3_8b_llm_pretrain.yaml") in row["derived"]
    row = runs_by_id()[_ROW]
    assert ("grad_sync_dtype bf16: Megatron-Bridge v0.3.0 (21b02e0cf, NeMo 26.02) "
            "scripts/performance/configs/llama/llama3_llm_pretrain.py llama3_70b_pretrain_config_gb300") in row["derived"]


def _plan_and_calibration(run_id: str):
    row = runs_by_id()[run_id]
    plan = plan_row(row, load_catalog())
    return plan, load_calibration(stack=calibration_stack(row))


def test_a_bf16_buffer_halves_the_gradient_bytes_of_the_stack_optimizer():
    plan, cal = _plan_and_calibration(_ROW)
    training = plan.workload.training
    assert (training.dfa_state_dtype, training.dfa_grad_sync_dtype) == ("", "bf16")
    assert cal.dp_grad_bytes_per_param == 4.0
    job_cal = job_calibration(cal, plan.entry, training)
    assert job_cal.dp_grad_bytes_per_param == 2.0  # buffer and DP reduce-scatter
    assert model_state_bytes_per_param(plan.workload, job_cal) == (2.0, cal.optimizer_state_bytes_per_param, 0.0)
    fp32 = replace(training, dfa_grad_sync_dtype="fp32")
    assert job_calibration(cal, plan.entry, fp32).dp_grad_bytes_per_param == 4.0
    stack = replace(training, dfa_grad_sync_dtype="")
    assert job_calibration(cal, plan.entry, stack).dp_grad_bytes_per_param == 4.0
    apex = replace(training, dfa_state_dtype="fp32", dfa_grad_sync_dtype="bf16")  # Apex: memory only, as before
    assert job_calibration(cal, plan.entry, apex).dp_grad_bytes_per_param == 4.0


def test_an_apex_state_dtype_needs_a_gradient_dtype():
    with pytest.raises(InputError, match="dfa_grad_sync_dtype"):
        TrainingJob(global_batch_seqs=1, seq_len=1, dfa_state_dtype="fp32")
    assert TrainingJob(global_batch_seqs=1, seq_len=1, dfa_grad_sync_dtype="bf16").dfa_state_dtype == ""
