"""Per-accelerator activity counts of one training step: what power and energy are made of.

The performance model produces these counts; :mod:`archsweep.model.power` turns them into
energy with per-operation and per-byte energies from ``data/technology``. All arrays share
the broadcast shape of the evaluation; units are FLOP and bytes per accelerator per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ActivityCounts"]


@dataclass(frozen=True)
class ActivityCounts:
    """Work done by one accelerator during one optimizer step.

    Attributes:
        matrix_flops_bf16: matrix-engine FLOP executed in BF16/FP16 (recompute included).
        matrix_flops_fp8: matrix-engine FLOP executed in FP8.
        vector_flops: vector-unit FLOP (norms, activations, softmax, optimizer).
        hbm_bytes: bytes read plus written to HBM.
        sram_bytes: bytes moved through on-chip SRAM (operand staging of GEMMs).
        scaleup_bytes: bytes sent over the scale-up fabric.
        scaleout_bytes: bytes sent over the scale-out network.
    """

    matrix_flops_bf16: np.ndarray
    matrix_flops_fp8: np.ndarray
    vector_flops: np.ndarray
    hbm_bytes: np.ndarray
    sram_bytes: np.ndarray
    scaleup_bytes: np.ndarray
    scaleout_bytes: np.ndarray
