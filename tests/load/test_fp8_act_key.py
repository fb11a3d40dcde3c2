"""The ``activation_fp8_input_store`` training key (issue 10, s7-fp8act): model YAML files, study entries and
``archsweep eval --fp8-act`` set it through one check (archsweep.load.job_options.fp8_act_option)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from archsweep.candidates.evaluate import study_workload
from archsweep.cli.app import main
from archsweep.load.paths import models_dir
from archsweep.load.study import parse_study
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


def _model_file(tmp_path: Path, stem: str, value: str) -> Path:
    text = (models_dir() / f"{stem}.yaml").read_text()
    assert "\n  mode: pretrain\n" in text
    path = tmp_path / f"{stem}.yaml"
    path.write_text(text.replace("\n  mode: pretrain\n", f"\n  mode: pretrain\n  activation_fp8_input_store: {value}\n"))
    return path


def test_a_model_file_sets_it(tmp_path: Path) -> None:
    assert load_workload(_model_file(tmp_path, "llama2-70b", "true")).training.activation_fp8_input_store
    assert not load_workload("llama2-70b").training.activation_fp8_input_store  # shipped file: the default


@pytest.mark.parametrize(("stem", "value", "allowed"), [
    ("llama2-70b", "'yes'", None),  # the schema refuses a non-boolean first
    ("gpt3-5b", "true", "false for a gelu MLP (Megatron-Core stores the activation input in FP8 only for SwiGLU)"),
])
def test_a_bad_model_file_exits_2_naming_file_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], stem: str,
                                                      value: str, allowed: str | None) -> None:
    path = _model_file(tmp_path, stem, value)
    assert main(["eval", "--model", str(path), "--accelerator", "H100-SXM", "--count", "64"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"archsweep: error: {path}: training.activation_fp8_input_store: got ")
    assert "Traceback" not in err and (allowed is None or err.strip().endswith(allowed))


def test_a_study_entry_sets_it_and_names_the_key_path() -> None:
    doc: dict[str, Any] = {
        "name": "fa", "base": "H100-SXM", "parameters": {"compute_units": {"values": [132]}},
        "sampling": {"method": "grid"}, "objectives": [{"column": "tokens_per_s", "direction": "maximize"}],
        "mapping": {"strategy": "tp=8,pp=1,cp=1,mb=1,recompute=none,zero=1"},
        "workloads": [{"model": "llama3-8b", "name": "l8-fa", "training": {"activation_fp8_input_store": True}},
                      "llama3-8b"]}
    study = parse_study(copy.deepcopy(doc), file="s.yaml")
    assert study_workload(study, "l8-fa").training.activation_fp8_input_store
    assert not study_workload(study, "llama3-8b").training.activation_fp8_input_store
    doc["workloads"][0] = {"model": "gpt3-5b", "training": {"activation_fp8_input_store": True}}
    with pytest.raises((InputError, InputErrors)) as err:
        parse_study(doc, file="s.yaml")
    [problem] = _problems(err)
    assert (problem.file, problem.key_path) == ("s.yaml", "workloads[0].training.activation_fp8_input_store")
