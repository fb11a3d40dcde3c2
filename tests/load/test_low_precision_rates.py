"""Measured FP8 GEMM rate per catalog part (MAMF, data/hardware/low_precision_rates.yaml) in validation."""

from __future__ import annotations

from dataclasses import replace

import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator, load_catalog
from archsweep.load.low_precision import load_low_precision_rates
from archsweep.load.part_physics import recipe_calibration
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()


def test_every_key_is_a_catalog_part_or_reported():
    rates = load_low_precision_rates()
    catalog = load_catalog()
    assert {"H100-SXM", "B200", "GB200"} <= set(rates) & set(catalog)


def test_h100_fp8_runs_at_its_measured_rate():
    """H100 SXM MAMF: BF16 794.5 of 989 (80.3 %), FP8 1402.6 of 1979 (70.9 %) -> ratio 0.883."""
    ratio = get_accelerator("H100-SXM").design.fp8_matrix_efficiency_ratio  # a hardware column
    assert ratio == pytest.approx(1402.6 / 1979 / 0.803, rel=0.01)
    assert get_accelerator("A100-SXM4").design.fp8_matrix_efficiency_ratio == 1.0  # no FP8


def test_fp8_never_slower_than_bf16_and_slower_than_at_bf16_efficiency():
    """A low-precision recipe is never slower than BF16 on the same part, and the measured FP8
    efficiency makes it slower than an FP8 GEMM at the BF16 efficiency would be."""
    entry = get_accelerator("H100-SXM")
    design = entry.design.replace(accelerator_count=8)
    wl = load_workload("llama3-8b")
    strategy = "tp=1,pp=1,cp=1,mb=1,recompute=none,zero=1"
    step = {}
    cal = recipe_calibration(CAL)
    for name, precision, ratio in (("bf16", "bf16", design.fp8_matrix_efficiency_ratio),
                                   ("fp8", "fp8", design.fp8_matrix_efficiency_ratio), ("fp8_at_bf16_eff", "fp8", 1.0)):
        hw = HardwareArrays.from_designs(design.replace(fp8_matrix_efficiency_ratio=ratio))
        job = replace(wl, training=replace(wl.training, precision=precision))
        out = evaluate_design_batch(hw, job, tech=load_technology(), calibration=cal, strategy=strategy, infeasible="least_violating")
        step[name] = float(out["step_time_s"][0])
    assert step["fp8"] < step["bf16"]
    assert step["fp8_at_bf16_eff"] < step["fp8"]
