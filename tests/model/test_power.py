"""Power: TDP of A100/H100 under dense training load, DVFS, non-negativity, DGX H100 system power."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_area import TECH, arrays, dense_training_activity, design

from archsweep.model.activity import ActivityCounts
from archsweep.model.area import die_area
from archsweep.model.cost import system_power_w
from archsweep.model.power import (
    static_power_w,
    step_energy,
    voltage_scale,
)


def package_power(hw, activity, clock_scale=1.0):
    area = die_area(hw, TECH)
    return step_energy(hw, TECH, activity, area, clock_scale).total_dynamic_j + static_power_w(hw, TECH, area, clock_scale)


def test_a100_h100_dense_training_within_20_percent_of_tdp() -> None:
    # H100 fits the datapath energy factor (calibration.yaml); A100 (N7, HBM2e) is out of sample.
    hw = arrays(design("A100-SXM4"), design("H100-SXM"))
    p = package_power(hw, dense_training_activity(hw))
    np.testing.assert_allclose(p, [400.0, 700.0], rtol=0.20)


def test_dgx_h100_system_power_sanity() -> None:
    hw = arrays(design("H100-SXM"))  # 8 accelerators = one DGX H100, no scale-out switches
    total = system_power_w(hw, TECH, np.asarray([700.0]))
    np.testing.assert_allclose(total, 10_200.0, rtol=0.10)


def test_voltage_scale_is_one_at_nominal_and_rises_with_the_clock() -> None:
    # DVFS against the TDP is the driver's (tests/model/test_driver_job.py).
    assert float(voltage_scale(1.0, TECH)) == 1.0
    assert np.all(np.diff(voltage_scale(np.linspace(0.1, 1, 10), TECH)) > 0)


@settings(max_examples=40, deadline=None)
@given(frac=st.floats(0, 1), scale=st.floats(0.2, 1.0), node=st.sampled_from(["N7", "N6", "N5", "N4", "N3", "N2", "A16"]),
       gen=st.sampled_from(["HBM2", "HBM2e", "HBM3", "HBM3e", "HBM4"]))
def test_power_never_negative(frac: float, scale: float, node: str, gen: str) -> None:
    hw = arrays(design("H100-SXM").replace(process_node=node, hbm_generation=gen))
    act = dense_training_activity(hw, seconds=frac)
    e = step_energy(hw, TECH, act, die_area(hw, TECH), scale)
    for value in vars(e).values():
        assert np.all(value >= 0) and np.all(np.isfinite(value))
    assert np.all(static_power_w(hw, TECH, die_area(hw, TECH), scale) > 0)


def test_lower_clock_lowers_energy_per_op() -> None:
    hw = arrays(design("H100-SXM"))
    act = dense_training_activity(hw)
    area = die_area(hw, TECH)
    assert step_energy(hw, TECH, act, area, 0.7).matrix_bf16_j < step_energy(hw, TECH, act, area, 1.0).matrix_bf16_j
    zero = ActivityCounts(*(np.zeros(1) for _ in range(7)))
    assert float(step_energy(hw, TECH, zero, area).total_dynamic_j[0]) == 0.0


def test_chiplet_designs_pay_die_to_die_energy() -> None:
    """Splitting a design over chiplets adds die-to-die traffic energy; a monolithic die has none."""
    from archsweep.load.catalog import get_accelerator
    from archsweep.model.activity import ActivityCounts
    from archsweep.model.area import die_area
    from archsweep.model.power import step_energy
    from archsweep.spec.hardware import HardwareArrays

    hw = HardwareArrays.from_designs([get_accelerator("H100-SXM").design, get_accelerator("B200").design])
    one = np.ones(2)
    activity = ActivityCounts(matrix_flops_bf16=1e15 * one, matrix_flops_fp8=0 * one, vector_flops=1e12 * one,
                              hbm_bytes=1e12 * one, sram_bytes=1e13 * one, scaleup_bytes=1e10 * one,
                              scaleout_bytes=1e9 * one)
    area = die_area(hw, TECH)
    energy = step_energy(hw, TECH, activity, area)
    assert area.dies_per_package[0] == 1 and energy.d2d_j[0] == 0.0
    assert area.dies_per_package[1] >= 2 and energy.d2d_j[1] > 0.0
