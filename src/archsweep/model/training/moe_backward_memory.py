"""The MoE layer's combine backward: gradient buffers of every routed token copy alive at once, a part of
:func:`~archsweep.model.training.memory.memory_per_accelerator` beside the stored activations."""

from __future__ import annotations

import numpy as np

from archsweep.model.training.mapping import MappingArrays
from archsweep.spec.calibration import Calibration
from archsweep.spec.workload import Workload

__all__ = ["combine_grad_bytes"]

#: Bytes per element of the combine's gradients (BF16: FP8 recipes quantise GEMM operands, not these).
_GRAD_BYTES = 2.0


def combine_grad_bytes(wl: Workload, mp: MappingArrays, cal: Calibration) -> np.ndarray:
    """Bytes per accelerator the backward of a MoE layer's token combine holds beside the stored activations.

    The backward of a layer starts at its output, where every tensor the layer saved is still alive (with full
    recompute: the one layer just re-materialised, ``recompute_working_bytes``). Megatron-Core's all-to-all
    dispatcher combines the experts' outputs with an all-to-all over the expert-parallel group and then an
    un-permute to the token order (NVIDIA/Megatron-LM @d98e8a64dd megatron/core/transformer/moe/token_dispatcher.py
    ``MoEAlltoAllTokenDispatcher.token_combine`` / ``combine_postprocess``); its backward first un-permutes the
    output gradient into one gradient row per routed copy, then ``_AllToAll.backward`` sends that through a new
    all-to-all whose output is a second buffer of the same size (megatron/core/tensor_parallel/mappings.py
    ``_AllToAll.forward``: ``output = input.new_empty(...)``, applied to the gradient by ``backward``): two
    buffers of top_k x capacity factor x the rank's tokens x hidden at once where the expert-parallel group
    has more than one rank, one without an all-to-all (EP 1) or with the fused flex dispatchers (DeepEP /
    HybridEP combine: the copies are reduced in the kernel, ``moe_dispatch_per_domain`` > 0, only the
    expert side's gradient rows). The rank's tokens are the micro-batch's over cp and over tp whatever
    ``sequence_parallel`` (as the routed copies of
    :func:`~archsweep.model.training.activation_memory.layer_activation_bytes`: Megatron-Core warns that expert
    parallelism with tp > 1 needs sequence parallelism, model_parallel_config.py @d98e8a64dd). 0 for a dense model.
    """
    if wl.moe is None:
        return np.zeros(np.shape(mp.tp))
    tokens = mp.micro_batch * float(wl.seq_len) / (mp.cp * mp.tp)
    routed = wl.moe.top_k * wl.moe.capacity_factor
    buffers = np.where((mp.ep > 1) & (cal.moe_dispatch_per_domain <= 0.0), 2.0, 1.0)
    return _GRAD_BYTES * buffers * routed * tokens * float(wl.hidden)
