"""The release-bias helper (benchmarks/release_bias.py): names a row's software release from its run_id, turns
step-time errors into "model too fast" with the throughput sign, and keeps one part's modelled dense rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("release_bias")


def test_release_names_the_table_release_and_the_mlperf_container(bench):
    assert bench.release("mbridge_26.02_DGX-GB200_LLAMA3.1-405B_FP8_256") == "bridge 26.02"
    assert bench.release("mbridge-fwd_26.04.01_DGX-GB200_LLAMA3.1-405B_FP8_256") == "bridge 26.04.01"
    assert (bench.release("mlperf_train_v5.0_NVIDIA_tyche_ngpu512_ngc25.04_nemo_llama31_405b")
            == "mlperf v5.0 ngc25.04")
    assert bench.release("mlperf_train_v5.0_Dell_4xXE9712x4GB200_llama2_70b_lora") == "mlperf v5.0"


def test_a_step_time_too_short_is_the_model_too_fast(bench):
    # predicted step 16.64 s against 19.43 s measured (-14.36 %): the model runs 19.43 / 16.64 - 1 = +16.8 % fast
    assert bench.too_fast_pct("step_time_s", -14.36) == pytest.approx(100 * (19.43 / 16.64 - 1), abs=0.05)
    assert bench.too_fast_pct("tokens_per_s_per_gpu", 7.75) == 7.75
    assert bench.too_fast_pct("step_time_s", 0.0) == 0.0


def test_table_keeps_the_part_s_modelled_dense_rows(bench, tmp_path: Path):
    rows = [("mlperf_train_v5.0_NVIDIA_tyche_ngpu512_ngc25.04_nemo_llama31_405b", "step_time_s", -14.36, "ok"),
            ("mbridge_26.02_DGX-GB200_LLAMA3.1-405B_FP8_256", "tokens_per_s_per_gpu", 7.75, "ok"),
            ("mbridge_26.02_DGX-GB200_LLAMA3.1-405B_NVFP4_256", "tokens_per_s_per_gpu", -8.2, "ok"),
            ("mbridge_26.02_DGX-GB200_DeepSeekV3_MXFP8_256", "tokens_per_s_per_gpu", -0.7, "ok"),
            ("mbridge_26.02_DGX-GB300_LLAMA3.1-405B_FP8_256", "tokens_per_s_per_gpu", -4.9, "ok")]
    path = tmp_path / "rows.csv"
    pd.DataFrame({"run_id": [r[0] for r in rows], "metric": [r[1] for r in rows], "error_pct": [r[2] for r in rows],
                  "status": [r[3] for r in rows]}).to_csv(path, index=False)
    df = bench.table(str(path), "GB200", "dense", no_fp4=True)
    assert sorted(df.release) == ["bridge 26.02", "mlperf v5.0 ngc25.04"]  # no MoE, no NVFP4, no GB300 row
    assert sorted(df.too_fast.round(1)) == [7.8, 16.8]
    assert len(bench.table(str(path), "GB200", "dense", no_fp4=False)) == 3
