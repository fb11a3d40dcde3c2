"""The ``embedding_loss_in_pipeline_split`` training key (issue 10, s11-splitopt): model YAML files, study entries
and ``archsweep eval --[no-]pp-split-embedding-loss`` set TrainingJob.embedding_loss_in_pipeline_split through one
check (archsweep.load.job_options.bool_job_option), as ``moe_a2a_overlap``. Off unless asked
(Megatron-Core's default: ``account_for_embedding_in_pipeline_split`` / ``account_for_loss_in_pipeline_split``
False). A study evaluates a job with it apart from one without: Llama 2 13B (40 layers, 42 slots) at pp = 3
runs a faster step with the split; at pp = 4 (4 does not divide 42) the candidate is infeasible, not dropped."""

from __future__ import annotations

import copy
import json
from typing import Any

import job_option_checks as opt
import numpy as np
import pytest

from archsweep.candidates.evaluate import evaluation_columns, study_workload
from archsweep.cli.app import main
from archsweep.load.catalog import get_accelerator
from archsweep.load.study import parse_study
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.training import TrainingJob
from archsweep.whatif import WorkloadOverrides, apply_overrides
from archsweep.workflow.fingerprint import evaluate_fingerprint

KEY = "embedding_loss_in_pipeline_split"


def _study_doc(strategy: str) -> dict[str, Any]:
    return opt.study_doc("split", strategy, [{"model": "llama2-13b", "name": "l13-split", "training": {KEY: True}},
                                         {"model": "llama2-13b", "name": "l13-even", "training": {KEY: False}}])


def test_off_by_default_in_the_job_and_the_shipped_models() -> None:
    base = TrainingJob(64, 4096)
    assert base.embedding_loss_in_pipeline_split is False
    assert all(not load_workload(m).training.embedding_loss_in_pipeline_split
               for m in ("llama2-13b", "llama3-405b", "qwen3-235b-a22b"))


def test_a_study_entry_sets_it_names_the_key_path_and_changes_the_fingerprint() -> None:
    doc = _study_doc("tp=2,pp=3,cp=1,vpp=1,mb=1,recompute=none,zero=1")
    study = parse_study(copy.deepcopy(doc), file="s.yaml")
    assert study_workload(study, "l13-split").training.embedding_loss_in_pipeline_split is True
    assert study_workload(study, "l13-even").training.embedding_loss_in_pipeline_split is False
    flipped = copy.deepcopy(doc)
    flipped["workloads"][0]["training"][KEY] = False  # same names, the option alone differs
    assert evaluate_fingerprint(parse_study(flipped, file="s.yaml")) != evaluate_fingerprint(study)
    doc["workloads"][0] = {"model": "llama2-13b", "training": {KEY: "on"}}
    problem = opt.study_problem(doc)
    assert (problem.file, problem.key_path, problem.value) == ("s.yaml", f"workloads[0].training.{KEY}", "'on'")
    assert "boolean" in problem.allowed  # the study schema's check


def _evaluate(strategy: str, count: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    study = parse_study(_study_doc(strategy), file="s.yaml")
    hw = HardwareArrays.from_designs(get_accelerator("H100-SXM").design.replace(accelerator_count=count))
    ids, tech = np.asarray(["c0"]), load_technology()
    return tuple(evaluation_columns(study, hw, ids, study_workload(study, name), tech=tech, run_id="r")
                 for name in ("l13-split", "l13-even"))  # type: ignore[return-value]


def test_a_study_evaluates_the_split_apart_and_marks_refused_layouts_infeasible() -> None:
    """pp = 3 divides 40 + 2: 14 slots per stage, the last stage 13 layers + the output layer instead of
    14 layers + it (the middle stages' 14 layers are now the slowest): a shorter step, both feasible. pp = 4 does not
    divide 42: the candidate's row is there, infeasible with the split, feasible without."""
    on, off = _evaluate("tp=2,pp=3,cp=1,vpp=1,mb=1,recompute=none,zero=1", 48)
    assert bool(on["feasible"][0]) and bool(off["feasible"][0])
    assert float(on["step_time_s"][0]) < float(off["step_time_s"][0])
    on4, off4 = _evaluate("tp=2,pp=4,cp=1,vpp=1,mb=1,recompute=none,zero=1", 64)
    assert len(on4["feasible"]) == 1 and not bool(on4["feasible"][0]) and bool(off4["feasible"][0])


def test_the_eval_flag_sets_it(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["eval", "--model", "llama2-13b", "--accelerator", "H100-SXM", "--count", "48", "--json",
            "--strategy", "tp=2,pp=3,cp=1,vpp=1,mb=1,recompute=none,zero=1"]

    def run(*extra: str) -> dict[str, Any]:
        assert main([*base, *extra]) == 0
        return json.loads(capsys.readouterr().out)

    default, on = run(), run("--pp-split-embedding-loss")
    assert default == run("--no-pp-split-embedding-loss") and not default[KEY] and on[KEY]
    assert on["step_time_s"] < default["step_time_s"]
    assert apply_overrides(load_workload("llama2-13b"),
                           WorkloadOverrides(embedding_loss_in_pipeline_split=True)).training.embedding_loss_in_pipeline_split
