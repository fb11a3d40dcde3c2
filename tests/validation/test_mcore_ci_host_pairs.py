"""The Megatron-LM CI pair reader (benchmarks/mcore_ci_host_pairs.py): the median step of a golden-values series
after warm-up, and the layer-micro-batch count of a CI test case on its 8 GPUs (s21-E, docs/model-accuracy.md)."""

from __future__ import annotations

import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("mcore_ci_host_pairs")


def test_median_skips_warm_up_steps_and_non_numbers(bench):
    golden = {"iteration-time": {"values": {"1": 40.0, "5": 9.0, "10": 8.0, "11": "nan", "15": 7.6, "20": 7.4,
                                            "25": 7.7}}}
    assert bench.median_iteration_time(golden) == pytest.approx(7.6)
    assert bench.median_iteration_time({"lm loss": {"values": {"1": 10.5}}}) is None


def test_layer_microbatches_of_the_weekly_tp4_cp2_case(bench):
    # gpt3_weekly_mcore_tp4_cp2_...: 12 layers, mbs 2, gbs 128, TP 4, CP 2 on 8 GPUs -> DP 1, 64 micro-batches
    args = {"--num-layers": 12, "--micro-batch-size": 2, "--global-batch-size": 128,
            "--tensor-model-parallel-size": 4, "--context-parallel-size": 2}
    assert bench.layer_microbatches(args) == 12 * 64
    # TP 2 PP 2 -> DP 2: 6 layers on a stage, 32 micro-batches
    args = {"--num-layers": 12, "--micro-batch-size": 2, "--global-batch-size": 128,
            "--tensor-model-parallel-size": 2, "--pipeline-model-parallel-size": 2}
    assert bench.layer_microbatches(args) == 6 * 32


def test_layer_microbatches_refuses_an_incomplete_or_indivisible_config(bench):
    assert bench.layer_microbatches({"--num-layers": 12, "--micro-batch-size": 2}) is None
    assert bench.layer_microbatches({"--num-layers": 12, "--micro-batch-size": 2, "--global-batch-size": 128,
                                     "--tensor-model-parallel-size": 3}) is None
