"""The ``activation_fp8_input_store`` training key (issue 10, s7-fp8act): model YAML files, study entries and
``archsweep eval --fp8-act`` set it through one check (archsweep.load.job_options.fp8_act_option)."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import job_option_checks as opt
import numpy as np
import pytest

from archsweep.candidates.evaluate import study_workload
from archsweep.load.calibration import load_calibration
from archsweep.load.study import parse_study
from archsweep.load.workloads import load_workload, training_job
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.memory import memory_per_accelerator
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.training import TrainingJob
from archsweep.whatif import WorkloadOverrides, apply_overrides


def test_an_empty_training_mapping_keeps_the_job() -> None:
    base = TrainingJob(64, 4096)  # setting and keeping it: tests/load/test_bool_job_options.py
    assert training_job({}, base=base, default_seq_len=None, file="f.yaml", key="training") == base


@pytest.mark.parametrize(("value", "ffn_type", "shown", "allowed"), [
    (True, "gelu", "True", "false for a gelu MLP (Megatron-Core stores the activation input in FP8 only for SwiGLU)"),
])
def test_bad_values_name_file_key_value_and_what_is_allowed(value: Any, ffn_type: str, shown: str,
                                                            allowed: str) -> None:
    problem = opt.bad_value_problem("activation_fp8_input_store", value, ffn_type=ffn_type)
    assert (problem.file, problem.key_path, problem.value, problem.allowed) == (
        "f.yaml", "training.activation_fp8_input_store", shown, allowed)


def test_eval_override_sets_it_and_names_the_flag() -> None:
    wl = load_workload("llama2-70b")
    assert apply_overrides(wl, WorkloadOverrides(activation_fp8_input_store=True)).training.activation_fp8_input_store
    gelu = load_workload("gpt3-5b")
    assert gelu.architecture.ffn_type != "swiglu"
    with pytest.raises((InputError, InputErrors)) as err:
        apply_overrides(gelu, WorkloadOverrides(activation_fp8_input_store=True))
    [problem] = opt.problems(err)
    assert problem.key_path == "--fp8-act"


def _model_file(tmp_path: Path, stem: str, value: str) -> Path:
    return opt.model_file_with(tmp_path, stem, f"activation_fp8_input_store: {value}")


@pytest.mark.parametrize(("stem", "value", "allowed"), [
    ("gpt3-5b", "true", "false for a gelu MLP (Megatron-Core stores the activation input in FP8 only for SwiGLU)"),
])
def test_a_bad_model_file_exits_2_naming_file_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], stem: str,
                                                      value: str, allowed: str | None) -> None:
    path, err = opt.eval_refuses_model_file(tmp_path, capsys, stem, f"activation_fp8_input_store: {value}")
    assert err.startswith(f"archsweep: error: {path}: training.activation_fp8_input_store: got ")
    assert allowed is None or err.strip().endswith(allowed)


def test_a_study_entry_sets_it_and_names_the_key_path() -> None:
    doc = opt.study_doc("fa", "tp=8,pp=1,cp=1,mb=1,recompute=none,zero=1",
                    [{"model": "llama3-8b", "name": "l8-fa", "training": {"activation_fp8_input_store": True}}, "llama3-8b"])
    study = parse_study(copy.deepcopy(doc), file="s.yaml")
    assert study_workload(study, "l8-fa").training.activation_fp8_input_store
    assert not study_workload(study, "llama3-8b").training.activation_fp8_input_store
    doc["workloads"][0] = {"model": "gpt3-5b", "training": {"activation_fp8_input_store": True}}
    problem = opt.study_problem(doc)
    assert (problem.file, problem.key_path) == ("s.yaml", "workloads[0].training.activation_fp8_input_store")


def test_a_bf16_override_keeps_the_store_as_megatron_core_does() -> None:
    """The SwiGLU input store is a cast of the saved tensor, not part of an FP8 recipe: Megatron-Core's
    ``BiasSwiGLUFunction.forward`` saves ``input.to(torch.float8_e4m3fn) if fp8_input_store`` whatever the GEMMs run
    in, and ``TransformerConfig`` rejects the flag only for a non-SwiGLU MLP (NVIDIA/Megatron-LM @d98e8a64dd
    megatron/core/fusions/fused_bias_swiglu.py L180, transformer/transformer_config.py L2467-2469). So a study entry
    that turns an FP8 job into BF16 keeps it (the FP8-only options, the recipe and FP8 attention, are dropped), and
    it still halves the stored SwiGLU input (s14-energy, s13's note 5 checked: kept by design)."""
    wl = load_workload("llama2-70b")
    fp8 = replace(wl.training, precision="fp8", activation_fp8_input_store=True, fp8_dot_product_attention=True)
    bf16 = training_job({"precision": "bf16"}, base=fp8, default_seq_len=None, file="s.yaml", key="workloads[0].training",
                        ffn_type="swiglu")
    assert bf16.precision == "bf16" and bf16.activation_fp8_input_store and not bf16.fp8_dot_product_attention
    kw = dict(tp=8, pp=1, cp=1, ep=1, vpp=1, micro_batch=1, recompute=0, zero_stage=1, sequence_parallel=1,
              flash_attention=1, tp_overlap=0, dp_overlap=1)
    mp = MappingArrays(**{k: np.asarray([float(v)]) for k, v in kw.items()})
    stored = [float(memory_per_accelerator(replace(wl, training=replace(bf16, activation_fp8_input_store=on)), mp,
                                           np.asarray([8.0]), np.asarray([8.0]), load_calibration()).activations_bytes[0])
              for on in (True, False)]
    assert stored[0] < stored[1]
