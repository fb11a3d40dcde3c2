"""A study's serving entry and ``archsweep eval --serving`` reach the engine behaviours of
:class:`archsweep.spec.serving.ServingJob` (``eager_prompt_iterations``, ``full_length_kv_pool``; s19-H / s19-M2
added them, only the validation rows could set them: s19-Q; ``moe_allgather``, ``cuda_graph_padding``: s20-D)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from archsweep.cli.app import main
from archsweep.load.study import parse_study
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.serving import PERF_OVERVIEW_BATCH_SIZES

STUDY: dict[str, Any] = {
    "name": "t",
    "workloads": [{"model": "llama3-8b", "serving": {"input_tokens": 1024, "output_tokens": 128}}],
    "base": "H100-SXM",
    "parameters": {"clock_hz": {"values": ["1.5 GHz", "1.98 GHz"]}},
    "sampling": {"method": "grid"},
    "objectives": [{"column": "tokens_per_s_per_accelerator", "direction": "maximize"}],
}


def _study(**serving: Any):
    doc = copy.deepcopy(STUDY)
    doc["workloads"][0]["serving"].update(serving)
    return parse_study(doc, file="<test>")


def test_serving_entry_defaults_keep_both_behaviours_off():
    job = _study().serving[0].job
    assert not job.eager_prompt_iterations and not job.full_length_kv_pool
    assert not job.moe_allgather and job.cuda_graph_batch_sizes == ()  # s20-D's two, off too


def test_serving_entry_sets_both_behaviours():
    job = _study(eager_prompt_iterations=True, full_length_kv_pool=True).serving[0].job
    assert job.eager_prompt_iterations and job.full_length_kv_pool


def test_serving_entry_sets_the_gather_and_cuda_graph_padding():
    job = _study(moe_allgather=True, cuda_graph_padding=True).serving[0].job
    assert job.moe_allgather and job.cuda_graph_batch_sizes == PERF_OVERVIEW_BATCH_SIZES


@pytest.mark.parametrize("key", ["eager_prompt_iterations", "full_length_kv_pool", "moe_allgather", "cuda_graph_padding"])
def test_serving_entry_refuses_a_non_boolean_naming_the_key(key):
    with pytest.raises((InputError, InputErrors)) as info:
        _study(**{key: "yes"})
    assert f"workloads[0].serving.{key}" in str(info.value)


@pytest.mark.parametrize("flag", ["--eager-prompt-iterations", "--full-length-kv-pool", "--moe-allgather",
                                  "--cuda-graph-padding"])
def test_eval_serving_flag_without_serving_is_refused(flag, capsys):
    status = main(["eval", "--model", "llama3-8b", "--accelerator", "H100-SXM", "--count", "8", flag])
    err = capsys.readouterr().err
    assert status == 2 and f"<command line>: {flag}: got 'True'; allowed: only with --serving" in err


@pytest.mark.parametrize(("flag", "field", "want"), [
    ("--eager-prompt-iterations", "eager_prompt_iterations", True), ("--full-length-kv-pool", "full_length_kv_pool", True),
    ("--moe-allgather", "moe_allgather", True), ("--cuda-graph-padding", "cuda_graph_batch_sizes", PERF_OVERVIEW_BATCH_SIZES)])
def test_eval_serving_flag_reaches_the_job(flag, field, want, monkeypatch):
    """Each flag sets its :class:`ServingJob` field in the job ``eval --serving`` evaluates; without it, the default."""
    import archsweep.cli.serving as cli_serving

    jobs: list[Any] = []

    def fake_what_if(model, accelerator, count, job, *, fp4_native, disaggregation):  # the job, not the evaluation
        jobs.append(job)
        raise SystemExit(0)

    monkeypatch.setattr(cli_serving, "serving_what_if", fake_what_if)
    args = ["eval", "--serving", "--model", "deepseek-v3", "--accelerator", "H200", "--count", "8",
            "--input-tokens", "1024", "--output-tokens", "1024"]
    for extra in ([flag], []):
        with pytest.raises(SystemExit):
            main(args + extra)
    flagged, plain = jobs
    assert getattr(flagged, field) == want
    assert getattr(plain, field) in (False, ())
