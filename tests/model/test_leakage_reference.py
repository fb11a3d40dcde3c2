"""The leakage reference's SRAM rate is technology data (calibration.yaml), passed in with Technology."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from test_area import TECH, arrays, design

from archsweep.model.activity import ActivityCounts
from archsweep.model.area import die_area
from archsweep.model.power import peak_dynamic_power_w, static_power_w, step_energy


def _with_rate(rate: float):
    return replace(TECH, calibration=replace(TECH.calibration, leakage_reference_flops_per_sram_byte=rate))


def test_rate_is_sourced_data() -> None:
    assert TECH.calibration.leakage_reference_flops_per_sram_byte == 16.0
    prov = TECH.provenance["calibration.leakage_reference_flops_per_sram_byte"]
    assert prov.source and prov.locator and prov.confidence == "low"


def test_reference_stages_peak_flops_over_the_rate() -> None:
    hw = arrays(design("A100-SXM4"), design("H100-SXM"))
    area = die_area(hw, TECH)
    # the SRAM share of the reference is exactly SRAM energy of peak_bf16 / rate bytes
    base, half = peak_dynamic_power_w(hw, TECH, area), peak_dynamic_power_w(hw, _with_rate(32.0), area)
    zero = np.zeros_like(hw.clock_hz)
    sram_only = ActivityCounts(matrix_flops_bf16=zero, matrix_flops_fp8=zero, vector_flops=zero, hbm_bytes=zero,
                               sram_bytes=hw.peak_matrix_flops_bf16 / 16.0, scaleup_bytes=zero, scaleout_bytes=zero)
    sram_j = step_energy(hw, TECH, sram_only, area).total_dynamic_j
    np.testing.assert_allclose(base - half, sram_j / 2, rtol=1e-12)
    # fewer staged bytes per FLOP: less leakage, proportionally to the node fraction
    assert np.all(static_power_w(hw, _with_rate(32.0), area) < static_power_w(hw, TECH, area))
