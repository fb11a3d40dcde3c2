"""Exposed communication of one training step, one parallelism effect per function (seconds per step).

Each function takes the hardware, the workload, the mapping and what the step already knows
(micro-batches, layers per stage, per-layer compute times), and returns the time that effect adds
to the critical path after what overlaps with compute, plus the bytes it moves where the energy
model needs them. :func:`archsweep.model.training.step.training_step` sums them (the combining
rule stays in one place). All inputs broadcast; every time is >= 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsweep.model import collectives as coll
from archsweep.model.training.mapping import MappingArrays
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["TensorParallelCost", "tensor_parallel", "context_parallel_exposed_s", "ExpertParallelCost",
           "expert_parallel", "a2a_unpaired_share", "PipelineCost", "pipeline_p2p"]


@dataclass(frozen=True)
class TensorParallelCost:
    """Tensor-parallel all-reduces of one step: exposed time, and one all-reduce's time (s)."""

    exposed_s: np.ndarray
    allreduce_s: np.ndarray


def tensor_parallel(hw: HardwareArrays, mp: MappingArrays, cal: Calibration, act_bytes: np.ndarray,
                    microbatches: np.ndarray, layers_stage: np.ndarray) -> TensorParallelCost:
    """2 all-reduces (or reduce-scatter + all-gather with sequence parallelism, the same volume)
    forward and 2 backward per layer, 2 more when the layer is recomputed, plus the embedding and
    logits; with TP communication overlap only ``cal.tp_overlap_residual`` of it stays exposed
    (Megatron-LM SC21 Sec. 3.2; Korthikanti et al. MLSys'23 Sec. 4.2.2)."""
    one = np.ones_like(mp.tp)
    tp_ar = coll.allreduce_time_s(hw, act_bytes, mp.tp, one, cal.collective_bw_efficiency)
    tp_layer = 4.0 * tp_ar + np.where(mp.recompute == 2, 2.0 * tp_ar, 0.0)
    tp_total = microbatches * layers_stage * tp_layer + 2.0 * microbatches * tp_ar  # + embedding/logits
    exposed = np.where(mp.tp_overlap > 0, cal.tp_overlap_residual * tp_total, tp_total)
    return TensorParallelCost(exposed, tp_ar)


def context_parallel_exposed_s(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration,
                               tokens: np.ndarray, microbatches: np.ndarray, layers_stage: np.ndarray,
                               attn_fwd_s: np.ndarray) -> np.ndarray:
    """Ring attention: the K/V of each micro-batch's local tokens pass the ring (cp - 1 hops),
    overlapped with the attention of the chunk in hand; the excess over the attention time is
    exposed, forward and twice in backward (Liu et al., Ring Attention, 2023)."""
    kv_bytes = 2.0 * 2.0 * tokens * wl.kv_heads * wl.head_dim / np.minimum(mp.tp, wl.kv_heads)
    cp_send = coll.p2p_time_s(hw, kv_bytes, mp.tp * mp.cp > hw.scaleup_domain_size, cal.collective_bw_efficiency)
    cp_layer_fwd = (mp.cp - 1) * cp_send
    cp_exposed_layer = np.maximum(cp_layer_fwd - attn_fwd_s, 0.0) * 3.0  # fwd + 2x bwd
    return np.where(mp.cp > 1, microbatches * layers_stage * cp_exposed_layer, 0.0)


@dataclass(frozen=True)
class ExpertParallelCost:
    """Expert-parallel dispatch and combine of one step: exposed time (s) and bytes moved."""

    exposed_s: np.ndarray
    bytes: np.ndarray


def expert_parallel(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration, tokens: np.ndarray,
                    etp: np.ndarray, dp: np.ndarray, microbatches: np.ndarray, layers_stage: np.ndarray,
                    moe_frac: float, moe_layer_s: np.ndarray | float = 0.0) -> ExpertParallelCost:
    """Dispatch + combine all-to-all of the routed tokens (top-k copies, capacity factor), forward
    and backward, per MoE layer (Lepikhin et al., GShard, 2020; Megatron-Core token dispatcher).
    EP ranks sit after TP x CP (stride tp*cp) or, folded over TP, on consecutive ranks.

    With ``cal.moe_a2a_overlap`` and an interleaved pipeline (pp > 1, vpp > 1), whose combined 1F1B
    schedule pairs the forward of one micro-batch with the backward of another (Megatron-Core
    pipeline_parallel/combined_1f1b.py, used under ``overlap_moe_expert_parallel_comm``; Megatron-Core
    also offers it at pp = 1, which no Megatron-Bridge preset uses, so it is not assumed there), the
    four all-to-alls of a MoE layer run on their own stream under that pair's compute
    (``moe_layer_s``: forward + backward of one MoE layer): only the excess stays exposed. The
    passes without a partner (the schedule's warm-up forwards and cool-down backwards: pp - 1
    non-interleaved, 2 (pp - 1) + (vpp - 1) pp interleaved, one more for the combined schedule,
    Megatron-Core get_pipeline_parallel_schedule / Narayanan et al. SC21 Sec. 2.2) stay exposed."""
    if wl.moe is None:
        zero = np.zeros(np.broadcast_shapes(np.shape(dp), np.shape(mp.tp)))
        return ExpertParallelCost(zero, zero)
    h = float(wl.hidden)
    a2a_bytes = 2.0 * tokens * wl.moe.top_k * wl.moe.capacity_factor * h / mp.tp
    a2a = coll.alltoall_time_s(hw, a2a_bytes, mp.ep, np.where(etp < mp.tp, 1.0, mp.tp * mp.cp),
                               cal.collective_bw_efficiency)
    per_layer = 4.0 * a2a
    unpaired = a2a_unpaired_share(mp, cal, microbatches)
    per_layer = (1.0 - unpaired) * np.maximum(per_layer - moe_layer_s, 0.0) + unpaired * per_layer
    exposed = microbatches * layers_stage * moe_frac * per_layer
    moved = microbatches * layers_stage * moe_frac * 4.0 * a2a_bytes * (mp.ep - 1) / mp.ep
    return ExpertParallelCost(exposed, moved)


def a2a_unpaired_share(mp: MappingArrays, cal: Calibration, microbatches: np.ndarray) -> np.ndarray:
    """Share of a step's MoE all-to-alls that no other micro-batch's compute can hide: 1 without the
    combined-1F1B overlap (``cal.moe_a2a_overlap`` 0, or no interleaved pipeline); else the
    schedule's warm-up + 1 chunk passes over all ``microbatches * vpp`` (see :func:`expert_parallel`)."""
    pairs = (mp.pp > 1) & (mp.vpp > 1)
    warmup = np.where(mp.vpp > 1, 2.0 * (mp.pp - 1) + (mp.vpp - 1) * mp.pp, mp.pp - 1) + 1.0
    share = np.minimum(warmup / np.maximum(microbatches * mp.vpp, 1.0), 1.0)
    return np.where(pairs & (cal.moe_a2a_overlap > 0), share, 1.0)


@dataclass(frozen=True)
class PipelineCost:
    """Pipeline point-to-point of one step: exposed time (s), bytes per send, and whether the
    stages' neighbours sit across the scale-out network (bool array)."""

    exposed_s: np.ndarray
    send_bytes: np.ndarray
    crosses_scaleout: np.ndarray


def pipeline_p2p(hw: HardwareArrays, mp: MappingArrays, cal: Calibration, act_bytes: np.ndarray, dp: np.ndarray,
                 microbatches: np.ndarray) -> PipelineCost:
    """Activations forward and gradients backward between stages, once per micro-batch and virtual
    stage; ``cal.pipeline_p2p_overlap`` of the steady-state sends hide behind compute, the
    warm-up's (pp - 1) do not (Narayanan et al., SC21, Sec. 2.2)."""
    p2p_bytes = act_bytes / np.where(mp.sequence_parallel > 0, mp.tp, 1.0)
    crosses = mp.tp * mp.cp * dp >= hw.scaleup_domain_size
    p2p = coll.p2p_time_s(hw, p2p_bytes, crosses, cal.collective_bw_efficiency)
    exposed = np.where(mp.pp > 1, 2.0 * p2p * (mp.vpp * microbatches * (1 - cal.pipeline_p2p_overlap) + (mp.pp - 1)),
                       0.0)
    return PipelineCost(exposed, p2p_bytes, crosses)
