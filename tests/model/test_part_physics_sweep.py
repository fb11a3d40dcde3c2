"""Part physics as per-candidate hardware columns (issue 10): a batch whose candidates differ in a
part-physics column gives each candidate what it gets alone, and the step time moves with the column
as the physics says (a higher FP8 efficiency, a faster host link, more exponentials per clock: never
slower; a longer GEMM pipeline fill: never faster). The pruned mapping search stays exact."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from random_hardware import TECH, random_candidates

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.part_physics import job_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.driver import _best_mappings, evaluate_design_batch
from archsweep.model.training import pruned_search as ps
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.mapping import enumerate_mappings
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
STRATEGY = "tp=1,pp=1,cp=1,mb=1,recompute=none,zero=1,fa=on"


def _sweep(part: str, column: str, values: list, precision: str = "fp8", recipe: str = "current",
           offload: int = 0, model: str = "llama3-8b", count: int = 8, strategy: str = STRATEGY,
           seq: int = 4096) -> np.ndarray:
    """Step times of ``part`` (``count`` accelerators) with ``column`` at each of ``values``, as one batch;
    each candidate also alone, which must give the same number to the last bit (inf: no mapping fits)."""
    entry = get_accelerator(part)
    wl = load_workload(model)
    wl = replace(wl, training=replace(wl.training, seq_len=seq, global_batch_seqs=64, precision=precision,
                                      low_precision_recipe=recipe, activation_offload_layers=offload))
    cal = job_calibration(CAL, entry, wl.training)
    designs = [entry.design.replace(accelerator_count=count, **{column: v}) for v in values]

    def step(hw: HardwareArrays) -> np.ndarray:
        out = evaluate_design_batch(hw, wl, tech=TECH, calibration=cal, strategy=strategy, infeasible="least_violating")
        return np.where(np.asarray(out["mapping_found"], dtype=bool), np.asarray(out["step_time_s"], dtype=float), np.inf)

    batch = step(HardwareArrays.from_designs(designs))
    alone = np.concatenate([step(HardwareArrays.from_designs([d])) for d in designs])
    np.testing.assert_array_equal(batch, alone)
    return batch


def test_fp8_gemm_efficiency_sweep_is_monotone():
    """H100-SXM, FP8 GEMMs from 0.7 to 1.2 of the BF16 share of peak (0.883 measured): faster each step."""
    t = _sweep("H100-SXM", "fp8_matrix_efficiency_ratio", [0.7, 0.8, 0.883, 1.0, 1.2])
    assert np.all(np.diff(t) < 0)


def test_nvfp4_rate_sweep_is_monotone():
    t = _sweep("GB200", "nvfp4_matrix_rate_ratio", [1.0, 1.5, 2.0, 2.5], recipe="nvfp4")
    assert np.all(np.diff(t) < 0)


def test_any_fp8_gemm_layout_is_never_slower():
    """A Hopper part whose FP8 GEMMs took any layout would write no transpose copies (current scaling)."""
    tn, any_ = _sweep("H100-SXM", "fp8_gemm_layouts", ["tn_only", "any"])
    assert any_ < tn


def test_gemm_fill_sweep_is_monotone():
    """A longer pipeline fill (K-half) below the part's MAMF K: slower, BF16 and FP8 alike."""
    for precision, column in (("bf16", "gemm_k_half_bf16"), ("fp8", "gemm_k_half_fp8")):
        t = _sweep("H100-SXM", column, [100.0, 200.0, 400.0, 800.0], precision=precision)
        assert np.all(np.diff(t) > 0), column


def test_gemm_tile_sweep():
    """B200 (two-SM 256 x 256 tiles, s16-gemmlaw): a larger tile quantises more, never faster; the same tiles per SM
    pair against per SM differ only by wave quantisation over 74 pairs instead of 148 SMs (a few per cent at most)."""
    t = _sweep("B200", "gemm_tile_n", [128.0, 256.0, 512.0], precision="bf16")
    assert np.all(np.diff(t) >= 0) and t[-1] > t[0]
    pair, single = _sweep("B200", "gemm_tile_units", [2.0, 1.0], precision="bf16")
    assert single == pytest.approx(pair, rel=0.05)


def test_softmax_rate_sweep_is_monotone():
    """B200: more exponentials per clock per SM lift the attention kernel until it is MMA-bound."""
    t = _sweep("B200", "softmax_exponentials_per_cycle_per_unit", [8.0, 16.0, 32.0, 64.0], precision="bf16")
    assert np.all(np.diff(t) <= 0) and t[0] > t[-1]


def test_host_link_sweep_is_monotone_and_zero_is_infeasible():
    """GB200 offloading 48 of GPT-3 175B's layers: a faster host link never slows the step; no link, no offload."""
    t = _sweep("GB200", "host_link_bw_bytes_per_s", [0.0, 1e9, 10e9, 100e9, 450e9], precision="bf16", offload=48,
               model="gpt3-175b", count=64, strategy="tp=8,pp=1,cp=1,mb=1,recompute=none,zero=3", seq=2048)
    assert np.isinf(t[0]) and np.all(np.diff(t[1:]) <= 0) and t[1] > t[-1]


@pytest.mark.parametrize("workload", ["llama3-70b", "mixtral-8x7b"])
def test_pruned_search_exact_with_per_candidate_part_physics(workload):
    """Every part-physics column varied per candidate: the pruned search returns the exhaustive one's mapping."""
    wl = load_workload(workload)
    wl = replace(wl, training=replace(wl.training, precision="fp8"))
    mappings, fixed_dp = enumerate_mappings(wl)
    n = 40
    rng = np.random.default_rng(7)
    cols = random_candidates(n, seed=5).columns()
    cols["fp8_matrix_efficiency_ratio"] = rng.uniform(0.6, 1.1, n)
    cols["fp8_gemm_layouts"] = rng.choice(["tn_only", "any"], n)
    cols["softmax_exponentials_per_cycle_per_unit"] = rng.choice([0.0, 8.0, 16.0, 32.0], n)
    cols["gemm_k_half_bf16"] = rng.choice([0.0, 96.0, 192.0], n)
    cols["gemm_k_half_fp8"] = rng.choice([0.0, 192.0, 384.0], n)
    cols["gemm_k_reference"] = rng.choice([0.0, 4096.0, 13312.0], n)
    cols["gemm_tile_m"] = rng.choice([0.0, 256.0], n)
    cols["gemm_tile_n"] = rng.choice([0.0, 128.0, 256.0], n)
    cols["gemm_tile_units"] = rng.choice([1.0, 2.0], n)
    hw = HardwareArrays.from_columns(cols)
    cal = job_calibration(CAL, get_accelerator("H100-SXM"), wl.training)
    want = _best_mappings(TrainingJobKind(wl, cal), hw, mappings, "step_time_s", TECH)
    got = ps.best_mapping_indices(hw, wl, mappings, fixed_dp, cal, "step_time_s")
    assert np.array_equal(got, want)
