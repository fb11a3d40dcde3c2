"""Achievable time of matrix multiplications (GEMMs) on an accelerator.

Roofline per GEMM of shape (M x K) @ (K x N): the larger of the compute time at a
shape-dependent efficiency and the HBM time of its operands, plus a fixed kernel overhead:

    t = max(2 M N K / (P * r * eta_max * eta_tile * eta_wave * eta_k),  bytes / (B_hbm * eta_bw)) + t0

* r: the in-training ratio (``gemm_in_training_ratio``: concurrent communication kernels,
  fused epilogues and layouts cost a fixed share against an isolated benchmark).
* eta_max: the design's large-GEMM efficiency (``matrix_efficiency``: measured max achievable
  matmul over peak).
* eta_tile: tile quantisation, the useful fraction of the ceil-rounded (M, N) output tiles.
* eta_wave: wave quantisation over the compute units, tiles / (ceil(tiles / units) * units).
* eta_k: pipeline fill for short reductions, K / (K + k_half) (small-K penalty).

Following the NVIDIA "Matrix Multiplication Background User's Guide" (tile and wave
quantization sections); constants in ``data/calibration/model.yaml``.
"""

from __future__ import annotations

import numpy as np

from archsweep.spec.calibration import Calibration

__all__ = ["gemm_efficiency", "gemm_time_s"]


def gemm_efficiency(m: np.ndarray, n: np.ndarray, k: np.ndarray, compute_units: np.ndarray,
                    matrix_efficiency: np.ndarray, cal: Calibration) -> np.ndarray:
    """Fraction of peak achieved by the compute part of one GEMM (0, 1]. Arrays broadcast."""
    tiles_m = np.ceil(m / cal.gemm_tile_m)
    tiles_n = np.ceil(n / cal.gemm_tile_n)
    eta_tile = (m * n) / (tiles_m * cal.gemm_tile_m * tiles_n * cal.gemm_tile_n)
    tiles = tiles_m * tiles_n
    eta_wave = tiles / (np.ceil(tiles / compute_units) * compute_units)
    eta_k = k / (k + cal.gemm_k_half)
    return cal.gemm_in_training_ratio * matrix_efficiency * eta_tile * eta_wave * eta_k


def gemm_time_s(m: np.ndarray, n: np.ndarray, k: np.ndarray, *, batch: np.ndarray | float,
                peak_flops: np.ndarray, hbm_bw_bytes_per_s: np.ndarray, compute_units: np.ndarray,
                matrix_efficiency: np.ndarray, bytes_per_element: float, cal: Calibration) -> np.ndarray:
    """Time of ``batch`` independent GEMMs of shape (m x k) @ (k x n), seconds.

    A batched GEMM shares one launch; its tiles fill the compute units together.
    """
    flops = 2.0 * m * n * k * batch
    eff = gemm_efficiency(m, n * batch, k, compute_units, matrix_efficiency, cal)
    compute_s = flops / (peak_flops * eff)
    bytes_moved = bytes_per_element * batch * (m * k + k * n + m * n)
    memory_s = bytes_moved / (hbm_bw_bytes_per_s * cal.hbm_bw_efficiency)
    return np.maximum(compute_s, memory_s) + cal.kernel_overhead_s
