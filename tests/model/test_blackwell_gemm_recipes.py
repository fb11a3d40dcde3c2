"""Blackwell low-precision GEMM rates against TransformerEngine's GEMM benchmark (issue 10, s6-bw).

TransformerEngine @d0067d0 ``docs/examples/gemm_profiling/gemm_profiling.rst`` times the twelve
Linear GEMMs (Fprop, Dgrad, Wgrad of QKV, attention out, MLP up, MLP down) of a hidden 4096 / FFN
16384 layer at 15872 tokens on B300, inputs pre-quantised (kernel time only): per layer BF16
13.102 ms, FP8 current scaling 6.812 ms, MXFP8 7.161 ms. The model (``gemm_time_s`` at the part's
columns and the recipe's calibration, ``recipe_calibration``) must reproduce the MXFP8 / per-tensor ratio and stay near the
measured times (its in-training ratio makes it no faster than an isolated benchmark by much).
"""

from __future__ import annotations

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.part_physics import recipe_calibration
from archsweep.model.gemm import PartFill, gemm_time_s, low_precision_rate_ratio
from archsweep.spec.hardware import HardwareArrays

TOKENS = 15872.0
#: (K, N) of the Fprop GEMMs: QKV 4096 -> 12288, attention out, MLP up 4096 -> 16384, MLP down.
FPROP_KN = ((4096.0, 12288.0), (4096.0, 4096.0), (4096.0, 16384.0), (16384.0, 4096.0))
#: Pre-quantised per-layer GEMM time on B300, ms (gemm_profiling.rst, section Autocast vs Pre-quantized).
MEASURED_MS = {"bf16": 13.102, "current": 6.812, "mxfp8": 7.161}


def _layer_gemm_ms(part: str, dtype: str) -> float:
    hw = HardwareArrays.from_designs(get_accelerator(part).design)
    cal = recipe_calibration(load_calibration(), "current" if dtype == "bf16" else dtype)
    one_byte = dtype != "bf16"
    eff = hw.matrix_efficiency * (low_precision_rate_ratio(hw, cal) if one_byte else 1.0)
    peak = hw.peak_matrix_flops_fp8 if one_byte else hw.peak_matrix_flops_bf16
    total = 0.0
    for k, n in FPROP_KN:
        # Fprop (M x K)(K x N), Dgrad (M x N)(N x K), Wgrad (K x M)(M x N).
        for m_, n_, k_ in ((TOKENS, n, k), (TOKENS, k, n), (k, n, TOKENS)):
            total += float(np.ravel(gemm_time_s(np.asarray(m_), np.asarray(n_), np.asarray(k_), batch=1.0,
                                                 peak_flops=peak, hbm_bw_bytes_per_s=hw.hbm_bw_bytes_per_s,
                                                 compute_units=hw.compute_units, matrix_efficiency=eff,
                                                 bytes_per_element=1.0 if one_byte else 2.0, cal=cal, fill=PartFill.of(hw)))[0])
    return 1e3 * total


@pytest.mark.parametrize("dtype", sorted(MEASURED_MS))
def test_b300_layer_gemm_time_near_transformer_engines_benchmark(dtype: str) -> None:
    # Model 12.42 / 6.58 / 6.92 ms against 13.10 / 6.81 / 7.16 measured: within 6 %.
    assert _layer_gemm_ms("B300", dtype) == pytest.approx(MEASURED_MS[dtype], rel=0.06)


def test_mxfp8_gemms_slower_than_per_tensor_by_the_measured_ratio() -> None:
    for part in ("B200", "GB200", "B300", "GB300"):
        ratio = _layer_gemm_ms(part, "mxfp8") / _layer_gemm_ms(part, "current")
        assert ratio == pytest.approx(MEASURED_MS["mxfp8"] / MEASURED_MS["current"], rel=0.01)


def test_gb300_fp8_gemms_at_the_b300_measured_share() -> None:
    # Same Blackwell Ultra GPU: FP8 MAMF 3353.3 of 4500 TFLOP/s on B300 (ml-engineering), 0.745 of peak.
    for part in ("B300", "GB300"):
        hw = HardwareArrays.from_designs(get_accelerator(part).design)
        cal = recipe_calibration(load_calibration(), "current")
        fp8_share = float(np.ravel(hw.matrix_efficiency)[0] * np.ravel(low_precision_rate_ratio(hw, cal))[0])
        assert fp8_share == pytest.approx(3353.3 / 4500, rel=1e-3)
