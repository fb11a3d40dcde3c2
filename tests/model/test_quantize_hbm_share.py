"""The quantisation kernels' share of peak HBM bandwidth, per part and recipe (issue 10, s10-mxfp8):
TransformerEngine's GEMM benchmark (autocast minus pre-quantised time, docs/examples/gemm_profiling) puts
Blackwell's current-scaling, MXFP8 and NVFP4 quantisation well below the model-wide streaming efficiency,
delayed scaling's one fused cast above it, and Hopper's per-tensor kernels close to it
(data/hardware/low_precision_rates.yaml ``quantize_hbm_share_<recipe>``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.part_physics import job_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.gemm import PartFill
from archsweep.model.projection import gemm_fwd_bwd
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration(stack="megatron-core")
M, K, N = 16384, 4096, 16384  # an 8B FC1 at micro-batch 2 x 8k tokens


def _cal(part: str, recipe: str):
    wl = load_workload("llama3-8b")
    job = replace(wl.training, precision="fp8", low_precision_recipe=recipe)
    return job_calibration(CAL, get_accelerator(part), job)


def _fwd_bwd(part: str, cal) -> tuple[float, float]:
    hw = HardwareArrays.from_designs([get_accelerator(part).design])
    fwd, bwd, _, _ = gemm_fwd_bwd(M, N, K, 1, hw.peak_matrix_flops_fp8, hw, 1.0, cal, PartFill.of(hw))
    return float(np.ravel(fwd)[0]), float(np.ravel(bwd)[0])


@pytest.mark.parametrize(("part", "recipe"), [("GB200", "mxfp8"), ("B200", "current"), ("GB300", "nvfp4"),
                                              ("H100-SXM", "current"), ("B200", "delayed")])
def test_cast_time_is_bytes_over_the_parts_measured_share(part: str, recipe: str):
    cal = _cal(part, recipe)
    hw = HardwareArrays.from_designs([get_accelerator(part).design])
    any_layout = hw.fp8_gemm_layouts[0] == "any"
    cast = cal.fp8_quantize_bytes_per_element_any_layout if any_layout else cal.fp8_quantize_bytes_per_element
    assert 0 < cal.fp8_quantize_hbm_share <= 1
    # Against the same job at the model-wide streaming efficiency: the forward input cast and the
    # backward gradient cast take their bytes over (peak x share) instead.
    (f1, b1), (f0, b0) = _fwd_bwd(part, cal), _fwd_bwd(part, replace(cal, fp8_quantize_hbm_share=0.0))
    bw = float(np.ravel(hw.hbm_bw_bytes_per_s)[0])
    per_byte = 1.0 / (bw * cal.fp8_quantize_hbm_share) - 1.0 / (bw * CAL.hbm_bw_efficiency)
    assert f1 - f0 == pytest.approx(cast * M * K * per_byte, rel=1e-9)
    assert b1 - b0 == pytest.approx(cast * M * N * per_byte, rel=1e-9)


def test_a_part_without_a_measured_share_streams_at_the_model_wide_efficiency():
    assert _cal("A100-SXM4", "delayed").fp8_quantize_hbm_share == 0.0
    assert _cal("H100-SXM", "mxfp8").fp8_quantize_hbm_share == 0.0  # MXFP8 kernels run on Blackwell only
    cal = _cal("B200", "mxfp8")
    same = replace(cal, fp8_quantize_hbm_share=CAL.hbm_bw_efficiency)
    assert _fwd_bwd("B200", same) == pytest.approx(_fwd_bwd("B200", replace(cal, fp8_quantize_hbm_share=0.0)), rel=1e-12)


def test_measured_shares_order_the_kernels():
    """Blackwell: delayed scaling's one fused cast streams fastest, current scaling's amax pass + cast and
    MXFP8's two-layout block-scaled cast at about two thirds of peak, NVFP4 (amax, Hadamard transform)
    lowest; Hopper's per-tensor kernels at 0.83-0.85. The share is the part's: B200, GB200 and GB300 take
    B300's, H100 H200 NVL's."""
    share = {r: _cal("B300", r).fp8_quantize_hbm_share for r in ("delayed", "current", "mxfp8", "nvfp4")}
    assert share["delayed"] > CAL.hbm_bw_efficiency > share["current"] > share["mxfp8"] > share["nvfp4"] > 0.5
    for part in ("B200", "GB200", "GB300"):
        assert {r: _cal(part, r).fp8_quantize_hbm_share for r in share} == share
    for recipe in ("delayed", "current"):
        assert 0.8 < _cal("H100-SXM", recipe).fp8_quantize_hbm_share < CAL.hbm_bw_efficiency


#: TransformerEngine @d0067d0 docs/examples/gemm_profiling/gemm_profiling.rst on B300 SXM6: one layer of hidden 4096,
#: FFN 16384 at 15872 tokens, each of its 12 GEMMs (Fprop, Dgrad, Wgrad of QKV, attention out, MLP up, MLP down) timed
#: as a te.Linear forward (M x K)@(K x N): the input cast for both usages, the weight row-wise only.
_H, _F, _T = 4096, 16384, 15872
_BENCH_SHAPES = [  # (M, K, N)
    (_T, _H, 3 * _H), (_T, _H, _H), (_T, _H, _F), (_T, _F, _H),  # Fprop
    (_T, 3 * _H, _H), (_T, _H, _H), (_T, _F, _H), (_T, _H, _F),  # Dgrad
    (_H, _T, 3 * _H), (_H, _T, _H), (_H, _T, _F), (_F, _T, _H),  # Wgrad
]


@pytest.mark.parametrize(("recipe", "weight_bytes", "measured_s"), [
    ("mxfp8", 2.0 + 1.0 + 1.0 / 32.0, 1.823e-3),  # autocast MXFP8 8.984 ms - pre-quantised 7.161 ms
    ("delayed", 3.0, 0.990e-3),                    # autocast FP8Delayed 7.802 ms - pre-quantised 6.812 ms
])
def test_the_model_reproduces_the_benchmarks_measured_cast_time_on_b300(recipe: str, weight_bytes: float,
                                                                        measured_s: float):
    """The cast time the model gives the benchmark's 12 B300 GEMMs against what the benchmark measured (autocast
    minus pre-quantised per layer; data/hardware/low_precision_rates.yaml B300 ``quantize_hbm_share_<recipe>``
    notes). Inputs: :func:`gemm_fwd_bwd`'s forward with the recipe's cast bytes minus without them (the model's input
    cast: MXFP8 4.0625 B, both usages; delayed 3 B, no transpose on Blackwell). Weights: the benchmark's weight needs
    no gradient, so TE casts it row-wise only (MXFP8 read 2 B + one copy 1 + 1/32 B; delayed 3 B), a cast the model
    has no GEMM-level term for, streamed at the same share. Tolerance 5 %: the share is rounded to three digits
    (0.622, 0.94) and the catalog's B300 HBM bandwidth is the one the share was taken against."""
    cal = _cal("B300", recipe)
    hw = HardwareArrays.from_designs([get_accelerator("B300").design])
    fill = PartFill.of(hw)
    bare = replace(cal, fp8_quantize_bytes_per_element=0.0, fp8_quantize_bytes_per_element_any_layout=0.0)
    inputs = sum(float(np.ravel(gemm_fwd_bwd(m, n, k, 1, hw.peak_matrix_flops_fp8, hw, 1.0, cal, fill)[0])[0])
                 - float(np.ravel(gemm_fwd_bwd(m, n, k, 1, hw.peak_matrix_flops_fp8, hw, 1.0, bare, fill)[0])[0])
                 for m, k, n in _BENCH_SHAPES)
    bw = float(np.ravel(hw.hbm_bw_bytes_per_s)[0]) * cal.fp8_quantize_hbm_share
    weights = sum(weight_bytes * k * n for _, k, n in _BENCH_SHAPES) / bw
    assert sum(m * k for m, k, _ in _BENCH_SHAPES) == 1_495_269_376  # the input elements of the share's notes
    assert sum(k * n for _, k, n in _BENCH_SHAPES) == 987_758_592
    assert inputs + weights == pytest.approx(measured_s, rel=0.05)


def test_every_gh100_part_takes_the_h200_nvl_share():
    """GH200 and H800 carry the GH100 die of H100 / H200 (catalog notes), so they take H200 NVL's measured shares
    (derived entries, s10-m2) instead of the model-wide streaming efficiency."""
    for recipe in ("delayed", "current"):
        share = _cal("H200-NVL", recipe).fp8_quantize_hbm_share
        assert share > 0
        for part in ("H100-SXM", "H200", "GH200", "H800"):
            assert _cal(part, recipe).fp8_quantize_hbm_share == share, (part, recipe)
