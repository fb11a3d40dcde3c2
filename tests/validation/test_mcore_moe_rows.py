"""The mcore-moe source group: Megatron-LM's MoE model zoo (NVIDIA/Megatron-LM
examples/moe-modelzoo/best_practice/qwen3/readme.md @f13818d695), Qwen3-235B-A22B on H100, GB200 and
GB300 with the exact parallel layouts, outside the nemo group (docs/model-accuracy.md, s7-moedata)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from measured_runs import runs, validated_of

from archsweep.load.calibration import load_calibration
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import validate_rows

ROWS = runs(lambda r: r["source_group"] == "mcore-moe")
#: Megatron-LM num_floating_point_operations per token of Qwen3-235B-A22B at seq 4096, as the table's
#: H100 rows imply it (TF per GPU x GPUs x step time / tokens per step).
FLOP_PER_TOKEN = 147.8e9


def test_rows_carry_source_locator_and_the_table_figures():
    """Five rows: the three H100 rows with step time and TF per GPU (the cross-node EP32 layout with and
    without the EP all-to-all overlap, the intra-node alltoall one), the GB200 / GB300 rows with TFLOPS
    (tokens/s derived at the H100 rows' FLOP per token, stated in `derived`)."""
    by_id = {r["run_id"]: r for r in ROWS}
    assert len(by_id) == 5
    for r in ROWS:
        assert "examples/moe-modelzoo/best_practice/qwen3/readme.md @f13818d695" in r["source"]
        assert r["source_locator"] and r["moe_token_dispatcher"] and r["moe_cuda_graph_scope"]
    h100 = by_id["mcore_moe_qwen3_235b_h100_256_deepep_ep32_pp8_a2aoverlap"]
    assert (h100["tp"], h100["pp"], h100["vpp"], h100["ep"], h100["step_time_s"], h100["tflops_per_gpu"]) == (
        "2", "8", "4", "32", "17.6", "276")
    twin = by_id["mcore_moe_qwen3_235b_h100_256_deepep_ep32_pp8"]
    assert (twin["tp"], twin["pp"], twin["vpp"], twin["ep"], twin["step_time_s"], twin["tflops_per_gpu"]) == (
        "2", "8", "4", "32", "19.7", "245")
    assert (twin["moe_a2a_overlap"], h100["moe_a2a_overlap"]) == ("no", "yes")
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
    results = validated_of(ROWS)
    assert [r.status for r in results] == ["ok"] * 5
    assert not [r for r in results if "inconsistent" in r.reason]
    assert {r["run_id"]: calibration_stack(r) for r in ROWS} == {
        "mcore_moe_qwen3_235b_h100_256_deepep_ep32_pp8_a2aoverlap": "megatron-core-flex",
        "mcore_moe_qwen3_235b_h100_256_deepep_ep32_pp8": "megatron-core-flex",
        "mcore_moe_qwen3_235b_h100_256_alltoall_ep8_pp32": "megatron-core",
        "mcore_moe_qwen3_235b_gb200_256_hybridep_bf16_ep8_pp8": "megatron-core-flex",
        "mcore_moe_qwen3_235b_gb300_64_hybridep_mxfp8_ep64": "megatron-core-flex",
    }


def _errors(host_s: float | None) -> list[float]:
    out = []
    for row in ROWS:
        cal = load_calibration(stack=calibration_stack(row))
        if host_s is not None:
            cal = replace(cal, moe_layer_host_overhead_s=host_s, moe_host_s_per_token=0.0)
        result = validate_rows([row], calibration=cal)[0]
        # positive = model too slow, whatever the metric
        out.append(result.error_pct if result.metric == "step_time_s" else -result.error_pct)
    return out


def test_the_fitted_moe_host_time_makes_every_zoo_row_too_slow():
    """At the fitted host times (alltoall 6 ms, flex 2 ms since s8-moehost) and each row's stated EP
    all-to-all overlap, every row is predicted too slow: the H100 and GB200 rows by 3-12 % and the GB300 row (PP1,
    A2A_OVERLAP=1) within 5 % (group MAPE 6.54 % over those four since s11-mcmoe counts the embedding and the loss
    as one pipeline layer each, as the zoo's Qwen3-235B-A22B.yaml states: the last stage holds 11 layers and the
    output layer at PP8, 2 and the output layer at PP32, where the model charged 12 / 3 and the output layer;
    17.37 % before, 16.88 % before s10-mxfp8, 18.70 % before s9-a2a, 19.56 % before s9-moecost, 33.67 % at flex
    4 ms with the overlap assumed only under an interleaved pipeline). With no MoE host time beyond the
    eager-scope term those three are too fast (-5 .. -17 %): the host time they imply lies between 0 and the
    fitted values (H100 alltoall EP8 PP32 6.1 ms in all, as the Megatron-Bridge H100 alltoall rows' 5.8-6.5 ms;
    benchmarks/moe_host_residual.py). The no-overlap twin of the EP32 row (review B finding 4, s8-m3) is the
    group's worst row: +25.9 % (+32.8 % before s11-mcmoe, +75.7 % when every routed copy crossed the network),
    see :func:`test_the_overlap_a_b_is_over_predicted`; with it the group MAPE is 10.82 % (10.34 % before s12-moetok's
    alltoall sort by local expert, which the per-micro-batch host time fitted without it over-charges on the PP32 row; 10.38 % before s12-correct's interleaved bubble, 10.41 % before s11-pp1's 1F1B bubble, 20.46 % before
    s11-mcmoe, 20.07 % before s10-mxfp8, 30.10 % before s9-a2a, 30.79 % before s9-moecost).
    13.06 % since s13-gptfused (communication.a2a_paired_exposed_s: the SMs HybridEP (32) / DeepEP (20) hold slow
    the partner's compute under the EP overlap): the two overlap rows move, the GB300 row (PP1, A2A_OVERLAP=1)
    -3.05 -> -8.61 % (now too slow by 8.6 %: the flex host time, a compromise across models, s12-bigmoe) and the
    H100 DeepEP overlap row +3.50 -> +9.15 % (its no-overlap twin is +25.8 %: the model's H100 DeepEP all-to-all is
    priced high, and the free overlap hid it); the four without the twin 7.07 -> 9.88 %.
    11.38 % since s14-h100slow (the router and the alltoall dispatcher's first permutation run over the rank's
    sequence-parallel shard, the flex dispatchers' permutation over the received copies: the three H100 rows, TP 2,
    move: DeepEP overlap +9.15 -> +6.03, alltoall PP32 +13.71 -> +11.22, the no-overlap twin +25.79 -> +23.01); the
    four without the twin 9.88 -> 8.48 %.
    6.07 % since s15-moehost (the affine host form, alltoall 4.5 / flex 1 ms per call + 0.5 ms per 4096 local tokens:
    at micro-batch 1 x 4096 tokens the rows pay 5.0 / 1.5 ms where they paid 6 / 2): the H100 rows move DeepEP
    overlap +6.03 -> +2.0, alltoall PP32 +11.22 -> +4.7, the no-overlap twin +23.01 -> +19.4, GB300 +8.6 -> +1.2 and
    GB200 +8.0 -> +3.0 (every row still too slow); the four without the twin 8.48 -> 2.72 %.
    6.56 % with the sm_100 GEMM law (s16-gemmlaw: two-SM 256 x 256 tiles and the sm_100 fill): the GB200 row +3.0 ->
    +5.4 % too slow; the four without the twin 2.72 -> 3.35 %.
    8.40 % with s32's causal schedule law (Qwen3-235B's 64 heads at 4,096 tokens, TP 1-2: each row's attention
    slower, every row was already too slow): the twin +19.4 -> +20.9, alltoall PP32 +4.7 -> +6.1, GB200 +5.4 -> +7.6,
    GB300 +1.2 -> +3.7, DeepEP overlap +2.0 -> +3.7; the four without the twin 3.35 -> 5.27 %."""
    twin = "mcore_moe_qwen3_235b_h100_256_deepep_ep32_pp8"
    fitted = dict(zip((r["run_id"] for r in ROWS), _errors(None), strict=True))
    assert fitted[twin] == pytest.approx(20.9, abs=0.5)  # 19.4 before s32, 23.0 before s15-moehost
    assert float(np.mean(np.abs(list(fitted.values())))) == pytest.approx(8.40, abs=0.1)  # 6.56 before s32
    fitted.pop(twin)
    gb300 = fitted.pop("mcore_moe_qwen3_235b_gb300_64_hybridep_mxfp8_ep64")
    assert 0.0 < gb300 < 5.0  # +3.7 since s32, +1.2 since s15-moehost (+8.6 since s13-gptfused)
    assert all(0.0 < e < 8.0 for e in fitted.values()), fitted  # alltoall PP32 +6.1 since s32, +4.7 since s15-moehost
    assert float(np.mean(np.abs([*fitted.values(), gb300]))) == pytest.approx(5.27, abs=0.1)  # 3.35 before s32
    none = dict(zip((r["run_id"] for r in ROWS), _errors(0.0), strict=True))
    none.pop("mcore_moe_qwen3_235b_gb300_64_hybridep_mxfp8_ep64")
    none.pop(twin)
    assert all(-18.0 < e < -3.0 for e in none.values()), none  # GB200 -3.8 since s32 (-4 .. -18 before)


def test_the_overlap_a_b_is_over_predicted():
    """The table's only measured A/B of the EP all-to-all overlap (same EP32 PP8 VPP4 layout and code,
    A2A_OVERLAP 0 vs 1): measured 19.7 / 17.6 s = 1.12x, modelled 1.71x (34.6 / 20.2 s at the fitted
    host times) when every routed copy crossed the network (s8-m3); 1.33x (26.2 / 19.6 s) since the flex
    dispatcher sends a token once per remote node (s9-a2a, DeepEP's forwarding), 1.36x (24.8 / 18.2 s) with
    the embedding / loss pipeline split (s11-mcmoe: both steps shorter by the same compute): the model still exposes
    more all-to-all without the overlap than the run shows; 1.29x (24.8 / 19.2 s) since s13-gptfused charges DeepEP's
    20 SMs beside the overlapped all-to-alls; 1.31x since s15-moehost (a smaller host time in both steps).
    Pinned as it stands, an open gap (docs/model-accuracy.md, s9-a2a)."""
    by_id = {r["run_id"]: r for r in ROWS}
    pair = [by_id["mcore_moe_qwen3_235b_h100_256_deepep_ep32_pp8"],
            by_id["mcore_moe_qwen3_235b_h100_256_deepep_ep32_pp8_a2aoverlap"]]
    off, on = (r.predicted for r in validate_rows(pair))
    assert float(pair[0]["step_time_s"]) / float(pair[1]["step_time_s"]) == pytest.approx(1.12, abs=0.01)
    assert off / on == pytest.approx(1.31, abs=0.02)  # 1.29 before s15-moehost
