"""Sliding-window / chunked attention, MoE token tiles, MLA widths and finite offline runs (issue 11)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.serving_calibration import load_serving_calibration
from archsweep.load.workloads import load_architecture
from archsweep.model.inference import ServingJob, enumerate_serving_configs
from archsweep.model.inference.attention_span import decode_span, kv_tokens_held, prefill_span
from archsweep.model.inference.serving import serving_performance
from archsweep.model.inference.step import _dims, matrix_peak_flops, stage_iteration, weight_bytes_per_accelerator
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
SCAL = load_serving_calibration()
GPT_OSS = load_architecture("gpt-oss-120b")
MAVERICK = load_architecture("llama4-maverick-17b-128e")
FULL = dataclasses.replace(GPT_OSS, sliding_window=None, sliding_window_pattern=None)


def _hw(name: str, n: int = 1) -> HardwareArrays:
    return HardwareArrays.from_designs(get_accelerator(name).design.replace(accelerator_count=n))


def test_model_files_carry_the_published_local_attention():
    # HF config.json: gpt-oss sliding_window 128, layer_types alternating; Llama 4 attention_chunk_size 8192,
    # a full-attention NoPE layer every 4th.
    assert (GPT_OSS.sliding_window, GPT_OSS.sliding_window_pattern, GPT_OSS.local_attention) == (128, 2, "sliding")
    assert GPT_OSS.local_layers == 18
    assert (MAVERICK.sliding_window, MAVERICK.sliding_window_pattern, MAVERICK.local_attention) == (8192, 4, "chunked")
    assert MAVERICK.local_layers == 36
    assert load_architecture("llama3-70b").local_layers == 0


def test_full_attention_spans_are_unchanged():
    wl = load_architecture("llama3-70b")
    c = np.array([1.0, 100.0, 5000.0])
    assert np.array_equal(decode_span(wl, c), c)
    assert np.array_equal(kv_tokens_held(wl, c), c)
    assert np.allclose(prefill_span(wl, c), 0.5 * c)


@pytest.mark.parametrize("wl", [GPT_OSS, MAVERICK])
def test_local_spans_never_exceed_full_and_grow_with_context(wl):
    c = np.array([1.0, 64.0, 128.0, 1000.0, 8192.0, 9000.0, 32768.0, 131072.0])
    for span, full in ((decode_span(wl, c), c), (kv_tokens_held(wl, c), c), (prefill_span(wl, c), 0.5 * np.maximum(c, 1.0))):
        assert np.all(span <= full + 1e-9)
    assert np.all(np.diff(kv_tokens_held(wl, c)) >= 0.0)
    # The mean span of a chunked layer drops past a chunk boundary; the prompt's total attention work
    # (tokens x mean span) never falls as the prompt grows.
    assert np.all(np.diff(c * prefill_span(wl, c)) >= -1e-9)


def test_spans_match_a_brute_force_count():
    # Mean over prompt positions p = 1..P of the tokens a query attends to, averaged over the layers.
    for wl in (GPT_OSS, MAVERICK):
        w = wl.sliding_window
        for prompt in (100, 300, 20000):
            p = np.arange(1, prompt + 1, dtype=float)
            local = np.minimum(p, w) if wl.local_attention == "sliding" else (p - 1) % w + 1
            f = wl.local_layers / wl.layers
            expect = (1 - f) * p.mean() + f * local.mean()
            # The closed forms use P/2 for a causal mean ((P+1)/2 exactly): within one token.
            assert abs(float(prefill_span(wl, prompt)) - expect) <= 1.0
    # gpt-oss at a 10k-token context: half the layers cache 128 tokens.
    assert float(kv_tokens_held(GPT_OSS, 10000.0)) == pytest.approx(0.5 * 10000 + 0.5 * 128)


def test_sliding_window_holds_more_sequences_and_never_slows_decode():
    hw = _hw("H200")
    job = ServingJob(1024.0, 8192.0, weight_precision="int4", activation_precision="bf16", kv_precision="bf16")
    cfg = enumerate_serving_configs(GPT_OSS, job, 1, concurrency_ladder=(64, 256), chunk_sizes=(2048,), disaggregation=False)
    local = serving_performance(hw, GPT_OSS, cfg, job, SCAL, CAL)
    full = serving_performance(hw, FULL, cfg, job, SCAL, CAL)
    assert np.all(local.kv_capacity_sequences >= full.kv_capacity_sequences)
    assert np.all(local.kv_capacity_sequences >= 1.9 * full.kv_capacity_sequences)  # ~ (L + 128) / 2L of the cache
    same = local.concurrency == full.concurrency
    assert same.any() and np.all(local.tpot_s[same] <= full.tpot_s[same])


def test_moe_decode_at_small_batch_is_weight_read_bound():
    # One sequence touches top_k experts per layer: a 4-token GEMM per expert costs about its weight read,
    # not a 128-row tile of compute (the former tiling).
    hw = _hw("H200")
    job = ServingJob(1024.0, 1024.0, weight_precision="int4", activation_precision="bf16", kv_precision="bf16")
    cfg = enumerate_serving_configs(GPT_OSS, job, 1, concurrency_ladder=(1,), chunk_sizes=(2048,), disaggregation=False)
    peak = matrix_peak_flops(hw, "bf16", False)
    one = np.ones(1)

    def linear(wl, scal):
        st = stage_iteration(hw, wl, cfg, job, scal, CAL, peak, one, 1024.0 * one, 0.0 * one, 0.0 * one)
        return float(np.reshape(st.linear_s, -1)[0])

    dense = dataclasses.replace(GPT_OSS, moe=None)  # no experts (dense_ffn of ffn_hidden: same width per layer)
    experts = linear(GPT_OSS, SCAL) - linear(dense, SCAL)
    touched = 36 * 4 * GPT_OSS.expert_params * job.weight_bytes_per_element  # 4 experts per layer
    read = touched / float(np.reshape(hw.hbm_bw_bytes_per_s, -1)[0] * SCAL.weight_stream_bw_efficiency)
    assert experts <= 1.5 * read
    big_tile = dataclasses.replace(SCAL, moe_min_token_tile=float(CAL.gemm_tile_m))
    assert linear(GPT_OSS, big_tile) - linear(dense, big_tile) > 2.0 * experts
    assert float(np.reshape(weight_bytes_per_accelerator(GPT_OSS, cfg, job), -1)[0]) > touched


def test_mla_decode_attends_over_the_latent_and_prefill_over_the_heads():
    ds = load_architecture("deepseek-v3")
    _, qk_dec, v_dec, qk_pre, v_pre = _dims(ds)
    m = ds.mla
    assert (qk_dec, v_dec) == (m.kv_lora_rank + m.qk_rope_head_dim, m.kv_lora_rank)
    assert (qk_pre, v_pre) == (m.qk_nope_head_dim + m.qk_rope_head_dim, m.v_head_dim)


def test_a_finite_offline_run_never_beats_the_steady_state_and_approaches_it():
    wl = load_architecture("llama3-8b")
    hw = _hw("H100")
    kw = dict(weight_precision="fp8", activation_precision="fp8", kv_precision="fp8")
    steady_job = ServingJob(1000.0, 1000.0, **kw)
    cfg = enumerate_serving_configs(wl, steady_job, 1, concurrency_ladder=(512,), chunk_sizes=(2048,), disaggregation=False)
    steady = float(serving_performance(hw, wl, cfg, steady_job, SCAL, CAL).output_tokens_per_s[0])
    rates = [float(serving_performance(hw, wl, cfg, ServingJob(1000.0, 1000.0, num_requests=n, **kw), SCAL, CAL)
                   .output_tokens_per_s[0]) for n in (512, 3000, 30000, 3e6)]
    assert all(r <= steady for r in rates)
    assert rates == sorted(rates)
    assert rates[-1] == pytest.approx(steady, rel=1e-3)
    with pytest.raises(ValueError):
        ServingJob(1000.0, 1000.0, load="qps", qps=1.0, num_requests=10)
