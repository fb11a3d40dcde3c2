"""Time of the FP8 copy a SwiGLU keeps of its input for the backward (``activation_fp8_input_store``).

With ``activation_fp8_input_store`` (Megatron-Core ``activation_func_fp8_input_store``; NeMo ``FP8_ACT=1`` in the
MLPerf Llama 2 70B LoRA configs) the SwiGLU's autograd function saves its input, the FC1 output (gate and up
halves), as ``input.to(torch.float8_e4m3fn)`` and its backward turns it back with ``input.to(ctx.ori_input_dtype)``
before ``swiglu_back``: NVIDIA/Megatron-LM megatron/core/fusions/fused_bias_swiglu.py ``BiasSwiGLUFunction`` /
``SwiGLUFunction``, the casts at L44 / L53 and L62 / L71 of core_v0.7.0.beta, 24.09-alpha.rc0 and 25.04-alpha.rc1
(the MLPerf v4.0 / v4.1 / v5.0 NVIDIA LoRA stacks), L180 / L208 and L232 / L258 of d98e8a6; called by the dense MLP
(transformer/mlp.py) and the routed / shared experts (moe/experts.py, moe/shared_experts.py). Both casts sit outside
the fused activation (``jit_fuser`` wraps ``swiglu`` / ``swiglu_back`` only), so each is its own HBM-bound kernel
over every FC1-output element: forward read 2 B + write 1 B, backward read 1 B + write 2 B. The memory this saves is
in :mod:`archsweep.model.training.activation_memory`; this module prices the time it costs. Bytes move at
``hbm_bw_bytes_per_s x hbm_bw_efficiency``, each kernel adds ``kernel_overhead_s``: no new constant.
"""

from __future__ import annotations

import numpy as np

from archsweep.model.hbm_pass import hbm_pass_s
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["FP8_STORE_CAST_BYTES_PER_ELEMENT", "fp8_input_store_cast"]

#: HBM bytes of one cast per FC1-output element: read BF16 (2) + write FP8 (1) forward, the reverse backward.
FP8_STORE_CAST_BYTES_PER_ELEMENT = 3.0


def fp8_input_store_cast(wl: Workload, hw: HardwareArrays, cal: Calibration,
                         fc1_out_elements: np.ndarray | float) -> tuple[np.ndarray | float, np.ndarray | float]:
    """(time in each direction (s), HBM bytes in each direction) of the FP8 store casts of a layer whose SwiGLU
    runs over ``fc1_out_elements`` FC1-output elements per micro-batch on one accelerator (gate and up halves,
    routed copies included); (0, 0) unless the job keeps the SwiGLU input in FP8 (SwiGLU models only)."""
    if not (wl.training.activation_fp8_input_store and wl.ffn_type == "swiglu"):
        return 0.0, 0.0
    nbytes = FP8_STORE_CAST_BYTES_PER_ELEMENT * fc1_out_elements
    return hbm_pass_s(hw, cal, nbytes) + cal.kernel_overhead_s, nbytes
