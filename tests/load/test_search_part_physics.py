"""The study checks of part-physics columns over a ``search:`` section (issue 10): the FP8 efficiency cap
(``matrix_efficiency`` x ``fp8_matrix_efficiency_ratio`` <= 1 over the searched ranges) and an NVFP4 job's
need for ``nvfp4_matrix_rate_ratio`` > 0 on every trial, by the same implementation as a sweep's
(:func:`archsweep.load.studychecks.check_part_physics_spaces`), keyed ``search.parameters``."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import yaml

from archsweep.load.study import load_study, parse_study
from archsweep.search.worker import batch_context, evaluate_batch
from archsweep.spec.errors import InputError, InputErrors

SEARCH_STUDY: dict[str, Any] = {
    "name": "sp", "base": "H100-SXM",
    "objectives": [{"column": "tokens_per_s", "direction": "maximize"}, {"column": "power_w", "direction": "minimize"}],
    "mapping": {"search": "best"},
    "workloads": [{"model": "llama3-8b", "name": "l8-fp8",
                   "training": {"global_batch": {"sequences": 64}, "precision": "fp8", "low_precision_recipe": "current"}}],
    "search": {"parameters": {"fp8_matrix_efficiency_ratio": {"range": [0.8, 1.2]},
                              "accelerator_count": {"values": [8]}},
               "trials": 8, "batch_size": 4},
}


def _problems(doc: dict[str, Any]) -> list:
    with pytest.raises((InputError, InputErrors)) as err:
        parse_study(doc, file="s.yaml")
    return list(err.value.problems) if isinstance(err.value, InputErrors) else [err.value.problem]


def test_a_searched_fp8_ratio_within_the_fp8_peak_is_accepted():
    study = parse_study(copy.deepcopy(SEARCH_STUDY), file="s.yaml")
    assert study.search is not None and "fp8_matrix_efficiency_ratio" in study.search.names


def test_a_searched_fp8_ratio_above_the_fp8_peak_is_refused_under_search_parameters():
    # H100-SXM matrix_efficiency 0.803: 1.3 x 0.803 = 104 % of the FP8 peak
    doc = copy.deepcopy(SEARCH_STUDY)
    doc["search"]["parameters"]["fp8_matrix_efficiency_ratio"] = {"range": [0.8, 1.3]}
    (p,) = _problems(doc)
    assert (p.file, p.key_path, p.value) == ("s.yaml", "search.parameters.fp8_matrix_efficiency_ratio", "1.3")
    assert "at most 1 / matrix_efficiency = 1.245" in p.allowed


def test_the_cap_uses_the_largest_searched_matrix_efficiency():
    doc = copy.deepcopy(SEARCH_STUDY)
    doc["search"]["parameters"]["matrix_efficiency"] = {"range": [0.7, 0.9]}  # 1.2 x 0.9 = 1.08
    (p,) = _problems(doc)
    assert p.key_path == "search.parameters.fp8_matrix_efficiency_ratio"
    assert "matrix_efficiency up to 0.9" in p.allowed


def test_a_sweep_and_a_search_are_checked_each_under_its_own_key():
    doc = copy.deepcopy(SEARCH_STUDY)
    doc["sampling"] = {"method": "grid"}
    doc["parameters"] = {"fp8_matrix_efficiency_ratio": {"values": [1.0, 1.4]}, "accelerator_count": {"values": [8]}}
    doc["search"]["parameters"]["fp8_matrix_efficiency_ratio"] = {"range": [0.8, 1.3]}
    keys = sorted(p.key_path for p in _problems(doc))
    assert keys == ["parameters.fp8_matrix_efficiency_ratio", "search.parameters.fp8_matrix_efficiency_ratio"]


def _nvfp4(doc: dict[str, Any]) -> dict[str, Any]:
    doc["workloads"][0]["training"]["low_precision_recipe"] = "nvfp4"
    return doc


def test_an_nvfp4_job_needs_an_nvfp4_rate_on_every_trial():
    doc = _nvfp4(copy.deepcopy(SEARCH_STUDY))
    doc["base"] = "B200"
    doc["search"]["parameters"] = {"nvfp4_matrix_rate_ratio": {"range": [0, 2.0]}, "accelerator_count": {"values": [8]}}
    (p,) = _problems(doc)
    assert (p.key_path, p.value) == ("search.parameters.nvfp4_matrix_rate_ratio", "0.0") and "l8-fp8" in p.allowed


def test_an_nvfp4_job_on_a_base_without_nvfp4_is_refused_once():
    doc = _nvfp4(copy.deepcopy(SEARCH_STUDY))  # H100-SXM: no NVFP4 peak, not searched
    doc["sampling"] = {"method": "grid"}
    doc["parameters"] = {"accelerator_count": {"values": [8]}}
    (p,) = _problems(doc)  # the sweep and the search evaluate the same base part: one problem
    assert (p.key_path, p.value) == ("workloads", "'l8-fp8'") and "H100-SXM" in p.allowed


def test_a_search_that_gives_a_hopper_base_an_nvfp4_rate_runs_and_a_faster_rate_is_faster(tmp_path):
    """The what-if the check allows evaluates: the NVFP4 check is made on the trials, not the base part."""
    doc = _nvfp4(copy.deepcopy(SEARCH_STUDY))
    doc["search"]["parameters"] = {"nvfp4_matrix_rate_ratio": {"range": [1.5, 2.0]}, "accelerator_count": {"values": [8]}}
    path = tmp_path / "sp.yaml"
    path.write_text(yaml.safe_dump(doc))
    study = load_study(path)
    (cols,) = evaluate_batch(batch_context(study), [{"nvfp4_matrix_rate_ratio": r, "accelerator_count": 8.0}
                                                    for r in (1.5, 2.0)])
    step = np.asarray(cols["step_time_s"], dtype=float)
    assert np.all(np.isfinite(step)) and step[1] < step[0]
