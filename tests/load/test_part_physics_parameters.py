"""Part-physics columns as study parameters (issue 10): a study sweeps them like any hardware parameter;
out-of-range values are refused when the study is read, naming the file, key path, value and what is
allowed; candidates that do not vary them keep the base part's values; ids of designs without part
physics are the ids they had before these columns existed."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from archsweep.candidates.evaluate import evaluation_columns, study_workload
from archsweep.candidates.ids import candidate_id
from archsweep.candidates.space import expand_space
from archsweep.load.catalog import get_accelerator
from archsweep.load.study import load_study, parse_study
from archsweep.load.technology import load_technology
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.hardware import PART_PHYSICS_PARAMETERS, HardwareArrays

STUDY: dict[str, Any] = {
    "name": "p", "base": "H100-SXM", "sampling": {"method": "grid"},
    "parameters": {"fp8_matrix_efficiency_ratio": {"values": [0.8, 1.0]}, "accelerator_count": {"values": [8]}},
    "objectives": [{"column": "tokens_per_s", "direction": "maximize"}],
    "mapping": {"strategy": "tp=1,pp=1,cp=1,mb=1,recompute=none,zero=1"},
    "workloads": [{"model": "llama3-8b", "name": "l8-fp8",
                   "training": {"global_batch": {"sequences": 64}, "precision": "fp8", "low_precision_recipe": "current"}}],
}


def _problems(doc: dict[str, Any]) -> list:
    with pytest.raises((InputError, InputErrors)) as err:
        parse_study(doc, file="s.yaml")
    return list(err.value.problems) if isinstance(err.value, InputErrors) else [err.value.problem]


def test_a_sweep_of_a_part_physics_column_keeps_the_other_physics_of_the_base():
    table = expand_space(parse_study(copy.deepcopy(STUDY), file="s.yaml"))
    h100 = get_accelerator("H100-SXM").design
    assert table.column("fp8_matrix_efficiency_ratio").to_pylist() == [0.8, 1.0]
    for p in PART_PHYSICS_PARAMETERS:
        if p.name != "fp8_matrix_efficiency_ratio":  # the base part's value, unrounded
            assert set(table.column(p.name).to_pylist()) == {getattr(h100, p.name)}, p.name


@pytest.mark.parametrize(("name", "spec", "key_path", "allowed"), [
    ("host_link_bw_bytes_per_s", {"values": ["-5 GB/s"]}, "parameters.host_link_bw_bytes_per_s.values[0]", "at least 0"),
    ("gemm_k_half_fp8", {"range": [-1, 100], "points": 3}, "parameters.gemm_k_half_fp8.range[0]", "at least 0"),
    ("fp8_matrix_efficiency_ratio", {"values": [0]}, "parameters.fp8_matrix_efficiency_ratio.values[0]", "greater than 0"),
    ("fp8_gemm_layouts", {"values": ["nt"]}, "parameters.fp8_gemm_layouts.values[0]", "tn_only, any"),
    ("scaleout_achieved_share", {"values": [0]}, "parameters.scaleout_achieved_share.values[0]", "greater than 0"),
    # at most 1 wherever a value is parsed (s13-user: ParameterInfo.maximum, named at the value itself)
    ("scaleout_achieved_share", {"values": [0.5, 1.2]}, "parameters.scaleout_achieved_share.values[1]",
     "a number at most 1"),
    # H100 matrix_efficiency 0.803: FP8 at 1.3 x 0.803 = 104 % of its peak
    ("fp8_matrix_efficiency_ratio", {"values": [1.0, 1.3]}, "parameters.fp8_matrix_efficiency_ratio", "at most 1 / matrix_efficiency"),
])
def test_out_of_range_part_physics_are_refused_with_file_key_value_and_allowed(name, spec, key_path, allowed):
    doc = copy.deepcopy(STUDY)
    doc["parameters"][name] = spec
    (p,) = _problems(doc)
    assert (p.file, p.key_path) == ("s.yaml", key_path)
    assert allowed in p.allowed


def test_an_nvfp4_job_needs_an_nvfp4_rate_on_every_candidate():
    doc = copy.deepcopy(STUDY)
    doc["base"] = "B200"
    doc["parameters"] = {"nvfp4_matrix_rate_ratio": {"values": [0, 2.0]}, "accelerator_count": {"values": [8]}}
    doc["workloads"][0]["training"]["low_precision_recipe"] = "nvfp4"
    (p,) = _problems(doc)
    assert (p.key_path, p.value) == ("parameters.nvfp4_matrix_rate_ratio", "0.0") and "l8-fp8" in p.allowed
    # A Hopper base without an NVFP4 peak, given an NVFP4 rate by the study: the what-if is allowed.
    doc["base"], doc["parameters"]["nvfp4_matrix_rate_ratio"] = "H100-SXM", {"values": [1.5, 2.0]}
    assert parse_study(doc, file="s.yaml").base == "H100-SXM"


def test_ids_without_part_physics_are_unchanged_and_a_physics_change_is_a_new_design():
    tpu = get_accelerator("TPU v5p").design.as_dict()  # every part-physics column at its neutral default
    bare = {k: v for k, v in tpu.items() if k not in {p.name for p in PART_PHYSICS_PARAMETERS}}
    assert candidate_id(tpu) == candidate_id(bare)
    assert candidate_id(dict(tpu, host_link_bw_bytes_per_s=64e9)) != candidate_id(tpu)


def test_the_example_study_sweeps_fp8_physics_as_physics_says():
    """spaces/fp8-physics.yaml: a higher FP8 efficiency is faster under either layout rule; any-layout
    FP8 GEMMs (no transpose copies under current scaling) are faster at every efficiency."""
    study = load_study("fp8-physics")
    table = expand_space(study)
    cols = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    hw = HardwareArrays.from_columns(cols)
    out = evaluation_columns(study, hw, cols["candidate_id"], study_workload(study, "llama3-8b-fp8"),
                             tech=load_technology(), run_id="t")
    step = np.asarray(out["step_time_s"], dtype=float)
    ratio, layout = cols["fp8_matrix_efficiency_ratio"], cols["fp8_gemm_layouts"]
    for rule in ("tn_only", "any"):
        sel = layout == rule
        assert np.all(np.diff(step[sel][np.argsort(ratio[sel])]) < 0), rule
    for r in np.unique(ratio):
        assert step[(ratio == r) & (layout == "any")] < step[(ratio == r) & (layout == "tn_only")]
