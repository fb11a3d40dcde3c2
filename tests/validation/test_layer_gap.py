"""benchmarks/layer_gap.py: a row's missing step time per layer-micro-batch and per chunk pass, and a candidate cost
per chunk pass scored on the groups (docs/model-accuracy.md s14-h100moe)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_benchmark

HEADER = "run_id,metric,measured,predicted,error_pct,status,source_group\n"
# Two real rows of training_runs.csv with made-up predictions: the 26.02 H100 Qwen3-30B row (16 GPUs, PP 2, VPP 12,
# mb 1, GBS 1024 x 4096: DP 8, 128 micro-batches, 24 layers per stage, 262,144 tokens per GPU and step) predicted at
# 8,192 tokens/s/GPU (32 s per step against 51.27 measured), and the zoo H100 Qwen3-235B PP32 VPP3 row (step time,
# 24.2 s measured) predicted at 24.2 s (exact); a third row with a TFLOP/s metric keeps its error only.
ROWS = ("mbridge_26.02_DGX-H100_Qwen3_30B_a3B_FP8_16,tokens_per_s_per_gpu,5113,8192,60.219049,ok,nemo\n"
        "mcore_moe_qwen3_235b_h100_256_alltoall_ep8_pp32,step_time_s,24.2,24.2,0.0,ok,mcore-moe\n"
        "megatron21_t1_1.7B,tflops_per_gpu,137,140,2.19,ok,megatron\n")


@pytest.fixture()
def gaps(tmp_path: Path) -> list[object]:
    path = tmp_path / "rows.csv"
    path.write_text(HEADER + ROWS)
    mod = load_benchmark("layer_gap")
    runs = Path(__file__).resolve().parents[2] / "data" / "validation" / "training_runs.csv"
    return mod.load_gaps(path, runs)


def test_gap_per_layer_micro_batch_and_chunk_pass(gaps: list[object]) -> None:
    """51.27 - 32.0 s over 24 layers x 128 micro-batches (3072) and over 2 x 128 x 12 chunk passes (3072): 6.27 ms
    each; one micro-batch is 4096 tokens, so per 4096 tokens the same. The zoo row (PP 32: ceil(94 / 32) = 3 layers,
    512 micro-batches) has 1536 layer-micro-batches and no gap."""
    qwen, zoo = gaps[0], gaps[1]
    assert qwen.step_meas_s == pytest.approx(262144 / 5113)  # type: ignore[attr-defined]
    assert qwen.step_pred_s == pytest.approx(32.0)  # type: ignore[attr-defined]
    assert (qwen.layer_mbs, qwen.chunk_passes) == (3072, 3072)  # type: ignore[attr-defined]
    assert qwen.gap_ms_per_layer_mb == pytest.approx((262144 / 5113 - 32.0) / 3072 * 1e3)  # type: ignore[attr-defined]
    assert qwen.gap_ms_per_layer_4k == pytest.approx(qwen.gap_ms_per_layer_mb)  # type: ignore[attr-defined]
    assert zoo.layer_mbs == 1536 and zoo.gap_ms_per_layer_mb == pytest.approx(0.0)  # type: ignore[attr-defined]


def test_chunk_cost_scores_the_interleaved_rows_only(gaps: list[object]) -> None:
    """Cost 0 returns the file's errors; a cost c per chunk pass adds c x 3072 s to both interleaved rows' steps: the
    throughput row gets slower (its error falls), the step-time row's error rises; the TFLOP/s row never moves. The
    "moe" scope keeps the dense row out as well; a part filter that matches nothing leaves every error."""
    mod = load_benchmark("layer_gap")
    base = mod.group_mape(gaps, 0.0, "all", "")
    assert base == pytest.approx({"all": (60.219049 + 0.0 + 2.19) / 3, "mcore-moe": 0.0, "megatron": 2.19, "nemo": 60.219049})
    c = 2e-3
    after = mod.group_mape(gaps, c, "all", "")
    step = 262144 / 5113
    assert after["nemo"] == pytest.approx(100.0 * (step / (32.0 + c * 3072) - 1.0))
    assert after["mcore-moe"] == pytest.approx(100.0 * c * 3072 / 24.2)
    assert after["megatron"] == pytest.approx(2.19)
    assert mod.group_mape(gaps, c, "moe", "") == pytest.approx(after)
    assert mod.group_mape(gaps, c, "all", "B200") == pytest.approx(base)
