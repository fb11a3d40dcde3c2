"""MLPerf rows: evaluation pauses inside the measured rate (validation/mlperf.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from measured_runs import runs_by_id

from archsweep.load.validation_data import load_mlperf_eval_rules
from archsweep.validation.metrics import predict_metric
from archsweep.validation.mlperf import EVAL_SHARE, benchmark_of, eval_schedule, wallclock_factor
from archsweep.validation.run import plan_row, validate_rows
from archsweep.validation.types import Skip

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


def test_factor_is_the_models_forward_time_over_its_step() -> None:
    """The Gaudi2 row without its steady step (NeMo schedule, recompute=full; since s10-lora the row carries the
    steady step its train_loss stamps time, cleared here): the evaluation adds eval-per-train-sample x the model's
    forward time of one training batch / its steady step."""
    row = next({**r, "steady_step_time_s": ""} for run, r in runs_by_id(lambda r: "Intel-HabanaLabs" in r["run_id"]).items()
               if run.endswith("_llama2_70b_lora"))
    plan = plan_row(row)
    rule = load_mlperf_eval_rules()["llama2_70b_lora"]
    assert plan.eval_per_train_sample == pytest.approx(rule.eval_per_train_sample)
    [result] = validate_rows([row])
    share = float(next(n for n in result.notes.split("; ") if "forward share" in n).split("forward share ")[1][:5])
    # full recompute: the forward runs twice and the backward is >= a forward, so an evaluation forward of the
    # batch is below a third of the step; LoRA's backward (no weight gradients) keeps it above a fifth.
    assert 0.2 < share < 1 / 3
    # the evaluation's cost moves the prediction by that factor, and nothing else does
    plain = replace(plan, eval_per_train_sample=0.0)
    fake = {"step_time_s": np.asarray([2.0]), "tokens_per_s": np.asarray([1.0]), "recompute": np.asarray(["full"]),
            EVAL_SHARE: np.asarray([share])}
    assert wallclock_factor(plan, fake) == pytest.approx(1 + rule.eval_per_train_sample * share)
    assert wallclock_factor(plain, fake) == 1.0
    assert predict_metric(plan, fake, None) == pytest.approx(2.0 * (1 + rule.eval_per_train_sample * share))
    with pytest.raises(Skip, match=EVAL_SHARE):
        wallclock_factor(plan, {k: v for k, v in fake.items() if k != EVAL_SHARE})


def test_no_schedule_without_a_rule() -> None:
    assert eval_schedule(_row("mlperf_train_v4.0_NVIDIA_eos_n64_ngc24.04_nemo_gpt3")) == (0.0, None)
    assert eval_schedule(_row(_LORA_ROW, group="nemo")) == (0.0, None)
