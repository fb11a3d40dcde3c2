"""Checks the tests of the boolean training options share (``moe_a2a_overlap``, ``param_gather_overlap``,
``activation_fp8_input_store``, ``embedding_loss_in_pipeline_split``: tests/load/test_*_key.py): each option
is set through one check (archsweep.load.job_options.bool_job_option) from a model file, a study entry or
``archsweep eval``, so each test file asks the same questions of its own option."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from archsweep.cli.app import main
from archsweep.load.paths import models_dir
from archsweep.load.study import parse_study
from archsweep.load.workloads import training_job
from archsweep.spec.errors import InputError, InputErrors, Problem
from archsweep.spec.training import TrainingJob

__all__ = ["bad_value_problem", "eval_refuses_model_file", "model_file_with", "problems", "set_and_kept", "study_doc",
           "study_problem"]


def problems(err: pytest.ExceptionInfo[Any]) -> list[Problem]:
    """The problems of a raised InputError (one) or InputErrors (several)."""
    return list(err.value.problems) if isinstance(err.value, InputErrors) else [err.value.problem]


def set_and_kept(key: str, value: bool, *, ffn_type: str | None = None) -> TrainingJob:
    """The job a ``training`` mapping ``{key: value}`` makes from the default job (``ffn_type``: the model's MLP,
    where the option depends on it); asserts it holds ``value`` and that a later mapping without the key keeps it."""
    extra = {} if ffn_type is None else {"ffn_type": ffn_type}
    job = training_job({key: value}, base=TrainingJob(64, 4096), default_seq_len=None, file="f.yaml", key="training",
                       **extra)
    assert getattr(job, key) is value
    kept = training_job({"global_batch": {"sequences": 8}}, base=job, default_seq_len=None, file="f.yaml", key="training")
    assert getattr(kept, key) is value
    return job


def bad_value_problem(key: str, value: object, *, ffn_type: str | None = None) -> Problem:
    """The one problem a ``training`` mapping ``{key: value}`` of file ``f.yaml`` raises (the test fails where it
    raises none or several)."""
    extra = {} if ffn_type is None else {"ffn_type": ffn_type}
    with pytest.raises((InputError, InputErrors)) as err:
        training_job({key: value}, base=TrainingJob(64, 4096), default_seq_len=None, file="f.yaml", key="training",
                     **extra)
    [problem] = problems(err)
    return problem


def study_problem(doc: dict[str, Any]) -> Problem:
    """The one problem parsing the study document ``doc`` (file ``s.yaml``) raises."""
    with pytest.raises((InputError, InputErrors)) as err:
        parse_study(doc, file="s.yaml")
    [problem] = problems(err)
    return problem


def model_file_with(folder: Path, stem: str, line: str) -> Path:
    """``folder/<stem>.yaml``: the shipped model file ``stem`` with ``line`` (YAML text) added to its ``training``
    section, after ``mode: pretrain``."""
    text = (models_dir() / f"{stem}.yaml").read_text()
    assert "\n  mode: pretrain\n" in text
    path = folder / f"{stem}.yaml"
    path.write_text(text.replace("\n  mode: pretrain\n", f"\n  mode: pretrain\n  {line}\n"))
    return path


def study_doc(name: str, strategy: str, workloads: list[Any]) -> dict[str, Any]:
    """A study document of one candidate (H100-SXM, 132 compute units; a grid, tokens/s maximised) whose every
    workload runs the mapping ``strategy``."""
    return {"name": name, "base": "H100-SXM", "parameters": {"compute_units": {"values": [132]}},
            "sampling": {"method": "grid"}, "objectives": [{"column": "tokens_per_s", "direction": "maximize"}],
            "mapping": {"strategy": strategy}, "workloads": workloads}


def eval_refuses_model_file(folder: Path, capsys: pytest.CaptureFixture[str], stem: str, line: str,
                            count: int = 64) -> tuple[Path, str]:
    """``archsweep eval`` of the model file ``stem`` with ``line`` added (:func:`model_file_with`) on ``count``
    H100-SXM: asserts it exits 2 without a traceback; the file and the error text (stderr)."""
    path = model_file_with(folder, stem, line)
    assert main(["eval", "--model", str(path), "--accelerator", "H100-SXM", "--count", str(count)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return path, err
