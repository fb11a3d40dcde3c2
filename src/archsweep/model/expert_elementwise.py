"""Unfused elementwise work of a MoE layer's routed experts: a clamped gated activation and the FC2 bias.

Two architecture properties cost HBM traffic that a fused SwiGLU does not, when the software stack runs them
as separate PyTorch kernels (data/calibration/software_stacks.yaml, the ``clamped_glu_*`` and ``expert_bias_*``
constants, each with its source; 0 = the stack fuses it):

- ``Architecture.activation_clamp`` (gpt-oss: the gate half clamped to <= 7, the linear half to [-7, 7]):
  Megatron-Core's ``weighted_bias_quick_geglu_impl`` (megatron/core/fusions/fused_bias_geglu.py) clamps the
  two halves of the grouped FC1 output and concatenates them before its fused activation, eager ops over
  every routed token's FFN intermediate, forward, in a ``moe_act`` recompute and (as autograd's
  ``clamp_backward`` and ``split_backward``) backward.
- ``MoEConfig.expert_bias``: Megatron-Core's ``TEGroupedMLP._apply_bias`` adds each local expert's FC2 bias,
  weighted by the router probability, outside the grouped GEMM (``t + b * p`` per local expert, then a
  concatenation), over every routed token's hidden output; its kernels are launched per local expert.

Bytes are HBM traffic, moved at ``hbm_bw_bytes_per_s x hbm_bw_efficiency``; every kernel adds
``kernel_overhead_s``. All times in seconds per MoE layer and micro-batch on one accelerator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsweep.model.hbm_pass import hbm_pass_s
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["ExpertElementwise", "expert_elementwise"]


@dataclass(frozen=True)
class ExpertElementwise:
    """Unfused expert elementwise time (s) and traffic (bytes) per MoE layer and micro-batch.

    Attributes:
        fwd_s: forward time (clamp chain + FC2 bias add).
        bwd_s: backward time (their gradients).
        clamp_fwd_s: the clamp chain's forward alone: what a ``moe_act`` recompute re-runs (the bias add is
            outside the recomputed activation: Megatron-Core ``TEGroupedMLP.forward`` checkpoints
            ``bias_act_func`` only).
        fwd_bytes: forward HBM bytes.
    """

    fwd_s: np.ndarray | float
    bwd_s: np.ndarray | float
    clamp_fwd_s: np.ndarray | float
    fwd_bytes: np.ndarray | float


def expert_elementwise(wl: Workload, hw: HardwareArrays, cal: Calibration, tokens: np.ndarray | float,
                       tp: np.ndarray | float, expert_tp: np.ndarray | float,
                       local_experts: np.ndarray | float) -> ExpertElementwise:
    """Unfused elementwise costs of one MoE layer's routed experts for a micro-batch of ``tokens`` tokens
    per rank (``tp`` the attention tensor-parallel size, ``expert_tp`` the experts', ``local_experts`` the
    experts a rank holds; scalars or arrays). Zero for a dense model, a model without the clamp / expert
    biases, or a stack that fuses them.

    Elements: the clamp runs over the routed copies' FFN intermediate, ``tokens x top_k x capacity x
    expert_ffn_hidden / tp`` per rank (the ``[N, 2F]`` FC1 output has two halves of N x F); the bias add over
    their hidden output, ``tokens x top_k x capacity x (expert_tp / tp) x hidden``.
    """
    zero = 0.0 * tokens
    moe = wl.moe
    if moe is None:
        return ExpertElementwise(zero, zero, zero, zero)
    routed = tokens * moe.top_k * moe.capacity_factor
    clamp_f = clamp_b = bias_f = bias_b = zero
    bytes_f = zero
    if wl.architecture.activation_clamp is not None and cal.clamped_glu_bytes_fwd_per_element > 0:
        ffn_elems = routed * float(moe.expert_ffn_hidden) / tp
        clamp_bytes = cal.clamped_glu_bytes_fwd_per_element * ffn_elems
        clamp_f = hbm_pass_s(hw, cal, clamp_bytes) + cal.clamped_glu_kernels_fwd * cal.kernel_overhead_s
        clamp_b = (hbm_pass_s(hw, cal, cal.clamped_glu_bytes_bwd_per_element * ffn_elems)
                   + cal.clamped_glu_kernels_bwd * cal.kernel_overhead_s)
        bytes_f = bytes_f + clamp_bytes
    if moe.expert_bias and cal.expert_bias_bytes_fwd_per_element > 0:
        out_elems = routed * (expert_tp / tp) * float(wl.hidden)
        bias_bytes = cal.expert_bias_bytes_fwd_per_element * out_elems
        bias_f = hbm_pass_s(hw, cal, bias_bytes) + cal.expert_bias_kernels_fwd_per_expert * local_experts * cal.kernel_overhead_s
        bias_b = (hbm_pass_s(hw, cal, cal.expert_bias_bytes_bwd_per_element * out_elems)
                  + cal.expert_bias_kernels_bwd_per_expert * local_experts * cal.kernel_overhead_s)
        bytes_f = bytes_f + bias_bytes
    return ExpertElementwise(fwd_s=clamp_f + bias_f, bwd_s=clamp_b + bias_b, clamp_fwd_s=clamp_f, fwd_bytes=bytes_f)
