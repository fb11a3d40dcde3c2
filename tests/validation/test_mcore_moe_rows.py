"""The mcore-moe source group: Megatron-LM's MoE model zoo (NVIDIA/Megatron-LM
examples/moe-modelzoo/best_practice/qwen3/readme.md @f13818d695), Qwen3-235B-A22B on H100, GB200 and
GB300 with the exact parallel layouts, outside the nemo group (docs/model-accuracy.md, s7-moedata)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from measured_runs import runs

from archsweep.load.calibration import load_calibration
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import validate_rows

ROWS = runs(lambda r: r["source_group"] == "mcore-moe")
#: Megatron-LM num_floating_point_operations per token of Qwen3-235B-A22B at seq 4096, as the table's
#: H100 rows imply it (TF per GPU x GPUs x step time / tokens per step).
FLOP_PER_TOKEN = 147.8e9


def test_rows_carry_source_locator_and_the_table_figures():
    """Four rows: the two H100 rows with step time and TF per GPU, the GB200 / GB300 rows with TFLOPS
    (tokens/s derived at the H100 rows' FLOP per token, stated in `derived`)."""
    by_id = {r["run_id"]: r for r in ROWS}
    assert len(by_id) == 4
    for r in ROWS:
        assert "examples/moe-modelzoo/best_practice/qwen3/readme.md @f13818d695" in r["source"]
        assert r["source_locator"] and r["moe_token_dispatcher"] and r["moe_cuda_graph_scope"]
    h100 = by_id["mcore_moe_qwen3_235b_h100_256_deepep_ep32_pp8_a2aoverlap"]
    assert (h100["tp"], h100["pp"], h100["vpp"], h100["ep"], h100["step_time_s"], h100["tflops_per_gpu"]) == (
        "2", "8", "4", "32", "17.6", "276")
    for r in ROWS:
        tf, gpus = float(r["tflops_per_gpu"]), int(r["num_accels"])
        tokens_per_step = int(r["global_batch_seqs"]) * int(r["seq_len"])
        if r["step_time_s"]:
            implied = tf * 1e12 * gpus * float(r["step_time_s"]) / tokens_per_step
            assert implied == pytest.approx(FLOP_PER_TOKEN, rel=0.005)
        else:
            assert float(r["tokens_per_s_per_gpu"]) == pytest.approx(tf * 1e12 / FLOP_PER_TOKEN, abs=1)
            assert "147.8 GFLOP" in r["derived"]
            assert r["confidence"].startswith("medium (") and "tokens_per_s_per_gpu derived" in r["confidence"]


def test_rows_are_modelled_self_consistent_and_on_the_megatron_core_stacks():
    results = validate_rows(ROWS)
    assert [r.status for r in results] == ["ok"] * 4
    assert not [r for r in results if "inconsistent" in r.reason]
    assert {r["run_id"]: calibration_stack(r) for r in ROWS} == {
        "mcore_moe_qwen3_235b_h100_256_deepep_ep32_pp8_a2aoverlap": "megatron-core-flex",
        "mcore_moe_qwen3_235b_h100_256_alltoall_ep8_pp32": "megatron-core",
        "mcore_moe_qwen3_235b_gb200_256_hybridep_bf16_ep8_pp8": "megatron-core-flex",
        "mcore_moe_qwen3_235b_gb300_64_hybridep_mxfp8_ep64": "megatron-core-flex",
    }


def _errors(host_s: float | None) -> list[float]:
    out = []
    for row in ROWS:
        cal = load_calibration(stack=calibration_stack(row))
        if host_s is not None:
            cal = replace(cal, moe_layer_host_overhead_s=host_s)
        result = validate_rows([row], calibration=cal)[0]
        # positive = model too slow, whatever the metric
        out.append(result.error_pct if result.metric == "step_time_s" else -result.error_pct)
    return out


def test_the_fitted_moe_host_time_makes_every_row_but_gb300_too_slow():
    """At the fitted host times (alltoall 6 ms, flex 2 ms since s8-moehost) and each row's stated EP
    all-to-all overlap, the H100 and GB200 rows are predicted too slow by 15-41 % and the GB300 row (PP1,
    A2A_OVERLAP=1, overlapped since s8-moehost) within 5 % (group MAPE 19.56 %; 33.67 % at flex 4 ms with
    the overlap assumed only under an interleaved pipeline); with no MoE host time beyond the eager-scope
    term those three are within 11 %: they expose less host time per MoE layer and micro-batch than the
    Megatron-Bridge presets of the nemo group (25.09-26.02), though no stated setting of theirs (sync
    points, fusions, graph scope, CPU binding) removes host work the presets keep (docs/model-accuracy.md,
    s8-moehost)."""
    fitted = dict(zip((r["run_id"] for r in ROWS), _errors(None), strict=True))
    gb300 = fitted.pop("mcore_moe_qwen3_235b_gb300_64_hybridep_mxfp8_ep64")
    assert abs(gb300) < 5.0
    assert all(14.0 < e < 42.0 for e in fitted.values()), fitted
    assert float(np.mean(np.abs([*fitted.values(), gb300]))) == pytest.approx(19.56, abs=0.1)
    none = dict(zip((r["run_id"] for r in ROWS), _errors(0.0), strict=True))
    none.pop("mcore_moe_qwen3_235b_gb300_64_hybridep_mxfp8_ep64")
    assert all(abs(e) < 11.0 for e in none.values()), none
