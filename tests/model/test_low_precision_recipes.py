"""Low-precision recipes (issue 10): per-recipe quantisation traffic by GEMM layout, NVFP4 at the
NVFP4 peak, the softmax exponential rate per part; a recipe is never slower than BF16 on a part."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.low_precision import load_low_precision_rates, load_low_precision_recipes
from archsweep.load.part_physics import recipe_calibration
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.attention_kernel import softmax_rate_factor
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.low_precision import RECIPE_NAMES

TECH, CAL = load_technology(), load_calibration(stack="megatron-core")
STRATEGY = "tp=1,pp=1,cp=1,mb=1,recompute=none,zero=1,fa=on"
PARTS = ("H100-SXM", "B200", "GB200", "B300", "GB300")


def _step_s(part: str, precision: str, recipe: str = "delayed", model: str = "llama3-8b", seq: int = 8192) -> float:
    entry = get_accelerator(part)
    hw = HardwareArrays.from_designs([entry.design.replace(accelerator_count=8)])
    wl = load_workload(model)
    wl = replace(wl, training=replace(wl.training, seq_len=seq, global_batch_seqs=64, precision=precision,
                                      low_precision_recipe=recipe))
    cal = recipe_calibration(CAL, recipe)
    out = evaluate_design_batch(hw, wl, tech=TECH, calibration=cal, strategy=STRATEGY, infeasible="least_violating")
    return float(out["step_time_s"][0])


@pytest.mark.parametrize("part", PARTS)
def test_low_precision_recipe_never_slower_than_bf16(part: str):
    bf16 = _step_s(part, "bf16")
    recipes = [r for r in RECIPE_NAMES if part != "H100-SXM" or r in ("delayed", "current")]  # MX / NVFP4: Blackwell
    if not load_low_precision_rates()[part].peak_nvfp4_flops_per_s:
        recipes = [r for r in recipes if r != "nvfp4"]
    for recipe in recipes:
        assert _step_s(part, "fp8", recipe) < bf16, (part, recipe)


def test_nvfp4_faster_than_mxfp8_and_delayed_cheapest_cast():
    # Same part and job: the NVFP4 GEMMs run at twice (GB200) / three times (GB300) the FP8 peak.
    for part in ("GB200", "GB300"):
        assert _step_s(part, "fp8", "nvfp4") < _step_s(part, "fp8", "mxfp8")
    # Delayed scaling fuses the cast into the norm and needs no amax pass: the cheapest FP8 recipe.
    assert _step_s("B200", "fp8", "delayed") < min(_step_s("B200", "fp8", "current"), _step_s("B200", "fp8", "mxfp8"))


def test_recipe_bytes_follow_the_kernels():
    rec = load_low_precision_recipes()
    assert set(rec) == set(RECIPE_NAMES)
    # Per-tensor recipes on Blackwell write no FP8 transpose: one byte less than on Hopper.
    for name in ("delayed", "current"):
        assert rec[name].cast_bytes_tn_only - rec[name].cast_bytes_any_layout == pytest.approx(1.0)
    # Current scaling adds an amax pass (read 2 B) to delayed scaling's cast.
    assert rec["current"].cast_bytes_tn_only - rec["delayed"].cast_bytes_tn_only == pytest.approx(2.0)
    # MXFP8 writes both row- and column-wise copies with one E8M0 scale per 32 on every part.
    assert rec["mxfp8"].cast_bytes_any_layout == pytest.approx(2.0 + 2.0 * (1.0 + 1.0 / 32.0))
    assert rec["nvfp4"].gemm_dtype == "nvfp4" and rec["delayed"].norm_cast_bytes_any_layout == 0.0


def test_recipe_calibration_and_part_columns():
    h100, gb300 = get_accelerator("H100-SXM").design, get_accelerator("GB300").design
    assert (h100.fp8_gemm_layouts, gb300.fp8_gemm_layouts) == ("tn_only", "any")
    assert recipe_calibration(CAL, "delayed").fp8_quantize_bytes_per_element == 4.0  # TN-only part (H100)
    assert recipe_calibration(CAL, "current").fp8_quantize_bytes_per_element_any_layout == 5.0  # GB300
    assert recipe_calibration(CAL, "current").fp8_norm_quantize_bytes_per_element_any_layout == 3.0
    assert recipe_calibration(CAL, "nvfp4").low_precision_gemm_dtype == "nvfp4"
    # GB300: NVFP4 14.7 PFLOP/s dense (dgxc-benchmarking) over FP8 4.9 PFLOP/s = 3.0.
    assert gb300.nvfp4_matrix_rate_ratio / gb300.fp8_matrix_efficiency_ratio == pytest.approx(14700 / 4900, rel=1e-3)
    # MXFP8's block-scaled GEMMs run at 0.951 of the per-tensor ones (TransformerEngine GEMM benchmark, B300).
    assert recipe_calibration(CAL, "mxfp8").low_precision_gemm_rate_factor == pytest.approx(6.812 / 7.161, rel=1e-3)
    assert recipe_calibration(CAL, "current").low_precision_gemm_rate_factor == 1.0


def test_softmax_rate_factor_per_generation():
    e = get_accelerator("B200").design.softmax_exponentials_per_cycle_per_unit
    # B200: 8192 BF16 FLOP / 16 exponentials per clock per SM = 512 against H100's 256:
    # g = 512 / (512 + X): 0.50 / 0.667 = 0.75 (as head dim 64 on H100: FlashAttention-3 Fig. 5 0.77).
    assert float(softmax_rate_factor(np.array(8192.0), CAL, e)) == pytest.approx(0.75, rel=1e-3)
    assert float(softmax_rate_factor(np.array(4096.0), CAL, e)) == pytest.approx(1.0)
    gb300 = get_accelerator("GB300").design.softmax_exponentials_per_cycle_per_unit
    assert gb300 == 32.0  # Blackwell Ultra: doubled SFU
    assert float(softmax_rate_factor(np.array(8192.0), CAL, gb300)) == pytest.approx(1.0)
    # Unknown part: no factor; per candidate, the factor follows each one's column.
    assert float(softmax_rate_factor(np.array(8192.0), CAL, 0.0)) == 1.0
    per = softmax_rate_factor(np.array([8192.0, 8192.0, 8192.0]), CAL, np.array([16.0, 0.0, 32.0]))
    assert per == pytest.approx([0.75, 1.0, 1.0], rel=1e-3)
