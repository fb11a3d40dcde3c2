"""The ``recompute_modules`` training key (issue 10 follow-up of s6-modrecomp): model YAML files and study
workload entries set what ``recompute = selective`` re-runs, through the one check
(archsweep.load.job_options.recompute_option) that ``archsweep eval --recompute-modules`` uses too."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from archsweep.candidates.evaluate import study_workload
from archsweep.cli.app import main
from archsweep.load.paths import models_dir
from archsweep.load.schema import load_schema
from archsweep.load.study import parse_study
from archsweep.load.workloads import load_workload, training_job
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.training import RECOMPUTE_MODULES, TrainingJob
from archsweep.whatif import WorkloadOverrides, apply_overrides

ALLOWED = ", ".join(RECOMPUTE_MODULES)


def _problems(err: pytest.ExceptionInfo[Any]) -> list[Any]:
    return err.value.problems if isinstance(err.value, InputErrors) else [err.value.problem]


def _keyed(node: Any, key: str) -> list[Any]:
    """Every value of ``key`` anywhere in a JSON document."""
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == key] + [x for v in node.values() for x in _keyed(v, key)]
    return [x for v in node for x in _keyed(v, key)] if isinstance(node, list) else []


@pytest.mark.parametrize("schema", ["workload", "study"])
def test_the_schemas_list_the_modules_of_the_spec(schema: str) -> None:
    [prop] = [p for p in _keyed(load_schema(schema), "recompute_modules") if isinstance(p, dict)]
    assert (prop["type"], prop["minItems"], prop["uniqueItems"]) == ("array", 1, True)
    assert tuple(prop["items"]["enum"]) == RECOMPUTE_MODULES


def test_training_key_sets_keeps_and_canonicalises_the_modules() -> None:
    base = TrainingJob(64, 4096)
    job = training_job({"recompute_modules": ["moe_act", "layernorm"]}, base=base, default_seq_len=None,
                       file="f.yaml", key="training")
    assert job.recompute_modules == ("layernorm", "moe_act")  # RECOMPUTE_MODULES order: the model reads a set
    kept = training_job({"global_batch": {"sequences": 32}}, base=job, default_seq_len=None, file="f.yaml",
                        key="training")
    assert kept.recompute_modules == ("layernorm", "moe_act")
    absent = training_job({"global_batch": {"sequences": 32}}, base=base, default_seq_len=None, file="f.yaml",
                          key="training")
    assert absent.recompute_modules == ("core_attn",) and absent == TrainingJob(32, 4096)


@pytest.mark.parametrize(("value", "key_path", "shown", "allowed"), [
    (["moe"], "training.recompute_modules[0]", "'moe'", "one of " + ALLOWED),
    (["layernorm", 3], "training.recompute_modules[1]", "3", "one of " + ALLOWED),
    ([], "training.recompute_modules", "[]", "a non-empty list of distinct modules out of " + ALLOWED),
    ("layernorm", "training.recompute_modules", "'layernorm'", "a non-empty list of distinct modules out of " + ALLOWED),
    (["layernorm", "mlp", "layernorm"], "training.recompute_modules[2]", "'layernorm'",
     "each module once (layernorm is listed twice); modules: " + ALLOWED),
])
def test_training_key_bad_values_name_file_key_value_and_the_allowed_modules(value: Any, key_path: str, shown: str,
                                                                             allowed: str) -> None:
    with pytest.raises((InputError, InputErrors)) as err:
        training_job({"recompute_modules": value}, base=TrainingJob(64, 4096), default_seq_len=None, file="f.yaml",
                     key="training")
    [problem] = _problems(err)
    assert (problem.file, problem.key_path, problem.value, problem.allowed) == ("f.yaml", key_path, shown, allowed)


def _model_file(tmp_path: Path, value: str) -> Path:
    text = (models_dir() / "deepseek-v3.yaml").read_text()
    assert "\n  mode: pretrain\n" in text
    path = tmp_path / "deepseek-v3.yaml"
    path.write_text(text.replace("\n  mode: pretrain\n", f"\n  mode: pretrain\n  recompute_modules: {value}\n"))
    return path


def test_a_model_file_sets_the_modules(tmp_path: Path) -> None:
    assert load_workload(_model_file(tmp_path, "[moe_act, layernorm]")).training.recompute_modules == (
        "layernorm", "moe_act")
    assert load_workload("deepseek-v3").training.recompute_modules == ("core_attn",)  # the shipped file: the default


@pytest.mark.parametrize(("value", "expected"), [
    ("[moe]", "training.recompute_modules[0]: got 'moe'; allowed: one of " + ALLOWED),
    ("[]", "training.recompute_modules: got []; allowed: at least 1 item(s) out of " + ALLOWED),
    ("[layernorm, layernorm]", "training.recompute_modules: got ['layernorm', 'layernorm']; allowed: each item once "
                               "out of " + ALLOWED),
])
def test_a_bad_model_file_exits_2_with_file_key_value_and_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                  value: str, expected: str) -> None:
    path = _model_file(tmp_path, value)
    assert main(["eval", "--model", str(path), "--accelerator", "H100-SXM", "--count", "64"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"archsweep: error: {path}: {expected}" and "Traceback" not in err


STUDY: dict[str, Any] = {
    "name": "rc", "base": "H100-SXM", "parameters": {"compute_units": {"values": [132]}}, "sampling": {"method": "grid"},
    "objectives": [{"column": "tokens_per_s", "direction": "maximize"}],
    "mapping": {"strategy": "tp=8,pp=1,cp=1,mb=1,recompute=selective,zero=1"},
    "workloads": [{"model": "llama3-8b", "name": "l8-rc", "training": {"recompute_modules": ["mlp", "layernorm"]}},
                  "llama3-8b"],
}


def test_a_study_entry_sets_the_modules_and_a_bare_stem_keeps_the_default() -> None:
    study = parse_study(copy.deepcopy(STUDY), file="s.yaml")
    assert study_workload(study, "l8-rc").training.recompute_modules == ("layernorm", "mlp")
    assert study_workload(study, "llama3-8b").training == load_workload("llama3-8b").training


@pytest.mark.parametrize(("value", "key_path"), [(["moe"], "workloads[0].training.recompute_modules[0]"),
                                                  ([], "workloads[0].training.recompute_modules"),
                                                  (["mlp", "mlp"], "workloads[0].training.recompute_modules")])
def test_a_bad_study_entry_names_file_and_key_path(value: Any, key_path: str) -> None:
    doc = copy.deepcopy(STUDY)
    doc["workloads"][0]["training"]["recompute_modules"] = value
    with pytest.raises((InputError, InputErrors)) as err:
        parse_study(doc, file="s.yaml")
    [problem] = _problems(err)
    assert (problem.file, problem.key_path) == ("s.yaml", key_path)
    assert problem.allowed.endswith(ALLOWED)


def test_what_if_overrides_use_the_same_check_named_by_flag() -> None:
    wl = load_workload("deepseek-v3")
    assert apply_overrides(wl, WorkloadOverrides(recompute_modules="moe_act, layernorm")).training.recompute_modules \
        == ("layernorm", "moe_act")
    assert apply_overrides(wl, WorkloadOverrides(recompute_modules=("mlp",))).training.recompute_modules == ("mlp",)
    assert apply_overrides(wl, WorkloadOverrides()).training == wl.training
    for text, key_path, allowed in (("moe", "--recompute-modules[0]", "one of " + ALLOWED),
                                    ("", "--recompute-modules", "a non-empty list of distinct modules out of " + ALLOWED),
                                    ("mlp,mlp", "--recompute-modules[1]",
                                     "each module once (mlp is listed twice); modules: " + ALLOWED)):
        with pytest.raises(InputError) as err:
            apply_overrides(wl, WorkloadOverrides(recompute_modules=text))
        assert (err.value.problem.file, err.value.problem.key_path, err.value.problem.allowed) == (
            "<command line>", key_path, allowed)


def test_eval_flag_error_exits_2_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--model", "deepseek-v3", "--accelerator", "H100-SXM", "--count", "64",
                 "--recompute-modules", "core_attn,moe"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"archsweep: error: <command line>: --recompute-modules[1]: got 'moe'; allowed: one of {ALLOWED}"
