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

from dataclasses import dataclass, fields, replace

import numpy as np

from archsweep.model.training.activation_memory import (
    _activation_bytes_per_layer,
    layer_activation_bytes,
    resident_layers,
)
from archsweep.model.training.layout_stage import layout_first_layers, layout_last_layers
from archsweep.model.training.mapping import MappingArrays, expert_tensor_parallel
from archsweep.model.training.moe_overlap_memory import a2a_paired_in_flight, delayed_wgrad_bytes
from archsweep.model.training.schedule import in_flight_layer_fraction
from archsweep.model.training.sharded_buffers import zero3_unit_buffer_bytes
from archsweep.model.training.state_memory import model_state_bytes_per_param, stage_parameters
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["MemoryBreakdown", "a2a_paired_in_flight", "delayed_wgrad_bytes", "first_stage_layers", "layer_activation_bytes",
           "memory_per_accelerator", "model_state_bytes_per_param", "resident_layers", "split_stage_slots", "stage_parameters",
           "usable_hbm_bytes"]


@dataclass(frozen=True)
class MemoryBreakdown:
    """Bytes per accelerator (first pipeline stage, the fullest); parts add up to ``total``.

    ``activations_bytes`` are the stored activations (Korthikanti's accounting);
    ``recompute_working_bytes`` is the one layer re-materialised at a time under full recompute (0 otherwise);
    ``delayed_wgrad_bytes`` is, where the EP all-to-all overlap pairs micro-batches, one MoE layer's delayed
    weight-gradient tensors (:func:`delayed_wgrad_bytes`, 0 elsewhere; the overlap refuses full recompute,
    so at most one of the two is non-zero).
    """

    weights_bytes: np.ndarray
    gradients_bytes: np.ndarray
    optimizer_bytes: np.ndarray
    activations_bytes: np.ndarray
    recompute_working_bytes: np.ndarray
    delayed_wgrad_bytes: np.ndarray
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
                           cal: Calibration) -> MemoryBreakdown:
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
    """
    shared = _stage_shared(wl, mp, dp, microbatches, cal)  # the same for every stage
    first = _stage_memory(wl, mp, dp, microbatches, cal, first_stage_layers(wl, mp), "first", shared)
    out = first
    if wl.training.embedding_loss_in_pipeline_split:
        second = _stage_memory(wl, mp, dp, microbatches, cal, split_stage_slots(wl, mp), "middle", shared)
        out = _larger(mp.pp >= 3, second, first)
    # The last stage builds the output layer and computes the loss (Megatron-Core GPTModel ``post_process``):
    # one micro-batch's logits beside its layers and its own in-flight micro-batches (rank pp - 1).
    last_layers = layout_last_layers(wl, mp) if wl.training.pipeline_layout else first_stage_layers(wl, mp)
    return _larger(mp.pp >= 2, _stage_memory(wl, mp, dp, microbatches, cal, last_layers, "last", shared), out)


def _layer_bytes(wl: Workload, mp: MappingArrays, etp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(one layer's stored activations of one micro-batch, its full working set under full recompute, else 0)."""
    working = _activation_bytes_per_layer(wl, replace(mp, recompute=np.zeros_like(mp.recompute)), wl.moe is not None, etp)
    return layer_activation_bytes(wl, mp, etp), np.where(mp.recompute == 2, working, 0.0)


def _stage_shared(wl: Workload, mp: MappingArrays, dp: np.ndarray, microbatches: np.ndarray, cal: Calibration
                  ) -> tuple[np.ndarray, ...]:
    """What :func:`_stage_memory` takes the same on every stage: (expert TP width, the dense and expert shard groups,
    :func:`_layer_bytes`, the all-to-all pairing factor, the delayed weight gradients, ZeRO-3's unit weights and grads)."""
    etp = expert_tensor_parallel(mp, dp)
    shard_group = dp * mp.cp
    expert_group = np.maximum(shard_group * mp.tp / (mp.ep * etp), 1.0)
    return (etp, shard_group, expert_group, *_layer_bytes(wl, mp, etp), a2a_paired_in_flight(wl, mp, microbatches, cal),
            delayed_wgrad_bytes(wl, mp, cal, etp), *zero3_unit_buffer_bytes(wl, mp, etp, shard_group, expert_group, cal))


def _larger(where: np.ndarray, a: MemoryBreakdown, b: MemoryBreakdown) -> MemoryBreakdown:
    """``a`` where ``where`` and its total is larger, else ``b``, part by part."""
    use = where & (a.total_bytes > b.total_bytes)
    return MemoryBreakdown(**{f.name: np.where(use, getattr(a, f.name), getattr(b, f.name)) for f in fields(a)})


def _stage_memory(wl: Workload, mp: MappingArrays, dp: np.ndarray, microbatches: np.ndarray, cal: Calibration,
                  layers_stage: np.ndarray, stage: str,
                  shared: tuple[np.ndarray, ...] | None = None) -> MemoryBreakdown:
    """:func:`memory_per_accelerator` of the ``stage`` "first" (rank 0, the embedding), "middle" (rank 1, no
    vocabulary matrix) or "last" (rank pp - 1, the output layer and one micro-batch's logits) holding
    ``layers_stage`` layers; ``shared``: :func:`_stage_shared` where the caller has it."""
    etp, shard_group, expert_group, per_layer, working, paired, wgrad, unit_w, unit_g = (
        shared or _stage_shared(wl, mp, dp, microbatches, cal))
    dense, experts = stage_parameters(wl, mp, etp, layers_stage)
    dense = dense - (wl.vocab * wl.hidden / mp.tp if stage == "middle" else 0.0)
    rank = {"first": 0, "middle": 1}.get(stage, mp.pp - 1)
    z = mp.zero_stage
    w_bytes = cal.weight_bytes_per_param * (np.where(z >= 3, dense / shard_group, dense) + np.where(z >= 3, experts / expert_group, experts))
    # LoRA: gradients and optimizer state only for the adapters (their share of the weights).
    trainable = wl.trainable_params / wl.total_params
    trainable_dense, trainable_exp = dense * trainable, experts * trainable
    grad_b, state_b, shard_b = model_state_bytes_per_param(wl, cal)
    g_bytes = grad_b * (np.where(z >= 2, trainable_dense / shard_group, trainable_dense)
                        + np.where(z >= 2, trainable_exp / expert_group, trainable_exp))
    # ZeRO-3: two layers' un-sharded weights and gradients beside the shards (sharded_buffers.py).
    w_bytes, g_bytes = w_bytes + unit_w, g_bytes + unit_g
    o_bytes = (state_b + np.where(shard_group > 1, shard_b, 0.0)) * (
        np.where(z >= 1, trainable_dense / shard_group, trainable_dense) + np.where(z >= 1, trainable_exp / expert_group, trainable_exp))
    in_flight = in_flight_layer_fraction(microbatches, mp.pp, mp.vpp, rank) * paired
    acts = resident_layers(wl, layers_stage) * per_layer * in_flight
    # Output layer logits (bf16 + fp32 loss) live on the last stage; with pp = 1 that is the first.
    tokens = mp.micro_batch * wl.seq_len / mp.cp
    acts = acts + np.where((mp.pp == 1) | (stage == "last"), 6.0 * tokens * wl.vocab / mp.tp, 0.0)
    reserved = np.full(np.shape(acts), cal.memory_reserved_bytes)
    total = w_bytes + g_bytes + o_bytes + acts + working + wgrad + reserved
    zero = 0.0 * total  # broadcast every part to the common shape
    return MemoryBreakdown(weights_bytes=w_bytes + zero, gradients_bytes=g_bytes + zero, optimizer_bytes=o_bytes + zero,
                           activations_bytes=acts + zero, recompute_working_bytes=working + zero,
                           delayed_wgrad_bytes=wgrad + zero, reserved_bytes=reserved + zero, total_bytes=total)
