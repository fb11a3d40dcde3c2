"""The ``param_gather_overlap`` training key (review finding 19, s8-m2): model YAML files, study entries and
``archsweep eval --[no-]param-gather-overlap`` set TrainingJob.param_gather_overlap through one check
(archsweep.load.job_options.bool_job_option), as the other job options; a study can model the overlap off."""

from __future__ import annotations

import copy
import json
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

EVAL = ["eval", "--model", "llama3-8b", "--accelerator", "H100-SXM", "--count", "64", "--json",
        "--strategy", "tp=1,pp=1,vpp=1,mb=1,recompute=none,zero=1,sp=off,fa=on"]


def _problems(err: pytest.ExceptionInfo[Any]) -> list[Any]:
    return err.value.problems if isinstance(err.value, InputErrors) else [err.value.problem]


def test_key_sets_and_keeps_the_flag() -> None:
    base = TrainingJob(64, 4096)
    assert base.param_gather_overlap is True
    job = training_job({"param_gather_overlap": False}, base=base, default_seq_len=None, file="f.yaml", key="training")
    assert job.param_gather_overlap is False
    kept = training_job({"global_batch": {"sequences": 8}}, base=job, default_seq_len=None, file="f.yaml", key="training")
    assert kept.param_gather_overlap is False


@pytest.mark.parametrize(("value", "shown"), [("no", "'no'"), (0, "0"), (None, "None")])
def test_bad_values_name_file_key_value_and_what_is_allowed(value: Any, shown: str) -> None:
    with pytest.raises((InputError, InputErrors)) as err:
        training_job({"param_gather_overlap": value}, base=TrainingJob(64, 4096), default_seq_len=None,
                     file="f.yaml", key="training")
    [problem] = _problems(err)
    assert (problem.file, problem.key_path, problem.value, problem.allowed) == (
        "f.yaml", "training.param_gather_overlap", shown, "true or false")


def test_a_study_entry_sets_it_and_names_the_key_path() -> None:
    doc: dict[str, Any] = {
        "name": "pg", "base": "H100-SXM", "parameters": {"compute_units": {"values": [132]}},
        "sampling": {"method": "grid"}, "objectives": [{"column": "tokens_per_s", "direction": "maximize"}],
        "mapping": {"strategy": "tp=8,pp=1,cp=1,mb=1,recompute=none,zero=1"},
        "workloads": [{"model": "llama3-8b", "name": "l8-exposed", "training": {"param_gather_overlap": False}},
                      "llama3-8b"]}
    study = parse_study(copy.deepcopy(doc), file="s.yaml")
    assert study_workload(study, "l8-exposed").training.param_gather_overlap is False
    assert study_workload(study, "llama3-8b").training.param_gather_overlap is True
    doc["workloads"][0] = {"model": "llama3-8b", "training": {"param_gather_overlap": "off"}}
    with pytest.raises((InputError, InputErrors)) as err:
        parse_study(doc, file="s.yaml")
    [problem] = _problems(err)
    assert (problem.file, problem.key_path) == ("s.yaml", "workloads[0].training.param_gather_overlap")


def test_a_model_file_sets_it_and_the_schema_refuses_a_non_boolean(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    text = (models_dir() / "llama3-8b.yaml").read_text()
    assert "\n  mode: pretrain\n" in text
    path = tmp_path / "llama3-8b.yaml"
    path.write_text(text.replace("\n  mode: pretrain\n", "\n  mode: pretrain\n  param_gather_overlap: false\n"))
    assert load_workload(path).training.param_gather_overlap is False
    path.write_text(text.replace("\n  mode: pretrain\n", "\n  mode: pretrain\n  param_gather_overlap: 'no'\n"))
    assert main(["eval", "--model", str(path), "--accelerator", "H100-SXM", "--count", "64"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"archsweep: error: {path}: training.param_gather_overlap: got ") and "Traceback" not in err


def test_eval_flag_exposes_the_parameter_all_gather_only(capsys: pytest.CaptureFixture[str]) -> None:
    """Off: the ZeRO-1 parameter all-gather is exposed after the step; compute and memory do not move."""
    def run(*extra: str) -> dict[str, Any]:
        assert main([*EVAL, *extra]) == 0
        return json.loads(capsys.readouterr().out)

    on, off = run(), run("--no-param-gather-overlap")
    assert on == run("--param-gather-overlap") and on["param_gather_overlap"] and not off["param_gather_overlap"]
    assert off["dp_comm_exposed_s"] > on["dp_comm_exposed_s"]
    assert off["step_time_s"] - on["step_time_s"] == pytest.approx(off["dp_comm_exposed_s"] - on["dp_comm_exposed_s"],
                                                                   rel=1e-9)
    assert off["compute_time_s"] == on["compute_time_s"]
    assert off["memory_per_accelerator_bytes"] == on["memory_per_accelerator_bytes"]
    assert not apply_overrides(load_workload("llama3-8b"),
                               WorkloadOverrides(param_gather_overlap=False)).training.param_gather_overlap
