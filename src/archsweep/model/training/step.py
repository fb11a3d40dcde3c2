"""Training step time of one mapping on one hardware design: the combining rule in one place.

    step = m * (t_f + t_b + t_rc)                      compute of all micro-batches (per stage)
         + bubble(m, pp, vpp) * (t_f + t_b + t_rc)     pipeline bubble of the schedule (schedule.py:
                                                        (pp-1)/vpp only when m >= pp; pp-1 for m = 1)
         + exposed TP + CP + EP communication           per layer, on the critical path
         + exposed PP point-to-point                    activations between stages
         + exposed DP gradient reduction / ZeRO gathers after what overlaps with backward
         + optimizer step                               HBM-bound Adam update

``t_f``/``t_b`` are one stage's forward/backward time for one micro-batch (the slowest stage:
ceil(L/pp) layers, plus the output layer when it shares the stage), ``m = B / (dp * mb)``.
All inputs broadcast; every output has the broadcast shape. Infeasible mappings are flagged,
never raised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsweep.model import collectives as coll
from archsweep.model.training.mapping import MappingArrays, expert_tensor_parallel
from archsweep.model.training.memory import (
    MemoryBreakdown,
    memory_per_accelerator,
    stage_parameters,
)
from archsweep.model.training.schedule import pipeline_bubble_slots
from archsweep.model.transformer import layer_costs
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["StepResult", "training_step", "model_flops_per_token"]


@dataclass(frozen=True)
class StepResult:
    """Step time, its breakdown, work counts and constraint values (arrays, SI)."""

    step_time_s: np.ndarray
    compute_time_s: np.ndarray
    recompute_time_s: np.ndarray
    bubble_time_s: np.ndarray
    tp_comm_exposed_s: np.ndarray
    cp_comm_exposed_s: np.ndarray
    ep_comm_exposed_s: np.ndarray
    pp_comm_exposed_s: np.ndarray
    dp_comm_exposed_s: np.ndarray
    optimizer_time_s: np.ndarray
    dp: np.ndarray
    microbatches: np.ndarray
    memory: MemoryBreakdown
    matrix_flops: np.ndarray
    hbm_bytes: np.ndarray
    scaleup_bytes: np.ndarray
    scaleout_bytes: np.ndarray
    valid: np.ndarray
    memory_violation: np.ndarray


def model_flops_per_token(wl: Workload) -> float:
    """Model FLOPs per trained token (PaLM Appendix B convention, no recomputation).

    6 x (active matmul parameters, input embedding excluded) + 12 x layers x seq x attention
    width (non-causal attention, as in Megatron's Eq. 3 and PaLM's MFU).
    """
    matmul_params = wl.active_params - wl.vocab * wl.hidden * (0 if wl.tied_embeddings else 1)
    if wl.tied_embeddings:
        matmul_params = wl.active_params  # the tied matrix is used as the output projection
    qk = wl.head_dim if wl.mla is None else (wl.mla.qk_nope_head_dim + wl.mla.qk_rope_head_dim + wl.mla.v_head_dim) / 2
    return 6.0 * matmul_params + 12.0 * wl.layers * wl.seq_len * wl.heads * qk


def training_step(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration,
                  fixed_dp: float | None = None) -> StepResult:
    """Step time and memory of ``wl`` on ``hw`` with mapping ``mp`` (all broadcast)."""
    n_acc = hw.accelerator_count
    model_par = mp.tp * mp.pp * mp.cp
    dp = np.floor(n_acc / model_par) if fixed_dp is None else np.full(np.shape(n_acc), float(fixed_dp))
    dp = np.maximum(dp, 1.0)
    gb = float(wl.training.global_batch_seqs)
    microbatches = np.maximum(np.floor(gb / (dp * mp.micro_batch)), 1.0)
    # EP within DP x CP (experts TP-split), or folded over TP x DP x CP with unsplit experts.
    etp = expert_tensor_parallel(mp, dp)
    valid = ((dp * model_par == n_acc) & (np.mod(gb, dp * mp.micro_batch) == 0)
             & (mp.ep <= dp * mp.cp * mp.tp) & (np.mod(dp * mp.cp * mp.tp, mp.ep) == 0) & (mp.pp <= wl.layers))

    peak = hw.peak_matrix_flops_fp8 if wl.training.precision == "fp8" else hw.peak_matrix_flops_bf16
    lc = layer_costs(hw, wl, mp, cal, peak, etp)
    layers_stage = np.ceil(wl.layers / mp.pp)
    moe_frac = wl.moe_layers / wl.layers
    t_layer_f = (1 - moe_frac) * lc.dense_fwd_s + moe_frac * lc.moe_fwd_s
    t_layer_b = (1 - moe_frac) * lc.dense_bwd_s + moe_frac * lc.moe_bwd_s
    rc = mp.recompute
    t_layer_rc = np.where(rc == 2, t_layer_f, np.where(rc == 1, lc.attn_core_fwd_s * (mp.flash_attention == 0), 0.0))
    # The output layer runs on the last stage; it shares it with that stage's layers.
    t_f = layers_stage * t_layer_f + lc.logits_fwd_s
    t_b = layers_stage * t_layer_b + lc.logits_bwd_s
    t_rc = layers_stage * t_layer_rc

    # --- tensor parallel: 2 all-reduces (or RS+AG with SP) forward, 2 backward, per layer ---
    eff = cal.collective_bw_efficiency
    s, h = float(wl.seq_len), float(wl.hidden)
    tokens = mp.micro_batch * s / mp.cp
    act_bytes = 2.0 * tokens * h
    one = np.ones_like(mp.tp)
    tp_ar = coll.allreduce_time_s(hw, act_bytes, mp.tp, one, eff)
    tp_layer = 4.0 * tp_ar + np.where(rc == 2, 2.0 * tp_ar, 0.0)
    tp_total = microbatches * layers_stage * tp_layer + 2.0 * microbatches * tp_ar  # + embedding/logits
    tp_exposed = np.where(mp.tp_overlap > 0, cal.tp_overlap_residual * tp_total, tp_total)

    # --- context parallel (ring attention): K/V passed around the ring, overlapped with attention ---
    kv_bytes = 2.0 * 2.0 * tokens * wl.kv_heads * wl.head_dim / np.minimum(mp.tp, wl.kv_heads)
    cp_send = coll.p2p_time_s(hw, kv_bytes, mp.tp * mp.cp > hw.scaleup_domain_size, eff)
    cp_layer_fwd = (mp.cp - 1) * cp_send
    cp_exposed_layer = np.maximum(cp_layer_fwd - lc.attn_fwd_s, 0.0) * 3.0  # fwd + 2x bwd
    cp_exposed = np.where(mp.cp > 1, microbatches * layers_stage * cp_exposed_layer, 0.0)

    # --- expert parallel: dispatch + combine all-to-all, forward and backward, per MoE layer ---
    if wl.moe is not None:
        a2a_bytes = 2.0 * tokens * wl.moe.top_k * wl.moe.capacity_factor * h / mp.tp
        # EP ranks sit after TP x CP (stride tp*cp) or, folded over TP, on consecutive ranks.
        a2a = coll.alltoall_time_s(hw, a2a_bytes, mp.ep, np.where(etp < mp.tp, 1.0, mp.tp * mp.cp), eff)
        ep_exposed = microbatches * layers_stage * moe_frac * 4.0 * a2a
        ep_bytes = microbatches * layers_stage * moe_frac * 4.0 * a2a_bytes * (mp.ep - 1) / mp.ep
    else:
        ep_exposed = np.zeros(np.broadcast_shapes(np.shape(dp), np.shape(mp.tp)))
        ep_bytes = ep_exposed

    # --- pipeline point-to-point between stages ---
    p2p_bytes = act_bytes / np.where(mp.sequence_parallel > 0, mp.tp, 1.0)
    crosses = mp.tp * mp.cp * dp >= hw.scaleup_domain_size
    p2p = coll.p2p_time_s(hw, p2p_bytes, crosses, eff)
    pp_exposed = np.where(mp.pp > 1, 2.0 * p2p * (mp.vpp * microbatches * (1 - cal.pipeline_p2p_overlap) + (mp.pp - 1)), 0.0)

    # --- data parallel: gradient reduction (+ parameter all-gather with a sharded optimizer) ---
    dense_p, expert_p = stage_parameters(wl, mp, etp)
    # LoRA: only the adapters are reduced and updated (their share of the weights).
    trainable_scale = wl.trainable_params / wl.total_params
    dp_group = dp * mp.cp
    stride = mp.tp
    gbytes = cal.dp_grad_bytes_per_param
    dense_grad = dense_p * trainable_scale * gbytes
    expert_grad = expert_p * trainable_scale * gbytes
    expert_group = np.maximum(dp_group * mp.tp / (mp.ep * etp), 1.0)
    z = mp.zero_stage
    # ZeRO-0: one all-reduce per step. ZeRO-1 (distributed optimizer): reduce-scatter of the
    # accumulated gradients + all-gather of the updated weights, once per step. ZeRO-2/3 keep only
    # a gradient shard, so every micro-batch's gradients are reduce-scattered (Rajbhandari et al.,
    # SC20, Sec. 5.2), each overlapping that micro-batch's backward; ZeRO-3 needs no all-gather
    # after the update (weights are gathered on use, below).
    per_microbatch = np.where(z >= 2, microbatches, 1.0)

    def _sync(grad_bytes, param_count, group, grp_stride):
        rs = coll.reduce_scatter_time_s(hw, grad_bytes, group, grp_stride, eff)
        ag = coll.all_gather_time_s(hw, param_count * trainable_scale * cal.weight_bytes_per_param, group, grp_stride, eff)
        ar = coll.allreduce_time_s(hw, grad_bytes, group, grp_stride, eff)
        return np.select([z == 0, z == 1, z == 2], [ar, rs + ag, microbatches * rs + ag], microbatches * rs)

    grad_sync = _sync(dense_grad, dense_p, dp_group, stride)
    if wl.moe is not None:
        e_stride = etp * mp.ep
        grad_sync = grad_sync + _sync(expert_grad, expert_p, expert_group, e_stride)
    # ZeRO-3 / FSDP: every layer's weights are all-gathered before its forward and again before
    # its backward (a recomputed layer reuses the backward gather), the gather of layer i+1
    # prefetched while layer i computes (Rajbhandari et al., SC20, Sec. 5.3; PyTorch FSDP,
    # Zhao et al., VLDB 2023, Sec. 3.3 "backward/forward prefetch"); the gradient reduce-scatter
    # of a layer runs beside the next layer's backward. Per layer and pass the stage takes
    # max(compute, communication): a layer too short to hide its gather exposes the difference,
    # and the first layer's gather of each pass is never hidden. Monotone: faster compute or
    # faster links never lengthen the step.
    g_stride = np.where(cal.sharded_gather_flat > 0, np.maximum(stride, hw.scaleup_domain_size), stride)
    per_layer = 1.0 / np.maximum(layers_stage, 1.0)
    wbytes = cal.weight_bytes_per_param
    gather_l = coll.all_gather_time_s(hw, dense_p * per_layer * wbytes, dp_group, g_stride, eff)
    rs_l = coll.reduce_scatter_time_s(hw, dense_grad * per_layer, dp_group, g_stride, eff)
    if wl.moe is not None:
        eg_stride = np.where(cal.sharded_gather_flat > 0, np.maximum(etp * mp.ep, hw.scaleup_domain_size), etp * mp.ep)
        gather_l = gather_l + coll.all_gather_time_s(hw, expert_p * per_layer * wbytes, expert_group, eg_stride, eff)
        rs_l = rs_l + coll.reduce_scatter_time_s(hw, expert_grad * per_layer, expert_group, eg_stride, eff)
    fwd_c = t_layer_f
    bwd_c = t_layer_b + t_layer_rc
    exposed_layer = (np.maximum(gather_l - fwd_c, 0.0)
                     + np.maximum(gather_l + rs_l - bwd_c, 0.0))
    zero3_exposed = np.where(
        (z >= 3) & (dp_group > 1),
        microbatches * (layers_stage * exposed_layer + 2.0 * gather_l), 0.0)
    overlap_window = np.where(mp.dp_overlap > 0, cal.dp_overlap_fraction * t_b * per_microbatch, 0.0)
    # ZeRO-3's per-micro-batch reduce-scatter is charged per layer above.
    grad_exposed = np.where(z >= 3, 0.0, np.maximum(grad_sync - overlap_window, 0.0))
    dp_exposed = np.where(dp_group > 1, grad_exposed, 0.0) + zero3_exposed

    # --- optimizer step: HBM-bound Adam over the local (possibly sharded) trainable state ---
    local_params = np.where(z >= 1, dense_p / dp_group + expert_p / expert_group, dense_p + expert_p)
    optimizer = local_params * trainable_scale * cal.optimizer_bytes_per_param / (hw.hbm_bw_bytes_per_s * cal.hbm_bw_efficiency)

    bubble = pipeline_bubble_slots(microbatches, mp.pp, mp.vpp) * (t_f + t_b + t_rc)
    compute = microbatches * (t_f + t_b)
    recompute = microbatches * t_rc
    step = compute + recompute + bubble + tp_exposed + cp_exposed + ep_exposed + pp_exposed + dp_exposed + optimizer

    mem = memory_per_accelerator(wl, mp, dp, microbatches, cal)
    usable = hw.hbm_capacity_bytes
    memory_violation = (mem.total_bytes - usable) / usable

    # Work counts per accelerator per step (for energy): forward, 2x backward, recompute.
    f_layer = (1 - moe_frac) * lc.dense_flops + moe_frac * lc.moe_flops
    rc_flops = np.where(rc == 2, f_layer, np.where(rc == 1, lc.attn_core_flops * (mp.flash_attention == 0), 0.0))
    passes = 2.0 if wl.training.mode == "finetune_lora" else 3.0  # frozen weights: no weight-gradient GEMM
    matrix_flops = microbatches * (layers_stage * (passes * f_layer + rc_flops) + passes * lc.logits_flops)
    h_layer = (1 - moe_frac) * lc.dense_hbm_bytes + moe_frac * lc.moe_hbm_bytes
    hbm_bytes = microbatches * layers_stage * 3.0 * h_layer + local_params * cal.optimizer_bytes_per_param
    tp_bytes = microbatches * layers_stage * 4.0 * 2.0 * act_bytes * (mp.tp - 1) / np.maximum(mp.tp, 1.0)
    dp_bytes = 2.0 * (dense_grad + expert_grad) * per_microbatch * (dp_group > 1)
    scaleup_bytes = tp_bytes + np.where(crosses, 0.0, 2.0 * microbatches * p2p_bytes * (mp.pp > 1)) + ep_bytes * 0.5
    scaleout_bytes = dp_bytes + np.where(crosses, 2.0 * microbatches * p2p_bytes * (mp.pp > 1), 0.0) + ep_bytes * 0.5

    shape = np.broadcast_shapes(np.shape(step), np.shape(valid))

    def bc(x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x, shape)

    return StepResult(
        step_time_s=bc(step), compute_time_s=bc(compute), recompute_time_s=bc(recompute), bubble_time_s=bc(bubble),
        tp_comm_exposed_s=bc(tp_exposed), cp_comm_exposed_s=bc(cp_exposed), ep_comm_exposed_s=bc(ep_exposed),
        pp_comm_exposed_s=bc(pp_exposed), dp_comm_exposed_s=bc(dp_exposed), optimizer_time_s=bc(optimizer),
        dp=bc(dp), microbatches=bc(microbatches), memory=mem, matrix_flops=bc(matrix_flops), hbm_bytes=bc(hbm_bytes),
        scaleup_bytes=bc(scaleup_bytes), scaleout_bytes=bc(scaleout_bytes), valid=bc(valid),
        memory_violation=bc(memory_violation),
    )
