"""The ``pipeline_layout`` training key (issue 10, s12-layout): model files, study entries and ``archsweep eval
--pipeline-layout`` set TrainingJob.pipeline_layout (Megatron-Core's ``pipeline_model_parallel_layout``) through one
check (archsweep.load.job_options.pipeline_options); a layout that does not parse, one beside the embedding / loss
split, or one that does not fit the model's layers and MTP layers is a clear error; empty by default."""

from __future__ import annotations

from typing import Any

import pytest

from archsweep.load.workloads import load_workload, training_job
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.training import TrainingJob
from archsweep.whatif import WorkloadOverrides, apply_overrides

KEY = "pipeline_layout"
PP16 = "Et*4|(t*4|)*14tmL"


def _problems(err: pytest.ExceptionInfo[Any]) -> list[Any]:
    return err.value.problems if isinstance(err.value, InputErrors) else [err.value.problem]


def test_empty_by_default_and_the_key_sets_and_keeps_it() -> None:
    base = TrainingJob(64, 4096)
    assert base.pipeline_layout == "" and load_workload("deepseek-v3").training.pipeline_layout == ""
    job = training_job({KEY: PP16}, base=base, default_seq_len=None, file="f.yaml", key="training")
    assert job.pipeline_layout == PP16
    kept = training_job({"global_batch": {"sequences": 8}}, base=job, default_seq_len=None, file="f.yaml", key="training")
    assert kept.pipeline_layout == PP16


@pytest.mark.parametrize(("raw", "message"), [({KEY: "Etx|tL"}, "unknown characters"), ({KEY: 3}, "Megatron-Core"),
                                              ({KEY: PP16, "embedding_loss_in_pipeline_split": True}, "refuses both")])
def test_bad_layouts_name_file_key_value_and_what_is_allowed(raw: dict[str, Any], message: str) -> None:
    with pytest.raises((InputError, InputErrors)) as err:
        training_job(raw, base=TrainingJob(64, 4096), default_seq_len=None, file="f.yaml", key="training")
    (problem,) = _problems(err)
    assert problem.file == "f.yaml" and problem.key_path == f"training.{KEY}" and message in problem.allowed


def test_eval_flag_sets_it_and_a_layout_that_does_not_fit_the_model_is_refused() -> None:
    wl = apply_overrides(load_workload("deepseek-v3"), WorkloadOverrides(pipeline_layout=PP16))
    assert wl.training.pipeline_layout == PP16
    with pytest.raises(InputError, match=r"holds 60 t layers, the model has 61"):
        apply_overrides(load_workload("deepseek-v3"), WorkloadOverrides(pipeline_layout="Et*4|(t*4|)*14mL"))
    with pytest.raises((InputError, InputErrors)) as err:
        apply_overrides(load_workload("deepseek-v3"), WorkloadOverrides(pipeline_layout="E|q"))
    assert _problems(err)[0].key_path == "--pipeline-layout"
