"""The ``activation_fp8_input_store`` training key (issue 10, s7-fp8act): model YAML files, study entries and
``archsweep eval --fp8-act`` set it through one check (archsweep.load.job_options.fp8_act_option)."""

from __future__ import annotations

from typing import Any

import pytest

from archsweep.load.workloads import load_workload, training_job
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.training import TrainingJob
from archsweep.whatif import WorkloadOverrides, apply_overrides


def _problems(err: pytest.ExceptionInfo[Any]) -> list[Any]:
    return err.value.problems if isinstance(err.value, InputErrors) else [err.value.problem]


def test_key_sets_and_keeps_the_flag() -> None:
    base = TrainingJob(64, 4096)
    job = training_job({"activation_fp8_input_store": True}, base=base, default_seq_len=None, file="f.yaml",
                       key="training", ffn_type="swiglu")
    assert job.activation_fp8_input_store is True
    kept = training_job({"global_batch": {"sequences": 8}}, base=job, default_seq_len=None, file="f.yaml",
                        key="training")
    assert kept.activation_fp8_input_store is True
    assert training_job({}, base=base, default_seq_len=None, file="f.yaml", key="training") == base


@pytest.mark.parametrize(("value", "ffn_type", "shown", "allowed"), [
    ("yes", "swiglu", "'yes'", "true or false"),
    (1, "swiglu", "1", "true or false"),
    (True, "gelu", "True", "false for a gelu MLP (Megatron-Core stores the activation input in FP8 only for SwiGLU)"),
])
def test_bad_values_name_file_key_value_and_what_is_allowed(value: Any, ffn_type: str, shown: str,
                                                            allowed: str) -> None:
    with pytest.raises((InputError, InputErrors)) as err:
        training_job({"activation_fp8_input_store": value}, base=TrainingJob(64, 4096), default_seq_len=None,
                     file="f.yaml", key="training", ffn_type=ffn_type)
    [problem] = _problems(err)
    assert (problem.file, problem.key_path, problem.value, problem.allowed) == (
        "f.yaml", "training.activation_fp8_input_store", shown, allowed)


def test_eval_override_sets_it_and_names_the_flag() -> None:
    wl = load_workload("llama2-70b")
    assert apply_overrides(wl, WorkloadOverrides(activation_fp8_input_store=True)).training.activation_fp8_input_store
    gelu = load_workload("gpt3-5b")
    assert gelu.architecture.ffn_type != "swiglu"
    with pytest.raises((InputError, InputErrors)) as err:
        apply_overrides(gelu, WorkloadOverrides(activation_fp8_input_store=True))
    [problem] = _problems(err)
    assert problem.key_path == "--fp8-act"
