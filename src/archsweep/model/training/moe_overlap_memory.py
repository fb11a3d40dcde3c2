"""Memory the MoE all-to-all overlap adds (Megatron-Core's combined 1F1B, ``delay_wgrad_compute``): the
in-flight pairing at pp = 1 and the delayed weight gradients; parts of
:func:`~archsweep.model.training.memory.memory_per_accelerator` (moved out of memory.py for its size)."""

from __future__ import annotations

import numpy as np

from archsweep.model.training.communication import a2a_overlap_pairs
from archsweep.model.training.mapping import MappingArrays
from archsweep.spec.calibration import Calibration
from archsweep.spec.workload import Workload

__all__ = ["a2a_paired_in_flight", "delayed_wgrad_bytes"]


def a2a_paired_in_flight(wl: Workload, mp: MappingArrays, microbatches: np.ndarray, cal: Calibration) -> np.ndarray:
    """Micro-batches' worth of the stage's layers in flight without a pipeline (pp = 1): one micro-batch
    and one layer, ``1 + 1 / layers``, where the MoE all-to-all overlap pairs micro-batches there, else 1.

    Megatron-Core's ``combined_1f1b_schedule_for_no_pipelining`` (NVIDIA/Megatron-LM @b0cc2706dd, the
    Megatron-Bridge v0.3.0 pin, megatron/core/pipeline_parallel/combined_1f1b.py, used with
    ``overlap_moe_expert_parallel_comm``) runs the forward of micro-batch i + 1 together with the backward of
    micro-batch i, layer by layer: ``TransformerModelChunkSchedulePlan.run``
    (megatron/core/models/common/model_chunk_schedule_plan.py) pairs forward layer j with backward layer
    n - 1 - j (``pop_layer``, last in first out) and releases each backward layer's state after its step, so
    at step j micro-batch i + 1 holds layers 0..j and micro-batch i layers 0..n - 1 - j: one micro-batch's
    layers and the pair's one layer more, not two micro-batches (the loss backward of i runs at the call's
    start, the output layer of i + 1 at its end: one micro-batch's logits). Paired: a MoE model at pp = 1
    where :func:`~archsweep.model.training.communication.a2a_overlap_pairs` holds (the one predicate of the
    hidden all-to-alls), with at least two micro-batches. The delayed weight-gradient tensors
    (``delay_wgrad_compute``) are :func:`delayed_wgrad_bytes`."""
    paired = (mp.pp == 1) & a2a_overlap_pairs(wl, mp, cal) & (microbatches >= 2)
    return np.where(paired, 1.0 + 1.0 / max(float(wl.layers), 1.0), 1.0)


def delayed_wgrad_bytes(wl: Workload, mp: MappingArrays, cal: Calibration, etp: np.ndarray | float) -> np.ndarray:
    """Bytes the EP all-to-all overlap's delayed weight gradients hold on top of the stored activations:
    one MoE layer's routed-expert output gradients, where
    :func:`~archsweep.model.training.communication.a2a_overlap_pairs` holds, else 0.

    Megatron-Bridge sets ``delay_wgrad_compute`` with ``overlap_moe_expert_parallel_comm`` (NVIDIA-NeMo/
    Megatron-Bridge scripts/performance/utils/overrides.py ``_set_moe_a2a_overlap_overrides``, a preset's
    ``moe_a2a_overlap``). TransformerEngine then keeps, instead of running
    the weight-gradient GEMM in the backward, each grouped expert Linear's input and output gradient in
    its wgrad store (NVIDIA/TransformerEngine @d0067d0 transformer_engine/pytorch/module/grouped_linear.py
    ``ctx.wgrad_store.put([inputmats, grad_output, wgrad_list], ...)``) until Megatron-Core's combined
    1F1B layer step calls ``mlp.backward_dw()`` after the other micro-batch's dispatch
    (NVIDIA/Megatron-LM @d98e8a6 megatron/core/models/common/model_chunk_schedule_plan.py
    ``TransformerLayerSchedulePlan.run``: mlp backward, dispatch forward, mlp backward_dw). The inputs are
    stored activations (already counted); the output gradients of FC2 (h wide, over the FC1 input's
    etp-gathered tokens) and FC1 (2 x or 1 x the expert FFN width, SwiGLU / GeLU, split etp ways) of
    every routed copy stay alive together, one layer at a time (the attention Linears' delayed gradients
    are computed before the next layer's and are smaller). 2 bytes per element: BF16, or FP8 with the
    row-wise and column-wise copies the quantiser keeps for the dgrad and wgrad GEMMs."""
    if wl.moe is None:
        return np.zeros(np.shape(mp.tp))
    tokens = mp.micro_batch * float(wl.seq_len) / mp.cp
    routed = wl.moe.top_k * wl.moe.capacity_factor
    fc1_width = (2.0 if wl.ffn_type == "swiglu" else 1.0) * wl.moe.expert_ffn_hidden
    held = 2.0 * routed * tokens * (float(wl.hidden) * etp + fc1_width) / mp.tp
    return np.where(a2a_overlap_pairs(wl, mp, cal), held, 0.0)
