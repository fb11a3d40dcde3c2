"""benchmarks/component_offsets.py: the least squares of a part's missing time on the model's step components, and
one real row split into them (s15-bwdense, docs/model-accuracy.md)."""

from __future__ import annotations

import pytest
from conftest import load_benchmark

from archsweep.load.catalog import load_catalog
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.validation.cells import read_measurements


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("component_offsets")  # it imports its sibling row_breakdown, as when run


def _rows(bench, extra: tuple[float, float, float]) -> list:
    """Synthetic rows whose measured step is the predicted one plus ``extra`` x each component."""
    out = []
    for i, parts in enumerate(((3.0, 1.0, 0.5), (1.0, 3.0, 0.5), (2.0, 2.0, 1.0), (4.0, 0.5, 0.2), (0.5, 4.0, 0.3))):
        predicted = sum(parts) + 1.0
        measured = predicted + sum(e * c for e, c in zip(extra, parts))
        out.append(bench.RowSplit(f"r{i}", "X", predicted, measured, parts))
    return out


def test_fit_recovers_the_component_that_misses_time(bench) -> None:
    """Rows that miss 15 % of their GEMM time only: the GEMM fit finds +0.15 with no residual, the two-component fit
    finds (+0.15, 0) for (GEMM, attention)."""
    rows = _rows(bench, (0.15, 0.0, 0.0))
    coef, before, after = bench.fit(rows, (0,))
    assert coef[0] == pytest.approx(0.15, abs=1e-9) and after == pytest.approx(0.0, abs=1e-9) and before > 0.05
    coef, _, after = bench.fit(rows, (0, 1))
    assert coef == pytest.approx([0.15, 0.0], abs=1e-9) and after == pytest.approx(0.0, abs=1e-9)


def test_a_b200_row_splits_into_its_components(bench) -> None:
    """The 25.11 DGX-B200 Llama 3 8B FP8-CS row (+8.7 %): the three components sum to at most the compute time, the
    attention core is a quarter to a half of it (8k sequence, TP1), and the measured step is the predicted one x 1.087."""
    run_id = "mbridge_25.11_DGX-B200_LLAMA3-8B_FP8-CS_8"
    row = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}[run_id]
    split = bench.split_row(row, "B200", 8.7, load_catalog(), load_technology())
    gemm, attention, memory = split.component_s
    assert split.measured_s == pytest.approx(split.predicted_s * 1.087)
    assert min(gemm, attention, memory) > 0 and gemm + attention + memory <= split.predicted_s
    assert 0.25 < attention / (gemm + attention + memory) < 0.5
