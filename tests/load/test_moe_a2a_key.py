"""The ``moe_a2a_overlap`` training key (issue 10, s9-epdefault): model YAML files, study entries and
``archsweep eval --[no-]moe-a2a-overlap`` set TrainingJob.moe_a2a_overlap through one check
(archsweep.load.job_options.bool_job_option), as ``param_gather_overlap``. Off unless asked (Megatron-Core's
default, transformer_config.py ``overlap_moe_expert_parallel_comm: bool = False``)."""

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

#: An interleaved MoE mapping without full recompute: the layout the overlap needs.
EVAL = ["eval", "--model", "mixtral-8x7b", "--accelerator", "H100-SXM", "--count", "64", "--json", "--seq-len", "4096",
        "--strategy", "tp=2,pp=4,cp=1,ep=8,vpp=2,mb=1,recompute=none,zero=1"]


def _problems(err: pytest.ExceptionInfo[Any]) -> list[Any]:
    return err.value.problems if isinstance(err.value, InputErrors) else [err.value.problem]


def test_off_by_default_and_the_key_sets_and_keeps_it() -> None:
    base = TrainingJob(64, 4096)
    assert base.moe_a2a_overlap is False
    assert all(not load_workload(m).training.moe_a2a_overlap for m in ("mixtral-8x7b", "deepseek-v3", "qwen3-235b-a22b"))
    job = training_job({"moe_a2a_overlap": True}, base=base, default_seq_len=None, file="f.yaml", key="training")
    assert job.moe_a2a_overlap is True
    kept = training_job({"global_batch": {"sequences": 8}}, base=job, default_seq_len=None, file="f.yaml", key="training")
    assert kept.moe_a2a_overlap is True


@pytest.mark.parametrize(("value", "shown"), [("yes", "'yes'"), (1, "1"), (None, "None")])
def test_bad_values_name_file_key_value_and_what_is_allowed(value: Any, shown: str) -> None:
    with pytest.raises((InputError, InputErrors)) as err:
        training_job({"moe_a2a_overlap": value}, base=TrainingJob(64, 4096), default_seq_len=None,
                     file="f.yaml", key="training")
    [problem] = _problems(err)
    assert (problem.file, problem.key_path, problem.value, problem.allowed) == (
        "f.yaml", "training.moe_a2a_overlap", shown, "true or false")
    with pytest.raises(InputError, match="moe_a2a_overlap"):
        TrainingJob(global_batch_seqs=1, seq_len=1, moe_a2a_overlap="yes")  # type: ignore[arg-type]


def test_a_study_entry_sets_it_and_names_the_key_path() -> None:
    doc: dict[str, Any] = {
        "name": "ep", "base": "H100-SXM", "parameters": {"compute_units": {"values": [132]}},
        "sampling": {"method": "grid"}, "objectives": [{"column": "tokens_per_s", "direction": "maximize"}],
        "mapping": {"strategy": "tp=1,pp=4,cp=1,ep=8,vpp=2,mb=1,recompute=none,zero=1"},
        "workloads": [{"model": "mixtral-8x7b", "name": "mx-overlap", "training": {"moe_a2a_overlap": True}},
                      "mixtral-8x7b"]}
    study = parse_study(copy.deepcopy(doc), file="s.yaml")
    assert study_workload(study, "mx-overlap").training.moe_a2a_overlap is True
    assert study_workload(study, "mixtral-8x7b").training.moe_a2a_overlap is False
    doc["workloads"][0] = {"model": "mixtral-8x7b", "training": {"moe_a2a_overlap": "on"}}
    with pytest.raises((InputError, InputErrors)) as err:
        parse_study(doc, file="s.yaml")
    [problem] = _problems(err)
    assert (problem.file, problem.key_path) == ("s.yaml", "workloads[0].training.moe_a2a_overlap")


def test_a_model_file_sets_it_and_the_schema_refuses_a_non_boolean(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    text = (models_dir() / "mixtral-8x7b.yaml").read_text()
    assert "\n  mode: pretrain\n" in text
    path = tmp_path / "mixtral-8x7b.yaml"
    path.write_text(text.replace("\n  mode: pretrain\n", "\n  mode: pretrain\n  moe_a2a_overlap: true\n"))
    assert load_workload(path).training.moe_a2a_overlap is True
    path.write_text(text.replace("\n  mode: pretrain\n", "\n  mode: pretrain\n  moe_a2a_overlap: 'yes'\n"))
    assert main(["eval", "--model", str(path), "--accelerator", "H100-SXM", "--count", "64"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"archsweep: error: {path}: training.moe_a2a_overlap: got ") and "Traceback" not in err


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
