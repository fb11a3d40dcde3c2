"""Share of a flash-attention kernel's time spent in matrix instructions, by head dimension.

Per score element a flash-attention kernel does ``2 (d_qk + d_v)`` matrix FLOPs (``Q K^T`` and
``P V``) and one exponential on the special-function units, which are far slower: on H100 SXM5
989 TFLOP/s of BF16 matmul against 3.9 TFLOP/s of exponentials, i.e. one exponential costs the
time of ~256 matmul FLOPs (Shah et al., "FlashAttention-3", NeurIPS 2024, Sec. 3.2). Where the
two do not overlap, the matrix share of the kernel's time is

    g(d) = 2 (d_qk + d_v) / (2 (d_qk + d_v) + X),    X = ``attention_softmax_flop_equivalent``

so halving the head dimension halves the matmul work per exponential. The calibrated attention
efficiency (``flash_attention_efficiency``) refers to head dimension 128; other head dimensions
scale it by ``g(d) / g(128)``, capped at 1 (FlashAttention-3 Fig. 5, H100, causal, 16k: head dim
64 reaches 473 vs 616 TFLOP/s at 128 (0.77; cuDNN 388 / 539 = 0.72; the rule gives 0.75), and
head dim 256 no more than 128 (642 vs 616; cuDNN 509 vs 539)).

The same rule across parts (:func:`softmax_rate_factor`): X is the part's matrix FLOPs per clock
per unit over its exponentials per clock per unit. The calibrated efficiency refers to the H100
(4096 BF16 FLOP / 16 exponentials = 256); a Blackwell B200 SM issues 8192 BF16 FLOP per clock with
the same 16 exponentials (X = 512, the matmul work per exponential halved, as head dim 64 on H100:
0.75), Blackwell Ultra (B300 / GB300) doubles the special-function units (X = 256 again; NVIDIA,
"Making Softmax More Efficient with NVIDIA Blackwell Ultra", developer blog).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from archsweep.model.gemm import pick
from archsweep.spec.calibration import Calibration

__all__ = ["REFERENCE_HEAD_DIM", "REFERENCE_HEADS", "REFERENCE_SEQ", "attention_head_dim_factor",
           "causal_schedule_efficiency", "causal_schedule_slowdowns", "flash_kernel_s", "ring_attention_mask_factor",
           "softmax_rate_factor"]

#: Head dimension the calibrated attention efficiencies refer to (the Llama / GPT-3 class).
REFERENCE_HEAD_DIM = 128.0
#: Sequence length and heads x batch of the kernel the calibrated causal efficiency refers to: FlashAttention-3
#: Fig. 5 (H100 SXM5, causal, head dim 128) runs hidden 2048 (16 heads of 128) at 16k tokens per sequence, batch 1.
REFERENCE_SEQ = 16384.0
REFERENCE_HEADS = 16.0


def attention_head_dim_factor(qk_dim: float | np.ndarray, v_dim: float | np.ndarray, cal: Calibration) -> np.ndarray:
    """Attention-kernel efficiency at (``qk_dim``, ``v_dim``) over that at head dimension 128, in (0, 1]."""
    x = float(cal.attention_softmax_flop_equivalent)
    work = 2.0 * (np.asarray(qk_dim, dtype=np.float64) + np.asarray(v_dim, dtype=np.float64))
    if x <= 0.0:
        return np.ones_like(work)
    ref = 4.0 * REFERENCE_HEAD_DIM
    return np.minimum(1.0, (work / (work + x)) / (ref / (ref + x)))


def softmax_rate_factor(mma_flops_per_cycle_per_unit: np.ndarray, cal: Calibration,
                        exponentials_per_cycle_per_unit: float | np.ndarray) -> np.ndarray:
    """Attention-kernel efficiency on a part whose units issue ``mma_flops_per_cycle_per_unit``
    attention matrix FLOP and ``exponentials_per_cycle_per_unit`` exponentials per clock (hardware
    column ``softmax_exponentials_per_cycle_per_unit``), over that on the reference part
    (X = ``attention_softmax_flop_equivalent``), at head dimension 128; in (0, 1]. 1 where either
    figure is unknown (0)."""
    mma = np.asarray(mma_flops_per_cycle_per_unit, dtype=np.float64)
    e, x_ref = np.asarray(exponentials_per_cycle_per_unit, dtype=np.float64), float(cal.attention_softmax_flop_equivalent)
    if not np.any(e > 0.0) or x_ref <= 0.0:
        return np.ones_like(mma)
    ref = 4.0 * REFERENCE_HEAD_DIM
    factor = np.minimum(1.0, (ref / (ref + mma / np.where(e > 0.0, e, 1.0))) / (ref / (ref + x_ref)))
    return pick(e > 0.0, factor, 1.0)


def causal_schedule_efficiency(seq_q: np.ndarray, heads_batch: np.ndarray, units: np.ndarray, block_tokens: float,
                               extra_tiles: float, tail_share: float) -> np.ndarray:
    """Rate of a causal flash-attention kernel over ``seq_q`` queries x ``heads_batch`` (heads x sequences) on
    ``units`` compute units, over its rate at the reference shape (:data:`REFERENCE_SEQ`, :data:`REFERENCE_HEADS`)
    on the same part, in (0, 1]; 1 where ``block_tokens`` is 0 (no schedule law).

    The kernel runs one CTA per block of ``block_tokens`` rows (queries in the forward, keys in the backward:
    n = ceil(seq_q / block) blocks per head); under the causal mask the i-th block visits i key (query) tiles,
    plus ``extra_tiles`` c of fixed work per block (the masked diagonal tile, prologue, epilogue), so the kernel
    holds W = H (n (n + 1) / 2 + c n) tiles of work in H n CTAs of unequal length, the longest L = n + c.
    Its time is T = max(W / U + a L, L): the work spread over the U units plus a tail, a share a
    (``tail_share``) of the longest CTA that runs after the others have drained, and never less than that CTA.
    The useful work is H x^2 / 2 tiles (x = seq_q / block, the last block partly empty), so the rate is
    H x^2 / (2 U T). Few blocks per head (short sequences) raise
    the fixed share, few CTAs (few heads, batch 1) the tail. Constants measured on an H200 (cuDNN 9.19 attention,
    data/validation/h200_attention_grid.csv; data/calibration/model.yaml). Capped at 1: the calibrated efficiency
    is the long-sequence causal rate, and no shape is priced faster than it."""
    if block_tokens <= 0.0:
        return np.ones_like(np.asarray(seq_q, dtype=np.float64))
    units = np.asarray(units, dtype=np.float64)

    def rate(seq: np.ndarray | float, heads: np.ndarray | float) -> np.ndarray:
        x = np.asarray(seq, dtype=np.float64) / block_tokens
        n = np.maximum(np.ceil(x), 1.0)
        longest = n + extra_tiles
        work = heads * (0.5 * n * (n + 1.0) + extra_tiles * n)
        return heads * 0.5 * x * x / (units * np.maximum(work / units + tail_share * longest, longest))

    return np.minimum(rate(seq_q, heads_batch) / rate(REFERENCE_SEQ, REFERENCE_HEADS), 1.0)


def causal_schedule_slowdowns(seq_q: np.ndarray | float, heads_batch: np.ndarray | float, units: np.ndarray,
                              cal: Calibration) -> tuple[np.ndarray, np.ndarray]:
    """(forward, backward) time of a causal kernel over ``seq_q`` queries x ``heads_batch`` on ``units`` units over
    its time at the long-sequence rate, >= 1: 1 / :func:`causal_schedule_efficiency` at ``cal``'s forward
    (``attention_fwd_*``) and backward (``attention_bwd_*``) constants."""
    fwd, bwd = (1.0 / causal_schedule_efficiency(np.asarray(seq_q, dtype=np.float64), np.asarray(heads_batch, dtype=np.float64),
                                                 units, cal.attention_block_tokens, extra, tail)
                for extra, tail in ((cal.attention_fwd_block_extra_tiles, cal.attention_fwd_tail_share),
                                    (cal.attention_bwd_block_extra_tiles, cal.attention_bwd_tail_share)))
    return fwd, bwd


def flash_kernel_s(fwd_flops: np.ndarray | float, rate: np.ndarray | float, cal: Calibration,
                   fwd_time_factor: np.ndarray | float, bwd_time_factor: np.ndarray | float) -> tuple[Any, Any]:
    """(forward, backward) seconds of flash-attention kernels, launch overhead not included: the forward's
    ``fwd_flops`` at ``rate`` (FLOP/s; arrays broadcast, floats stay floats) times ``fwd_time_factor`` (the mask's and the schedule's:
    :func:`ring_attention_mask_factor`, :func:`causal_schedule_slowdowns`); the backward's
    ``flash_attention_backward_flop_ratio`` x those FLOPs at ``flash_attention_backward_efficiency_ratio`` of the
    rate, times ``bwd_time_factor`` (FlashAttention-2: 63 % vs 73 % of A100 peak; FlashAttention-3 / cuDNN on H100:
    561 / 516 vs 646 / 600 TFLOP/s)."""
    fwd = fwd_flops * fwd_time_factor / rate
    bwd = (cal.flash_attention_backward_flop_ratio / cal.flash_attention_backward_efficiency_ratio
           * fwd_flops * bwd_time_factor / rate)
    return fwd, bwd


def ring_attention_mask_factor(cp: np.ndarray, cal: Calibration, causal_slowdown: np.ndarray | float = 1.0) -> np.ndarray:
    """Time of causal ring attention over ``cp`` ranks relative to one long-sequence causal kernel of the same
    executed FLOPs, at least 1 / r (r = ``cal.attention_noncausal_rate_ratio``; ``causal_slowdown`` at cp = 1).

    TransformerEngine's ``AttnFuncWithCP`` (v1.4 .. v1.6rc2 ``transformer_engine/pytorch/attention.py``)
    splits the sequence into 2 cp chunks (rank i holds chunks i and 2 cp - 1 - i) and runs cp steps;
    every step executes the same work (two chunk-pairs of scores): step 0, the rank's own chunks, with
    the causal mask; the cp - 1 others over whole chunk-pairs without a mask (``no_mask`` /
    ``causal=False``), which run at r times the causal kernel's rate (FlashAttention-3 Fig. 5:
    FlashAttention-2 and cuDNN 1.10 at 16k, head dim 128). Time factor (x + (cp - 1) / r) / cp, where x
    (``causal_slowdown``, >= 1) is the causal step's time over the long-sequence causal rate's
    (1 / :func:`causal_schedule_efficiency`); x = 1 gives the [1 / r, 1] range above.
    """
    c = np.asarray(cp, dtype=np.float64)
    r = float(cal.attention_noncausal_rate_ratio)
    if r <= 0.0:
        return np.ones_like(c) * causal_slowdown
    return (causal_slowdown + (np.maximum(c, 1.0) - 1.0) / r) / np.maximum(c, 1.0)
