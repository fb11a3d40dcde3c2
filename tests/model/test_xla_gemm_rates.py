"""The model's isolated GEMM rate against OpenXLA's measured matmul table (data/validation/xla_gemm_rates.csv:
sm_100 = B200 BF16 / FP8, sm_90 = Hopper BF16; benchmarks/xla_gemm_rates.py; s15-bwdense, docs/model-accuracy.md).

What the table says about the too-fast B200 / GB200 rows (issue 10): at the table's largest GEMM the model's B200
rate equals the measured one (the MAMF reference holds at a training-like shape), while its H100 rate is below the
measured one; at smaller GEMMs the model is faster than the B200 measurement and slower than the H100 one. The
pinned ratios are the open finding: a change of the GEMM law that moves them re-pins them here.
"""

from __future__ import annotations

from types import ModuleType

import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("xla_gemm_rates")


@pytest.fixture(scope="module")
def ratios(bench: ModuleType) -> dict:
    return bench.model_over_measured(bench.load_entries())


def test_table_rows_are_physical(bench: ModuleType) -> None:
    """Every copied rate is below its part's dense peak (the sm_90 FP8 entries, above H100's FP8 peak, are not
    copied) and the B200 FP8 rate is 1.6-2.2x the BF16 one at each GEMM of >= 100 GFLOP (FP8 peak: 2x)."""
    entries = bench.load_entries()
    peaks = {"B200": {"bf16": 2250e12, "fp8": 4500e12}, "H100-SXM": {"bf16": 989.4e12}}
    assert {(e.part, e.dtype) for e in entries} == {("B200", "bf16"), ("B200", "fp8"), ("H100-SXM", "bf16")}
    for e in entries:
        assert 0 < e.measured_flop_per_s < peaks[e.part][e.dtype], e
    rate = {(e.dtype, e.shape): e.measured_flop_per_s for e in entries if e.part == "B200"}
    for (dtype, shape), bf16 in rate.items():
        if dtype == "bf16" and 2 * shape[0] * shape[1] * shape[2] * shape[3] >= 1e11:
            assert 1.6 < rate[("fp8", shape)] / bf16 < 2.2, shape


def test_b200_largest_gemm_at_the_mamf_reference(ratios: dict, bench: ModuleType) -> None:
    """Batch 4 x 4096^3 (550 GFLOP): the model's isolated B200 rate within 2 % of the measurement, BF16 0.997 and
    FP8 0.987 — no B200 GEMM loss at a training-like shape for the model to add (the MAMF figures hold)."""
    assert ratios[("B200", "bf16", bench.LARGEST)] == pytest.approx(0.997, abs=0.02)
    assert ratios[("B200", "fp8", bench.LARGEST)] == pytest.approx(0.987, abs=0.02)


def test_h100_below_the_measurement(ratios: dict, bench: ModuleType) -> None:
    """The same GEMM on H100: the model's rate 0.935 of the measured (its Hopper fill and 128 x 128 waves cost
    6.5 % that the measured kernels do not lose); every H100 entry below 1."""
    assert ratios[("H100-SXM", "bf16", bench.LARGEST)] == pytest.approx(0.935, abs=0.02)
    assert all(v < 1.0 for (part, _, _), v in ratios.items() if part == "H100-SXM")


def test_relative_optimism_of_b200_over_h100(ratios: dict, bench: ModuleType) -> None:
    """Geometric mean of model / measured over the table's GEMMs: B200 BF16 1.133, FP8 1.086, H100 BF16 0.916; the
    model's B200 / H100 BF16 speed ratio is 1.24x the measured one over these GEMMs and 1.07x at the largest."""
    def gm(part: str, dtype: str) -> float:
        return bench.geomean([v for (p, d, _), v in ratios.items() if (p, d) == (part, dtype)])

    assert gm("B200", "bf16") == pytest.approx(1.133, abs=0.02)
    assert gm("B200", "fp8") == pytest.approx(1.086, abs=0.02)
    assert gm("H100-SXM", "bf16") == pytest.approx(0.916, abs=0.02)
    largest = ratios[("B200", "bf16", bench.LARGEST)] / ratios[("H100-SXM", "bf16", bench.LARGEST)]
    assert largest == pytest.approx(1.066, abs=0.02)


def test_b200_quantises_its_waves_as_two_sm_tiles(bench: ModuleType) -> None:
    """The single 4096^3 GEMM runs at 0.85 of the batch-4 one on B200 (BF16 0.848, FP8 0.843), as 256 x 256 tiles
    over the 74 SM pairs quantise (0.875: 256 tiles in 3.46 waves against 1024 in 13.8) and not as the model's
    128 x 128 over 148 SMs (1.0); H100 (0.989) is what both tilings give there (1.0)."""
    entries = bench.load_entries()
    assert bench.tiling_ratio(256, 74) == pytest.approx(0.875, abs=0.001)
    assert bench.tiling_ratio(128, 148) == pytest.approx(1.0)
    for dtype in ("bf16", "fp8"):
        measured = bench.single_over_batched(entries, "B200", dtype)
        assert measured == pytest.approx(bench.tiling_ratio(256, 74), abs=0.04)
        assert measured < 0.9 * bench.tiling_ratio(128, 148)
    assert bench.single_over_batched(entries, "H100-SXM", "bf16") == pytest.approx(bench.tiling_ratio(128, 132), abs=0.02)
