"""Issue 10 (s26-B): a LoRA adapter dropout that is not recomputed (``lora_dropout_recompute`` false: NeMo 1.x
``ParallelLinearAdapter``, ``nn.Dropout`` before ``linear_in``) keeps a 1 B mask and the dropped 2 B copy per
element of each adapted input; the default (recomputed, NVIDIA's MLPerf v5.0 recipe) keeps nothing."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from model_helpers import mapping_arrays

from archsweep.load.workloads import load_workload
from archsweep.model.training.activation_memory import activation_bytes_per_layer
from archsweep.spec.training import LORA_TARGETS


def _job(wl, targets: tuple[str, ...] = ("attention_qkv", "attention_dense"), dropout: float = 0.1,
         recompute: bool = True):
    return replace(wl, training=replace(wl.training, mode="finetune_lora", precision="fp8", lora_rank=16,
                                        lora_targets=targets, lora_dropout=dropout, lora_dropout_recompute=recompute))


def test_the_mlperf_recipe_stores_four_bytes_per_token_and_hidden_element():
    # Llama 2 70B, TP1, adapters on QKV + out-projection: +1 B on the QKV input (mask; the dropped copy takes the
    # place of the norm output the adapter kept) and +3 B on the attention output (flash attention keeps it too):
    # 4 x 4096 tokens (the workload's) x 8192 = 134 MB per layer (268 MB at the MLPerf benchmark's 8192).
    wl = load_workload("llama2-70b")
    mp = mapping_arrays()
    kept = activation_bytes_per_layer(_job(wl, recompute=False), mp, False)
    base = activation_bytes_per_layer(_job(wl), mp, False)
    tokens = float(wl.training.seq_len)
    np.testing.assert_allclose(kept - base, 4.0 * tokens * wl.hidden, rtol=1e-12)
    assert float((kept - base)[0]) == pytest.approx(134.2e6, rel=1e-3)


def test_all_four_adapters_and_tensor_parallel_split():
    # QKV / FC1 inputs are whole without sequence parallelism (+1 B x h each), the out-projection (+3 B x q)
    # and FC2 inputs (+1 B x ffn) split by tp.
    wl = load_workload("llama2-70b")
    mp = mapping_arrays(tp=4.0)
    diff = (activation_bytes_per_layer(_job(wl, LORA_TARGETS, recompute=False), mp, False)
            - activation_bytes_per_layer(_job(wl, LORA_TARGETS), mp, False))
    tokens = float(wl.training.seq_len)
    expected = 2.0 * tokens * wl.hidden + (3.0 * tokens * wl.heads * wl.head_dim + tokens * wl.ffn_hidden) / 4.0
    np.testing.assert_allclose(diff, expected, rtol=1e-12)


@pytest.mark.parametrize("fields", [{"dropout": 0.0, "recompute": False}, {"recompute": True}])
def test_nothing_is_stored_without_dropout_or_when_recomputed(fields):
    wl = load_workload("llama2-70b")
    mp = mapping_arrays()
    base = activation_bytes_per_layer(_job(wl, dropout=0.0), mp, False)
    np.testing.assert_array_equal(activation_bytes_per_layer(_job(wl, **fields), mp, False), base)


def test_full_recompute_keeps_only_the_layer_input_either_way():
    wl = load_workload("llama2-70b")
    mp = mapping_arrays(recompute=2.0)
    np.testing.assert_array_equal(activation_bytes_per_layer(_job(wl, recompute=False), mp, False),
                                  activation_bytes_per_layer(_job(wl), mp, False))


@pytest.mark.parametrize(("overlap", "disable_qkv", "whole_masks"), [(0.0, False, 2), (1.0, True, 1), (1.0, False, 0)])
def test_sequence_parallel_masks_are_full_sequence_where_te_returns_the_gathered_norm_output(overlap, disable_qkv,
                                                                                            whole_masks):
    # s26-P: the QKV / FC1 mask is drawn on what the adapter receives: the gathered norm output where TE returns it
    # gathered (no TP overlap of that all-gather: NeMo mcore_mixins.py L70-L79 ``not ub_overlap_ag``; QKV also with
    # tp_overlap_disable_qkv), whole on every rank; else the SP shard (the adapter gathers after the dropout).
    wl = load_workload("llama2-70b")
    wl = replace(wl, training=replace(wl.training, tp_overlap_disable_qkv=disable_qkv))
    tp = 4.0
    mp = mapping_arrays(tp=tp, sequence_parallel=1.0, tp_overlap=overlap)
    diff = (activation_bytes_per_layer(_job(wl, LORA_TARGETS, recompute=False), mp, False)
            - activation_bytes_per_layer(_job(wl, LORA_TARGETS), mp, False))
    tokens = float(wl.training.seq_len)
    masks = whole_masks * tokens * wl.hidden + (2 - whole_masks) * tokens * wl.hidden / tp
    expected = masks + (3.0 * tokens * wl.heads * wl.head_dim + tokens * wl.ffn_hidden) / tp
    np.testing.assert_allclose(diff, expected, rtol=1e-12)
