"""Die area: published A100/H100 areas, monotonicity, chiplet split."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.model.activity import ActivityCounts
from archsweep.model.area import die_area
from archsweep.spec.hardware import AcceleratorDesign, HardwareArrays

TECH = load_technology()


def design(name: str) -> AcceleratorDesign:
    return get_accelerator(name).design


def arrays(*designs: AcceleratorDesign) -> HardwareArrays:
    return HardwareArrays.from_designs(list(designs))


def dense_training_activity(hw: HardwareArrays, seconds: float = 1.0) -> ActivityCounts:
    """A dense GEMM-bound training second: 60% of BF16 peak, 5% vector, HBM at 40% of bandwidth,
    16 FLOP per SRAM byte, links at 20% of bandwidth (stated load of the TDP tests)."""
    pk = hw.peak_matrix_flops_bf16
    return ActivityCounts(
        matrix_flops_bf16=0.6 * pk * seconds, matrix_flops_fp8=np.zeros_like(pk),
        vector_flops=0.05 * hw.peak_vector_flops * seconds, hbm_bytes=0.4 * hw.hbm_bw_bytes_per_s * seconds,
        sram_bytes=0.6 * pk / 16 * seconds, scaleup_bytes=0.2 * hw.scaleup_bw_bytes_per_s * seconds,
        scaleout_bytes=0.2 * hw.scaleout_bw_bytes_per_s * seconds)


def test_published_die_areas_within_15_percent() -> None:
    # A100 is the calibration point; H100 (N4, 2x MACs/SM) is out of sample.
    area = die_area(arrays(design("A100-SXM4"), design("H100-SXM")), TECH)
    np.testing.assert_allclose(area.die_area_mm2, [826.0, 814.0], rtol=0.15)
    assert np.all(area.dies_per_package == 1)
    assert np.all(area.reticle_violation < 0)


def test_breakdown_sums_to_total() -> None:
    a = die_area(arrays(design("H100-SXM")), TECH)
    parts = a.compute_mm2 + a.sram_mm2 + a.hbm_phy_mm2 + a.io_phy_mm2 + a.noc_uncore_mm2 + a.d2d_mm2
    np.testing.assert_allclose(parts, a.total_silicon_mm2)
    np.testing.assert_allclose(a.die_area_mm2 * a.dies_per_package, a.total_silicon_mm2)


@settings(max_examples=40, deadline=None)
@given(units=st.integers(16, 400), sram_mib=st.floats(1, 500), extra=st.floats(1.01, 3.0),
       node=st.sampled_from(["N7", "N5", "N4", "N3", "N2"]))
def test_area_grows_with_sram_and_compute(units: int, sram_mib: float, extra: float, node: str) -> None:
    base = design("H100-SXM").replace(compute_units=units, sram_bytes=sram_mib * 2**20, process_node=node)
    more_sram = base.replace(sram_bytes=base.sram_bytes * extra)
    more_units = base.replace(compute_units=int(units * extra) + 1)
    more_macs = base.replace(matrix_flops_per_cycle_per_unit_bf16=base.matrix_flops_per_cycle_per_unit_bf16 * extra)
    a = die_area(arrays(base, more_sram, more_units, more_macs), TECH).total_silicon_mm2
    assert a[1] > a[0] and a[2] > a[0] and a[3] > a[0]
    assert np.all(np.isfinite(a))


def test_denser_node_is_smaller() -> None:
    h = design("H100-SXM")
    a = die_area(arrays(*(h.replace(process_node=n) for n in ("N7", "N5", "N3", "N2"))), TECH).total_silicon_mm2
    assert np.all(np.diff(a) < 0)


def test_large_design_splits_into_chiplets_and_impossible_split_violates() -> None:
    h = design("H100-SXM")
    big = h.replace(compute_units=300)
    huge = h.replace(compute_units=3000)
    a = die_area(arrays(h, big, huge), TECH)
    assert a.dies_per_package[1] >= 2 and a.d2d_mm2[1] > 0 and a.reticle_violation[1] < 0
    assert a.dies_per_package[2] == TECH.packaging.max_compute_dies_per_package
    assert a.reticle_violation[2] > 0


def test_scalar_equals_batch() -> None:
    designs = [design("A100-SXM4"), design("H100-SXM")]
    batch = die_area(arrays(*designs), TECH).die_area_mm2
    single = [float(die_area(HardwareArrays.from_designs(d), TECH).die_area_mm2) for d in designs]
    np.testing.assert_allclose(batch, single)
    assert dataclasses.is_dataclass(die_area(arrays(*designs), TECH))
