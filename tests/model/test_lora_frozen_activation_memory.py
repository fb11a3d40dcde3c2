"""Issue 10 (s7-loramem): under LoRA the frozen projections keep no input for the backward
(TransformerEngine >= 2.1 linear.py / layernorm_linear.py: ``backward_needs_input = is_grad_enabled and
weight.requires_grad``); the adapters keep their own BF16 inputs. Full fine-tuning is unchanged."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from model_helpers import mapping_arrays

from archsweep.load.workloads import load_workload
from archsweep.model.training.activation_memory import activation_bytes_per_layer
from archsweep.spec.training import LORA_TARGETS


def _job(wl, mode: str, precision: str, targets: tuple[str, ...] = LORA_TARGETS):
    return replace(wl, training=replace(wl.training, mode=mode, precision=precision, lora_rank=16,
                                        lora_targets=targets))


def test_fp8_attention_adapters_drop_the_frozen_mlp_inputs():
    # Llama 2 70B, FP8, TP1, adapters on QKV + out-projection (the MLPerf recipe): the FC1 input (FP8 copy,
    # T h) and FC2 input (T ffn) go, the QKV base FP8 copy (T h) is replaced by the adapter's BF16 norm
    # output (2 T h), the out-projection's FP8 copy of the attention output (T q) goes.
    wl = load_workload("llama2-70b")
    mp = mapping_arrays()
    full = activation_bytes_per_layer(_job(wl, "finetune_full", "fp8"), mp, False)
    lora = activation_bytes_per_layer(_job(wl, "finetune_lora", "fp8", ("attention_qkv", "attention_dense")), mp, False)
    t = float(wl.training.seq_len)
    expected = t * (wl.hidden - wl.hidden - wl.heads * wl.head_dim - wl.ffn_hidden)
    np.testing.assert_allclose(lora - full, expected, rtol=1e-12)
    assert float((full - lora)[0] / full[0]) == pytest.approx(0.155, abs=0.005)


@settings(max_examples=40, deadline=None)
@given(stem=st.sampled_from(["llama2-70b", "llama3-8b", "gpt3-5b"]), tp=st.sampled_from([1, 2, 8]),
       sp=st.sampled_from([0, 1]), recompute=st.sampled_from([0, 1, 2]), flash=st.sampled_from([0, 1]),
       targets=st.sampled_from([LORA_TARGETS, ("attention_qkv", "attention_dense"), ("attention_qkv",), ("mlp_fc2",)]))
def test_bf16_lora_never_stores_more_than_full_finetuning(stem, tp, sp, recompute, flash, targets):
    # In BF16 an adapter keeps the very tensor the trained base Linear would have kept; frozen ones keep none.
    wl = load_workload(stem)
    mp = mapping_arrays(tp=tp, sequence_parallel=sp, recompute=recompute, flash_attention=flash)
    full = activation_bytes_per_layer(_job(wl, "finetune_full", "bf16"), mp, False)
    lora = activation_bytes_per_layer(_job(wl, "finetune_lora", "bf16", targets), mp, False)
    # but the QKV / FC1 adapters keep the norm output gathered over TP where the trained Linear keeps its SP shard
    norm_adapters = ("attention_qkv" in targets) + ("mlp_fc1" in targets)
    gathered = 2.0 * wl.training.seq_len * wl.hidden * norm_adapters * (1.0 - 1.0 / tp) * sp * (recompute != 2)
    assert np.all(lora <= full + gathered + 1e-6)
    assert np.all(lora > 0)
    if recompute == 2:  # full recompute keeps only the layer input either way
        np.testing.assert_array_equal(lora, full)


def test_all_four_bf16_adapters_store_what_full_finetuning_stores():
    wl = load_workload("llama3-8b")
    mp = mapping_arrays(tp=2.0, sequence_parallel=0.0)
    full = activation_bytes_per_layer(_job(wl, "finetune_full", "bf16"), mp, False)
    lora = activation_bytes_per_layer(_job(wl, "finetune_lora", "bf16"), mp, False)
    np.testing.assert_allclose(lora, full, rtol=1e-12)


@pytest.mark.parametrize("tp", [2.0, 4.0, 8.0])
def test_sequence_parallel_qkv_and_fc1_adapters_keep_the_gathered_norm_output(tp):
    # s26-P: under SP the QKV / FC1 adapter's linear_in saves the norm output gathered over TP (full sequence x h
    # on every rank: TE return_layernorm_output_gathered or the adapter's gather_from_sequence_parallel_region;
    # NeMo v2.0.0.rc0.beta mcore_mixins.py L70-L79, NeMo 2 peft/utils.py, Megatron-Bridge peft/utils.py), where a
    # trained Linear keeps its SP shard: LoRA keeps 2 B x T x h x (1 - 1/tp) more per adapted norm projection.
    wl = load_workload("llama3-8b")
    mp = mapping_arrays(tp=tp, sequence_parallel=1.0)
    full = activation_bytes_per_layer(_job(wl, "finetune_full", "bf16"), mp, False)
    lora = activation_bytes_per_layer(_job(wl, "finetune_lora", "bf16"), mp, False)
    np.testing.assert_allclose(lora - full, 2 * 2.0 * wl.training.seq_len * wl.hidden * (1.0 - 1.0 / tp), rtol=1e-9)
    attention_only = activation_bytes_per_layer(
        _job(wl, "finetune_lora", "bf16", ("attention_qkv", "attention_dense")), mp, False)
    no_sp = mapping_arrays(tp=tp, sequence_parallel=0.0)
    # without SP every norm output is whole already: nothing moves there
    np.testing.assert_allclose(activation_bytes_per_layer(_job(wl, "finetune_lora", "bf16"), no_sp, False),
                               activation_bytes_per_layer(_job(wl, "finetune_full", "bf16"), no_sp, False), rtol=1e-12)
    assert float(attention_only[0]) < float(lora[0])
