"""LoRA on a MoE layer: the experts' (FC1) input is kept as a trained Linear keeps it (LoRA adapts only
the MoE layer's attention), so ``layernorm`` recompute frees that norm output as stored: 2 B per element
in BF16 and the 1 B FP8 copy in FP8, whether or not ``mlp_fc1`` is among the LoRA targets; the QKV norm
output as the adapter (2 B) or nobody (frozen: 0 B) keeps it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from model_helpers import mapping_arrays

from archsweep.load.workloads import load_workload
from archsweep.model.training.activation_memory import activation_bytes_per_layer


def _layernorm_freed(wl, moe_layer: bool) -> float:
    def stored(modules: tuple[str, ...]) -> float:
        job = replace(wl, training=replace(wl.training, recompute_modules=modules))
        return float(activation_bytes_per_layer(job, mapping_arrays(recompute=1.0), moe_layer)[0])
    return stored(("core_attn",)) - stored(("core_attn", "layernorm"))


@pytest.mark.parametrize(("precision", "targets", "qkv", "fc1"), [
    ("bf16", ("attention_qkv",), 2.0, 2.0), ("bf16", ("attention_dense",), 0.0, 2.0),
    ("bf16", ("attention_qkv", "mlp_fc1"), 2.0, 2.0), ("fp8", ("attention_qkv", "mlp_fc1"), 2.0, 1.0),
    ("fp8", ("attention_dense", "mlp_fc2"), 0.0, 1.0)])
def test_lora_moe_layernorm_recompute_frees_the_norm_outputs_as_kept(precision, targets, qkv, fc1):
    wl = load_workload("mixtral-8x7b")
    wl = replace(wl, training=replace(wl.training, mode="finetune_lora", precision=precision, lora_rank=16,
                                      lora_targets=targets))
    tokens_h = float(wl.training.seq_len) * wl.hidden
    assert _layernorm_freed(wl, True) == pytest.approx((qkv + fc1) * tokens_h, rel=1e-12)
    # A dense layer's FC1 input is the adapter's (2 B) or nobody's (0 B) under LoRA
    dense_fc1 = 2.0 * ("mlp_fc1" in targets)
    assert _layernorm_freed(wl, False) == pytest.approx((qkv + dense_fc1) * tokens_h, rel=1e-12)
