"""The ``param_gather_overlap`` training key (review finding 19, s8-m2): model YAML files, study entries and
``archsweep eval --[no-]param-gather-overlap`` set TrainingJob.param_gather_overlap through one check
(archsweep.load.job_options.bool_job_option), as the other job options; a study can model the overlap off."""

from __future__ import annotations

import json
from typing import Any

import pytest

from archsweep.cli.app import main
from archsweep.load.workloads import load_workload
from archsweep.whatif import WorkloadOverrides, apply_overrides

EVAL = ["eval", "--model", "llama3-8b", "--accelerator", "H100-SXM", "--count", "64", "--json",
        "--strategy", "tp=1,pp=1,vpp=1,mb=1,recompute=none,zero=1,sp=off,fa=on"]


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
