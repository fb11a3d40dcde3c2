"""MLPerf rows: evaluation pauses inside the measured rate (validation/mlperf.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from archsweep.load.validation_data import load_mlperf_eval_rules
from archsweep.validation.mlperf import benchmark_of, forward_share, wallclock_factor
from archsweep.validation.run import plan_row

_LORA_ROW = "mlperf_train_v4.1_NVIDIA_eos_ngc24.09_nemo_llama2_70b_lora"


def _row(run_id: str, group: str = "mlperf") -> dict[str, str]:
    return {"run_id": run_id, "source_group": group}


def test_benchmark_only_for_mlperf_rows() -> None:
    assert benchmark_of(_row(_LORA_ROW)) == "llama2_70b_lora"
    assert benchmark_of(_row("mlperf_train_v4.0_NVIDIA_eos_n64_ngc24.04_nemo_gpt3")) == "gpt3"
    assert benchmark_of(_row(_LORA_ROW, group="nemo")) is None


def test_lora_rule_counts_the_published_schedule() -> None:
    rule = load_mlperf_eval_rules()["llama2_70b_lora"]
    # evaluations at 1536, 1920, 2304, 2688, 3072 samples: 5 x 173 eval samples over 3072 trained
    assert rule.eval_per_train_sample == pytest.approx(5 * 173 / 3072)


def test_factor_for_the_lora_row_and_none_without_a_rule() -> None:
    row = {"run_id": _LORA_ROW, "source_group": "mlperf", "model": "Llama 2 70B LoRA fine-tune (MLPerf llama2_70b_lora)",
           "accelerator_canonical": "H100-SXM", "num_accels": "8", "seq_len": "8192", "global_batch_seqs": "8",
           "step_time_s": "4.163", "precision": "fp8"}
    plan = plan_row(row)
    # forward share of a LoRA step lies between 1/3 (pre-training) and 1/2 (no attention)
    share = forward_share(plan.workload)
    assert 1 / 3 < share < 0.5
    factor, note = wallclock_factor(row, plan.workload)
    assert factor == pytest.approx(1 + 5 * 173 / 3072 * share)
    assert plan.wallclock_factor == pytest.approx(factor) and note
    pre = replace(plan.workload, training=replace(plan.workload.training, mode="pretrain"))
    assert forward_share(pre) == pytest.approx(1 / 3)
    assert wallclock_factor(_row("mlperf_train_v4.0_NVIDIA_eos_n64_ngc24.04_nemo_gpt3"), pre) == (1.0, None)
