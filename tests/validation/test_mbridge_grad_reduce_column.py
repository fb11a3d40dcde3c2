"""``grad_sync_dtype`` without ``optim_dtype``: Megatron-Core's optimizer with its gradient buffer and data-parallel
reduce in that dtype (``grad_reduce_in_fp32``; issue 10, s17-I). Every Megatron-Bridge performance preset a row
ran sets it False (BF16) at v0.1.0rc3 .. v0.5.1 (data/validation/derive/mbridge_grad_reduce.py); the column is
written into training_runs.csv since s18-A3 (not in s17-I, when it took nemo's in-sample MAPE over 8 %:
docs/model-accuracy.md, s17-I and s18-A3)."""

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


_CONFIGS = '''
def set_llama3_common_configs(cfg):
    cfg.mixed_precision.grad_reduce_in_fp32 = False
    cfg.ddp.grad_reduce_in_fp32 = False
def llama3_70b_pretrain_config_gb300(precision):
    cfg = llama3_70b_pretrain_config()
    set_llama3_common_configs(cfg)
'''
_YAML = """
ConfigContainer:
  ddp:
    check_for_nan_in_grad: false
  mixed_precision:
    grad_reduce_in_fp32: false
"""


def test_the_derive_script_reads_the_preset_function_its_callees_and_the_v0_1_yaml(derive_script, monkeypatch):
    """mbridge_grad_reduce.py (measured in s17-I, its column applied in s18-A3: docs/model-accuracy.md) finds the
    ``grad_reduce_in_fp32`` settings of a row's preset through the functions it calls, and the v0.1.0rc3 yaml's
    ``ConfigContainer.mixed_precision`` one."""
    script = derive_script("mbridge_grad_reduce")
    files = {"scripts/performance/configs/llama/llama3_llm_pretrain.py": _CONFIGS,
             "scripts/performance/configs/llama3/llama3_70b_llm_pretrain.yaml": _YAML}
    monkeypatch.setattr(script, "git_text", lambda repo, cmd, *args: "\n".join(files) if cmd == "ls-tree"
                        else files[args[-1].split(":", 1)[1]])
    found = script._functions("repo", "c")
    path = "scripts/performance/configs/llama/llama3_llm_pretrain.py"
    assert found["set_llama3_common_configs"][1] == [(path, 3, False), (path, 4, False)]
    assert "set_llama3_common_configs" in found["llama3_70b_pretrain_config_gb300"][2]
    yaml_path, sets = script._yaml_setting("repo", "c", "llama3_70b")
    assert yaml_path.endswith("llama3_70b_llm_pretrain.yaml") and sets == [(yaml_path, 6, False)]
    assert [script._task(m) for m in ("LLAMA3-70B LoRA", "LLAMA3-70B SFT", "LLAMA3-70B")] == ["lora", "sft", "pretrain"]


def _plan_and_calibration(run_id: str):
    row = runs_by_id()[run_id]
    plan = plan_row(row, load_catalog())
    return plan, load_calibration(stack=calibration_stack(row))


def test_a_bf16_buffer_halves_the_gradient_bytes_of_the_stack_optimizer():
    plan, cal = _plan_and_calibration(_ROW)
    training = plan.workload.training
    assert (training.dfa_state_dtype, training.dfa_grad_sync_dtype) == ("", "bf16")  # what the preset sets
    assert cal.dp_grad_bytes_per_param == 4.0
    job_cal = job_calibration(cal, plan.entry, training)
    assert job_cal.dp_grad_bytes_per_param == 2.0  # buffer and DP reduce-scatter
    workload = replace(plan.workload, training=training)
    assert model_state_bytes_per_param(workload, job_cal) == (2.0, cal.optimizer_state_bytes_per_param, 0.0)
    fp32 = replace(training, dfa_grad_sync_dtype="fp32")
    assert job_calibration(cal, plan.entry, fp32).dp_grad_bytes_per_param == 4.0
    stack = replace(training, dfa_grad_sync_dtype="")
    assert job_calibration(cal, plan.entry, stack).dp_grad_bytes_per_param == 4.0
    apex = replace(training, dfa_state_dtype="fp32", dfa_grad_sync_dtype="bf16")  # Apex: memory only, as before
    assert job_calibration(cal, plan.entry, apex).dp_grad_bytes_per_param == 4.0


def test_every_megatron_bridge_performance_row_states_a_bf16_gradient_buffer():
    """The 214 Megatron-Bridge performance rows (tables ``mbridge_*`` and forward ``mbridge-fwd_*``) state
    ``grad_sync_dtype`` bf16, each with the derive script's note (s18-A3; the Kimi K2 rows too: the pretrain script's
    set_kimi_k2_common_configs sets grad_reduce_in_fp32 False over the recipe's Muon default True)."""
    rows = [row for run_id, row in runs_by_id().items() if run_id.startswith(("mbridge_", "mbridge-fwd_"))]
    assert len(rows) == 214  # s33: + 4 Kimi K2 rows (210 before)
    assert {row["grad_sync_dtype"] for row in rows} == {"bf16"}
    assert all("mbridge_grad_reduce.py" in row["derived"] for row in rows)


def test_an_apex_state_dtype_needs_a_gradient_dtype():
    with pytest.raises(InputError, match="dfa_grad_sync_dtype"):
        TrainingJob(global_batch_seqs=1, seq_len=1, dfa_state_dtype="fp32")
    assert TrainingJob(global_batch_seqs=1, seq_len=1, dfa_grad_sync_dtype="bf16").dfa_state_dtype == ""
