"""benchmarks/a2a_overlap_floor.py: the rows with the EP all-to-all overlap and no graphs, and the host-floor bounds
s21-M read from them (docs/model-accuracy.md)."""

from __future__ import annotations

import pytest
from conftest import load_benchmark

from archsweep.load.catalog import load_catalog
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.validation.cells import read_measurements

H100_30B = ("mbridge_25.11_DGX-H100_Qwen3_30B_a3B_FP8-CS_16", "mbridge_26.02_DGX-H100_Qwen3_30B_a3B_FP8_16")
B200_235B = "mbridge_25.11_DGX-B200_Qwen3_235B_a22B_FP8-MX_64"
ZOO = "mcore_moe_qwen3_235b_h100_256_deepep_ep32_pp8_a2aoverlap"


@pytest.fixture(scope="module")
def floor():  # noqa: ANN201 - the benchmark module
    return load_benchmark("a2a_overlap_floor")


@pytest.fixture(scope="module")
def recs(floor) -> dict:  # noqa: ANN001
    rows = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
    catalog, tech = load_catalog(), load_technology()
    return {k: floor.floor_row(rows[k], catalog, tech) for k in (*H100_30B, B200_235B, ZOO)}


def test_selection_is_the_overlap_rows_without_graphs(floor) -> None:  # noqa: ANN001
    """Fourteen rows state the overlap with no MoE graph scope and no layer graphs; the H100 Qwen3-30B pair among them."""
    rows = [r for r in read_measurements(data_dir() / "validation" / "training_runs.csv") if floor.overlap_without_graphs(r)]
    assert len(rows) == 14
    assert set(H100_30B) <= {r["run_id"] for r in rows}


def test_launch_counts_and_implied_layer_times(recs: dict) -> None:
    """16 local experts: 288 per-expert launches on Hopper current scaling (3 quantise kernels per operand), 160 on
    Blackwell MXFP8 (1); the H100 pair implies ~15.2-15.6 ms per MoE layer-micro-batch with either dispatcher, the B200
    row 12.4 ms, the zoo DeepEP row 9.3 ms (the bounds of s21-M item 3)."""
    assert [recs[k].launches for k in H100_30B] == [288.0, 288.0]
    assert recs[B200_235B].launches == 160.0
    assert recs[ZOO].launches == 24.0
    assert [1e3 * recs[k].implied_s for k in H100_30B] == pytest.approx([15.19, 15.62], abs=0.1)
    assert 1e3 * recs[B200_235B].implied_s == pytest.approx(12.44, abs=0.1)
    assert 1e3 * recs[ZOO].implied_s == pytest.approx(9.33, abs=0.1)


def test_floor_moves_only_rows_below_it(floor, recs: dict) -> None:  # noqa: ANN001
    """A floor of 0 leaves every error as it is; a floor at the H100 alltoall row's implied time makes it exact and
    leaves a row whose layer already takes longer alone."""
    fr = recs[H100_30B[0]]
    assert floor.floored_error_pct(fr, 0.0, 0.0) == pytest.approx(fr.error_pct, abs=1e-9)
    assert floor.floored_error_pct(fr, fr.implied_s, 0.0) == pytest.approx(0.0, abs=1e-6)
    zoo = recs[ZOO]
    assert floor.floored_error_pct(zoo, 0.5 * zoo.layer_s, 0.0) == pytest.approx(zoo.error_pct, abs=1e-9)
