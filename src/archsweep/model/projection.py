"""Time and work of one weight projection of a transformer layer on one accelerator, per micro-batch.

:func:`gemm_fwd_bwd`: the weight GEMM (M x K)@(K x N), its backward a data-gradient GEMM (M x N)@(N x K) and,
unless the weight is frozen, a weight-gradient GEMM (K x M)@(M x N), each through the roofline of
:func:`~archsweep.model.gemm.gemm_time_s`, plus what a low-precision recipe adds around it (input and
gradient casts, weight transposes). :func:`adapter_fwd_bwd`: a LoRA adapter on a projection (Hu et al.,
ICLR 2022), priced as the separate small kernels it runs as. All times in seconds, FLOPs and bytes per
accelerator; :mod:`archsweep.model.transformer` combines them into a layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from archsweep.model.gemm import PartFill, gemm_time_s, low_precision_rate_ratio, pick
from archsweep.model.hbm_pass import hbm_pass_s
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays

__all__ = ["gemm_fwd_bwd", "adapter_fwd_bwd"]


def adapter_fwd_bwd(m, n, k, batch, out_elems, rank: int, dropout: float, hw: HardwareArrays, cal: Calibration,
                     fill: PartFill):
    """(forward time, backward time, forward FLOPs, forward HBM bytes) of one LoRA adapter of rank ``rank``
    on a projection of forward GEMM (m x k)@(k x n) (elements), ``batch`` of them per micro-batch, whose
    output has ``out_elems`` elements; ``dropout``: the adapter's input dropout probability.

    The adapter on a projection with input (m x k) runs as its own kernels (NeMo
    ``ParallelLinearAdapter.forward``, nemo/collections/nlp/modules/common/megatron/adapters/
    parallel_adapters.py; adapters are Megatron ``ColumnParallelLinear`` / ``RowParallelLinear``,
    not TransformerEngine modules, so BF16 under FP8 recipes): forward, dropout on the input
    (``dropout_position: pre``; read 2 B, write 2 B + a 1 B mask per element), the down GEMM
    (m x k)@(k x r), the up GEMM (m x r)@(r x n), the ``alpha / dim`` scale of the ``out_elems``
    output elements (read + write) and the add into the base output (2 reads, 1 write); backward,
    the scale, the up GEMM's data and weight gradients, the down GEMM's data and weight gradients,
    the dropout backward (read gradient and mask, write) and the add of the input gradient into
    the base projection's (2 reads, 1 write). Each GEMM through :func:`gemm_time_s` (with r = 16
    memory-bound: the roofline's bytes / bandwidth term), each elementwise kernel bytes / (HBM
    bandwidth x ``hbm_bw_efficiency``), every kernel + ``kernel_overhead_s``: no new constant.
    """
    r = np.full((), float(rank))
    common: dict[str, Any] = dict(batch=batch, peak_flops=hw.peak_matrix_flops_bf16, hbm_bw_bytes_per_s=hw.hbm_bw_bytes_per_s,
                  compute_units=hw.compute_units, matrix_efficiency=hw.matrix_efficiency, bytes_per_element=2.0,
                  cal=cal, fill=fill)
    t0 = cal.kernel_overhead_s
    x = batch * m * k  # adapter input elements

    def elementwise(nbytes):
        return hbm_pass_s(hw, cal, nbytes) + t0

    drop = dropout > 0.0
    fwd = (gemm_time_s(m, r, k, **common) + gemm_time_s(m, n, r, **common)
           + elementwise(4.0 * out_elems) + elementwise(6.0 * out_elems)
           + (elementwise(5.0 * x) if drop else 0.0))
    bwd = (elementwise(4.0 * out_elems) + gemm_time_s(m, r, n, **common) + gemm_time_s(r, n, m, **common)
           + gemm_time_s(m, k, r, **common) + gemm_time_s(k, r, m, **common) + elementwise(6.0 * x)
           + (elementwise(5.0 * x) if drop else 0.0))
    flops = 2.0 * batch * m * r * (k + n)
    hbm = 2.0 * (x + batch * r * (k + n) + 2.0 * batch * m * r + batch * m * n) + 10.0 * out_elems + (5.0 * x if drop else 0.0)
    return fwd, bwd, flops, hbm


def gemm_fwd_bwd(m, n, k, batch, peak, hw: HardwareArrays, bpe: float, cal: Calibration, fill: PartFill,
                  frozen: bool = False, input_from_norm: bool = False):
    """(forward time, backward time, forward FLOPs, forward HBM bytes) of one weight GEMM; ``fill``: the
    batch's :class:`PartFill` (built once per batch by :func:`~archsweep.model.transformer.layer_costs`).

    ``m``, ``n``, ``k``: the forward GEMM's dimensions (M x K)@(K x N), elements; ``batch``: GEMMs of that
    shape per micro-batch (attention heads, local experts); ``peak``: the peak matrix rate of the operands'
    datatype, FLOP/s; ``bpe``: bytes per operand element (2 BF16, 1 for a low-precision recipe's GEMMs).

    ``frozen``: the weight gets no gradient (LoRA base weights): backward = data gradient only.
    ``input_from_norm``: under FP8 the input arrives already quantised from a fused norm kernel
    (TransformerEngine LayerNormLinear / LayerNormMLP), so it needs no separate cast.
    """
    # One-byte operands run at the part's measured FP8 (or NVFP4) rate relative to BF16 (MAMF ratio).
    efficiency = hw.matrix_efficiency * (low_precision_rate_ratio(hw, cal) if bpe < 2.0 else 1.0)
    common = dict(peak_flops=peak, hbm_bw_bytes_per_s=hw.hbm_bw_bytes_per_s, compute_units=hw.compute_units,
                  matrix_efficiency=efficiency, bytes_per_element=bpe, cal=cal, fill=fill)
    fwd = gemm_time_s(m, n, k, batch=batch, **common)
    bwd = gemm_time_s(m, k, n, batch=batch, **common)
    if not frozen:
        bwd = bwd + gemm_time_s(k, n, m, batch=batch, **common)
    hbm = bpe * batch * (m * k + k * n + m * n)
    if bpe < 2.0 and (cal.fp8_quantize_bytes_per_element > 0 or cal.fp8_norm_quantize_bytes_per_element > 0
                      or cal.fp8_quantize_bytes_per_element_any_layout > 0
                      or cal.fp8_norm_quantize_bytes_per_element_any_layout > 0):
        # Low-precision recipes quantise each GEMM's BF16 activation input (forward) and output
        # gradient (backward) in separate HBM-bound kernels (TransformerEngine cast / cast_transpose;
        # bytes per element by recipe and the part's layout rule: data/calibration/low_precision_recipes.yaml).
        # A norm output is quantised by the norm itself (delayed scaling) or by its own pass after it.
        any_layout = hw.fp8_gemm_layouts == "any"
        cast = np.where(any_layout, cal.fp8_quantize_bytes_per_element_any_layout, cal.fp8_quantize_bytes_per_element)
        norm_cast = np.where(any_layout, cal.fp8_norm_quantize_bytes_per_element_any_layout,
                             cal.fp8_norm_quantize_bytes_per_element)
        in_bytes = norm_cast if input_from_norm else cast
        # The quantisation kernels stream at their measured share of peak HBM bandwidth on the job's part
        # (TransformerEngine's GEMM benchmark; Calibration.fp8_quantize_hbm_share), else the model-wide one.
        share = cal.fp8_quantize_hbm_share if cal.fp8_quantize_hbm_share > 0 else cal.hbm_bw_efficiency
        bw = hw.hbm_bw_bytes_per_s * share
        fwd = fwd + in_bytes * batch * m * k / bw
        bwd = bwd + cast * batch * m * n / bw
        hbm = hbm + in_bytes * batch * m * k
    if bpe < 2.0 and cal.fp8_weight_transpose_bytes_per_element > 0:
        # FP8 weights whose transpose is not cached: each backward re-forms the (k x n) weight's
        # transpose for the data-gradient GEMM (TransformerEngine Linear backward
        # ``weight.transpose_2d(cache=is_first_microbatch is not None)``; Megatron-Core passes None
        # under ``disable_parameter_transpose_cache``), one HBM-bound kernel per weight GEMM, on a part
        # whose FP8 GEMMs take the TN layout only (any layout: no transpose is needed at all).
        reformed = bwd + (hbm_pass_s(hw, cal, cal.fp8_weight_transpose_bytes_per_element * batch * k * n)
                          + cal.kernel_overhead_s)
        bwd = pick(hw.fp8_gemm_layouts != "any", reformed, bwd)
    flops = 2.0 * m * n * k * batch
    return fwd, bwd, flops, hbm
