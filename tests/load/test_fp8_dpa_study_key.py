"""``fp8_dot_product_attention`` in a study entry or a model file's training job passes the schema (finB: the key
was read by archsweep.load.job_options but missing from the workload and study schemas, which refused it); both
schemas list exactly the job keys the loader reads."""

from __future__ import annotations

import copy
from pathlib import Path

import job_option_checks as opt

from archsweep.candidates.evaluate import study_workload
from archsweep.load.schema import load_schema
from archsweep.load.study import parse_study
from archsweep.load.workloads import _JOB_KEYS, load_workload

KEY = "fp8_dot_product_attention"


def test_a_study_entry_sets_it() -> None:
    doc = opt.study_doc("opt", "tp=8,pp=1,cp=1,mb=1,recompute=none,zero=1",
                        [{"model": "llama3-8b", "name": "asked", "training": {"precision": "fp8", KEY: True}}, "llama3-8b"])
    study = parse_study(copy.deepcopy(doc), file="s.yaml")
    assert study_workload(study, "asked").training.fp8_dot_product_attention is True
    assert study_workload(study, "llama3-8b").training.fp8_dot_product_attention is False


def test_a_model_file_sets_it(tmp_path: Path) -> None:
    path = opt.model_file_with(tmp_path, "llama3-8b", f"{KEY}: true")
    text = path.read_text()
    path.write_text(text.replace("precision: bf16", "precision: fp8") if "precision: bf16" in text
                    else text.replace(f"{KEY}: true", f"{KEY}: true\n  precision: fp8"))
    assert load_workload(path).training.fp8_dot_product_attention is True


def test_the_schemas_list_every_job_key_the_loader_reads() -> None:
    workload = set(load_schema("workload")["properties"]["training"]["properties"])
    study = set(load_schema("study")["$defs"]["training_workload"]["properties"]["training"]["properties"])
    assert workload == study == set(_JOB_KEYS)
