"""The dense-row residual analysis (benchmarks/dense_residual.py, s12-dense): which rows it keeps, the sign of
its error, the per-GPU GEMM shapes it reports and the tile / wave quantisation of its large-tile feature."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import load_benchmark

B200_8B = "mbridge_25.11_DGX-B200_LLAMA3-8B_FP8-CS_8"
GB200_8B = "mbridge_25.11_DGX-GB200_LLAMA3-8B_FP8-CS_8"
MLPERF_B200 = "mlperf_train_v5.1_Dell_1xXE9680Lx8B200-SXM-180GB_llama31_8b"


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("dense_residual")


def _output(tmp_path: Path) -> str:
    """A validate --output file of real run_ids: two dense Bridge rows (throughput, + = too fast), an MLPerf
    step-time row, a MoE row and a skipped row."""
    rows = [(B200_8B, "tokens_per_s_per_gpu", 100.0, 110.0, "ok"),
            (GB200_8B, "tokens_per_s_per_gpu", 100.0, 105.0, "ok"),
            (MLPERF_B200, "step_time_s", 0.5, 0.4, "ok"),
            ("mbridge_25.11_DGX-B200_GPT_OSS_120B_BF16_64", "tokens_per_s_per_gpu", 100.0, 120.0, "ok"),
            ("mbridge_25.11_DGX-GB300_LLAMA3-8B_FP8-CS_8", "tokens_per_s_per_gpu", 100.0, 199.0, "skipped")]
    path = tmp_path / "rows.csv"
    pd.DataFrame({"run_id": [r[0] for r in rows], "metric": [r[1] for r in rows], "measured": [r[2] for r in rows],
                  "predicted": [r[3] for r in rows], "status": [r[4] for r in rows],
                  "source_group": "nemo"}).to_csv(path, index=False)
    return str(path)


def test_keeps_dense_modelled_rows_with_the_sign_of_too_fast(bench, tmp_path):
    df = bench.table(_output(tmp_path), None).set_index("run_id")
    assert sorted(df.index) == sorted([B200_8B, GB200_8B, MLPERF_B200])  # no MoE row, no skipped row
    assert df.loc[B200_8B, "fast_pct"] == pytest.approx(10.0)
    assert df.loc[MLPERF_B200, "fast_pct"] == pytest.approx(25.0)  # step 0.4 s for 0.5 measured: 1.25x too fast
    assert set(df.generation) == {"Blackwell"}


def test_gemm_shapes_of_llama3_8b_tp1(bench, tmp_path):
    """Llama 3 8B at TP 1, micro-batch 2, 8192 tokens: M = 16384 tokens, FC1 N = 2 x 14336 (SwiGLU gate and
    up), FC2 K = 14336; large GEMMs, so the model's shape efficiency and the large-tile one are near 1 (the model's
    0.943 since s16-gemmlaw: B200's own 256 x 256 tiles over SM pairs and its fill, capped at its MAMF K 3072)."""
    row = bench.table(_output(tmp_path), None).set_index("run_id").loc[B200_8B]
    assert (row.m_tokens, row.n_fc1, row.k_fc2) == (16384.0, 28672.0, 14336.0)
    assert 0.93 < row.model_shape_eff <= 1.0 and 0.95 < row.big_tile_wave_eff <= 1.0
    if row.clock_ratio >= 1.0:  # not throttled: the demand is the power over the TDP
        assert row.power_demand == pytest.approx(row.power_ratio)
    else:  # throttled: the demand at the nominal clock exceeds the TDP
        assert row.power_demand > 1.0
    assert sum(row[f"share_{t}"] for t in bench._TERMS) <= 1.0 + 1e-9


def test_big_tile_wave_quantisation(bench):
    """Blackwell: 256 x 256 tiles over 148 / 2 = 74 SM pairs; 75 tiles need two waves (75 / 148 useful)."""
    assert bench._big_tile(256.0, 256.0 * 74, "Blackwell", 148.0) == (pytest.approx(1.0), 74.0)
    assert bench._big_tile(256.0, 256.0 * 75, "Blackwell", 148.0)[0] == pytest.approx(75 / 148)
    assert bench._big_tile(128.0, 256.0 * 132, "Hopper", 132.0)[0] == pytest.approx(1.0)
    assert bench._big_tile(100.0, 256.0, "Hopper", 132.0)[0] == pytest.approx(100 / 128 / 132)


def test_part_pairs_ratio(bench, tmp_path):
    """The same preset on GB200 and B200: measured ratio 1, model ratio 1.05 / 1.10."""
    pairs = bench.part_pairs(bench.table(_output(tmp_path), None))
    row = pairs[pairs.pair == "GB200/B200"].iloc[0]
    assert row.measured == pytest.approx(1.0) and row.model == pytest.approx(1.05 / 1.10)
