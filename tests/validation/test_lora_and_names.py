"""Issue 10: LoRA physics (frozen base weights) and the CSV model-string -> models/ stem rules."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation.row_workload import _stem_for, row_training_mode

TECH, CAL = load_technology(), load_calibration()


def _run(wl, part, count, strategy):
    hw = HardwareArrays.from_designs(get_accelerator(part).design.replace(accelerator_count=count))
    return evaluate_design_batch(hw, wl, tech=TECH, calibration=CAL, strategy=strategy, infeasible="least_violating")


ALL = ("attention_qkv", "attention_dense", "mlp_fc1", "mlp_fc2")


def _modes(stem, targets=ALL):
    wl = load_workload(stem)
    full = replace(wl, training=replace(wl.training, mode="finetune_full", lora_rank=0))
    lora = replace(wl, training=replace(wl.training, mode="finetune_lora", lora_rank=16, lora_targets=targets))
    return full, lora


def _never_slower(stem, strategy, targets):
    full, lora = _modes(stem, targets)
    a, b = _run(full, "H100-SXM", 8, strategy), _run(lora, "H100-SXM", 8, strategy)
    assert float(b["step_time_s"][0]) <= float(a["step_time_s"][0])
    assert float(b["memory_per_accelerator_bytes"][0]) < float(a["memory_per_accelerator_bytes"][0])


@settings(max_examples=15, deadline=None)
@given(stem=st.sampled_from(["llama2-7b", "llama3-8b", "mixtral-8x7b", "llama2-70b"]), tp=st.sampled_from([1, 2, 4, 8]),
       mb=st.sampled_from([1, 2]), recompute=st.sampled_from(["none", "full"]))
def test_lora_on_column_parallel_targets_never_slower_than_full_finetuning(stem, tp, mb, recompute):
    # NeMo 1.x's default target (attention_qkv): the adapter exchanges only T x r tensors over TP,
    # and the weight-gradient GEMMs it drops outweigh its kernels at every TP and recompute setting.
    _never_slower(stem, f"tp={tp},pp=1,cp=1,mb={mb},recompute={recompute},zero=1", ("attention_qkv",))


@settings(max_examples=8, deadline=None)
@given(stem=st.sampled_from(["llama2-7b", "llama3-8b", "mixtral-8x7b", "llama2-70b"]), mb=st.sampled_from([1, 2]))
def test_lora_on_all_projections_never_slower_without_tp_or_recompute(stem, mb):
    # Not asserted beyond this because it does not hold in NeMo's implementation: (1) under TP an
    # adapter on a row-parallel projection (attention_dense, mlp_fc2) returns its T x h output by a
    # synchronous all-gather (with LORA_A2A an all-to-all) outside TE's overlap, as large as the base
    # layer's own SP exchange (parallel_adapters.py ParallelLinearAdapter: linear_out
    # gather_output=True; NVIDIA's MLPerf LoRA sets LORA_A2A=1 for this); (2) full recompute re-runs
    # every adapter's forward kernels, and on 7-8B models at T = 4096 the output-sized scale + add of
    # the fc1 adapter (T x 2 ffn) then nearly equal the weight-gradient GEMMs saved (model, H100:
    # llama2-7b TP1 full recompute, all four 1.04x full fine-tuning, qkv only 0.86x).
    _never_slower(stem, f"tp=1,pp=1,cp=1,mb={mb},recompute=none,zero=1", ALL)


def test_lora_backward_drops_the_weight_gradient_gemms():
    # Compute-bound 70B layer on one 8-GPU node: forward F, full backward ~2F, frozen backward ~F.
    # Adapter on the QKV projection only, so the adapter kernels (priced separately) stay small.
    full, lora = _modes("llama2-70b", ("attention_qkv",))
    s = "tp=8,pp=1,cp=1,mb=1,recompute=none,zero=1"
    a, b = _run(full, "H100-SXM", 8, s), _run(lora, "H100-SXM", 8, s)
    ratio = float(b["compute_time_s"][0]) / float(a["compute_time_s"][0])
    assert 0.6 < ratio < 0.8  # (1 + 1) / (1 + 2) = 0.67 for the GEMMs, attention core unchanged
    # No frozen gradients or optimizer state: 70B weights in BF16 over 8 GPUs, ~17.5 GB + activations.
    assert float(b["memory_optimizer_bytes"][0]) < 1e9


@pytest.mark.parametrize(("text", "stem"), [
    ("GPT 175B (GPT-3)", "gpt3-175b"), ("GPT-3 175B (MLPerf gpt3 benchmark)", "gpt3-175b"), ("GPT3-20B", "gpt3-20b"),
    ("LLAMA3.1-405B", "llama3-405b"), ("LLAMA2-13B LoRA", "llama2-13b"), ("LLAMA2-70B SFT", "llama2-70b"),
    ("Llama 2 70B LoRA fine-tune (MLPerf llama2_70b_lora)", "llama2-70b"), ("Nemotron-22B", "nemotron3-22b"),
    ("Nemotron-340B", "nemotron4-340b"), ("GPT OSS 120B", "gpt-oss-120b"), ("Qwen3_235B_a22B", "qwen3-235b-a22b"),
    ("DeepSeekV3 (w/o MTP)", "deepseek-v3"), ("DeepSeek-R1-0528", "deepseek-v3"), ("GPT 1T", "megatron-1t"),
    ("MPT-7b", "mpt-7b"), ("GPT-174.6B", None),
])
def test_model_string_resolves_by_rule(text, stem):
    assert _stem_for(text) == stem


def test_training_mode_from_row_text():
    assert row_training_mode({"model": "LLAMA2-7B LoRA"}) == ("finetune_lora", 16)
    assert row_training_mode({"model": "x", "arch_type": "dense + LoRA rank 8"}) == ("finetune_lora", 8)
    assert row_training_mode({"model": "LLAMA2-7B SFT"}) == ("finetune_full", 0)
    assert row_training_mode({"model": "LLAMA3-70B"}) == ("pretrain", 0)
