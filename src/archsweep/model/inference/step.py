"""One engine iteration on one pipeline stage of one replica: the shared kernel of prefill and decode.

An iteration processes ``decode_tokens`` (one new token for each of that many sequences, each
reading ``decode_context`` cached tokens) and ``prefill_tokens`` (prompt tokens, each attending
causally to ``prefill_context`` tokens on average). Per accelerator and per stage
(``ceil(layers / pp)`` layers) the time is the serial sum of

* linear layers: roofline ``max(FLOPs / (peak * eta), weight bytes / (B_hbm * eta_w))`` with the
  GEMM efficiency ``eta`` of :func:`archsweep.model.gemm.gemm_efficiency` (tile and wave
  quantisation at the iteration's token count; all linear layers of a step share one arithmetic
  intensity, so the sum of per-GEMM rooflines equals the roofline of the sum);
  MoE experts separately, with the weights of the *expected distinct* experts touched by ``T``
  routed tokens, ``E * (1 - (1 - k/E)^T)`` (each token picks k of E experts uniformly; the
  occupancy expectation of Feller, "An Introduction to Probability Theory", Vol. 1, Ch. II.11);
* attention: decode reads the KV cache (memory-bound; FlashDecoding/XQA-style kernels), prefill is
  causal flash attention (compute-bound, half the score FLOPs; Dao, FlashAttention-2, ICLR 2024);
* communication through :mod:`archsweep.model.collectives`: two TP all-reduces per layer (Megatron,
  Shoeybi et al. 2019 Sec. 3), EP dispatch + combine all-to-all per MoE layer (GShard, Lepikhin et
  al. 2021), a PP point-to-point hop per stage;
* a fixed launch overhead per kernel.

All inputs broadcast; times in s, work in FLOP and bytes per accelerator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsweep.model import collectives as coll
from archsweep.model.attention_kernel import attention_head_dim_factor
from archsweep.model.gemm import PartFill, gemm_efficiency
from archsweep.model.inference.configs import ServingConfigArrays
from archsweep.model.inference.moe_comm import allgather_moe_comm
from archsweep.spec.architecture import Architecture
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.serving import ServingJob
from archsweep.spec.serving_calibration import ServingCalibration

__all__ = ["StageCost", "stage_iteration", "matrix_peak_flops", "expected_distinct_experts", "weight_bytes_per_accelerator"]


@dataclass(frozen=True)
class StageCost:
    """Time and work of one iteration on one stage (per accelerator)."""

    time_s: np.ndarray
    linear_s: np.ndarray
    attention_s: np.ndarray
    comm_s: np.ndarray
    matrix_flops: np.ndarray
    hbm_bytes: np.ndarray
    link_bytes: np.ndarray


def matrix_peak_flops(hw: HardwareArrays, precision: str, fp4_supported: np.ndarray | bool) -> np.ndarray:
    """Dense matrix peak for the activation precision, FLOP/s.

    HardwareArrays has no FP4 field: FP4 (NVFP4) runs at 2x the FP8 rate where ``fp4_supported``
    (Blackwell: B200/GB200 dense FP4 = 2x FP8, NVIDIA Blackwell datasheet), else at the FP8 rate
    (weights dequantised to FP8).
    """
    if precision == "bf16":
        return hw.peak_matrix_flops_bf16
    fp8 = hw.peak_matrix_flops_fp8
    if precision == "fp4":
        return np.where(np.asarray(fp4_supported, dtype=bool), 2.0 * fp8, fp8)
    return fp8


def expected_distinct_experts(num_experts: float, top_k: float, tokens: np.ndarray) -> np.ndarray:
    """Expected number of distinct experts hit by ``tokens`` tokens choosing ``top_k`` of ``num_experts``."""
    return num_experts * (1.0 - np.power(1.0 - top_k / num_experts, tokens))


def _dims(wl: Architecture) -> tuple[float, float, float, float, float]:
    """(attention weights per layer, decode query-key width, decode value width, prefill query-key
    width, prefill value width) per head.

    MLA decode runs with the up-projections absorbed into the query and output (DeepSeek-V2,
    arXiv:2405.04434, Sec. 2.1.2; FlashMLA / TensorRT-LLM MLA generation kernels): every head scores
    the cached latent plus the RoPE key (``kv_lora_rank + qk_rope_head_dim`` per KV position) and
    sums latent values (``kv_lora_rank``). MLA prefill decompresses K and V once per prompt token
    and attends with the per-head widths (``qk_nope + qk_rope``, ``v_head_dim``).
    """
    if wl.mla is not None:
        m = wl.mla
        return (wl.attention_params_per_layer, float(m.kv_lora_rank + m.qk_rope_head_dim), float(m.kv_lora_rank),
                float(m.qk_nope_head_dim + m.qk_rope_head_dim), float(m.v_head_dim))
    d = float(wl.head_dim)
    return wl.attention_params_per_layer, d, d, d, d


def weight_bytes_per_accelerator(wl: Architecture, cfg: ServingConfigArrays, job: ServingJob) -> np.ndarray:
    """Weights held by one accelerator of a replica (largest stage), bytes."""
    tp = cfg.attention_tp
    stage = np.ceil(wl.layers / cfg.pp) / wl.layers
    attn = wl.layers * wl.attention_params_per_layer / tp
    dense = wl.dense_layers * wl.dense_ffn_params / tp
    moe = 0.0
    if wl.moe is not None:
        e = wl.moe
        moe = wl.moe_layers * (e.num_experts * wl.expert_params / cfg.width + e.shared_experts * wl.expert_params / tp)
    emb = wl.embedding_params / tp
    routed = 0.0
    shared = 0.0
    if wl.moe is not None:
        routed = wl.moe_layers * wl.moe.num_experts * wl.expert_params / cfg.width
        shared = moe - routed
    other = job.weight_bytes_per_element if job.non_expert_weight_precision is None else 2.0
    return (job.weight_bytes_per_element * routed * stage + other * ((attn + dense + shared) * stage + emb)
            + 2.0 * wl.router_params * stage)


def stage_iteration(hw: HardwareArrays, wl: Architecture, cfg: ServingConfigArrays, job: ServingJob,
                    scal: ServingCalibration, cal: Calibration, peak: np.ndarray,
                    decode_tokens: np.ndarray, decode_context: np.ndarray,
                    prefill_tokens: np.ndarray, prefill_context: np.ndarray,
                    padding_tokens: np.ndarray | float = 0.0) -> StageCost:
    """Time and work of one iteration of one stage, per accelerator (see module docstring).

    ``padding_tokens``: dummy generation tokens of a CUDA-graph padded iteration (per replica per
    stage, :mod:`~archsweep.model.inference.cuda_graph`): they run the GEMMs, the LM head, the MoE and
    its communication like decode tokens, but hold no KV cache (no attention work).

    ``decode_tokens`` / ``prefill_tokens`` are per replica per stage (one micro-batch); ``cal``
    supplies the GEMM tile constants; ``peak`` the matrix peak of the activation precision. ``hw`` as
    :func:`~archsweep.model.gemm.scalar_part_physics` returns it (``serving_performance`` collapses it
    once; an uncollapsed ``hw`` gives the same values, with more broadcasting).
    """
    tp = cfg.attention_tp
    width = cfg.width
    adp = cfg.attention_dp > 0
    layers = np.ceil(wl.layers / cfg.pp)
    h = float(wl.hidden)
    tokens = decode_tokens + prefill_tokens + padding_tokens
    one_byte = job.activation_precision != "bf16"  # FP8 / FP4 GEMM operands (training's bytes_per_element < 2)
    fill = PartFill.of(hw)  # the part's GEMM pipeline fill, as in training
    t_rank = np.where(adp, tokens / width, tokens)  # tokens each rank's attention sees
    moe_frac = wl.moe_layers / wl.layers
    wbpe = job.weight_bytes_per_element
    eta_max = hw.matrix_efficiency * scal.gemm_ratio * (scal.low_precision_gemm_ratio if one_byte else 1.0)
    bw = hw.hbm_bw_bytes_per_s

    # ---- linear layers outside the routed experts (attention projections, dense FFN, shared experts)
    attn_p, qk, vd, qk_pre, vd_pre = _dims(wl)
    per_layer = attn_p + (1.0 - moe_frac) * wl.dense_ffn_params
    if wl.moe is not None:
        per_layer = per_layer + moe_frac * wl.moe.shared_experts * wl.expert_params
    params = layers * per_layer / tp + wl.vocab * h / tp  # + output projection (last stage)
    # One layer's projections side by side (n = its weights / hidden): tile and wave quantisation of
    # the whole layer's output width, as fused/stream-K kernels fill the machine.
    dense_bf16 = job.non_expert_weight_precision == "bf16"
    eta_dense = eta_max / (scal.low_precision_gemm_ratio if dense_bf16 and one_byte else 1.0)
    peak_dense = hw.peak_matrix_flops_bf16 if dense_bf16 else peak
    wbpe_dense = 2.0 if dense_bf16 else wbpe
    eff = gemm_efficiency(np.maximum(t_rank, 1.0), per_layer / tp / h, h, hw.compute_units, eta_dense, cal,
                          one_byte=one_byte and not dense_bf16, fill=fill)
    # The output projection runs only for the tokens that sample: every decode token and the last
    # token of each prompt (TensorRT-LLM LlmArgs.gather_context_logits, default False: context
    # logits are not returned, the LM head sees the gathered last positions).
    prompts_rank = np.where(adp, prefill_tokens / width, prefill_tokens) / float(job.input_tokens)
    head = wl.vocab * h / tp
    sampled = decode_tokens + padding_tokens  # every generation token (dummies too) runs the LM head
    flops = 2.0 * t_rank * (params - head) + 2.0 * (np.where(adp, sampled / width, sampled) + prompts_rank) * head
    wbytes = wbpe_dense * params
    linear = np.maximum(flops / (peak_dense * eff), wbytes / (bw * scal.weight_stream_bw_efficiency))
    # ---- routed experts
    if wl.moe is not None:
        e = wl.moe
        routed = tokens * e.top_k  # token-expert pairs of the replica per MoE layer
        distinct = expected_distinct_experts(float(e.num_experts), float(e.top_k), tokens)
        ep_params = layers * moe_frac * wl.expert_params / width
        per_expert_tokens = np.maximum(routed / np.maximum(distinct, 1.0), 1.0)
        # Grouped GEMM over the rank's touched experts (their FFN widths side by side), tiled along
        # each expert's tokens with the smallest power-of-two tile that holds them (>= moe_min_token_tile):
        # a handful of tokens per expert pads to 16, not to a 128-row tile, and stays weight-read bound.
        tile_cap = float(cal.gemm_tile_m)
        small = per_expert_tokens < tile_cap
        # a float rounding excess (relative < 7e-10: 32 x (1 + 1e-12) tokens) still fills a 32-row tile; 32.0000001 does not
        token_tile = np.clip(np.exp2(np.ceil(np.log2(per_expert_tokens) - 1e-9)), scal.moe_min_token_tile, tile_cap)
        eta_tokens = np.where(small, per_expert_tokens / token_tile, 1.0)
        e_eff = eta_tokens * gemm_efficiency(np.where(small, tile_cap, per_expert_tokens),
                                             wl.ffn_matrices * e.expert_ffn_hidden * np.maximum(distinct / width, 1.0 / cfg.ep),
                                             h, hw.compute_units, eta_max * scal.moe_gemm_ratio, cal,
                                             one_byte=one_byte, fill=fill)
        e_flops = 2.0 * routed * ep_params
        e_bytes = wbpe * distinct * ep_params + 2.0 * layers * moe_frac * e.num_experts * h  # + router (bf16)
        linear = linear + np.maximum(e_flops / (peak * e_eff), e_bytes / (bw * scal.weight_stream_bw_efficiency))
        flops = flops + e_flops
        wbytes = wbytes + e_bytes

    # ---- attention core
    heads_local = wl.heads / tp
    kv_tok = (float(wl.mla.kv_lora_rank + wl.mla.qk_rope_head_dim) if wl.mla is not None
              else 2.0 * np.maximum(wl.kv_heads / tp, 1.0) * wl.head_dim) * job.kv_bytes_per_element
    dec_rank = np.where(adp, decode_tokens / width, decode_tokens)
    pre_rank = np.where(adp, prefill_tokens / width, prefill_tokens)
    kv_bytes = layers * dec_rank * decode_context * kv_tok
    dec_flops = 2.0 * layers * dec_rank * heads_local * decode_context * (qk + vd)
    attn_rate = hw.peak_matrix_flops_bf16 * hw.matrix_efficiency * scal.prefill_attention_efficiency
    attn_rate = attn_rate * attention_head_dim_factor(qk_pre, vd_pre, cal)  # softmax share by head dim
    dec_attn = np.maximum(kv_bytes / (bw * scal.kv_read_bw_efficiency), dec_flops / attn_rate)
    pre_flops = 2.0 * layers * pre_rank * heads_local * prefill_context * (qk_pre + vd_pre)
    attention = dec_attn + pre_flops / attn_rate
    flops = flops + dec_flops + pre_flops

    # ---- communication
    eff_c = scal.collective_bw_efficiency
    one = np.ones_like(tp)
    act = 2.0 * t_rank * h  # bf16 activations of the rank's tokens
    ar = coll.allreduce_time_s(hw, act, tp, one, eff_c)
    if wl.moe is not None:
        moe_tp = width / cfg.ep
        ffn_ar = np.where(cfg.ep > 1, 0.0, coll.allreduce_time_s(hw, act, width, one, eff_c))
        a2a_size = t_rank * wl.moe.top_k * h * job.activation_bytes_per_element
        a2a = np.where(cfg.ep > 1, coll.alltoall_time_s(hw, a2a_size, cfg.ep, moe_tp, eff_c), 0.0)
        moe_comm, moe_link = 2.0 * a2a, 2.0 * a2a_size * (cfg.ep - 1) / cfg.ep
        if job.moe_allgather:  # attention DP gathers every rank's tokens (model.inference.moe_comm)
            ag, ag_link = allgather_moe_comm(hw, t_rank, h, job.moe_dispatch_bytes_per_element, cfg.ep, moe_tp, eff_c)
            moe_comm, moe_link = np.where(adp, ag, moe_comm), np.where(adp, ag_link, moe_link)
        comm = layers * (ar + (1.0 - moe_frac) * ar + moe_frac * (ffn_ar + moe_comm))
        link = layers * (2.0 * act * (tp - 1) / tp + moe_frac * moe_link)
    else:
        comm = 2.0 * layers * ar
        link = 2.0 * layers * 2.0 * act * (tp - 1) / tp
    pp_hop = np.where(cfg.pp > 1, coll.p2p_time_s(hw, act * np.where(adp, width, 1.0) / width, cfg.replica_size > hw.scaleup_domain_size, eff_c), 0.0)
    comm = comm + pp_hop

    overhead = layers * scal.kernels_per_layer * scal.kernel_overhead_s
    time = linear + attention + comm + overhead
    return StageCost(time_s=time, linear_s=linear, attention_s=attention, comm_s=comm,
                     matrix_flops=flops, hbm_bytes=wbytes + kv_bytes, link_bytes=link)
