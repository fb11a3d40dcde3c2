"""GEMM roofline against measured A100-80GB GEMMs (LLMCompass ISCA'24 artifact, copied into
data/validation/kernel_benchmarks.csv), and the calibration file's provenance."""

from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.paths import data_dir
from archsweep.load.yamlio import load_yaml
from archsweep.model.gemm import gemm_efficiency, gemm_time_s
from archsweep.spec.hardware import HardwareArrays


def _a100_gemms():
    with (data_dir() / "validation" / "kernel_benchmarks.csv").open(newline="", encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if r["accelerator"] == "A100-SXM4-80GB" and r["kernel"].startswith("matmul")]


HARNESS_OVERHEAD_S = 24e-6
"""Per-call overhead of the benchmark's synchronous timing loop (not a property of the GPU): the
8192x64x64 GEMM (< 1 us of work at the roofline) measured 29.6 us."""


def test_isolated_gemms_within_10_percent():
    """Isolated GEMMs of >= 1 GFLOP within 12 %, once the harness's per-call overhead is added (the worst
    case is wave quantisation at M=256, where cuBLAS picks other tile shapes than the 128x128 modelled)."""
    cal = replace(load_calibration(), gemm_in_training_ratio=1.0)  # isolated kernels, not in a training step
    hw = HardwareArrays.from_designs(get_accelerator("A100-SXM4").design)
    checked = 0
    for row in _a100_gemms():
        m, n, k = (float(row[x]) for x in "MNK")
        if 2 * m * n * k < 1e9:
            continue
        predicted = gemm_time_s(np.asarray(m), np.asarray(n), np.asarray(k), batch=1.0, peak_flops=hw.peak_matrix_flops_bf16,
                                hbm_bw_bytes_per_s=hw.hbm_bw_bytes_per_s, compute_units=hw.compute_units,
                                matrix_efficiency=hw.matrix_efficiency, bytes_per_element=2.0, cal=cal)
        assert float(predicted) + HARNESS_OVERHEAD_S == pytest.approx(float(row["latency_s"]), rel=0.12), (m, n, k)
        checked += 1
    assert checked >= 12


def test_efficiency_bounded_and_quantised():
    cal = load_calibration()
    eff = gemm_efficiency(np.array([1.0, 129.0, 4096.0]), np.asarray(4096.0), np.asarray(4096.0), np.asarray(108.0),
                          np.asarray(0.9), cal)
    assert np.all((eff > 0) & (eff <= 0.9))
    assert eff[0] < eff[1] < eff[2]


def test_every_calibration_constant_has_a_source():
    doc = load_yaml(data_dir() / "calibration" / "model.yaml")
    for name, entry in doc.items():
        for key in ("value", "source", "locator", "confidence"):
            assert entry.get(key) not in (None, ""), (name, key)
