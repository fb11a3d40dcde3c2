"""Work counts of one training step per accelerator (matrix FLOPs, HBM bytes, the per-layer link bytes' layer
counts): what the energy / power model (:mod:`archsweep.model.power`) and ``hfu`` are made of.

Every count is the job's total work of one step divided over its accelerators, the per-device average over the
pipeline stages (every stage has the same tp x cp x dp devices): ``(work of all L transformer layers + the output
layer + the MTP block) / pp`` per micro-batch and model slice. ``power_area_cost`` turns per-accelerator energy into
``power_w`` and ``energy_per_token_j = power_w x devices x step / tokens`` and the system's power as ``devices x
power_w`` (:mod:`archsweep.model.ppa`), so only the average makes energy per device per step x devices the job's
work x energy per operation, whatever the stage structure: the even split (``ceil(L / pp)`` layers on the slowest
stage), the embedding / loss split (``split_stage_slots``) and a stated ``pipeline_layout`` hold the same L layers,
one output layer and the same MTP layers, so their counts are equal (tests/model/test_step_work_counts.py). The
slowest stage's work (what the time model's critical stage does) is higher by the pipeline's imbalance: the output
layer and the MTP block on the last stage, ``ceil(L / pp) - L / pp`` layers, a layout's uneven ranks. That device's
work (:attr:`StepWork.busiest`: the slowest stage's layers, output layer and MTP block as ``stage_compute`` picks
them, the synced stage's optimizer state and gradient reduction as ``data_parallel`` prices them) sets the power the
TDP cap binds on (``power_busy_w``, over its busy phase): each GPU holds its own power limit, and the step waits on the
slowest stage.

Counts per micro-batch and model slice follow the time model's layer costs (:class:`~archsweep.model.transformer.
LayerCosts`): forward, backward (``passes - 1`` GEMMs of the forward's size: 2, or 1 for LoRA's frozen weights),
recomputation (full: the forward again; selective: the unfused attention core). The MTP block
(:func:`~archsweep.model.training.layout_stage.mtp_block_costs`'s structure) is per MTP layer one layer of the last
layer's kind, the ``eh_proj`` 2h x h (the output layer's FLOPs x 2h / V) and the output layer again. HBM: three
passes of each layer's forward traffic (the time model's rule), the optimizer's read + write of the trainable
state the device updates (``optimizer_bytes_per_param`` per trainable parameter, as ``optimizer_time_s`` prices it),
and the activation-offload copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from archsweep.model.training.communication import (
    ExpertParallelCost,
    PipelineCost,
    TensorParallelCost,
)
from archsweep.model.training.cp_collectives import cp_bytes_per_layer
from archsweep.model.training.data_parallel import (
    DataParallelCost,
    SyncBytes,
    dp_link_shares,
    local_state_params,
    reduced_grad_bytes,
)
from archsweep.model.training.flops import eh_proj_params
from archsweep.model.training.layout_stage import kind_flops, mtp_is_moe, mtp_output_share
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.memory import first_stage_layers, split_stage_slots
from archsweep.model.training.recompute_share import partial_recompute_share
from archsweep.model.training.zero3_regather import zero3_regather_share
from archsweep.model.transformer import LayerCosts
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

#: HBM bytes per byte a device sends in a point-to-point transfer (pipeline sends, the EP all-to-all, the CP ring's
#: K/V hops): the sender reads it from its HBM, the receiver writes it to its own (symmetric patterns receive as many
#: bytes as they send). NCCL's send / receive kernels move the data with ``directSend`` / ``directRecv``
#: (NVIDIA/nccl @b647562 src/device/sendrecv.h ``runSend`` / ``runRecv``): straight into the peer's buffer where it is
#: registered, else through the connection's FIFO (then 4: written, read back, written out) — a lower bound.
DIRECT_HBM_BYTES_PER_LINK_BYTE = 2.0
#: HBM bytes per byte a device sends in a ring reduce-scatter / all-gather / all-reduce (TP, DP), per NCCL's ring
#: kernels (NVIDIA/nccl @b647562 src/device/reduce_scatter.h ``runRing``: step 0 ``send`` of the local chunk, n - 2
#: ``recvReduceSend``, the last ``recvReduceCopy``; all_gather.h: ``send``, n - 2 ``recvCopySend``, ``recv``; the
#: Simple protocol's FIFO lives in the receiver's memory): every byte received is written into the FIFO by the
#: sender, read back by the receiving kernel, and either reduced with the local operand (one more read; the sum goes
#: on to the next rank from registers) or written to the output: 3 per link byte, plus one chunk read and one
#: written per collective at the ring's ends (2 / (n - 1) per link byte, left out: small for the TP / DP groups).
#: NVLink SHARP (NVLS) reduces in the switch and moves fewer; not modelled.
RING_HBM_BYTES_PER_LINK_BYTE = 3.0

__all__ = ["DIRECT_HBM_BYTES_PER_LINK_BYTE", "NO_WORK", "DeviceWork", "LinkBytes", "RING_HBM_BYTES_PER_LINK_BYTE",
           "StepWork", "average_stage_parameters", "pipeline_sends", "split_busiest_stage", "step_link_bytes", "step_work"]


@dataclass(frozen=True)
class DeviceWork:
    """One accelerator's work of one step: matrix FLOPs, HBM bytes, scale-up and scale-out bytes sent."""

    matrix_flops: np.ndarray
    hbm_bytes: np.ndarray
    scaleup_bytes: np.ndarray
    scaleout_bytes: np.ndarray


@dataclass(frozen=True)
class StepWork:
    """The average device's work (the job's / devices: energy, hfu) and the busiest device's (the TDP cap)."""

    average: DeviceWork
    busiest: DeviceWork


_NAN = np.full((), np.nan)
NO_WORK = StepWork(average=DeviceWork(_NAN, _NAN, _NAN, _NAN), busiest=DeviceWork(_NAN, _NAN, _NAN, _NAN))
"""The work counts of a step evaluated without them (``training_step(..., work_counts=False)``): NaN."""


@dataclass(frozen=True)
class LinkBytes:
    """Link bytes of one step as the time model prices them for its stage: TP bytes per transformer layer, EP
    scale-up / scale-out bytes per MoE layer, context-parallel ring bytes per layer (and whether the ring crosses
    the scale-out network), the bytes of one pipeline send (and whether it crosses the scale-out network), the
    DP groups' link bytes per buffer byte (:func:`~archsweep.model.training.data_parallel.dp_link_shares`), the
    synced stage's parameters per device of each DP group, and its trainable state per device (parameters)."""

    tp_per_layer: np.ndarray
    ep_up_per_moe_layer: np.ndarray
    ep_out_per_moe_layer: np.ndarray
    cp_per_layer: np.ndarray
    cp_scaleout: np.ndarray
    pp_send_bytes: np.ndarray
    pp_scaleout: np.ndarray
    dp_shares: tuple[tuple[np.ndarray, np.ndarray], ...]
    synced_dp_params: tuple[np.ndarray, ...]
    synced_local_params: np.ndarray


def pipeline_sends(mp: MappingArrays, microbatches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sends per accelerator per step averaged over the pipeline, sends of the busiest rank): every micro-batch
    crosses the ``v p - 1`` boundaries between its ``v p`` virtual stages (``v`` = vpp model chunks per rank) once
    forward (activations) and once backward (gradients), Megatron-Core's ``send_forward`` / ``send_backward``
    (NVIDIA/Megatron-LM @d98e8a64dd megatron/core/pipeline_parallel/p2p_communication.py L494-533: nothing sent
    forward from the last (virtual) stage, nor backward from the first), so ``2 m (v p - 1) / p`` per rank on
    average; a rank in the middle sends ``2 m v`` (every chunk both ways), the upper bound taken for the busiest.
    0 without a pipeline."""
    p = np.asarray(mp.pp, dtype=float)
    v = np.maximum(np.asarray(mp.vpp, dtype=float), 1.0)
    piped = p > 1
    average = np.where(piped, 2.0 * microbatches * (v * p - 1.0) / p, 0.0)
    return average, np.where(piped, 2.0 * microbatches * v, 0.0)


def split_busiest_stage(wl: Workload, mp: MappingArrays, lc: LayerCosts) -> tuple[Any, Any, Any, Any]:
    """(dense, MoE, MTP layers, output layers) of the stage with the most matrix work under the embedding / loss
    split: the last (one layer fewer than its (L + 2) / pp slots, the output layer and the MTP block) or a middle
    one (all its slots; pp >= 3); the time model's slowest stage can be the other one (an output layer that takes
    longer than a layer for fewer FLOPs)."""
    moe_frac = wl.moe_layers / wl.layers
    dense_f, moe_f, mtp_f, out_f = kind_flops(wl, lc)
    layer_f = (1 - moe_frac) * dense_f + moe_frac * moe_f
    last, middle = first_stage_layers(wl, mp), np.where(mp.pp > 2, split_stage_slots(wl, mp), 0.0)
    n_mtp = float(wl.mtp_num_layers)
    on_last = last * layer_f + out_f + n_mtp * mtp_f >= middle * layer_f
    slow = np.where(on_last, last, middle)
    end = np.where(on_last, 1.0, 0.0)
    return slow * (1 - moe_frac), slow * moe_frac, end * n_mtp, end


def average_stage_parameters(wl: Workload, mp: MappingArrays, etp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dense, expert) parameters per accelerator averaged over the pipeline stages: the whole model (L layers,
    the MTP layers with their ``eh_proj``, the embedding, and the output layer's matrix where it is held apart:
    untied, or tied at pp > 1, where the last stage keeps the embedding's copy, as
    :func:`~archsweep.model.training.state_memory.stage_parameters` counts it) over ``tp x pp`` (experts over
    ``etp x ep x pp``). At pp = 1 without MTP it is ``stage_parameters`` itself."""
    n_mtp, mtp_moe = float(wl.mtp_num_layers), mtp_is_moe(wl)
    moe = wl.moe_layers + n_mtp * mtp_moe
    dense_ffn = wl.dense_layers + n_mtp * (1.0 - mtp_moe)
    shared = 0.0 if wl.moe is None else wl.moe.shared_experts * wl.expert_params + wl.hidden * wl.moe.num_experts
    copies = np.where((mp.pp == 1) & wl.tied_embeddings, 1.0, 2.0)
    dense = ((wl.layers + n_mtp) * wl.attention_params_per_layer + dense_ffn * wl.dense_ffn_params + moe * shared
             + copies * wl.vocab * wl.hidden + n_mtp * eh_proj_params(wl)) / (mp.tp * mp.pp)
    experts = 0.0 if wl.moe is None else moe * wl.moe.num_experts * wl.expert_params / (etp * mp.ep * mp.pp)
    return dense, np.asarray(experts) + 0.0 * dense


def step_link_bytes(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration,
                    stage: tuple[Any, Any, Any, Any, Any], tp: TensorParallelCost, ep: ExpertParallelCost,
                    pp: PipelineCost, data: DataParallelCost) -> LinkBytes:
    """:class:`LinkBytes` of ``training_step`` from its communication costs; ``stage``: (tokens of one micro-batch
    per CP rank, one TP all-reduce's activation bytes, micro-batches, layers of the stage, MoE share of its layers)."""
    tokens, act_bytes, microbatches, layers_stage, moe_frac = stage
    regather = tp.regather_bytes / np.maximum(layers_stage, 1.0)  # + MXFP8's column-wise output-gradient regathers
    ep_layers = np.maximum(layers_stage * moe_frac, 1e-300)  # EP bytes are priced per MoE layer of layers_stage
    return LinkBytes(tp_per_layer=microbatches * 8.0 * act_bytes * (mp.tp - 1) / np.maximum(mp.tp, 1.0) + regather,
                     ep_up_per_moe_layer=ep.scaleup_bytes / ep_layers, ep_out_per_moe_layer=ep.scaleout_bytes / ep_layers,
                     cp_per_layer=microbatches * cp_bytes_per_layer(wl, mp, cal, tokens),
                     cp_scaleout=mp.tp * mp.cp > hw.scaleup_domain_size,
                     pp_send_bytes=pp.send_bytes, pp_scaleout=pp.crosses_scaleout,
                     dp_shares=dp_link_shares(hw, mp, cal, data.groups),
                     synced_dp_params=tuple(g.params for g in data.groups), synced_local_params=data.local_params)


def step_work(wl: Workload, mp: MappingArrays, cal: Calibration, lc: LayerCosts, microbatches: np.ndarray,
              dp_group: np.ndarray, etp: np.ndarray, offload_hbm_bytes: np.ndarray, links: LinkBytes,
              busiest: tuple[Any, Any, Any, Any], optimizer_flops_per_layer: np.ndarray | float = 0.0) -> StepWork:
    """:class:`StepWork` of one step (module docstring). ``dp_group``: dp x cp (the dense gradient / optimizer
    shard group); ``offload_hbm_bytes``: one micro-batch's offload copies of a stage (offload.py); ``busiest``: the
    (dense layers, MoE layers, MTP layers, output layers) of the stage with the most work
    (``StageCompute.busiest_*``); ``optimizer_flops_per_layer``: the optimizer step's own GEMMs (Muon's Newton-Schulz
    iterations, :func:`~archsweep.model.training.newton_schulz.newton_schulz_step`) per layer of a stage (dense and
    MoE in the model's proportion, as that function counts them), times each device's dense and MoE layers."""
    mtp_moe = mtp_is_moe(wl)
    passes = 2.0 if wl.training.mode == "finetune_lora" else 3.0  # frozen weights: no weight-gradient GEMM
    core = lc.attn_core_flops * (mp.flash_attention == 0)
    rc_share = partial_recompute_share(wl, mp)  # block: the recomputed share

    def layer(frac: float) -> tuple[np.ndarray, np.ndarray]:  # (matrix FLOPs incl. recompute, HBM bytes) of one layer
        f = (1 - frac) * lc.dense_flops + frac * lc.moe_flops
        rc = np.where(mp.recompute == 2, f if rc_share is None else rc_share * f,
                      np.where(mp.recompute == 1, core, 0.0))
        return passes * f + rc, 3.0 * ((1 - frac) * lc.dense_hbm_bytes + frac * lc.moe_hbm_bytes)

    n_mtp = float(wl.mtp_num_layers)
    has_moe, has_mtp = wl.moe_layers > 0, n_mtp > 0  # kinds absent from the model are left out of the sums (0 each)
    dense_f, dense_h = layer(0.0)
    moe_f, moe_h = layer(1.0) if has_moe else (0.0, 0.0)
    out_f = passes * lc.logits_flops
    out_h = 3.0 * lc.logits_hbm_bytes + 2.0 * lc.loss_hbm_bytes  # the GEMM's three passes, the loss fwd + bwd
    mtp_f, mtp_h = layer(mtp_moe) if has_mtp else (0.0, 0.0)
    mtp_f = mtp_f + mtp_output_share(wl) * out_f  # + eh_proj + the output layer again
    mtp_h = mtp_h + out_h
    trainable = wl.trainable_params / wl.total_params
    average_sends, busiest_sends = pipeline_sends(mp, microbatches)
    cp_ring = bool(np.any(np.asarray(mp.cp) > 1))

    def per_kind(n_dense: Any, n_moe: Any, n_mtp: Any, dense: Any, moe: Any, mtp: Any) -> Any:
        total = n_dense * dense
        total = total + n_moe * moe if has_moe else total
        return total + n_mtp * mtp if has_mtp else total

    def device(n_dense: Any, n_moe: Any, n_mtp: Any, n_out: Any, local_params: Any, dp_bytes: SyncBytes,
               sends: Any) -> DeviceWork:
        matrix = (microbatches * (per_kind(n_dense, n_moe, n_mtp, dense_f, moe_f, mtp_f) + n_out * out_f)
                  + optimizer_flops_per_layer * (n_dense + n_moe))
        layers = per_kind(n_dense, n_moe, n_mtp, 1.0, 1.0, 1.0)
        ring = layers * links.tp_per_layer + dp_bytes.scaleup + dp_bytes.scaleout  # TP and DP: ring collectives
        up, out = layers * links.tp_per_layer + dp_bytes.scaleup, dp_bytes.scaleout
        if has_moe or (has_mtp and mtp_moe):
            moe = n_moe + n_mtp * mtp_moe
            up, out = up + moe * links.ep_up_per_moe_layer, out + moe * links.ep_out_per_moe_layer
        pp_bytes = sends * links.pp_send_bytes
        pp_out = pp_bytes * links.pp_scaleout  # on the scale-out network
        up, out = up + (pp_bytes - pp_out), out + pp_out
        if cp_ring:
            cp_bytes = layers * links.cp_per_layer
            cp_out = cp_bytes * links.cp_scaleout
            up, out = up + (cp_bytes - cp_out), out + cp_out
        # The collectives' HBM traffic per link byte: 3 in the TP / DP rings, 2 in the direct transfers (the rest).
        hbm = (microbatches * (per_kind(n_dense, n_moe, n_mtp, dense_h, moe_h, mtp_h) + n_out * out_h + offload_hbm_bytes)
               + local_params * trainable * cal.optimizer_bytes_per_param
               + RING_HBM_BYTES_PER_LINK_BYTE * ring + DIRECT_HBM_BYTES_PER_LINK_BYTE * (up + out - ring))
        return DeviceWork(matrix_flops=matrix, hbm_bytes=hbm, scaleup_bytes=up, scaleout_bytes=out)

    pp = np.asarray(mp.pp, dtype=float)
    dense_p, expert_p = average_stage_parameters(wl, mp, etp)  # data_parallel's sharding, of the average stage:
    local = local_state_params(mp, dense_p, expert_p, dp_group, etp)
    # The DP bytes of the average stage and of the synced one: the same groups (links.dp_shares), each its parameters.
    regather = zero3_regather_share(wl, mp, cal) if cal.zero3_max_reuse_distance_params > 0 else 0.0
    layer_wise = wl.training.optimizer == "muon"
    reduced = reduced_grad_bytes(mp, cal, (dense_p, expert_p), trainable, microbatches, dp_group, links.dp_shares,
                                 regather, layer_wise)
    synced = reduced_grad_bytes(mp, cal, links.synced_dp_params, trainable, microbatches, dp_group, links.dp_shares,
                                regather, layer_wise)
    average = device(wl.dense_layers / pp, wl.moe_layers / pp, n_mtp / pp, 1.0 / pp, local, reduced,
                     average_sends)
    return StepWork(average=average, busiest=device(*busiest, links.synced_local_params, synced, busiest_sends))
