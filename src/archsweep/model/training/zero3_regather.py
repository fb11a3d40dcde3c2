"""Weights DeepSpeed ZeRO-3 gathers a third time per micro-batch: in a recomputed layer, those its release rule
frees between the recomputed forward and the backward.

DeepSpeed ZeRO-3 gathers a sub-module's parameters in its pre-forward and pre-backward hooks and, in the
post-forward / post-backward hooks, releases (re-partitions) every non-persistent parameter unless the sub-module
recurs within ``stage3_max_reuse_distance`` parameters (numel) of the recorded module trace: microsoft/DeepSpeed
v0.3.13 (2021-03-16, the first release with ZeRO-3; the same through v0.4.5) ``deepspeed/runtime/zero/stage3.py``
``PartitionedParameterCoordinator.release_sub_module`` -> ``_keep_for_later`` -> ``PrefetchCoordinator.
get_reuse_distance_in_numel`` / ``_distance_in_numel`` (the numel of every module's parameters in the trace between
this use and the next), default 1,000,000,000 (``runtime/zero/constants.py`` L90-91); the same rule and default in
the 2025 code (``partitioned_param_coordinator.py`` ``__params_to_release``, ``zero/config.py``
``max_reuse_distance`` 1e9). The hooks fire in the recomputed forward too (the checkpointed forward re-runs the
modules under autograd), so with full recompute a layer's trace is: its modules' recomputed forward
``m_1 .. m_k``, then their backward ``m_k .. m_1``. Between ``m_j``'s recomputed forward and its backward lie
``m_{j+1} .. m_k`` twice: ``m_j`` is released and gathered again when ``2 * sum_{i>j} numel(m_i) >= distance``.
The model's ZeRO-3 (data_parallel._zero3_exposed_s) counts a gather before the forward and one before the
backward that the recomputed forward reuses; this is the share of a layer's weights gathered once more.

Modules of a layer in forward order, numel per tensor-parallel rank (the hooks see the local shards): the fused
query-key-value projection (MLA: every projection but the output), the attention output projection, the first FFN
matrix (SwiGLU: gate and up fused, as Megatron's ``dense_h_to_4h``), the second. Norms (below the persistence
threshold) and biases are left out. The share is of the dense layer's weights; the experts' gathers of an MoE layer
are not re-counted.
"""

from __future__ import annotations

import numpy as np

from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.recompute_share import full_recompute_share
from archsweep.spec.calibration import Calibration
from archsweep.spec.workload import Workload

__all__ = ["layer_module_params", "zero3_regather_share"]


def layer_module_params(wl: Workload) -> tuple[float, ...]:
    """Parameters of a dense layer's weight modules in forward order (whole, before tensor parallelism):
    (query-key-value, attention output, FFN first matrix, FFN second matrix)."""
    h, f = float(wl.hidden), float(wl.ffn_hidden)
    out = float(wl.heads * wl.head_dim) * h if wl.mla is None else float(wl.heads * wl.mla.v_head_dim) * h
    qkv = wl.attention_params_per_layer - out
    return qkv, out, (wl.ffn_matrices - 1) * h * f, h * f


def zero3_regather_share(wl: Workload, mp: MappingArrays, cal: Calibration) -> np.ndarray:
    """Share of a dense layer's weights gathered a third time per micro-batch (before its backward, after the
    recomputed forward released them), in [0, 1]: 0 without full recompute, below ZeRO-3, or where the stack has no
    reuse-distance release (``zero3_max_reuse_distance_params`` 0). Times the layers recomputed
    (:func:`full_recompute_share`)."""
    cap = cal.zero3_max_reuse_distance_params
    shape = np.broadcast(mp.tp, mp.zero_stage, mp.recompute).shape
    if cap <= 0:
        return np.zeros(shape)
    sizes = layer_module_params(wl)
    tp = np.asarray(mp.tp, dtype=float)
    share = np.zeros(shape)
    for j, size in enumerate(sizes):
        between = 2.0 * sum(sizes[j + 1:]) / tp  # the later modules' recomputed forward and backward, per rank
        share = share + np.where(between >= cap, size, 0.0)
    share = share / sum(sizes)
    return np.where(np.asarray(mp.zero_stage) >= 3, share * full_recompute_share(wl, mp), 0.0)
