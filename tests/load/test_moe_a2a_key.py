"""The ``moe_a2a_overlap`` training key (issue 10, s9-epdefault): model YAML files, study entries and
``archsweep eval --[no-]moe-a2a-overlap`` set TrainingJob.moe_a2a_overlap through one check
(archsweep.load.job_options.bool_job_option), as ``param_gather_overlap``. Off unless asked (Megatron-Core's
default, transformer_config.py ``overlap_moe_expert_parallel_comm: bool = False``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from archsweep.cli.app import main
from archsweep.load.workloads import load_workload
from archsweep.spec.errors import InputError
from archsweep.spec.training import TrainingJob
from archsweep.whatif import WorkloadOverrides, apply_overrides

#: An interleaved MoE mapping without full recompute: the layout the overlap needs.
EVAL = ["eval", "--model", "mixtral-8x7b", "--accelerator", "H100-SXM", "--count", "64", "--json", "--seq-len", "4096",
        "--strategy", "tp=2,pp=4,cp=1,ep=8,vpp=2,mb=1,recompute=none,zero=1"]


def test_off_in_the_shipped_moe_models() -> None:
    assert all(not load_workload(m).training.moe_a2a_overlap for m in ("mixtral-8x7b", "deepseek-v3", "qwen3-235b-a22b"))


def test_the_job_itself_refuses_a_non_boolean() -> None:
    with pytest.raises(InputError, match="moe_a2a_overlap"):
        TrainingJob(global_batch_seqs=1, seq_len=1, moe_a2a_overlap="yes")  # type: ignore[arg-type]


def test_eval_flag_hides_part_of_the_all_to_all_and_holds_the_delayed_gradients(
        capsys: pytest.CaptureFixture[str]) -> None:
    """On (interleaved, no full recompute): less EP all-to-all exposed, a faster step, compute unchanged and
    the delayed weight gradients in their own memory part (not recompute memory); the default is off."""
    def run(*extra: str) -> dict[str, Any]:
        assert main([*EVAL, *extra]) == 0
        return json.loads(capsys.readouterr().out)

    default, on = run(), run("--moe-a2a-overlap")
    assert default == run("--no-moe-a2a-overlap") and not default["moe_a2a_overlap"] and on["moe_a2a_overlap"]
    assert on["ep_comm_exposed_s"] < default["ep_comm_exposed_s"]
    assert default["feasible"] and on["feasible"]
    assert on["step_time_s"] < default["step_time_s"]
    assert on["compute_time_s"] == default["compute_time_s"]
    assert on["memory_delayed_wgrad_bytes"] > default["memory_delayed_wgrad_bytes"] == 0.0
    assert on["memory_recompute_working_bytes"] == default["memory_recompute_working_bytes"] == 0.0
    assert apply_overrides(load_workload("mixtral-8x7b"),
                           WorkloadOverrides(moe_a2a_overlap=True)).training.moe_a2a_overlap
