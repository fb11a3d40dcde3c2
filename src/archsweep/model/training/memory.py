"""Memory per accelerator of the fullest pipeline stage: weights, gradients, optimizer state and activations, bytes.

The parts: the model state (:mod:`~archsweep.model.training.state_memory`: ZeRO sharding, the optimizer's dtypes),
one layer's stored activations (:mod:`~archsweep.model.training.activation_memory`: Korthikanti et al. MLSys 2023),
ZeRO-3's un-sharded unit buffers (:mod:`~archsweep.model.training.sharded_buffers`) and the MoE all-to-all overlap's
pairing and delayed weight gradients (:mod:`~archsweep.model.training.moe_overlap_memory`); this module assembles them
per pipeline stage. The first pipeline stage holds the most (under the split at pp >= 3 the second may, at pp >= 2 the
last may: :func:`memory_per_accelerator`): the schedule's in-flight micro-batches
(:func:`~archsweep.model.training.schedule.in_flight_layer_fraction`: ``min(pp, m)`` for 1F1B,
``pp (1 + (pp-1)/(pp*vpp))`` interleaved where pp divides m, Korthikanti Sec. 4.2.3; more where it does not); one micro-batch and one
layer at pp = 1 when the MoE all-to-all overlap pairs micro-batches there (:func:`a2a_paired_in_flight`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from archsweep.model.training.activation_memory import (
    activation_bytes_per_layer,
    layer_activation_bytes,
    resident_layers,
)
from archsweep.model.training.layout_stage import layout_first_layers, layout_last_layers
from archsweep.model.training.mapping import MappingArrays, expert_tensor_parallel
from archsweep.model.training.moe_backward_memory import combine_grad_bytes
from archsweep.model.training.moe_overlap_memory import a2a_paired_in_flight, delayed_wgrad_bytes
from archsweep.model.training.recompute_share import partial_recompute, working_layers
from archsweep.model.training.schedule import in_flight_layer_fraction, microbatch_group
from archsweep.model.training.sharded_buffers import (
    zero2_grad_queue_bytes,
    zero3_nonunit_bytes,
    zero3_unit_buffer_bytes,
)
from archsweep.model.training.state_memory import (
    model_state_bytes_per_param,
    muon_parameters,
    stage_linear_parameters,
    stage_parameters,
)
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["MemoryBreakdown", "first_stage_layers", "memory_per_accelerator", "resident_layers", "split_stage_slots", "usable_hbm_bytes"]


@dataclass(frozen=True)
class MemoryBreakdown:
    """Bytes per accelerator (first pipeline stage, the fullest); parts add up to ``total``.

    ``activations_bytes`` are the stored activations (Korthikanti's accounting);
    ``recompute_working_bytes`` is the one layer re-materialised at a time under full recompute (a uniform unit's
    layers: recompute_share.py ``working_layers``; 0 otherwise);
    ``delayed_wgrad_bytes`` is, where the EP all-to-all overlap pairs micro-batches, one MoE layer's delayed
    weight-gradient tensors (:func:`delayed_wgrad_bytes`, 0 elsewhere; the overlap refuses full recompute,
    so at most one of the two is non-zero); ``moe_combine_grad_bytes`` the gradient buffers of a MoE layer's
    combine backward, alive beside all of the layer's saved tensors (:func:`combine_grad_bytes`, 0 for dense).
    """

    weights_bytes: np.ndarray
    gradients_bytes: np.ndarray
    optimizer_bytes: np.ndarray
    activations_bytes: np.ndarray
    recompute_working_bytes: np.ndarray
    delayed_wgrad_bytes: np.ndarray
    moe_combine_grad_bytes: np.ndarray
    reserved_bytes: np.ndarray
    total_bytes: np.ndarray


def usable_hbm_bytes(hw: HardwareArrays, cal: Calibration) -> np.ndarray:
    """HBM bytes a mapping may fill per accelerator: the capacity times the software stack's usable
    share (``hbm_usable_fraction``, 1 = all of it). The one feasibility limit of ``training_step``
    and of the pruned mapping search."""
    return np.asarray(hw.hbm_capacity_bytes, dtype=np.float64) * cal.hbm_usable_fraction


def split_stage_slots(wl: Workload, mp: MappingArrays) -> np.ndarray:
    """(L + 2) / pp: the layer slots of every pipeline stage where the job's split counts the embedding and the
    loss as one layer each (``TrainingJob.embedding_loss_in_pipeline_split``); what a middle stage (pp >= 3) builds."""
    return (wl.layers + 2.0) / mp.pp


def first_stage_layers(wl: Workload, mp: MappingArrays) -> np.ndarray:
    """Transformer layers the first pipeline stage builds: ceil(L / pp), as evenly as the pipeline allows; where
    the job's split counts the embedding and the loss as one layer each
    (``TrainingJob.embedding_loss_in_pipeline_split``, Megatron-Core ``get_num_layers_to_build``,
    NVIDIA/Megatron-LM @b0cc2706dd megatron/core/transformer/transformer_block.py) one fewer than its
    (L + 2) / pp slots beside the embedding (pp > 1; all L at pp = 1), as the time side counts them
    (step.py ``_embedding_loss_split``)."""
    if wl.training.pipeline_layout:  # the stated layout's first rank (layout_stage.py)
        return layout_first_layers(wl, mp)
    even = np.ceil(wl.layers / mp.pp)
    if not wl.training.embedding_loss_in_pipeline_split:
        return even
    return np.where(mp.pp > 1, split_stage_slots(wl, mp) - 1.0, float(wl.layers))


def memory_per_accelerator(wl: Workload, mp: MappingArrays, dp: np.ndarray, microbatches: np.ndarray,
                           cal: Calibration, etp: np.ndarray | None = None,
                           layer_bytes: np.ndarray | None = None,
                           fp8_gemm_layouts: np.ndarray | str = "tn_only") -> MemoryBreakdown:
    """Memory of the fullest pipeline stage's accelerator; ``dp`` and ``microbatches`` broadcast.

    The first stage's; under the job's embedding / loss split (pp >= 3) the second stage's where that is more:
    it builds all (L + 2) / pp slots and no embedding, and holds one in-flight micro-batch (1F1B) or two chunks
    (interleaved) fewer (:func:`~archsweep.model.training.schedule.in_flight_layer_fraction` at rank 1; later
    middle stages hold fewer, the last one the first's layers less the embedding). Llama-3.1 405B's middle
    stage holds ~1.1 G parameters / tp more than the first (review s12 finding 10; the DP sync and optimizer
    take the larger one too: :func:`~archsweep.model.training.data_parallel.synced_stage_parameters`). Bytes
    per parameter and the reserved memory come from ``cal`` (data/calibration/model.yaml). At pp >= 2 the last
    stage's where that is more (s14-fsdpmoe): it holds the first's layer count (its own under a stated layout),
    one in-flight micro-batch (1F1B; ``(v - 1) N + 1`` chunks interleaved) and one micro-batch's logits.

    ``etp`` (:func:`~archsweep.model.training.mapping.expert_tensor_parallel` of ``mp`` and ``dp``) and
    ``layer_bytes`` (:func:`~archsweep.model.training.activation_memory.layer_activation_bytes` at that ``etp``):
    where the caller has them (``training_step``); the same values either way. The last stage's model state is the
    first's where it holds the first's layers (no stated layout): computed once.

    ``fp8_gemm_layouts``: the part's hardware column ("any" or "tn_only"), which of the quantised weight copies'
    byte figures apply (``cal.fp8_weight_copy_bytes_per_param[_any_layout]``, counted with the weights; 0 for BF16).
    """
    shared = _stage_shared(wl, mp, dp, microbatches, cal, etp, layer_bytes, fp8_gemm_layouts)  # the same for every stage
    first_layers = first_stage_layers(wl, mp)
    first_state = _stage_state(wl, mp, cal, shared, first_layers, "first")
    out = _stage_parts(first_state, _stage_acts(wl, mp, microbatches, shared, first_layers, "first", cal), shared, cal)
    if wl.training.embedding_loss_in_pipeline_split:
        slots = split_stage_slots(wl, mp)
        second = _stage_parts(_stage_state(wl, mp, cal, shared, slots, "middle"),
                              _stage_acts(wl, mp, microbatches, shared, slots, "middle", cal), shared, cal)
        out = _larger(mp.pp >= 3, second, out)
    # The last stage builds the output layer and computes the loss (Megatron-Core GPTModel ``post_process``):
    # one micro-batch's logits beside its layers and its own in-flight micro-batches (rank pp - 1).
    if wl.training.pipeline_layout:
        last_layers = layout_last_layers(wl, mp)
        last_state = _stage_state(wl, mp, cal, shared, last_layers, "last")
    else:  # the first stage's layer count: the same weights, gradients and optimizer state
        last_layers, last_state = first_layers, first_state
    last = _stage_parts(last_state, _stage_acts(wl, mp, microbatches, shared, last_layers, "last", cal), shared, cal)
    return _breakdown(_larger(mp.pp >= 2, last, out), shared, cal)


@dataclass(frozen=True)
class StageShared:
    """What every stage of :func:`memory_per_accelerator` takes the same (:func:`_stage_shared`), arrays that
    broadcast with the mappings: bytes per accelerator where named ``_bytes``."""

    etp: np.ndarray  #: expert tensor-parallel width (mapping.expert_tensor_parallel)
    shard_group: np.ndarray  #: the dense state's ZeRO shard group, dp x cp
    expert_group: np.ndarray  #: the experts' shard group, at least 1
    layer_bytes: np.ndarray  #: one layer's stored activations of one micro-batch (activation_memory.py)
    working_bytes: np.ndarray  #: the re-materialised layers' full working set under full recompute, else 0
    paired: np.ndarray  #: micro-batches' worth paired by the MoE all-to-all overlap (moe_overlap_memory.py)
    wgrad_bytes: np.ndarray  #: the overlap's delayed weight gradients (moe_overlap_memory.py)
    combine_bytes: np.ndarray  #: a MoE layer's combine-backward gradient buffers (moe_backward_memory.py)
    unit_weight_bytes: np.ndarray  #: ZeRO-3's un-sharded unit weights (sharded_buffers.py)
    unit_grad_bytes: np.ndarray  #: ZeRO-3's un-sharded unit gradients (sharded_buffers.py)
    group: np.ndarray  #: the interleaved schedule's micro-batch group N (schedule.microbatch_group)
    copy_bytes: np.ndarray  #: quantised weight copies per Linear weight parameter (the part's layout's figure)


def _stage_shared(wl: Workload, mp: MappingArrays, dp: np.ndarray, microbatches: np.ndarray, cal: Calibration,
                  etp: np.ndarray | None = None, layer_bytes: np.ndarray | None = None,
                  fp8_gemm_layouts: np.ndarray | str = "tn_only") -> StageShared:
    """:class:`StageShared` of the mappings (``etp``, ``layer_bytes``: as :func:`memory_per_accelerator` takes them)."""
    etp = expert_tensor_parallel(mp, dp) if etp is None else etp
    shard_group = dp * mp.cp
    expert_group = np.maximum(shard_group * mp.tp / (mp.ep * etp), 1.0)
    if layer_bytes is None:
        layer_bytes = layer_activation_bytes(wl, mp, etp)
    working = activation_bytes_per_layer(wl, replace(mp, recompute=np.zeros_like(mp.recompute)),
                                         wl.moe is not None, etp)
    unit_w, unit_g = zero3_unit_buffer_bytes(wl, mp, etp, shard_group, expert_group, cal)
    return StageShared(etp=etp, shard_group=shard_group, expert_group=expert_group, layer_bytes=layer_bytes,
                       working_bytes=(working_layers(wl, mp) * working if partial_recompute(wl)
                                      else np.where(mp.recompute == 2, working, 0.0)),
                       paired=a2a_paired_in_flight(wl, mp, microbatches, cal), wgrad_bytes=delayed_wgrad_bytes(wl, mp, cal, etp),
                       combine_bytes=combine_grad_bytes(wl, mp, cal), unit_weight_bytes=unit_w, unit_grad_bytes=unit_g,
                       group=microbatch_group(microbatches, mp.pp), copy_bytes=_weight_copy_bytes(cal, fp8_gemm_layouts))


def _weight_copy_bytes(cal: Calibration, fp8_gemm_layouts: np.ndarray | str) -> np.ndarray:
    """Quantised weight copies per Linear weight parameter on the parts (``cal``'s any-layout figure where the part's
    FP8 GEMMs take any layout, else its TN-only one); 0 without copies (BF16 jobs: no per-candidate string compare)."""
    tn_only, any_layout = cal.fp8_weight_copy_bytes_per_param, cal.fp8_weight_copy_bytes_per_param_any_layout
    if tn_only == any_layout:
        return np.asarray(tn_only)
    return np.where(np.asarray(fp8_gemm_layouts) == "any", any_layout, tn_only)


class _StageState(NamedTuple):
    """One stage's weight, gradient and optimizer bytes, and their sum (:func:`_stage_state`)."""

    weights: np.ndarray
    gradients: np.ndarray
    optimizer: np.ndarray
    state: np.ndarray


class _StageParts(NamedTuple):
    """One stage's :class:`_StageState` parts, stored activations and total (:func:`_stage_parts`)."""

    weights: np.ndarray
    gradients: np.ndarray
    optimizer: np.ndarray
    activations: np.ndarray
    total: np.ndarray


def _stage_state(wl: Workload, mp: MappingArrays, cal: Calibration, s: StageShared, layers_stage: np.ndarray,
                 stage: str) -> _StageState:
    """Weights, gradients and optimizer state of one accelerator of ``stage`` holding ``layers_stage`` layers
    (:func:`_stage_memory`), ZeRO-sharded (state_memory.py), with ZeRO-3's unit buffers (sharded_buffers.py)."""
    dense, experts = stage_parameters(wl, mp, s.etp, layers_stage)
    if stage == "middle":
        dense = dense - wl.vocab * wl.hidden / mp.tp
    z = mp.zero_stage
    # LoRA: gradients and optimizer state only for the adapters (their share of the weights); else all (x 1 skipped).
    trainable = wl.trainable_params / wl.total_params
    dense_sharded, experts_sharded = dense / s.shard_group, experts / s.expert_group
    if trainable == 1.0:
        trainable_dense, trainable_exp, td_sharded, te_sharded = dense, experts, dense_sharded, experts_sharded
    else:
        trainable_dense, trainable_exp = dense * trainable, experts * trainable
        td_sharded, te_sharded = trainable_dense / s.shard_group, trainable_exp / s.expert_group
    w_bytes = cal.weight_bytes_per_param * (np.where(z >= 3, dense_sharded, dense) + np.where(z >= 3, experts_sharded, experts))
    grad_b, state_b, shard_b = model_state_bytes_per_param(wl, cal)
    g_bytes = grad_b * (np.where(z >= 2, td_sharded, trainable_dense) + np.where(z >= 2, te_sharded, trainable_exp))
    # ZeRO-3: two layers' un-sharded weights and gradients beside the shards, and (Megatron-FSDP) the stage's
    # vocabulary matrices kept gathered (sharded_buffers.py).
    w_bytes = w_bytes + s.unit_weight_bytes + zero3_nonunit_bytes(wl, mp, s.shard_group, cal, stage)
    # ZeRO-2 (Megatron-FSDP): the un-sharded gradient buckets queued for their reduce-scatter (sharded_buffers.py).
    sharded = np.where(s.shard_group > 1, trainable_dense, 0.0) + np.where(s.expert_group > 1, trainable_exp, 0.0)
    g_bytes = g_bytes + s.unit_grad_bytes + zero2_grad_queue_bytes(mp, sharded, cal)
    if cal.fp8_weight_copy_bytes_per_param > 0 or cal.fp8_weight_copy_bytes_per_param_any_layout > 0:
        # TransformerEngine's cached quantised weight copies (low-precision jobs; sharded like the weights under ZeRO-3).
        lin_dense, lin_exp = stage_linear_parameters(wl, mp, s.etp, layers_stage)
        w_bytes = w_bytes + s.copy_bytes * (np.where(z >= 3, lin_dense / s.shard_group, lin_dense)
                                            + np.where(z >= 3, lin_exp / s.expert_group, lin_exp))
    o_bytes = (state_b + np.where(s.shard_group > 1, shard_b, 0.0)) * (
        np.where(z >= 1, td_sharded, trainable_dense) + np.where(z >= 1, te_sharded, trainable_exp))
    if wl.training.optimizer == "muon":  # Muon's weights keep less state than Adam's (state_memory.muon_parameters)
        muon_dense, muon_exp = muon_parameters(wl, mp, s.etp, layers_stage)
        o_bytes = o_bytes - (state_b - cal.muon_state_bytes_per_param) * (
            np.where(z >= 1, muon_dense / s.shard_group, muon_dense)
            + np.where(z >= 1, muon_exp / s.expert_group, muon_exp))
    return _StageState(w_bytes, g_bytes, o_bytes, w_bytes + g_bytes + o_bytes)


def _stage_acts(wl: Workload, mp: MappingArrays, microbatches: np.ndarray, s: StageShared, layers_stage: np.ndarray,
                stage: str, cal: Calibration) -> np.ndarray:
    """Stored activations of one accelerator of ``stage`` holding ``layers_stage`` layers (:func:`_stage_memory`):
    its in-flight micro-batches' resident layers, and on the last stage (the only one at pp = 1) the logits."""
    rank = {"first": 0, "middle": 1}.get(stage, mp.pp - 1)
    in_flight = in_flight_layer_fraction(microbatches, mp.pp, mp.vpp, rank, s.group) * s.paired
    acts = resident_layers(wl, layers_stage) * s.layer_bytes * in_flight
    # Output layer logits and the loss's copies (the stack's bytes per logit) live on the last stage; with pp = 1
    # that is the first.
    tokens = mp.micro_batch * wl.seq_len / mp.cp
    logits = cal.loss_logit_bytes_per_element * tokens * wl.vocab / mp.tp
    return acts + np.where((mp.pp == 1) | (stage == "last"), logits, 0.0)


def _stage_parts(state: _StageState, acts: np.ndarray, s: StageShared, cal: Calibration) -> _StageParts:
    """The stage's parts and total (the reserved memory, a constant, added as a scalar: the same values)."""
    total = state.state + acts + s.working_bytes + s.wgrad_bytes + s.combine_bytes + cal.memory_reserved_bytes
    return _StageParts(state.weights, state.gradients, state.optimizer, acts, total)


def _larger(where: np.ndarray, a: _StageParts, b: _StageParts) -> _StageParts:
    """``a`` where ``where`` and its total is larger, else ``b``, part by part (a part both share as it is)."""
    use = where & (a.total > b.total)
    return _StageParts(*(x if x is y else np.where(use, x, y) for x, y in zip(a, b, strict=True)))


def _breakdown(parts: _StageParts, s: StageShared, cal: Calibration) -> MemoryBreakdown:
    """:class:`MemoryBreakdown` of a stage's (or the fuller stages') parts, every part broadcast to the total's shape."""
    total = parts.total
    zero = 0.0 * total  # broadcast every part to the common shape
    return MemoryBreakdown(weights_bytes=parts.weights + zero, gradients_bytes=parts.gradients + zero,
                           optimizer_bytes=parts.optimizer + zero, activations_bytes=parts.activations + zero,
                           recompute_working_bytes=s.working_bytes + zero, delayed_wgrad_bytes=s.wgrad_bytes + zero,
                           moe_combine_grad_bytes=s.combine_bytes + zero,
                           reserved_bytes=cal.memory_reserved_bytes + zero, total_bytes=total)


def _stage_memory(wl: Workload, mp: MappingArrays, dp: np.ndarray, microbatches: np.ndarray, cal: Calibration,
                  layers_stage: np.ndarray, stage: str, shared: StageShared | None = None) -> MemoryBreakdown:
    """:func:`memory_per_accelerator` of the ``stage`` "first" (rank 0, the embedding), "middle" (rank 1, no
    vocabulary matrix) or "last" (rank pp - 1, the output layer and one micro-batch's logits) holding
    ``layers_stage`` layers; ``shared``: :func:`_stage_shared` where the caller has it."""
    s = _stage_shared(wl, mp, dp, microbatches, cal) if shared is None else shared
    return _breakdown(_stage_parts(_stage_state(wl, mp, cal, s, layers_stage, stage),
                                   _stage_acts(wl, mp, microbatches, s, layers_stage, stage, cal), s, cal), s, cal)
