"""Sourced priors of fitted constants (data/calibration/held_out_priors.yaml): parsing, errors, and
the MoE host-time prior recomputed from the Megatron-Core DeepSeek-V3 GB200 write-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsweep.load.calibration import held_out_lower_bounds, held_out_priors, load_calibration
from archsweep.spec.errors import InputError


def _megatron_flop_per_token_dsv3(seq: int = 4096) -> float:
    """Megatron-LM num_floating_point_operations (megatron/training/training.py, MLA + MoE branch)
    per token for DeepSeek-V3 without MTP (the reproduce guide's arguments)."""
    h, dense, moe, ffn, moe_ffn, topk, shared = 7168, 3, 58, 18432, 2048, 8, 2048
    heads, q_lora, kv_lora, qk, rope, v, vocab = 128, 1536, 512, 128, 64, 128, 129280
    fb_fma = 3 * 2
    q_term = q_lora * (h + heads * (qk + rope) + 1)
    attn = fb_fma * (q_term + kv_lora * (h + heads * (qk + v) + 1) + h * rope + heads * v * h)
    core = fb_fma * (heads * (qk + rope) / 2 + heads * v / 2)
    mlp = fb_fma * h * (3 * ffn * dense + 3 * moe_ffn * topk * moe + 3 * shared * moe)
    return mlp + 61 * attn + fb_fma * h * vocab + seq * 61 * core


def test_flop_convention_matches_the_published_pairs():
    """The formula gives the FLOP per token that NVIDIA's own tables imply (TFLOPS / tokens/s)."""
    per_token = _megatron_flop_per_token_dsv3()
    assert per_token == pytest.approx(249.81e9, rel=1e-3)
    assert per_token == pytest.approx(1003e12 / 4018, rel=5e-3)  # Megatron-Bridge 25.11 GB200 FP8-MX row


def test_moe_host_prior_is_the_write_ups_lower_bound():
    """>= 10 % from removing the MoE device-host sync at 970.01 TFLOPS/GPU (256 GB200, PP8 VPP4
    EP32, micro-batch 1, global batch 2048, 8 MoE layers on the busiest rank), as the per-call prior plus the stored
    per-token part at 4096 tokens (the affine host form, s15-moehost)."""
    tokens_per_s_per_gpu = 970.01e12 / _megatron_flop_per_token_dsv3()
    step_s = 2048 * 4096 / (tokens_per_s_per_gpu * 256)
    micro_batches = 2048 / 32
    host_s = (1 - 1 / 1.10) * step_s / (micro_batches * 8)
    assert step_s == pytest.approx(8.44, abs=0.01)
    priors = held_out_priors()
    for stack in ("megatron-core", "megatron-core-flex"):
        # the bound is on the whole host time of that 4096-token micro-batch: the per-call prior + the per-token part
        per_token = load_calibration(stack=stack).moe_host_s_per_token * 4096
        assert priors[(stack, "moe_layer_host_overhead_s")] + per_token == pytest.approx(host_s, rel=0.01)


def test_prior_without_provenance_is_rejected(tmp_path: Path):
    path = tmp_path / "priors.yaml"
    path.write_text("megatron-core:\n  moe_layer_host_overhead_s:\n    value: 1 ms\n")
    with pytest.raises(InputError, match="source"):
        held_out_priors(path)


def test_prior_of_an_unknown_stack_or_constant_is_rejected(tmp_path: Path):
    entry = "    value: 1 ms\n    source: s\n    locator: l\n    confidence: low\n"
    path = tmp_path / "stack.yaml"
    path.write_text("no-such-stack:\n  moe_layer_host_overhead_s:\n" + entry)
    with pytest.raises(InputError, match="no-such-stack"):
        held_out_priors(path)
    path = tmp_path / "name.yaml"
    path.write_text("megatron-core:\n  no_such_constant:\n" + entry)
    with pytest.raises(InputError, match="no_such_constant"):
        held_out_priors(path)


def test_the_moe_host_priors_are_lower_bounds():
    """Both MoE host priors are marked `bound: lower` (the write-up gives 'at least 10 %')."""
    assert held_out_lower_bounds() == {("megatron-core", "moe_layer_host_overhead_s"),
                                       ("megatron-core-flex", "moe_layer_host_overhead_s")}


def test_a_bound_other_than_lower_is_rejected(tmp_path: Path):
    entry = "    value: 1 ms\n    source: s\n    locator: l\n    confidence: low\n"
    path = tmp_path / "bound.yaml"
    path.write_text("megatron-core:\n  moe_layer_host_overhead_s:\n" + entry + "    bound: upper\n")
    with pytest.raises(InputError, match=r"moe_layer_host_overhead_s\.bound"):
        held_out_lower_bounds(path)
    path.write_text("megatron-core:\n  moe_layer_host_overhead_s:\n" + entry)
    assert held_out_lower_bounds(path) == frozenset()
