"""Per-part GEMM pipeline fill (issue 10, s5-kfill): Hopper parts carry their own K-half (per-SM
matrix FLOP per cycle scaling of the A100 constant), equal to the model-wide curve at their MAMF K;
every other part keeps the model-wide ``gemm_k_half``. The pruned mapping search stays exact."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from random_hardware import TECH, random_candidates

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.part_physics import recipe_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.driver import _best_mappings
from archsweep.model.gemm import PartFill, k_fill
from archsweep.model.training import pruned_search as ps
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.mapping import enumerate_mappings
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
K = np.array([256.0, 512.0, 1536.0, 4096.0, 7168.0, 13312.0, 16384.0, 65536.0])


def test_default_fill_is_unchanged():
    assert np.array_equal(k_fill(K, CAL), K / (K + CAL.gemm_k_half))
    assert np.array_equal(k_fill(K, CAL, one_byte=True), K / (K + CAL.gemm_k_half))


@pytest.mark.parametrize("part", ["H100-SXM", "H200"])
def test_hopper_fill_follows_deepgemm(part):
    """DeepGEMM README @327ec92, H800 FP8, M = 4096: 775 / 1212 / 1410 TFLOP/s at K = 512 / 1536 / 7168
    over 1520 at K = 16384 (0.51 / 0.80 / 0.93). The clock-homogeneous constant gives 0.58 / 0.82 / 0.97."""
    d = get_accelerator(part).design
    assert (d.gemm_k_half_bf16, d.gemm_k_half_fp8, d.gemm_k_reference) == (192.0, 384.0, 13312.0)
    fill, cal = PartFill.of(HardwareArrays.from_designs(d)), CAL
    fp8 = k_fill(np.array([512.0, 1536.0, 7168.0, 16384.0]), cal, one_byte=True, fill=fill)
    rel = fp8[:3] / fp8[3]
    assert np.allclose(rel, [775 / 1520, 1212 / 1520, 1410 / 1520], atol=0.09)
    assert rel[0] < 512 / (512 + CAL.gemm_k_half)  # the model-wide constant gives 0.84: fill too cheap
    # Equal to the model-wide curve at the MAMF shape (where matrix_efficiency was measured), and no higher above
    # it (MAMF is the maximum achievable rate; s16-gemmlaw).
    at_reference = 13312 / (13312 + CAL.gemm_k_half)
    for one_byte in (False, True):
        assert k_fill(np.array(13312.0), cal, one_byte, fill) == pytest.approx(at_reference)
        assert np.all(k_fill(K[K >= 13312.0], cal, one_byte, fill) == pytest.approx(at_reference))
    for one_byte in (False, True):
        f = k_fill(K, cal, one_byte=one_byte, fill=fill)
        assert np.all(np.diff(f) >= 0) and np.all(f <= 1.0) and np.all(f > 0)
    below = K <= d.gemm_k_reference  # FP8 pays more fill than BF16 up to the crossing point
    assert np.all(k_fill(K[below], cal, one_byte=True, fill=fill) <= k_fill(K[below], cal, fill=fill) + 1e-12)


def test_replace_starts_a_fresh_curve_memo():
    """``curves`` memoises k_fill's hardware terms: a ``dataclasses.replace`` of a used fill must not carry
    them over (it gave 0.8595 where a fresh fill of the same columns gives 1.0)."""
    fill = PartFill.of(HardwareArrays.from_designs(get_accelerator("H100-SXM").design))
    k = np.array([400.0])
    k_fill(k, CAL, fill=fill)  # fills the memo
    changed = replace(fill, k_half_bf16=400.0)
    assert changed.curves == {}
    fresh = PartFill(400.0, fill.k_half_fp8, fill.k_reference)
    assert np.array_equal(k_fill(k, CAL, fill=changed), k_fill(k, CAL, fill=fresh))
    assert not np.array_equal(k_fill(k, CAL, fill=changed), k_fill(k, CAL, fill=fill))


@pytest.mark.parametrize(("part", "reference"), [("B200", 3072.0), ("GB200", 2048.0)])
def test_sm100_fill_follows_the_xla_table(part, reference):
    """B200 / GB200 (sm_100, s16-gemmlaw): BF16 K-half 384 (the per-SM rule, 96 x 8192 / 2049; OpenXLA's B200 table
    fits 376), FP8 534 (fitted on the table), equal to the model-wide curve at the MAMF K (3072 / 2048) and capped
    there. The table's BF16 ladder at 4 x 4096 x 4096: K 512 / 1024 / 2048 at 0.653 / 0.808 / 0.922 of K 4096."""
    d = get_accelerator(part).design
    assert (d.gemm_k_half_bf16, d.gemm_k_half_fp8, d.gemm_k_reference) == (384.0, 534.0, reference)
    fill = PartFill.of(HardwareArrays.from_designs(d))
    for one_byte in (False, True):
        f = k_fill(K, CAL, one_byte=one_byte, fill=fill)
        assert np.all(np.diff(f) >= 0) and np.all(f > 0)
        assert np.all(f <= reference / (reference + CAL.gemm_k_half) + 1e-12)
        assert k_fill(np.array(reference), CAL, one_byte, fill) == pytest.approx(reference / (reference + CAL.gemm_k_half))
    ladder = np.array([512.0, 1024.0, 2048.0])
    rel = (ladder / (ladder + 384.0)) / (4096.0 / (4096.0 + 384.0))
    assert np.allclose(rel, [0.653, 0.808, 0.922], atol=0.03)


@pytest.mark.parametrize("part", ["A100-SXM4", "B300", "GB300", "MI300X"])
def test_other_parts_keep_the_model_wide_fill(part):
    """No fill figure: A100 is the part the model-wide 96 was chosen on; B300 / GB300 (sm_103) are not in OpenXLA's
    table and B300's MAMF best BF16 shape sits at K = 1024, which a B200-like fill contradicts (the data file)."""
    d = get_accelerator(part).design
    assert (d.gemm_k_half_bf16, d.gemm_k_half_fp8, d.gemm_k_reference) == (0.0, 0.0, 0.0)
    fill = PartFill.of(HardwareArrays.from_designs(d))
    assert np.array_equal(k_fill(K, CAL, one_byte=True, fill=fill), K / (K + CAL.gemm_k_half))


@pytest.mark.parametrize("workload", ["llama3-70b", "mixtral-8x7b"])
def test_pruned_search_exact_with_hopper_fill(workload):
    """The fill depends on K and the part's fill columns only (clock- and unit-free), so the bounds hold."""
    cal = recipe_calibration(CAL)
    wl = load_workload(workload)
    wl = replace(wl, training=replace(wl.training, precision="fp8"))
    mappings, fixed_dp = enumerate_mappings(wl)
    hw = random_candidates(60, seed=3)
    want = _best_mappings(TrainingJobKind(wl, cal), hw, mappings, "step_time_s", TECH)
    got = ps.best_mapping_indices(hw, wl, mappings, fixed_dp, cal, "step_time_s")
    assert np.array_equal(got, want)
