"""Per-layer compute of a decoder transformer on one accelerator, per micro-batch.

Shapes follow Megatron-LM tensor parallelism (Shoeybi et al. 2019, Sec. 3; Narayanan et al.
SC21, Sec. 3.3): QKV and FFN-up are column-parallel (N / tp), output and FFN-down are
row-parallel (K / tp). With context parallelism each rank holds ``seq/cp`` query tokens and
attends to the full sequence (ring attention, Liu et al. 2023). With expert parallelism each
rank holds ``experts/ep`` experts and receives ``ep * T * top_k * capacity / experts`` tokens per
local expert (Lepikhin et al., GShard, 2021; Megatron-Core MoE).

Backward of a GEMM (M x K)@(K x N) is a data-gradient GEMM (M x N)@(N x K) and a weight-
gradient GEMM (K x M)@(M x N), each timed with the same roofline. Under LoRA fine-tuning the
base weights are frozen (Hu et al., ICLR 2022, Sec. 4.1): their backward is the data-gradient
GEMM alone (no weight gradient is formed); the projections named in ``lora_targets`` carry a
rank-r adapter, priced as the separate small kernels it runs as (:mod:`archsweep.model.projection`).
Flash attention (Dao et al.
2022/2023) skips masked tiles of the causal mask (half the score FLOPs) and its backward does
2.5x the forward FLOPs. All times in seconds, FLOPs and bytes per accelerator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from archsweep.model.activation_store import fp8_input_store_cast
from archsweep.model.attention_kernel import (
    causal_schedule_slowdowns,
    flash_kernel_s,
    ring_attention_mask_factor,
    softmax_rate_factor,
)
from archsweep.model.expert_elementwise import expert_elementwise
from archsweep.model.gemm import PartFill, pick
from archsweep.model.hbm_pass import hbm_pass_s
from archsweep.model.projection import adapter_fwd_bwd, gemm_fwd_bwd
from archsweep.model.training.cp_collectives import (
    causal_kernel_shape,
    cp_kernel_extra_s,
    fp8_attention_runs,
    ring_steps,
)
from archsweep.model.training.mapping import MappingArrays
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["LAYER_MAPPING_FIELDS", "LayerCosts", "layer_costs"]

#: The mapping fields :func:`layer_costs` reads (with its ``expert_tp``): mappings equal in these share every
#: output on any hardware (tests/model/test_layer_classes.py perturbs the others).
LAYER_MAPPING_FIELDS = ("tp", "cp", "ep", "micro_batch", "sequence_parallel", "flash_attention")


@dataclass(frozen=True)
class LayerCosts:
    """Time and work of one transformer layer for one micro-batch on one accelerator.

    ``*_fwd_s``/``*_bwd_s``: forward/backward time; ``attn_core_fwd_s``: the attention
    score/softmax/value part (what selective recomputation recomputes); ``*_flops``: matrix
    FLOPs executed (forward); ``*_hbm_bytes``: forward HBM traffic; ``*_module_rc_s``: forward time
    of the job's ``recompute_modules`` other than the attention core (what selective recompute re-runs
    besides ``attn_core_fwd_s``), 0 with the default ("core_attn",).
    """

    dense_fwd_s: np.ndarray
    dense_bwd_s: np.ndarray
    moe_fwd_s: np.ndarray
    moe_bwd_s: np.ndarray
    attn_core_fwd_s: np.ndarray
    logits_fwd_s: np.ndarray
    logits_bwd_s: np.ndarray
    dense_flops: np.ndarray
    moe_flops: np.ndarray
    attn_core_flops: np.ndarray
    logits_flops: np.ndarray
    dense_hbm_bytes: np.ndarray
    moe_hbm_bytes: np.ndarray
    attn_fwd_s: np.ndarray
    dense_module_rc_s: np.ndarray | float = 0.0
    moe_module_rc_s: np.ndarray | float = 0.0
    #: forward time of a dense layer's last GEMM (the FFN down projection), what a full recompute under
    #: PyTorch's non-reentrant checkpoint with early stop does not re-run (``checkpoint_early_stop``)
    dense_last_gemm_fwd_s: np.ndarray | float = 0.0
    #: forward HBM bytes of the output layer's GEMM (``gemm_fwd_bwd``'s operands and output) and of one pass of
    #: the cross-entropy over the FP32 logits (12 bytes per logit, what ``logits_fwd_s`` / ``logits_bwd_s`` each
    #: charge as ``ce_s``): the work counts' output-layer HBM traffic (training/work_counts.py)
    logits_hbm_bytes: np.ndarray | float = 0.0
    loss_hbm_bytes: np.ndarray | float = 0.0
    #: backward time of the attention core (its flash kernels and, under ring attention, the per-step merges), what
    #: each ring step's K/V and dK/dV transfer overlaps with (ring_attention.context_parallel_exposed_s)
    attn_core_bwd_s: np.ndarray | float = 0.0


def layer_costs(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration,
                peak_matrix_flops: np.ndarray, expert_tp: np.ndarray | None = None) -> LayerCosts:
    """Costs of a dense layer, a MoE layer and the output layer for one micro-batch.

    ``expert_tp``: tensor-parallel width of the expert GEMMs (default tp). With ETP < tp, EP folds
    over the TP ranks: each rank dispatches its tp/ETP share of the tokens to unsplit experts.
    ``hw`` as :func:`~archsweep.model.gemm.scalar_part_physics` returns it, collapsed once per evaluation by
    the callers (``stage_compute``, ``validation.layer_time``); uncollapsed: same values, more broadcasting.
    """
    fill = PartFill.of(hw)
    t, c = mp.tp, mp.cp
    b = mp.micro_batch
    s = float(wl.seq_len)
    h = float(wl.hidden)
    tokens = b * s / c  # local tokens per micro-batch
    fp8 = wl.training.precision == "fp8"
    bpe = 1.0 if fp8 else 2.0
    peak = peak_matrix_flops
    peak_bf16 = hw.peak_matrix_flops_bf16
    lora = wl.training.mode == "finetune_lora"
    fz: dict[str, Any] = {"frozen": lora}  # frozen, not adapted (router, output layer)
    targets = wl.training.lora_targets if lora else ()
    out_split = np.where(mp.sequence_parallel > 0, t, 1.0)

    def proj(target: str, m, n, k, batch=1.0, row_parallel: bool = False, input_from_norm: bool = False):
        """A frozen (LoRA) or trained projection, plus its adapter when ``target`` is adapted.

        Row-parallel projections (attention output, FFN down; ``k`` split by tp, ``n`` full):
        the adapter's up GEMM is column-parallel (n / tp per rank) and its output, after the TP
        exchange (communication.lora_tensor_parallel_s), is (m / tp) x n with sequence
        parallelism, m x n without (NeMo ParallelLinearAdapter, ``gather_output``)."""
        base = gemm_fwd_bwd(m, n, k, batch, peak, hw, bpe, cal, fill, frozen=lora, input_from_norm=input_from_norm)
        if target not in targets:
            return base
        if row_parallel:
            adapter = adapter_fwd_bwd(m, n / t, k, batch, batch * m * n / out_split, wl.training.lora_rank,
                                       wl.training.lora_dropout, hw, cal, fill)
        else:
            adapter = adapter_fwd_bwd(m, n, k, batch, batch * m * n, wl.training.lora_rank,
                                       wl.training.lora_dropout, hw, cal, fill)
        return tuple(x + y for x, y in zip(base, adapter))

    heads_local = wl.heads / t
    kv_local = np.maximum(wl.kv_heads / t, 1.0)
    if wl.mla is not None:
        m_ = wl.mla
        qk_dim = float(m_.qk_nope_head_dim + m_.qk_rope_head_dim)
        v_dim = float(m_.v_head_dim)
        # MLA approximated as its projections: down-projections (replicated) + per-head up-projections.
        q_down = proj("attention_qkv", tokens, float(m_.q_lora_rank or 0) + m_.kv_lora_rank + m_.qk_rope_head_dim, h,
                      input_from_norm=True)
        q_up = proj("attention_qkv", tokens, heads_local * qk_dim, float(m_.q_lora_rank or h), input_from_norm=True)
        kv_up = proj("attention_qkv", tokens, heads_local * (m_.qk_nope_head_dim + v_dim), float(m_.kv_lora_rank),
                     input_from_norm=True)
        qkv = tuple(x + y + z for x, y, z in zip(q_down, q_up, kv_up))
        kv_heads_for_attn = heads_local
        out = proj("attention_dense", tokens, h, heads_local * v_dim, row_parallel=True)
    else:
        qk_dim = v_dim = float(wl.head_dim)
        qkv = proj("attention_qkv", tokens, (heads_local + 2.0 * kv_local) * qk_dim, h, input_from_norm=True)
        kv_heads_for_attn = kv_local
        out = proj("attention_dense", tokens, h, heads_local * v_dim, row_parallel=True)
        q_up = kv_up = (0.0, 0.0, 0.0, 0.0)

    # Attention core: scores (s/c x s) per head, causal.
    full_core_flops = 2.0 * b * heads_local * (s / c) * s * (qk_dim + v_dim)
    flash = mp.flash_attention > 0
    attn_peak = peak_bf16
    if cal.attention_mma_cap_flops_per_cycle_per_unit > 0:
        # Attention kernels that cannot issue the design's widest matrix instructions (FA2 on Hopper).
        attn_peak = np.minimum(peak_bf16, hw.compute_units * cal.attention_mma_cap_flops_per_cycle_per_unit * hw.clock_hz)
    # Exponentials on the special-function units: parts with more matrix FLOP per exponential than
    # the reference (Blackwell B200 / GB200) reach a lower share of peak in the attention kernel.
    softmax = softmax_rate_factor(attn_peak / (hw.compute_units * hw.clock_hz), cal,
                                  hw.softmax_exponentials_per_cycle_per_unit)
    fa_rate = attn_peak * hw.matrix_efficiency * cal.flash_attention_efficiency * softmax
    # Causal ring attention (cp > 1): the cp - 1 off-diagonal steps run unmasked kernels, faster per FLOP.
    # The all-to-all / all-gather CP runs one causal kernel per rank: no unmasked steps; the hierarchical one runs
    # its ring's (cp_collectives.ring_steps).
    # The causal (step's) kernel at its sequence and CTA count: short sequences and few heads run below the
    # long-sequence rate (attention_kernel.causal_schedule_slowdowns; its shape under CP: cp_collectives).
    steps = ring_steps(wl, c)
    queries, head_share = causal_kernel_shape(wl, c)
    fwd_slowdown, bwd_slowdown = causal_schedule_slowdowns(queries, b * heads_local * head_share, hw.compute_units, cal)
    # The backward kernels run at a lower share of peak than the forward (attention_kernel.flash_kernel_s).
    fa_fwd, fa_bwd = flash_kernel_s(0.5 * full_core_flops, fa_rate, cal, ring_attention_mask_factor(steps, cal, fwd_slowdown),
                                    ring_attention_mask_factor(steps, cal, bwd_slowdown))
    fa_fwd = fa_fwd + cal.kernel_overhead_s
    fa_bwd = fa_bwd + cal.kernel_overhead_s
    if cal.fp8_attention_rate_ratio != 1.0:
        # FP8 attention (the job's fp8_dot_product_attention): the forward at the part's published FP8 kernel
        # rate; the backward keeps the BF16 rate (its FP8 rate moves with the cuDNN release: s25-A). The all-gather
        # CP runs BF16 attention whatever the recipe (cp_collectives.fp8_attention_runs).
        ratio = np.where(fp8_attention_runs(wl, c), cal.fp8_attention_rate_ratio, 1.0)
        fa_fwd = (fa_fwd - cal.kernel_overhead_s) / ratio + cal.kernel_overhead_s
    if wl.position_encoding == "alibi" and cal.alibi_bias_bytes_per_score > 0:
        # Kernels that read ALiBi as a materialised bias: HBM traffic per (causal) score element,
        # forward once, backward twice (recomputed scores + gradient), not hidden behind the MMAs.
        bias_s = hbm_pass_s(hw, cal, cal.alibi_bias_bytes_per_score * 0.5 * b * heads_local * (s / c) * s)
        fa_fwd = fa_fwd + bias_s
        fa_bwd = fa_bwd + 2.0 * bias_s
    # Unfused attention: batched GEMMs plus softmax/dropout traffic (~10 B per score element fwd).
    sc = gemm_fwd_bwd(s / c, s, qk_dim, b * heads_local, peak_bf16, hw, 2.0, cal, fill)
    av = gemm_fwd_bwd(s / c, v_dim, s, b * heads_local, peak_bf16, hw, 2.0, cal, fill)
    score_elems = b * heads_local * (s / c) * s
    softmax_fwd = hbm_pass_s(hw, cal, 10.0 * score_elems)
    unfused_fwd = sc[0] + av[0] + softmax_fwd
    unfused_bwd = sc[1] + av[1] + 2.0 * softmax_fwd
    core_fwd = np.where(flash, fa_fwd, unfused_fwd)
    core_bwd = np.where(flash, fa_bwd, unfused_bwd)
    # Context parallelism's work around the attention kernels: the ring's per-step merges, the all-gather's copies
    # (cp_collectives.cp_kernel_extra_s; none for the all-to-all).
    q_bytes = 2.0 * tokens * heads_local * qk_dim
    kv_bytes = 2.0 * 2.0 * tokens * kv_heads_for_attn * qk_dim
    cp_fwd, cp_bwd = cp_kernel_extra_s(hw, wl, cal, c, q_bytes, kv_bytes)
    core_fwd = core_fwd + cp_fwd
    core_bwd = core_bwd + cp_bwd
    core_flops = np.where(flash, 0.5 * full_core_flops, full_core_flops)
    core_hbm = np.where(flash, bpe * tokens * (heads_local * qk_dim + 2 * kv_heads_for_attn * qk_dim + heads_local * v_dim),
                        10.0 * score_elems + sc[3] + av[3])

    # Elementwise: norms/dropout/residual outside the TP region (replicated unless SP) and the
    # FFN activation inside it (always split by t). HBM-bound.
    sp = mp.sequence_parallel > 0
    def elementwise_bytes(ffn_width):
        """Forward elementwise HBM bytes of a layer whose activation runs over ``ffn_width`` FFN units per token."""
        return cal.elementwise_traffic_multiplier * (
            cal.elementwise_bytes_per_token_per_hidden * tokens * h / np.where(sp, t, 1.0)
            + cal.elementwise_bytes_per_token_per_ffn * tokens * _activation_inputs(wl) * ffn_width / t)

    elem_bytes_fwd = elementwise_bytes(float(wl.ffn_hidden))
    elem_fwd = hbm_pass_s(hw, cal, elem_bytes_fwd)

    attn_fwd = qkv[0] + core_fwd + out[0]
    attn_bwd = qkv[1] + core_bwd + out[1]
    attn_flops = qkv[2] + core_flops + out[2]
    attn_hbm = qkv[3] + core_hbm + out[3]

    # Dense FFN.
    ffn_in = float(wl.ffn_matrices - 1) * wl.ffn_hidden / t
    up = proj("mlp_fc1", tokens, ffn_in, h, input_from_norm=True)
    down = proj("mlp_fc2", tokens, h, wl.ffn_hidden / t, row_parallel=True)
    store_s, store_bytes = fp8_input_store_cast(wl, hw, cal, tokens * 2.0 * wl.ffn_hidden / t)  # SwiGLU input kept in FP8
    dense_fwd = attn_fwd + up[0] + down[0] + elem_fwd + store_s
    dense_bwd = attn_bwd + up[1] + down[1] + 2.0 * elem_fwd + store_s
    dense_flops = attn_flops + up[2] + down[2]
    dense_hbm = attn_hbm + up[3] + down[3] + elem_bytes_fwd + store_bytes

    shared_fwd: Any = 0.0
    clamp_rc: Any = 0.0
    if wl.moe is not None:
        moe = wl.moe
        ep = mp.ep
        local_experts = moe.num_experts / ep
        et = t if expert_tp is None else expert_tp
        tokens_per_expert = ep * tokens * (et / t) * moe.top_k * moe.capacity_factor / moe.num_experts
        e_in = float(wl.ffn_matrices - 1) * moe.expert_ffn_hidden / et
        # Expert adapters act on the expert's local tokens (no sequence-parallel exchange).
        e_up = proj("mlp_fc1", tokens_per_expert, e_in, h, local_experts)
        e_down = proj("mlp_fc2", tokens_per_expert, h, moe.expert_ffn_hidden / et, local_experts)
        # The MoE layer's input is the rank's sequence-parallel shard (Megatron-Core requires SP with TP > 1 for MoE
        # training, moe_layer.py MoELayer.forward): the router runs over tokens / tp, and so does the alltoall
        # dispatcher's first permutation (token_dispatcher.py "[S/TP, B, H] -> [S*B/TP, H]";
        # MoEAlltoAllTokenDispatcher.dispatch_preprocess permutes hidden_states.view(-1, H) before the all-to-all).
        # The flex dispatchers (DeepEP / HybridEP, ``moe_dispatch_per_domain``) permute what the rank received:
        # its local experts' routed copies.
        moe_tokens = tokens / np.where(sp, t, 1.0)
        perm_copies = np.where(cal.moe_dispatch_per_domain > 0.0, tokens_per_expert * local_experts,
                               moe_tokens * moe.top_k * moe.capacity_factor)
        router = gemm_fwd_bwd(moe_tokens, float(moe.num_experts), h, 1.0, peak_bf16, hw, 2.0, cal, fill, **fz)
        shared = moe.shared_experts
        moe_ffn = [e_up[i] + e_down[i] + router[i] for i in range(4)]
        if shared > 0:
            s_up = proj("mlp_fc1", tokens, shared * e_in, h)
            s_down = proj("mlp_fc2", tokens, h, shared * moe.expert_ffn_hidden / t, row_parallel=True)
            moe_ffn = [moe_ffn[i] + s_up[i] + s_down[i] for i in range(4)]
            shared_fwd = s_up[0] + s_down[0]
            # MoELayer.combine's ``output + shared_expert_output`` (forward only: the add's gradient passes through).
            add_bytes = cal.moe_shared_add_bytes_per_element * tokens * h / np.where(sp, t, 1.0)
            moe_ffn[0] = moe_ffn[0] + hbm_pass_s(hw, cal, add_bytes)
            moe_ffn[3] = moe_ffn[3] + add_bytes
        # Token permutation/unpermutation traffic: each routed copy read + written twice.
        perm_bytes = 4.0 * 2.0 * perm_copies * h
        # The alltoall dispatcher's sort of the received copies by local expert and its inverse (read + write
        # each, each way; Megatron-Core token_dispatcher.py sort_chunks_by_idxs when a rank holds > 1 expert).
        perm_bytes = perm_bytes + np.where(local_experts > 1.0, cal.moe_local_sort_bytes_per_element, 0.0) * (
            tokens_per_expert * local_experts * h)
        perm_s = hbm_pass_s(hw, cal, perm_bytes)
        if fp8 and moe.dropless and cal.moe_fp8_padding_bytes_per_element > 0:
            # Dropless (MoEConfig.dropless) low-precision layers pad each local expert's rows to the quantisation block
            # (Megatron-Core TEGroupedMLP Fp8Padding before FC1, Fp8Unpadding after FC2; TransformerEngine
            # fused_multi_row_padding / _unpadding copy every routed row: read + write, forward and backward;
            # 3 kernels each way: hidden states, probabilities, output).
            pad_bytes = cal.moe_fp8_padding_bytes_per_element * tokens_per_expert * local_experts * h
            perm_s = perm_s + hbm_pass_s(hw, cal, pad_bytes) + 3.0 * cal.kernel_overhead_s
            perm_bytes = perm_bytes + pad_bytes
        # Host time the GPU waits for (dropless dispatch syncs the per-expert token counts to the
        # host before the all-to-all, so the launch queue drains every MoE layer): a third in the
        # forward, two thirds in the backward. A per-call part and a part per local token of the
        # micro-batch (``moe_host_s_per_token``; its evidence in data/calibration/software_stacks.yaml).
        host = cal.moe_layer_host_overhead_s + cal.moe_host_s_per_token * tokens
        # Per-expert launches: TransformerEngine's GroupedLinear (Megatron-Core TEGroupedMLP) runs
        # one cuBLAS GEMM per local expert (nvte_multi_stream_cublas_gemm loops over the experts on
        # 4 streams), fc1 + fc2 forward, and dgrad (+ wgrad unless frozen) backward; after the
        # dropless host sync the GPU waits on that serial launch chain.
        launches_bwd: Any = 2.0 if lora else 4.0
        launches_fwd: Any = 2.0
        expert_launch_s = local_experts * cal.kernel_overhead_s
        if fp8:
            # Low-precision recipes quantise each grouped-GEMM operand per local expert (TransformerEngine
            # v2.8-v2.12 split_quantize: no fused multi-tensor kernel except delayed scaling on a TN-only
            # part; current scaling runs amax + scale + cast per split): FC1 / FC2 inputs forward, their
            # output gradients backward, each ``fp8_split_quantize_kernels`` launches per local expert.
            quant = pick(hw.fp8_gemm_layouts == "any", cal.fp8_split_quantize_kernels_any_layout,
                         cal.fp8_split_quantize_kernels)
            launches_fwd = 2.0 + 2.0 * quant
            launches_bwd = launches_bwd + 2.0 * quant
        # The activation of a MoE layer runs over every routed copy (top-k x capacity per token) and the
        # shared experts, not over the dense ``ffn_hidden``: Megatron-Core TEGroupedMLP applies the
        # (weighted, fused) activation to the grouped FC1 output of all permuted tokens
        # (megatron/core/transformer/moe/experts.py, weighted_bias_swiglu_impl / weighted_bias_quick_geglu_impl).
        moe_elem_bytes = elementwise_bytes((moe.top_k * moe.capacity_factor + shared) * float(moe.expert_ffn_hidden))
        store_s, store_bytes = fp8_input_store_cast(wl, hw, cal, tokens * 2.0 * (moe.top_k * moe.capacity_factor + shared)
                                                    * moe.expert_ffn_hidden / t)
        moe_elem = hbm_pass_s(hw, cal, moe_elem_bytes)
        # A clamped gated activation and expert FC2 biases the stack runs unfused (model.expert_elementwise).
        unfused = expert_elementwise(wl, hw, cal, tokens, t, et, local_experts)
        moe_fwd = (attn_fwd + moe_ffn[0] + moe_elem + store_s + perm_s + host / 3.0 + launches_fwd * expert_launch_s
                   + unfused.fwd_s)
        moe_bwd = (attn_bwd + moe_ffn[1] + 2.0 * moe_elem + store_s + perm_s + 2.0 * host / 3.0 + launches_bwd * expert_launch_s
                   + unfused.bwd_s)
        moe_flops = attn_flops + moe_ffn[2]
        moe_hbm = attn_hbm + moe_ffn[3] + moe_elem_bytes + store_bytes + perm_bytes + unfused.fwd_bytes
        clamp_rc = unfused.clamp_fwd_s
    else:
        moe_fwd, moe_bwd, moe_flops, moe_hbm = dense_fwd, dense_bwd, dense_flops, dense_hbm
    dense_rc, moe_rc = _module_recompute_s(wl, hw, cal, mp, tokens, q_up[0] + kv_up[0], up[0] + down[0], shared_fwd,
                                           clamp_rc)

    logits = gemm_fwd_bwd(tokens, wl.vocab / t, h, 1.0, peak_bf16, hw, 2.0, cal, fill, **fz)
    # Cross-entropy on fp32 logits: read + write ~ 3 passes of 4 bytes.
    ce_bytes = 12.0 * tokens * wl.vocab / t
    ce_s = hbm_pass_s(hw, cal, ce_bytes)
    return LayerCosts(
        dense_fwd_s=dense_fwd, dense_bwd_s=dense_bwd, moe_fwd_s=moe_fwd, moe_bwd_s=moe_bwd,
        attn_core_fwd_s=core_fwd, logits_fwd_s=logits[0] + ce_s, logits_bwd_s=logits[1] + ce_s,
        dense_flops=dense_flops, moe_flops=moe_flops, attn_core_flops=core_flops, logits_flops=logits[2],
        dense_hbm_bytes=dense_hbm, moe_hbm_bytes=moe_hbm, attn_fwd_s=attn_fwd,
        dense_module_rc_s=dense_rc, moe_module_rc_s=moe_rc, dense_last_gemm_fwd_s=down[0],
        logits_hbm_bytes=logits[3], loss_hbm_bytes=ce_bytes, attn_core_bwd_s=core_bwd,
    )


def _activation_inputs(wl: Workload) -> float:
    """Traffic of the FFN activation per output element relative to GELU's (read 1, write 1): 1.5 for
    SwiGLU (reads gate and up, writes 1)."""
    return 1.5 if wl.ffn_type == "swiglu" else 1.0


def _module_recompute_s(wl: Workload, hw: HardwareArrays, cal: Calibration, mp: MappingArrays, tokens: np.ndarray | float,
                        mla_up_fwd: np.ndarray | float, mlp_gemm_fwd: np.ndarray | float, shared_fwd: np.ndarray | float,
                        clamp_fwd_s: np.ndarray | float = 0.0) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Forward time of the job's ``recompute_modules`` besides the attention core, (dense layer, MoE
    layer): what selective recompute re-runs in the backward (Megatron-Core transformer_config.py
    ``recompute_modules``, NVIDIA/Megatron-LM @d98e8a6). Each module's forward as this model costs it:
    ``layernorm`` the two norms (read + write 2 B per element, replicated unless SP); ``moe_act`` the
    routed experts' activation at the layer's activation traffic per FFN element (``layer_costs``:
    ``elementwise_bytes_per_token_per_ffn`` x :func:`_activation_inputs`, 6 B SwiGLU, 4 B GELU);
    ``mla_up_proj`` the MLA Q / KV up-projections; ``mlp`` a dense layer's FC1 + FC2 + activation;
    ``shared_experts`` the shared experts' GEMMs; ``moe_act`` also re-runs an unfused activation clamp
    (``clamp_fwd_s``, :func:`archsweep.model.expert_elementwise.expert_elementwise`). Communication inside a recomputed module is not
    re-charged (``mlp`` under TP re-runs its sequence-parallel all-gather / reduce-scatter: not counted)."""
    modules = set(wl.training.recompute_modules) - {"core_attn"}
    if not modules:
        return 0.0, 0.0
    t, h = mp.tp, float(wl.hidden)
    elem = lambda nbytes: hbm_pass_s(hw, cal, cal.elementwise_traffic_multiplier * nbytes) + cal.kernel_overhead_s  # noqa: E731
    act = cal.elementwise_bytes_per_token_per_ffn * _activation_inputs(wl)  # bytes per FFN element, as layer_costs
    dense = moe = 0.0 * tokens
    if "layernorm" in modules:
        norms = 2.0 * elem(4.0 * tokens * h / np.where(mp.sequence_parallel > 0, t, 1.0))
        dense, moe = dense + norms, moe + norms
    if "mla_up_proj" in modules and wl.mla is not None:
        dense, moe = dense + mla_up_fwd, moe + mla_up_fwd
    if "mlp" in modules:
        dense = dense + mlp_gemm_fwd + elem(act * tokens * wl.ffn_hidden / t)
    if wl.moe is not None:
        if "moe_act" in modules:
            routed = wl.moe.top_k * wl.moe.capacity_factor
            moe = moe + elem(act * routed * tokens * wl.moe.expert_ffn_hidden / t) + clamp_fwd_s
        if "shared_experts" in modules:
            moe = moe + shared_fwd
    return dense, moe
