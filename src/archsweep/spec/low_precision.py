"""Measured low-precision matrix rates of catalog parts (``data/hardware/low_precision_rates.yaml``).

Per-part facts about a real accelerator that a design candidate does not have: the maximum
achievable matmul rate per dtype measured with mamf-finder (MAMF) and the FP4 / NVFP4 peaks. The
model never reads them directly: validation turns them into
:attr:`archsweep.spec.calibration.Calibration.fp8_matrix_efficiency_ratio` for the part it
validates; design candidates keep the catalog's ``matrix_efficiency`` for every dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LowPrecisionRates"]


@dataclass(frozen=True)
class LowPrecisionRates:
    """Measured and published low-precision rates of one catalog part, FLOP/s (None: not published)."""

    name: str
    mamf_bf16_flops_per_s: float | None = None
    mamf_fp8_flops_per_s: float | None = None
    peak_fp4_flops_per_s: float | None = None
    peak_nvfp4_flops_per_s: float | None = None

    def fp8_efficiency_ratio(self, bf16_efficiency: float, peak_fp8: float) -> float:
        """Achieved FP8 GEMM efficiency (MAMF FP8 / dense FP8 peak) over ``bf16_efficiency``, the
        part's BF16 matrix efficiency the model uses (the catalog's, itself MAMF BF16 / peak).

        1.0 where the FP8 measurement is missing (the BF16 efficiency is used for FP8 too).
        """
        if not (self.mamf_fp8_flops_per_s and bf16_efficiency > 0 and peak_fp8 > 0):
            return 1.0
        return (self.mamf_fp8_flops_per_s / peak_fp8) / bf16_efficiency
