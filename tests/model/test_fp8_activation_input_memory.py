"""Issue 10 (s7-fp8act): ``activation_fp8_input_store`` (Megatron-Core ``activation_func_fp8_input_store``,
NeMo ``FP8_ACT``) keeps the SwiGLU input, the FC1 output (2 x ffn wide), in FP8 for the backward: one byte
per element less than BF16 (NVIDIA/Megatron-LM @d98e8a6 megatron/core/fusions/fused_bias_swiglu.py L180 /
L232). Only the stored activations change, by exactly that; full recompute and non-SwiGLU MLPs are untouched."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from model_helpers import mapping_arrays

from archsweep.load.calibration import load_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.training.activation_memory import activation_bytes_per_layer
from archsweep.model.training.memory import memory_per_accelerator


def _job(wl, fp8_act: bool, precision: str, mode: str):
    return replace(wl, training=replace(wl.training, precision=precision, mode=mode,
                                        lora_rank=16 if mode == "finetune_lora" else 0,
                                        activation_fp8_input_store=fp8_act))


@settings(max_examples=60, deadline=None)
@given(stem=st.sampled_from(["llama2-70b", "llama3-8b", "gpt3-5b"]), tp=st.sampled_from([1, 2, 8]),
       cp=st.sampled_from([1, 2]), mb=st.sampled_from([1, 2]), sp=st.sampled_from([0, 1]),
       recompute=st.sampled_from([0, 1, 2]), flash=st.sampled_from([0, 1]),
       precision=st.sampled_from(["bf16", "fp8"]), mode=st.sampled_from(["pretrain", "finetune_lora"]))
def test_flag_lowers_a_swiglu_layer_by_one_byte_per_fc1_output_element(stem, tp, cp, mb, sp, recompute, flash,
                                                                       precision, mode):
    wl = load_workload(stem)
    mp = mapping_arrays(tp=tp, cp=cp, micro_batch=mb, sequence_parallel=sp, recompute=recompute, flash_attention=flash)
    off = activation_bytes_per_layer(_job(wl, False, precision, mode), mp, False)
    on = activation_bytes_per_layer(_job(wl, True, precision, mode), mp, False)
    tokens = mb * wl.seq_len / cp
    expected = 2.0 * tokens * wl.ffn_hidden / tp if wl.ffn_type == "swiglu" and recompute != 2 else 0.0
    np.testing.assert_allclose(off - on, expected, rtol=1e-12, atol=1e-6)


def test_selective_mlp_recompute_frees_what_is_kept_either_way():
    # recompute_modules = mlp frees the FC1 output as stored: with the flag the same layer keeps the same bytes
    wl = load_workload("llama2-70b")
    mp = mapping_arrays(recompute=1.0)
    jobs = [replace(w, training=replace(w.training, recompute_modules=("core_attn", "mlp")))
            for w in (_job(wl, False, "fp8", "pretrain"), _job(wl, True, "fp8", "pretrain"))]
    off, on = (activation_bytes_per_layer(w, mp, False) for w in jobs)
    np.testing.assert_allclose(off, on, rtol=1e-12)


def test_only_the_activations_change_in_the_memory_breakdown():
    wl = load_workload("llama2-70b")
    mp = mapping_arrays(tp=2.0, pp=4.0, sequence_parallel=1.0)
    cal = load_calibration()
    dp, m = np.full(1, 8.0), np.full(1, 16.0)
    off = memory_per_accelerator(_job(wl, False, "fp8", "pretrain"), mp, dp, m, cal)
    on = memory_per_accelerator(_job(wl, True, "fp8", "pretrain"), mp, dp, m, cal)
    for part in ("weights_bytes", "gradients_bytes", "optimizer_bytes", "recompute_working_bytes", "delayed_wgrad_bytes",
                 "reserved_bytes"):
        np.testing.assert_array_equal(getattr(off, part), getattr(on, part))
    # first stage of PP4 1F1B holds min(pp, m) = 4 micro-batches of its 20 layers
    per_layer = 2.0 * wl.seq_len * wl.ffn_hidden / 2.0
    np.testing.assert_allclose(off.activations_bytes - on.activations_bytes, 20 * 4 * per_layer, rtol=1e-9)
    np.testing.assert_allclose(off.total_bytes - on.total_bytes, 20 * 4 * per_layer, rtol=1e-9)
