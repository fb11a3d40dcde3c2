"""Achievable time of matrix multiplications (GEMMs) on an accelerator.

Roofline per GEMM of shape (M x K) @ (K x N): the larger of the compute time at a
shape-dependent efficiency and the HBM time of its operands, plus a fixed kernel overhead:

    t = max(2 M N K / (P * r * eta_max * eta_tile * eta_wave * eta_k),  bytes / (B_hbm * eta_bw)) + t0

* r: the in-training ratio (``gemm_in_training_ratio``: concurrent communication kernels,
  fused epilogues and layouts cost a fixed share against an isolated benchmark).
* eta_max: the design's large-GEMM efficiency (``matrix_efficiency``: measured max achievable
  matmul over peak).
* eta_tile: tile quantisation, the useful fraction of the ceil-rounded (M, N) output tiles, of the
  model-wide tile (``gemm_tile_m`` x ``gemm_tile_n``, 128 x 128) or the part's own (hardware columns
  ``gemm_tile_m`` / ``gemm_tile_n``: Blackwell's 256 x 256 two-SM UMMA tile).
* eta_wave: wave quantisation over the compute units, tiles / (ceil(tiles / units) * units); on a part
  whose tiles are each computed by g units together (hardware column ``gemm_tile_units``: Blackwell's
  SM pairs, g = 2) the waves run over floor(units / g) groups: g tiles / (ceil(tiles / floor(units / g)) units)
  (g capped at units), a rate (P eta_wave) that never falls as units grow (the pruned search's bound).
* eta_k: pipeline fill for short reductions, K / (K + k_half) (small-K penalty), k_half the
  model-wide ``gemm_k_half`` (k0). A part with its own fill constant (Hopper,
  data/hardware/low_precision_rates.yaml; issue 10) has the hardware columns ``gemm_k_half_bf16``
  (two-byte operands) and ``gemm_k_half_fp8`` (one-byte) and the K of its measured max matmul K_ref
  (``gemm_k_reference``):
  eta_k = min(K / (K + k_half) x (K_ref + k_half) / (K_ref + k0), K_ref / (K_ref + k0)), equal to the
  model-wide curve at K_ref, where ``matrix_efficiency`` was measured, and no higher above it: MAMF is the
  maximum over mamf-finder's sweep, so no longer K runs faster than the measured one (s16-gemmlaw).
  Fill constants of Hopper (DeepGEMM) and of sm_100 (B200 / GB200: OpenXLA's measured B200 matmul table).

Following the NVIDIA "Matrix Multiplication Background User's Guide" (tile and wave
quantization sections); constants in ``data/calibration/model.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import PART_PHYSICS_PARAMETERS, HardwareArrays

__all__ = ["PartFill", "gemm_efficiency", "gemm_time_s", "k_fill", "low_precision_rate_ratio", "pick",
           "scalar_part_physics"]


def scalar_part_physics(hw: HardwareArrays) -> HardwareArrays:
    """``hw`` with each part-physics column that the whole batch shares (a study that does not vary it)
    as a 0-d array of that value: the one place a batch-wide column is collapsed, once per evaluation,
    so the model's reads of it neither compare nor broadcast a (candidates x mappings) array (:func:`pick`)."""
    shared = {}
    for p in PART_PHYSICS_PARAMETERS:
        a = np.asarray(getattr(hw, p.name))
        if a.ndim and np.all(a == a.flat[0]):
            shared[p.name] = np.asarray(a.flat[0])
    return replace(hw, **shared) if shared else hw


def pick(cond: Any, a: Any, b: Any) -> Any:
    """``np.where(cond, a, b)``; ``a`` or ``b`` itself where ``cond`` is one value for the whole batch
    (0-d: a condition on :func:`scalar_part_physics` columns), without broadcasting either."""
    if np.ndim(cond) == 0:
        return a if cond else b
    return np.where(cond, a, b)


def low_precision_rate_ratio(hw: HardwareArrays, cal: Calibration) -> Any:
    """Achieved rate of a low-precision job's Linear GEMMs over ``matrix_efficiency`` x the FP8 peak:
    the part column ``nvfp4_matrix_rate_ratio`` for an NVFP4 recipe (``cal.low_precision_gemm_dtype``),
    else ``fp8_matrix_efficiency_ratio`` times the recipe's kernel rate over the per-tensor FP8 kernels
    (``cal.low_precision_gemm_rate_factor``)."""
    if cal.low_precision_gemm_dtype == "nvfp4":
        return hw.nvfp4_matrix_rate_ratio
    ratio = hw.fp8_matrix_efficiency_ratio
    factor = float(cal.low_precision_gemm_rate_factor)
    return ratio if factor == 1.0 else ratio * factor


@dataclass(frozen=True)
class PartFill:
    """A part's GEMM law columns: pipeline fill (``gemm_k_half_bf16`` / ``_fp8`` / ``gemm_k_reference``; 0: the
    model-wide ``gemm_k_half``) and output tile (``gemm_tile_m`` / ``_n``, 0: the model-wide tile;
    ``gemm_tile_units``, compute units per tile); 0-d where the batch shares one value
    (:func:`scalar_part_physics`). ``curves`` holds :func:`k_fill`'s hardware-only terms per (``gemm_k_half``,
    operand width), computed on the first GEMM of a batch (a layer has ~40 GEMM passes); ``tiles`` the
    tile terms per model-wide tile (:meth:`tile`)."""

    k_half_bf16: Any = 0.0
    k_half_fp8: Any = 0.0
    k_reference: Any = 0.0
    tile_m: Any = 0.0
    tile_n: Any = 0.0
    tile_units: Any = 1.0
    # Memos, not inputs: ``dataclasses.replace`` must start fresh ones (init=False).
    curves: dict[tuple[float, bool], Any] = field(default_factory=dict, init=False, compare=False, repr=False)
    tiles: dict[tuple[float, float], Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    @classmethod
    def of(cls, hw: HardwareArrays) -> PartFill:
        return cls(hw.gemm_k_half_bf16, hw.gemm_k_half_fp8, hw.gemm_k_reference, hw.gemm_tile_m, hw.gemm_tile_n,
                   hw.gemm_tile_units)

    def tile(self, cal: Calibration) -> tuple[Any, Any, Any]:
        """(tile rows, tile columns, units per tile or None where every part has one unit per tile): the part's
        tile where set, else the model-wide ``cal.gemm_tile_m`` x ``cal.gemm_tile_n``."""
        key = (float(cal.gemm_tile_m), float(cal.gemm_tile_n))
        if key not in self.tiles:
            tm, tn, g = (np.asarray(v) for v in (self.tile_m, self.tile_n, self.tile_units))
            self.tiles[key] = (key[0] if not np.any(tm > 0) else np.where(tm > 0, tm, key[0]),
                               key[1] if not np.any(tn > 0) else np.where(tn > 0, tn, key[1]),
                               None if np.all(g == 1.0) else g)
        return self.tiles[key]

    def curve(self, k0: float, one_byte: bool) -> tuple[Any, Any, Any, Any] | None:
        """(the part's K-half, where its curve is scaled, the scale and the cap there, or None where nowhere) of
        :func:`k_fill`; None where the batch has no K-half of its own (the model-wide curve)."""
        key = (k0, one_byte)
        if key not in self.curves:
            self.curves[key] = self._curve(k0, one_byte)
        return self.curves[key]

    def _curve(self, k0: float, one_byte: bool) -> tuple[Any, Any, Any, Any] | None:
        if not (np.any(np.asarray(self.k_half_bf16) > 0) or (one_byte and np.any(np.asarray(self.k_half_fp8) > 0))):
            return None
        k_half = np.where(np.asarray(self.k_half_bf16) > 0, self.k_half_bf16, k0)
        if one_byte:
            k_half = np.where(np.asarray(self.k_half_fp8) > 0, self.k_half_fp8, k_half)
        scaled = (np.asarray(self.k_reference) > 0) & (k_half != k0)
        scale = (self.k_reference + k_half) / (self.k_reference + k0) if np.any(scaled) else None
        cap = None if scale is None else self.k_reference / (self.k_reference + k0)
        return k_half, scaled, scale, cap


def k_fill(k: np.ndarray, cal: Calibration, one_byte: bool = False, fill: PartFill | None = None) -> np.ndarray:
    """Pipeline-fill factor eta_k of a reduction of length ``k`` (0, 1]; ``one_byte``: FP8 operands.

    The part's own K-half (``fill``: hardware columns ``gemm_k_half_bf16`` / ``gemm_k_half_fp8``) where
    set, its curve scaled to cross the model-wide one (``gemm_k_half``, with which ``matrix_efficiency``
    = MAMF / peak and the in-training ratio were set) at the part's MAMF K (``gemm_k_reference``),
    capped at its value there (MAMF is the maximum achievable rate). Without ``fill`` (or with zeros),
    the model-wide curve.
    """
    k0 = cal.gemm_k_half
    curve = None if fill is None else fill.curve(k0, one_byte)
    if curve is None:
        return k / (k + k0)
    k_half, scaled, scale, cap = curve
    eta_k = k / (k + k_half)
    if scale is not None:
        capped = np.minimum(eta_k * scale, cap)
        eta_k = pick(scaled, capped, eta_k)
    return eta_k


def gemm_efficiency(m: np.ndarray, n: np.ndarray, k: np.ndarray, compute_units: np.ndarray,
                    matrix_efficiency: np.ndarray, cal: Calibration, one_byte: bool = False,
                    fill: PartFill | None = None) -> np.ndarray:
    """Fraction of peak achieved by the compute part of one GEMM (0, 1]. Arrays broadcast.

    ``one_byte``: FP8 operands; ``fill``: the part's GEMM law columns (:func:`k_fill`, :meth:`PartFill.tile`).
    """
    tile_m, tile_n, group = (cal.gemm_tile_m, cal.gemm_tile_n, None) if fill is None else fill.tile(cal)
    tiles_m = np.ceil(m / tile_m)
    tiles_n = np.ceil(n / tile_n)
    eta_tile = (m * n) / (tiles_m * tile_m * tiles_n * tile_n)
    tiles = tiles_m * tiles_n
    if group is None:
        eta_wave = tiles / (np.ceil(tiles / compute_units) * compute_units)
    else:
        g = np.minimum(group, compute_units)
        eta_wave = g * tiles / (np.ceil(tiles / np.floor(compute_units / g)) * compute_units)
    eta_k = k_fill(k, cal, one_byte, fill)
    return cal.gemm_in_training_ratio * matrix_efficiency * eta_tile * eta_wave * eta_k


def gemm_time_s(m: np.ndarray, n: np.ndarray, k: np.ndarray, *, batch: np.ndarray | float,
                peak_flops: np.ndarray, hbm_bw_bytes_per_s: np.ndarray, compute_units: np.ndarray,
                matrix_efficiency: np.ndarray, bytes_per_element: float, cal: Calibration,
                fill: PartFill | None = None) -> np.ndarray:
    """Time of ``batch`` independent GEMMs of shape (m x k) @ (k x n), seconds.

    A batched GEMM shares one launch; its tiles fill the compute units together.
    """
    flops = 2.0 * m * n * k * batch
    eff = gemm_efficiency(m, n * batch, k, compute_units, matrix_efficiency, cal, one_byte=bytes_per_element < 2.0,
                          fill=fill)
    compute_s = flops / (peak_flops * eff)
    bytes_moved = bytes_per_element * batch * (m * k + k * n + m * n)
    memory_s = bytes_moved / (hbm_bw_bytes_per_s * cal.hbm_bw_efficiency)
    return np.maximum(compute_s, memory_s) + cal.kernel_overhead_s
