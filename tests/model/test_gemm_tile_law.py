"""The GEMM law's output tile as a part property (issue 10, s16-gemmlaw): sm_100 (B200 / GB200) computes one 256 x 256
tile per SM pair (tcgen05.mma cta_group::2), every other part the model-wide 128 x 128 tile per unit. The wave
quantisation over unit groups keeps the pruned search's bound valid (P eta_wave never falls as units grow), and the
search's key tables hold the tile columns exactly."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.model.gemm import PartFill, gemm_efficiency
from archsweep.model.training import key_tables
from archsweep.spec.hardware import HardwareArrays

CAL = replace(load_calibration(), gemm_in_training_ratio=1.0)


def _fill(part: str) -> PartFill:
    return PartFill.of(HardwareArrays.from_designs(get_accelerator(part).design))


def _eff(m: float, n: float, k: float, units: float, fill: PartFill | None) -> float:
    return float(np.ravel(gemm_efficiency(np.asarray(m), np.asarray(n), np.asarray(k), np.asarray(units),
                                          np.asarray(1.0), CAL, fill=fill))[0])


@pytest.mark.parametrize("part", ["B200", "GB200"])
def test_sm100_parts_carry_the_two_sm_tile(part):
    d = get_accelerator(part).design
    assert (d.gemm_tile_m, d.gemm_tile_n, d.gemm_tile_units) == (256.0, 256.0, 2.0)


@pytest.mark.parametrize("part", ["H100-SXM", "A100-SXM4", "B300", "GB300", "MI300X"])
def test_other_parts_keep_the_model_wide_tile(part):
    """Their efficiency is the model-wide law to the last bit (128 x 128 per unit)."""
    d = get_accelerator(part).design
    assert (d.gemm_tile_m, d.gemm_tile_n, d.gemm_tile_units) == (0.0, 0.0, 1.0)
    fill = _fill(part)
    fill_only = PartFill(fill.k_half_bf16, fill.k_half_fp8, fill.k_reference)
    for m, n, k in ((4096.0, 4096.0, 4096.0), (300.0, 5000.0, 1024.0), (17.0, 129.0, 64.0)):
        assert _eff(m, n, k, d.compute_units, fill) == _eff(m, n, k, d.compute_units, fill_only)


def test_b200_single_over_batched_4096_cube_is_the_pair_waves():
    """OpenXLA's B200 table: the single 4096^3 GEMM runs at 0.848 (BF16) / 0.843 (FP8) of the batch-4 one; the law
    gives 256 tiles in 3.46 waves over 74 SM pairs against 1024 in 13.8: 0.875 (the model-wide tile: 1.0)."""
    fill = _fill("B200")
    single, batched = _eff(4096.0, 4096.0, 4096.0, 148.0, fill), _eff(4096.0, 4 * 4096.0, 4096.0, 148.0, fill)
    assert single / batched == pytest.approx(256 / (4 * 74) / (1024 / (14 * 74)), rel=1e-12)
    assert single / batched == pytest.approx(0.848, abs=0.04)
    assert _eff(4096.0, 4096.0, 4096.0, 148.0, PartFill()) == pytest.approx(_eff(4096.0, 4 * 4096.0, 4096.0, 148.0,
                                                                                   PartFill()))


@pytest.mark.parametrize("group", [1.0, 2.0, 4.0])
def test_rate_never_falls_as_units_grow(group):
    """The pruned search's bound (pruned_search docstring, point 3): units x eta_wave non-decreasing in units, odd unit
    counts included (a unit left out of the pairs is idle), and eta <= 1 where a group would exceed the units."""
    fill = PartFill(tile_m=256.0, tile_n=256.0, tile_units=group)
    units = np.arange(1.0, 301.0)
    for m, n in ((4096.0, 4096.0), (256.0, 256.0), (1000.0, 7000.0), (8192.0, 57344.0)):
        eff = gemm_efficiency(np.asarray(m), np.asarray(n), np.asarray(8192.0), units, np.asarray(1.0), CAL, fill=fill)
        rate = units * eff
        assert np.all(np.diff(rate) >= -1e-9 * rate[1:]), (group, m, n)
        assert np.all(eff <= 1.0 + 1e-12) and np.all(eff > 0)


def test_search_keys_hold_the_tile_columns_exactly():
    """Two candidates equal but for their units per tile never share a key (their tables differ)."""
    hw = HardwareArrays.from_designs([get_accelerator("B200").design] * 2)
    hw = replace(hw, gemm_tile_units=np.array([1.0, 2.0]))
    rows, key_of = key_tables.keys(hw, fp8=False)
    assert key_of[0] != key_of[1] and len(rows) == 2
    assert set(key_tables.EXACT_KEY_FIELDS) >= {"gemm_tile_m", "gemm_tile_n", "gemm_tile_units"}
