"""Issue 10 (s19-B): the time of the FP8 copy a SwiGLU keeps of its input (``activation_fp8_input_store``).

Megatron-Core's ``SwiGLUFunction`` / ``BiasSwiGLUFunction`` (megatron/core/fusions/fused_bias_swiglu.py, the
casts at L44 / L53 and L62 / L71 of core_v0.7.0.beta, 24.09-alpha.rc0 and 25.04-alpha.rc1) save
``input.to(torch.float8_e4m3fn)`` in the forward and turn it back with ``.to(ori_input_dtype)`` in the backward,
each a kernel of its own outside the fused activation: 3 B of HBM traffic per FC1-output element each way plus
one launch. s7-fp8act priced the memory this saves; these tests pin the time it costs, and the properties the
term must keep: nothing without the flag or without SwiGLU, LoRA still steps faster than full fine-tuning, the
flag never makes a step faster."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from model_helpers import mapping_arrays

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.activation_store import FP8_STORE_CAST_BYTES_PER_ELEMENT
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.gemm import scalar_part_physics
from archsweep.model.transformer import layer_costs
from archsweep.spec.hardware import HardwareArrays

TECH, CAL = load_technology(), load_calibration()
ATTN = ("attention_qkv", "attention_dense")


def _hw(part: str = "B200", count: int = 8) -> HardwareArrays:
    return HardwareArrays.from_designs(get_accelerator(part).design.replace(accelerator_count=count))


def _job(stem: str, fp8_act: bool, mode: str = "finetune_lora", precision: str = "fp8"):
    """``stem`` in ``mode`` and ``precision``, global batch 8; LoRA on attention as the MLPerf NeMo configurations run
    it (``tp_overlap_disable_qkv``: without it an overlapped QKV all-gather makes NeMo's adapter gather its input
    again, exposed, and at TP4 CP2 on B200 that alone makes LoRA step slower than full fine-tuning)."""
    wl = load_workload(stem)
    lora = mode == "finetune_lora"
    return replace(wl, training=replace(wl.training, precision=precision, mode=mode, lora_rank=16 if lora else 0,
                                        global_batch_seqs=8, tp_overlap_disable_qkv=lora,
                                        lora_targets=ATTN if lora else wl.training.lora_targets,
                                        activation_fp8_input_store=fp8_act))


def _cast_s(hw, elements) -> float:
    """One cast over ``elements`` FC1-output elements: 3 B each at HBM bandwidth x hbm_bw_efficiency, + a launch."""
    bw = float(np.ravel(hw.hbm_bw_bytes_per_s)[0]) * CAL.hbm_bw_efficiency
    return FP8_STORE_CAST_BYTES_PER_ELEMENT * elements / bw + CAL.kernel_overhead_s


def _seq(wl, seq_len: int):
    return replace(wl, training=replace(wl.training, seq_len=seq_len))


def _layer(wl, hw, tp: float = 1.0, cp: float = 1.0):
    mp = mapping_arrays(tp=tp, cp=cp)
    peak = hw.peak_matrix_flops_fp8 if wl.training.precision == "fp8" else hw.peak_matrix_flops_bf16
    return layer_costs(hw, wl, mp, CAL, peak)


@pytest.mark.parametrize("tp,cp", [(1.0, 1.0), (1.0, 2.0), (4.0, 2.0)])
@pytest.mark.parametrize("mode", ["finetune_lora", "pretrain"])
def test_the_flag_adds_one_cast_each_way_over_every_fc1_output_element(tp, cp, mode):
    hw = scalar_part_physics(_hw())
    off, on = (_layer(_job("llama2-70b", flag, mode), hw, tp, cp) for flag in (False, True))
    wl = load_workload("llama2-70b")
    elements = wl.seq_len / cp * 2.0 * wl.ffn_hidden / tp
    cast = _cast_s(hw, elements)
    np.testing.assert_allclose(on.dense_fwd_s - off.dense_fwd_s, cast, rtol=1e-9)
    np.testing.assert_allclose(on.dense_bwd_s - off.dense_bwd_s, cast, rtol=1e-9)
    np.testing.assert_allclose(on.dense_hbm_bytes - off.dense_hbm_bytes, 3.0 * elements, rtol=1e-12)
    np.testing.assert_array_equal(on.dense_flops, off.dense_flops)
    np.testing.assert_array_equal(on.attn_core_fwd_s, off.attn_core_fwd_s)


def test_the_b200_tp1_lora_layer_pays_about_four_tenths_of_a_millisecond():
    # Llama 2 70B, 8192 tokens, TP1 on B200 (8 TB/s x 0.88): 2 x 1.41 GB of casts, ~0.40 ms a layer and micro-batch
    hw = scalar_part_physics(_hw())
    off, on = (_layer(_seq(_job("llama2-70b", flag), 8192), hw) for flag in (False, True))
    added = float(np.ravel((on.dense_fwd_s + on.dense_bwd_s) - (off.dense_fwd_s + off.dense_bwd_s))[0])
    assert 0.38e-3 < added < 0.42e-3


def test_nothing_without_swiglu():
    # gpt3 MLPs are GELU: Megatron-Core refuses the flag there (transformer_config.py), the model ignores it
    hw = scalar_part_physics(_hw("H100-SXM"))
    off, on = (_layer(_job("gpt3-5b", flag, "pretrain"), hw, tp=2.0) for flag in (False, True))
    np.testing.assert_array_equal(on.dense_fwd_s, off.dense_fwd_s)
    np.testing.assert_array_equal(on.dense_bwd_s, off.dense_bwd_s)


def test_moe_layer_pays_it_over_every_routed_copy():
    hw = scalar_part_physics(_hw())
    wl0 = load_workload("qwen3-30b-a3b")
    jobs = [replace(wl0, training=replace(wl0.training, activation_fp8_input_store=flag)) for flag in (False, True)]
    mp = mapping_arrays(ep=8.0)
    off, on = (layer_costs(hw, w, mp, CAL, hw.peak_matrix_flops_bf16) for w in jobs)
    moe = wl0.moe
    elements = wl0.seq_len * 2.0 * (moe.top_k * moe.capacity_factor + moe.shared_experts) * moe.expert_ffn_hidden
    cast = _cast_s(hw, elements)
    np.testing.assert_allclose(on.moe_fwd_s - off.moe_fwd_s, cast, rtol=1e-9)
    np.testing.assert_allclose(on.moe_bwd_s - off.moe_bwd_s, cast, rtol=1e-9)


@pytest.mark.parametrize("strategy", ["tp=1,pp=1,cp=1,mb=1,recompute=none,zero=1,sp=off,tp_overlap=off",
                                      "tp=4,pp=1,cp=2,mb=1,recompute=none,zero=1,sp=on,tp_overlap=on",
                                      "tp=2,pp=2,cp=1,mb=1,recompute=full,zero=1,sp=on,tp_overlap=off"])
def test_the_flag_never_makes_a_step_faster_and_lora_stays_faster_than_full_finetuning(strategy):
    hw = _hw()
    kw = dict(tech=TECH, calibration=CAL, infeasible="least_violating")
    step = {(mode, flag): float(evaluate_design_batch(hw, _job("llama2-70b", flag, mode), strategy=strategy,
                                                      **kw)["step_time_s"][0])
            for mode in ("finetune_lora", "finetune_full") for flag in (False, True)}
    for mode in ("finetune_lora", "finetune_full"):
        assert step[(mode, True)] > step[(mode, False)]
    for flag in (False, True):
        assert step[("finetune_lora", flag)] < step[("finetune_full", flag)]
