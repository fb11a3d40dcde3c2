"""Issue 10 (s10-dfa): NeMo 1.x's Apex ``distributed_fused_adam`` memory, priced from the dtypes the rows' launcher
confs state (columns ``optim_dtype`` / ``grad_sync_dtype``, data/validation/derive/nemo2407_optimizer_dtypes.py).
Before, every row paid Megatron-Core's 4 B FP32 gradient buffer + 12 B FP32 state, and the Nemotron-340B and
LLAMA2-70B SFT rows, which ran, exceeded the H100's HBM in the model by 11 / 13 % (docs/model-accuracy.md)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from measured_runs import runs_by_id

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import load_catalog
from archsweep.load.technology import load_technology
from archsweep.model.training.state_memory import model_state_bytes_per_param
from archsweep.spec.errors import InputError
from archsweep.spec.training import TrainingJob
from archsweep.validation.moe_graphs import graph_scope_calibration
from archsweep.validation.row_workload import _dfa_dtypes
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import evaluate_plan, plan_row
from archsweep.validation.types import Skip


def _evaluated(run_id: str, zero: int = 0):
    """(plan, calibration, evaluation) of the row's stated mapping at ZeRO stage ``zero`` (the row states none:
    the validator evaluates 0 and 1, the stack's choices)."""
    row = runs_by_id()[run_id]
    plan = plan_row(row, load_catalog())
    cal = graph_scope_calibration(row, load_calibration(stack=calibration_stack(row)), plan.workload.architecture)
    strategy = next(s for s in plan.strategies if str(s).endswith(f"zero={zero}"))
    return plan, cal, evaluate_plan(plan, strategy, {}, load_technology(), cal)


@pytest.mark.parametrize(("state", "grad", "fp8_params", "expected"), [
    ("", "", False, (4.0, 12.0, 0.0)),       # the stack's optimizer: Megatron-Core FP32 grads + 12 B state
    ("fp32", "fp32", False, (4.0, 10.0, 4.0)),  # Apex default: FP32 moments + 2 B param remainders
    ("fp32", "bf16", False, (2.0, 10.0, 2.0)),  # GPT-3 175B launcher script: grad_sync_dtype=bf16
    ("bf16", "bf16", False, (2.0, 4.0, 2.0)),   # nemotron_340b.yaml: BF16 moments, the BF16 weights are the master
    ("bf16", "bf16", True, (2.0, 6.0, 2.0)),    # sft.yaml with fp8_params: BF16 master copy stored (store_params)
])
def test_model_state_bytes_follow_apex_and_nemo(state, grad, fp8_params, expected):
    plan, cal, _ = _evaluated("nemo2407_LLAMA2-70B_SFT_16gpu")
    training = replace(plan.workload.training, dfa_state_dtype=state, dfa_grad_sync_dtype=grad, fp8_params=fp8_params)
    assert model_state_bytes_per_param(replace(plan.workload, training=training), cal) == expected


@pytest.mark.parametrize(("run_id", "ratio", "violation"), [
    # DP 1: no shard; optimizer 6 B over the 2 B BF16 gradient buffer. s21-C: -0.272 -> -0.223, its FP8 weights'
    # transposes (1 B per Linear weight on the H100, TE 1.8 transpose_2d(fill_cache=True)) now counted in memory
    ("nemo2407_LLAMA2-70B_SFT_16gpu", 6.0 / 2.0, -0.223),
    # ZeRO-1 over DP 2: (4 B moments + 2 B gradient shard) / 2 over the 2 B buffer
    ("nemo2407_Nemotron-340B_128gpu", (4.0 + 2.0) / 2 / 2.0, -0.228),
])
def test_stated_rows_fit_the_h100(run_id, ratio, violation):
    plan, _, r = _evaluated(run_id, zero=1)
    assert plan.workload.training.dfa_state_dtype == "bf16" and plan.workload.training.dfa_grad_sync_dtype == "bf16"
    opt, grad = float(np.ravel(r["memory_optimizer_bytes"])[0]), float(np.ravel(r["memory_gradients_bytes"])[0])
    assert opt / grad == pytest.approx(ratio, rel=1e-9)
    assert float(np.ravel(r["violation_memory"])[0]) == pytest.approx(violation, abs=0.005)


def test_rows_without_the_columns_keep_the_stack_optimizer():
    plan, _, _ = _evaluated("nemo2407_LLAMA2-70B_LoRA_8gpu")  # the LoRA scripts switch to fused_adam
    assert (plan.workload.training.dfa_state_dtype, plan.workload.training.dfa_grad_sync_dtype) == ("", "")


def test_bad_dtypes_are_refused():
    assert _dfa_dtypes({"optim_dtype": "FP32", "grad_sync_dtype": ""}) == ("fp32", "fp32")  # Apex default
    with pytest.raises(Skip, match="optim_dtype='fp16'"):
        _dfa_dtypes({"optim_dtype": "fp16"})
    assert _dfa_dtypes({"grad_sync_dtype": "BF16"}) == ("", "bf16")  # the stack's optimizer, a BF16 buffer
    with pytest.raises(InputError, match="dfa_state_dtype"):
        TrainingJob(global_batch_seqs=1, seq_len=1, dfa_state_dtype="fp8", dfa_grad_sync_dtype="fp8")
    with pytest.raises(InputError, match="where dfa_state_dtype is set"):
        TrainingJob(global_batch_seqs=1, seq_len=1, dfa_state_dtype="bf16")


@pytest.mark.parametrize("run_id", ["nemo2407_GPT3-5B_64gpu", "nemo2407_LLAMA2-7B_8gpu", "nemo2407_LLAMA2-70B_64gpu",
                                    "nemo2407_LLAMA3-8B_8gpu", "nemo2407_LLAMA3-70B_64gpu"])
def test_pretraining_rows_whose_script_sets_bf16_grad_sync(run_id):
    """s11-nemo2407: the launcher's example script of the table's layout adds ``optim.grad_sync_dtype=bf16`` over a
    ``distributed_fused_adam`` conf without ``dtype`` (FP32 state): 2 B gradient buffer, 8 B moments + 2 B param
    remainders, a 2 B reduced shard (memory only; the DP reduce-scatter stays at the stack's bytes)."""
    plan, cal, _ = _evaluated(run_id)
    training = plan.workload.training
    assert (training.dfa_state_dtype, training.dfa_grad_sync_dtype) == ("fp32", "bf16")
    assert model_state_bytes_per_param(plan.workload, cal) == (2.0, 10.0, 2.0)


@pytest.mark.parametrize("run_id", ["nemo2407_GPT3-20B_64gpu", "nemo2407_LLAMA2-13B_16gpu",
                                    "nemo2407_Nemotron-8B_64gpu", "nemo2407_Nemotron-22B_64gpu"])
def test_pretraining_rows_without_a_script_of_their_layout_keep_the_stack_optimizer(run_id):
    plan, _, _ = _evaluated(run_id)
    assert (plan.workload.training.dfa_state_dtype, plan.workload.training.dfa_grad_sync_dtype) == ("", "")
