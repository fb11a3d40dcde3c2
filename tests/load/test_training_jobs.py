"""Architecture vs training job (issue 9): the types, the model files, study entries, eval overrides."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from archsweep.candidates.evaluate import evaluation_columns, study_workload
from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.paths import models_dir
from archsweep.load.study import parse_study
from archsweep.load.technology import load_technology
from archsweep.load.workloads import (
    load_architecture,
    load_default_training,
    load_workload,
)
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.serving import ServingWorkload
from archsweep.spec.training import TrainingJob
from archsweep.spec.workload import Workload
from archsweep.whatif import WorkloadOverrides, apply_overrides

STUDY: dict[str, Any] = {
    "name": "t", "workloads": ["llama3-8b"], "base": "H100-SXM",
    "parameters": {"clock_hz": {"values": ["1.5 GHz", "1.98 GHz"]}}, "sampling": {"method": "grid"},
    "objectives": [{"column": "tokens_per_s", "direction": "maximize"}],
}


def study(*workloads: Any):
    doc = copy.deepcopy(STUDY)
    doc["workloads"] = list(workloads)
    return parse_study(doc, file="<test>")


def problems(exc: InputError | InputErrors) -> list[tuple[str, str]]:
    items = exc.problems if isinstance(exc, InputErrors) else [exc.problem]
    return [(p.key_path, p.value) for p in items]


# ---- types -----------------------------------------------------------------------------------

def test_job_is_its_own_type_and_workload_delegates():
    wl = load_workload("llama3-70b")
    assert wl.architecture == load_architecture("llama3-70b")
    assert wl.training == load_default_training("llama3-70b")
    assert wl.training == TrainingJob(global_batch_seqs=512, seq_len=8192, precision="bf16", mode="pretrain",
                                      total_tokens=15e12)
    assert (wl.layers, wl.hidden, wl.kv_heads, wl.seq_len) == (80, 8192, 8, 8192)
    assert wl.tokens_per_step == 512 * 8192 == wl.training.tokens_per_step
    assert wl.total_params == pytest.approx(70.6e9, rel=0.01)  # Llama 3 paper, Table 3
    assert wl.lora_params == 0.0 and wl.trainable_params == wl.total_params


def test_lora_params_come_from_the_architecture_at_the_jobs_rank():
    wl = load_workload("llama3-8b")
    lora = Workload(wl.name, wl.architecture, TrainingJob(global_batch_seqs=8, seq_len=4096, mode="finetune_lora",
                                                          lora_rank=16))
    # rank 16 on q, k, v, o and gate, up, down of 32 layers: 16 * (4096+4096 + 2*(4096+1024) + 4096+4096
    # + 3*(4096+14336)) per layer = 41.9M (the QLoRA "all linear layers" setting).
    assert lora.lora_params == pytest.approx(32 * 16 * (4 * 4096 + 2 * 5120 + 3 * (4096 + 14336)))
    assert lora.lora_params == wl.architecture.lora_params(16) == lora.trainable_params


@pytest.mark.parametrize(("key", "value"), [("global_batch_seqs", 0), ("seq_len", 0), ("precision", "fp4"),
                                            ("mode", "rlhf")])
def test_training_job_rejects_bad_values(key: str, value: object):
    fields: dict[str, Any] = {"global_batch_seqs": 8, "seq_len": 2048, key: value}
    with pytest.raises(InputError) as err:
        TrainingJob(**fields)
    assert err.value.problem.key_path == key


# ---- model files: optional default job, seq_len in either section ------------------------------

def _models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    for stem in ("llama3-8b", "gpt3-175b"):
        shutil.copy(models_dir() / f"{stem}.yaml", folder)
    text = (models_dir() / "llama3-8b.yaml").read_text()
    arch_only = re.sub(r"(?ms)^training:.*", "", text).replace("name: llama3-8b", "name: arch-only")
    (folder / "arch-only.yaml").write_text(arch_only)
    monkeypatch.setenv("ARCHSWEEP_MODELS_DIR", str(folder))
    return folder


def test_model_without_default_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _models(tmp_path, monkeypatch)
    assert load_architecture("arch-only").layers == 32
    assert load_default_training("arch-only") is None
    with pytest.raises(InputError) as err:
        load_workload("arch-only")
    assert err.value.problem.key_path == "training" and "study entry" in err.value.problem.allowed


def test_seq_len_in_the_training_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = _models(tmp_path, monkeypatch)
    text = (folder / "llama3-8b.yaml").read_text()
    moved = re.sub(r"(?m)^  seq_len:.*\n", "", text).replace("training:\n", "training:\n  seq_len: 4096\n")
    (folder / "llama3-8b.yaml").write_text(moved)
    wl = load_workload("llama3-8b")
    assert wl.seq_len == 4096 and wl.training.global_batch_seqs * 4096 == wl.tokens_per_step
    both = text.replace("training:\n", "training:\n  seq_len: 4096\n")
    (folder / "llama3-8b.yaml").write_text(both)
    with pytest.raises(InputError) as err:
        load_workload("llama3-8b")
    assert err.value.problem.key_path == "training.seq_len"


# ---- study entries --------------------------------------------------------------------------

def test_plain_stems_keep_the_default_job():
    s = study("llama3-70b")
    assert s.training == () and study_workload(s, "llama3-70b") == load_workload("llama3-70b")


def test_study_overrides_any_subset_of_the_default_job():
    s = study("llama3-70b",
              {"model": "gpt3-175b", "name": "gpt3-fp8", "training": {"precision": "fp8"}},
              {"model": "llama3-70b", "name": "llama3-70b-8m", "training": {"global_batch": {"tokens": "8Mi"}}},
              {"model": "llama3-8b", "name": "lora", "training": {"mode": "finetune_lora", "lora_rank": 16,
                                                                 "seq_len": 4096, "total_tokens": "1B"}})
    assert s.workloads == ("llama3-70b", "gpt3-fp8", "llama3-70b-8m", "lora")
    gpt = s.training_workload("gpt3-fp8")
    assert gpt is not None and gpt.model == "gpt3-175b"
    assert gpt.job == TrainingJob(global_batch_seqs=1536, seq_len=2048, precision="fp8", total_tokens=300e9)
    big = study_workload(s, "llama3-70b-8m")
    assert big.name == "llama3-70b-8m" and big.training.global_batch_seqs == 1024  # 8Mi / 8192
    assert big.architecture == load_architecture("llama3-70b")
    lora = study_workload(s, "lora")
    assert isinstance(lora, Workload)
    assert (lora.training.mode, lora.training.lora_rank, lora.seq_len) == ("finetune_lora", 16, 4096)
    assert lora.training.global_batch_seqs == load_workload("llama3-8b").training.global_batch_seqs  # kept in sequences
    assert lora.training.total_tokens == 1e9


def test_name_defaults_to_the_model_stem():
    s = study({"model": "gpt3-175b", "training": {"precision": "fp8"}})
    assert s.workloads == ("gpt3-175b",) and study_workload(s, "gpt3-175b").training.precision == "fp8"


@pytest.mark.parametrize(("training", "key_path"), [
    ({"precision": "fp9"}, "workloads[1].training.precision"),
    ({"precison": "fp8"}, "workloads[1].training.precison"),
    ({"global_batch": {"tokens": "4M"}}, "workloads[1].training.global_batch.tokens"),  # not a multiple of 2048
    ({"global_batch": {"sequences": 0}}, "workloads[1].training.global_batch.sequences"),
    ({"mode": "finetune_lora"}, "workloads[1].training.lora_rank"),
    ({"lora_rank": 8}, "workloads[1].training.lora_rank"),
    ({"total_tokens": "lots"}, "workloads[1].training.total_tokens"),
])
def test_bad_overrides_name_the_key_path(training: dict[str, Any], key_path: str):
    with pytest.raises((InputError, InputErrors)) as err:
        study("llama3-8b", {"model": "gpt3-175b", "training": training})
    assert key_path in [k for k, _ in problems(err.value)]


def test_duplicate_label_and_mixed_entry_are_refused():
    with pytest.raises((InputError, InputErrors)) as err:
        study("gpt3-175b", {"model": "gpt3-175b", "training": {"precision": "fp8"}})
    assert ("workloads[1].name", "'gpt3-175b'") in problems(err.value)
    with pytest.raises((InputError, InputErrors)) as err:
        study({"model": "gpt3-175b", "training": {}, "serving": {"input_tokens": 1, "output_tokens": 1}})
    assert "workloads[0].training" in [k for k, _ in problems(err.value)]


def test_model_without_default_job_needs_the_study_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _models(tmp_path, monkeypatch)
    with pytest.raises((InputError, InputErrors)) as err:
        study("arch-only")
    assert [k for k, _ in problems(err.value)] == ["workloads[0]"]
    with pytest.raises((InputError, InputErrors)) as err:
        study({"model": "arch-only", "training": {"precision": "fp8"}})
    assert [k for k, _ in problems(err.value)] == ["workloads[0].training.global_batch"]
    s = study({"model": "arch-only", "training": {"global_batch": {"sequences": 64}}})
    wl = study_workload(s, "arch-only")
    # seq_len from the file's architecture.seq_len (8192), defaults bf16 / pretrain
    assert wl.training == TrainingJob(global_batch_seqs=64, seq_len=8192)
    serving = study({"model": "arch-only", "serving": {"input_tokens": 128, "output_tokens": 16}})
    assert isinstance(study_workload(serving, "arch-only-serving-128-16"), ServingWorkload)


# ---- evaluation under the study's job ---------------------------------------------------------

def test_evaluation_uses_the_studys_job():
    s = study("llama3-8b", {"model": "llama3-8b", "name": "llama3-8b-2x",
                            "training": {"global_batch": {"sequences": 2 * 512}}})
    hw = HardwareArrays.from_designs(get_accelerator("H100-SXM").design.replace(accelerator_count=64))
    ids = np.asarray(["c0"])
    tech = load_technology()
    base = evaluation_columns(s, hw, ids, study_workload(s, "llama3-8b"), tech=tech, run_id="r")
    big = evaluation_columns(s, hw, ids, study_workload(s, "llama3-8b-2x"), tech=tech, run_id="r")
    assert base["workload"][0] == "llama3-8b" and big["workload"][0] == "llama3-8b-2x"
    def tokens_per_step(cols: dict[str, np.ndarray]) -> float:
        return float(cols["tokens_per_s"][0] * cols["step_time_s"][0])

    assert tokens_per_step(base) == pytest.approx(512 * 8192, rel=1e-9)
    assert tokens_per_step(big) == pytest.approx(2 * 512 * 8192, rel=1e-9)
    # Twice the work per step: a longer step, but at most twice as long (the pipeline bubble and
    # the gradient all-reduce are amortised over more micro-batches).
    assert float(base["step_time_s"][0]) < float(big["step_time_s"][0]) <= 2 * float(base["step_time_s"][0]) * (1 + 1e-9)


# ---- archsweep eval job options ----------------------------------------------------------------

def test_eval_overrides_cover_the_job():
    wl = load_workload("llama3-8b")
    lora = apply_overrides(wl, WorkloadOverrides(mode="finetune_lora", lora_rank=16, seq_len=4096, total_tokens="2B"))
    assert (lora.training.mode, lora.training.lora_rank, lora.seq_len, lora.training.total_tokens) == \
        ("finetune_lora", 16, 4096, 2e9)
    assert lora.architecture is wl.architecture and lora.lora_params > 0
    with pytest.raises(InputError) as err:
        apply_overrides(wl, WorkloadOverrides(mode="finetune_lora"))
    assert err.value.problem.key_path == "--lora-rank"
    with pytest.raises(InputError) as err:
        apply_overrides(wl, WorkloadOverrides(mode="rlhf"))
    assert err.value.problem.key_path == "--mode"
    cal, tech = load_calibration(), load_technology()
    hw = HardwareArrays.from_designs(get_accelerator("H100-SXM").design.replace(accelerator_count=8))
    full = evaluate_design_batch(hw, wl, tech=tech, calibration=cal)
    tuned = evaluate_design_batch(hw, apply_overrides(wl, WorkloadOverrides(mode="finetune_lora", lora_rank=16)),
                                  tech=tech, calibration=cal)
    assert float(tuned["step_time_s"][0]) < float(full["step_time_s"][0])  # no weight-gradient GEMMs
