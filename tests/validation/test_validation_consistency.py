"""Consistency check of a row's own figures (issue 10, item 1): implied FLOP per token against the
architecture in any published convention, tokens/s x step time against the batch."""

from __future__ import annotations

import pytest
from measured_runs import runs_by_id, validated

from archsweep.validation.run import plan_row
from archsweep.validation.types import Skip

ROWS = runs_by_id()


def test_public_rows_are_self_consistent():
    """Every public row that states two figures passes, including the Qwen3-30B-A3B MoE rows
    (their large errors are the model's, not the rows': 214 TFLOP/s / 9299 tokens/s = 23 GFLOP
    per token, 6 x 3.3 B active + causal attention) and the LoRA rows (4 FLOP per frozen weight)."""
    results = validated()  # validate_rows(ROWS.values()), computed once for test_validation.py too
    assert [r.run_id for r in results] == list(ROWS)
    assert not [r.run_id for r in results if "inconsistent" in r.reason]


def test_reduced_layer_proxy_is_skipped():
    """The same measured TFLOP/s and tokens/s stated for a model with 4x the layers: a proxy run."""
    row = dict(ROWS["nemo2407_LLAMA3-8B_8gpu"])
    row["layers"] = "128"
    with pytest.raises(Skip, match="inconsistent row: tflops_per_gpu / tokens per s per GPU"):
        plan_row(row)


def test_mistyped_batch_is_skipped():
    row = dict(ROWS["mlperf_train_v4.1_NVIDIA_eos_n64_ngc24.09_nemo_gpt3"])
    row["global_batch_seqs"] = str(int(float(row["global_batch_seqs"])) * 4)
    with pytest.raises(Skip, match="mistyped batch"):
        plan_row(row)
    row = dict(ROWS["mlperf_train_v4.1_NVIDIA_eos_n64_ngc24.09_nemo_gpt3"])
    row["tokens_per_s_per_gpu"] = str(float(row["tokens_per_s_per_gpu"]) * 2)
    with pytest.raises(Skip, match="tokens_per_s_total"):
        plan_row(row)
