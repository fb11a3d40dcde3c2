"""The boolean training options (``moe_a2a_overlap``, ``param_gather_overlap``, ``activation_fp8_input_store``,
``embedding_loss_in_pipeline_split``) are set through one check (archsweep.load.job_options.bool_job_option):
the same questions for each, asked once here. Per option: its default, a ``training`` mapping sets it and a later
one keeps it, a non-boolean names file, key path, value and "true or false", a study entry sets it for its
workload alone and a bad one names the entry's key path, a model file sets it and ``archsweep eval`` refuses a
non-boolean one with exit 2. What is particular to an option stays in its tests/load/test_*_key.py."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import job_option_checks as opt
import pytest

from archsweep.candidates.evaluate import study_workload
from archsweep.load.study import parse_study
from archsweep.load.workloads import load_workload
from archsweep.spec.training import TrainingJob


@dataclass(frozen=True)
class Option:
    """One boolean option, a model it applies to and a mapping that model runs."""

    key: str
    default: bool
    model: str
    strategy: str
    count: int = 64
    ffn_type: str | None = None  # the MLP the option needs, where it depends on one

    def __str__(self) -> str:
        return self.key


OPTIONS = [
    Option("moe_a2a_overlap", False, "mixtral-8x7b", "tp=1,pp=4,cp=1,ep=8,vpp=2,mb=1,recompute=none,zero=1"),
    Option("param_gather_overlap", True, "llama3-8b", "tp=8,pp=1,cp=1,mb=1,recompute=none,zero=1"),
    Option("activation_fp8_input_store", False, "llama2-70b", "tp=8,pp=1,cp=1,mb=1,recompute=none,zero=1",
           ffn_type="swiglu"),
    Option("embedding_loss_in_pipeline_split", False, "llama2-13b", "tp=2,pp=3,cp=1,vpp=1,mb=1,recompute=none,zero=1",
           count=48),
]


@pytest.mark.parametrize("option", OPTIONS, ids=str)
def test_default_and_a_training_mapping_sets_and_keeps_it(option: Option) -> None:
    assert getattr(TrainingJob(64, 4096), option.key) is option.default
    assert getattr(load_workload(option.model).training, option.key) is option.default  # the shipped file: default
    opt.set_and_kept(option.key, not option.default, ffn_type=option.ffn_type)


@pytest.mark.parametrize(("value", "shown"), [("yes", "'yes'"), ("no", "'no'"), (1, "1"), (0, "0"), (None, "None")])
@pytest.mark.parametrize("option", OPTIONS, ids=str)
def test_a_non_boolean_names_file_key_value_and_what_is_allowed(option: Option, value: object, shown: str) -> None:
    problem = opt.bad_value_problem(option.key, value, ffn_type=option.ffn_type)
    assert (problem.file, problem.key_path, problem.value, problem.allowed) == (
        "f.yaml", f"training.{option.key}", shown, "true or false")


@pytest.mark.parametrize("option", OPTIONS, ids=str)
def test_a_study_entry_sets_it_and_a_bad_one_names_the_key_path(option: Option) -> None:
    doc = opt.study_doc("opt", option.strategy, [{"model": option.model, "name": "asked",
                                                   "training": {option.key: not option.default}}, option.model])
    study = parse_study(copy.deepcopy(doc), file="s.yaml")
    assert getattr(study_workload(study, "asked").training, option.key) is (not option.default)
    assert getattr(study_workload(study, option.model).training, option.key) is option.default
    doc["workloads"][0] = {"model": option.model, "training": {option.key: "on"}}
    problem = opt.study_problem(doc)
    assert (problem.file, problem.key_path, problem.value) == ("s.yaml", f"workloads[0].training.{option.key}", "'on'")


@pytest.mark.parametrize("option", OPTIONS, ids=str)
def test_a_model_file_sets_it_and_eval_refuses_a_non_boolean(option: Option, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    asked = "false" if option.default else "true"
    path = opt.model_file_with(tmp_path, option.model, f"{option.key}: {asked}")
    assert getattr(load_workload(path).training, option.key) is (not option.default)
    path, err = opt.eval_refuses_model_file(tmp_path, capsys, option.model, f"{option.key}: 'yes'", count=option.count)
    assert err.startswith(f"archsweep: error: {path}: training.{option.key}: got ")
