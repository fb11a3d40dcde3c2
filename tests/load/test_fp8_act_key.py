"""The ``activation_fp8_input_store`` training key (issue 10, s7-fp8act): model YAML files, study entries and
``archsweep eval --fp8-act`` set it through one check (archsweep.load.job_options.fp8_act_option)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import job_option_checks as opt
import pytest

from archsweep.candidates.evaluate import study_workload
from archsweep.load.study import parse_study
from archsweep.load.workloads import load_workload, training_job
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.training import TrainingJob
from archsweep.whatif import WorkloadOverrides, apply_overrides


def test_an_empty_training_mapping_keeps_the_job() -> None:
    base = TrainingJob(64, 4096)  # setting and keeping it: tests/load/test_bool_job_options.py
    assert training_job({}, base=base, default_seq_len=None, file="f.yaml", key="training") == base


@pytest.mark.parametrize(("value", "ffn_type", "shown", "allowed"), [
    (True, "gelu", "True", "false for a gelu MLP (Megatron-Core stores the activation input in FP8 only for SwiGLU)"),
])
def test_bad_values_name_file_key_value_and_what_is_allowed(value: Any, ffn_type: str, shown: str,
                                                            allowed: str) -> None:
    problem = opt.bad_value_problem("activation_fp8_input_store", value, ffn_type=ffn_type)
    assert (problem.file, problem.key_path, problem.value, problem.allowed) == (
        "f.yaml", "training.activation_fp8_input_store", shown, allowed)


def test_eval_override_sets_it_and_names_the_flag() -> None:
    wl = load_workload("llama2-70b")
    assert apply_overrides(wl, WorkloadOverrides(activation_fp8_input_store=True)).training.activation_fp8_input_store
    gelu = load_workload("gpt3-5b")
    assert gelu.architecture.ffn_type != "swiglu"
    with pytest.raises((InputError, InputErrors)) as err:
        apply_overrides(gelu, WorkloadOverrides(activation_fp8_input_store=True))
    [problem] = opt.problems(err)
    assert problem.key_path == "--fp8-act"


def _model_file(tmp_path: Path, stem: str, value: str) -> Path:
    return opt.model_file_with(tmp_path, stem, f"activation_fp8_input_store: {value}")


@pytest.mark.parametrize(("stem", "value", "allowed"), [
    ("gpt3-5b", "true", "false for a gelu MLP (Megatron-Core stores the activation input in FP8 only for SwiGLU)"),
])
def test_a_bad_model_file_exits_2_naming_file_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], stem: str,
                                                      value: str, allowed: str | None) -> None:
    path, err = opt.eval_refuses_model_file(tmp_path, capsys, stem, f"activation_fp8_input_store: {value}")
    assert err.startswith(f"archsweep: error: {path}: training.activation_fp8_input_store: got ")
    assert allowed is None or err.strip().endswith(allowed)


def test_a_study_entry_sets_it_and_names_the_key_path() -> None:
    doc = opt.study_doc("fa", "tp=8,pp=1,cp=1,mb=1,recompute=none,zero=1",
                    [{"model": "llama3-8b", "name": "l8-fa", "training": {"activation_fp8_input_store": True}}, "llama3-8b"])
    study = parse_study(copy.deepcopy(doc), file="s.yaml")
    assert study_workload(study, "l8-fa").training.activation_fp8_input_store
    assert not study_workload(study, "llama3-8b").training.activation_fp8_input_store
    doc["workloads"][0] = {"model": "gpt3-5b", "training": {"activation_fp8_input_store": True}}
    problem = opt.study_problem(doc)
    assert (problem.file, problem.key_path) == ("s.yaml", "workloads[0].training.activation_fp8_input_store")
