"""MLPerf Training rows: the evaluation pauses inside the measured wall-clock rate.

data/validation/SOURCE.md: an MLPerf row's tokens/s is samples x seq / elapsed time to the last
evaluation marker, so its step time (GBS x seq / tokens/s) INCLUDES the evaluation passes the
benchmark rule prescribes. archsweep predicts the steady-state training step; validation
therefore models the evaluation time and compares like with like (it does not strip it from the
measurement, which would need the per-run logs):

    measured step  ~=  steady step x (1 + eval_samples_per_train_sample x forward_share)

``forward_share`` is the forward pass's share of the training step's FLOPs (an evaluation is a
forward pass at the training batch, no backward, no optimizer, no gradient reduction): 1/3 for
pre-training (2 of 6 FLOP per weight), (2 + a) / (4 + 3a) for LoRA, whose frozen weights need no
weight-gradient GEMM (``a``: attention-score FLOPs per token relative to 2 x the weights).
Where a row also carries ``steady_step_time_s`` (the training step between evaluations, from the
mllog ``block_start``/``block_stop`` markers: data/validation/derive/mlperf_steady_step.py), validation
compares with that instead and applies no factor: it is what the model predicts, with no evaluation
or warm-up in it. The logs show why the factor alone does not carry to multi-node rows: on one
8-GPU node the wall-clock step is 1.12-1.15 x the steady step (the rule above gives 1.13), but
1.22-1.38 x on 64 H100s (GBS 8) and 1.45-1.58 x on 512-1024 GPUs (GBS 64-128): an evaluation
(173 samples) costs 0.73 of a training step per sample at TP4 CP2 against 0.45 at TP4 CP1 (it gains
little from context parallelism), larger global batches train 2.4-3.6 x more samples with
evaluations every 384 samples, and the first block holds 7-19 s of warm-up (not before
``run_start``, as the reference README suggests: e.g. NVIDIA eos_n128 v4.0, first block 55.8 s for
57 steps at a steady 0.67 s).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from archsweep.model.training.step import model_flops_per_token
from archsweep.spec.workload import Workload
from archsweep.validation.cells import _number, _text
from archsweep.validation.types import STEADY_STEP


@dataclass(frozen=True)
class EvalRule:
    """One benchmark's evaluation schedule (samples = packed sequences of the benchmark's length).

    ``first_eval_samples``: the first evaluation a submission runs (earlier ones may be skipped);
    ``train_samples``: the typical samples to reach the quality target, from the same source.
    """

    benchmark: str
    every_samples: int
    eval_samples: int
    first_eval_samples: int
    train_samples: int
    source: str
    locator: str
    confidence: str

    @property
    def eval_per_train_sample(self) -> float:
        """Evaluation samples run per training sample over a run of ``train_samples``."""
        evals = max(0, (self.train_samples - self.first_eval_samples) // self.every_samples + 1)
        return evals * self.eval_samples / self.train_samples


#: Rules with a cited schedule. gpt3 is not listed: its evaluation thoroughness (the size of the
#: C4 validation subset) is stated inconsistently in the copies we could read (NVIDIA v4.0
#: README: "every 24576 samples ... 24567 examples", which would make evaluation as long as
#: training), so those rows are compared as measured (see the README accuracy section).
EVAL_RULES: dict[str, EvalRule] = {
    "llama2_70b_lora": EvalRule(
        benchmark="llama2_70b_lora", every_samples=384, eval_samples=173, first_eval_samples=1536, train_samples=3072,
        source="mlcommons/training_results_v4.0 NVIDIA/benchmarks/llama2_70b_lora/implementations/nemo",
        locator=("README.md section 5 (evaluation every 384 samples on the 173-example validation subset); "
                 "config_DGXH100_1x8x4xtp4pp1cp1.sh SKIP_EVALS=3 (first evaluation at 4 x 384 = 1536 samples); "
                 "train_samples: 27.1 min x 60 / 4.16 s per step x GBS 8 = 3.1k samples (training_runs.csv, NVIDIA "
                 "1xDGX H100 v4.1 row), and the 0.87 ratio of the fastest to the typical run time = 2688 / 3072"),
        confidence="medium"),
}

_BENCHMARK = re.compile(r"(llama2_70b_lora|llama31_405b|llama31_8b|gpt3)\s*$")


def benchmark_of(row: Mapping[str, str]) -> str | None:
    """The MLPerf benchmark id a row's run_id ends with, or None (not an MLPerf row)."""
    if _text(row, "source_group") != "mlperf":
        return None
    match = _BENCHMARK.search(_text(row, "run_id"))
    return match.group(1) if match else None


def forward_share(wl: Workload) -> float:
    """Forward-pass share of one training step's FLOPs (see the module docstring)."""
    if wl.training.mode != "finetune_lora":
        return 1.0 / 3.0
    per_token = model_flops_per_token(wl)  # 6 x weights + attention scores, forward and backward
    weights = per_token - 12.0 * wl.layers * wl.seq_len * wl.heads * wl.head_dim
    a = max(per_token - weights, 0.0) / 3.0 / max(weights / 3.0, 1.0)  # attention fwd / (2 x weights)
    return (1.0 + a) / (2.0 + 3.0 * a)


def wallclock_factor(row: Mapping[str, str], wl: Workload) -> tuple[float, str | None]:
    """(measured wall-clock step / steady-state step, a note) for the row; (1, None) if no rule."""
    rule = EVAL_RULES.get(benchmark_of(row) or "")
    if rule is None:
        return 1.0, None
    if _number(row, STEADY_STEP) is not None:
        return 1.0, "MLPerf: compared with the steady-state step between evaluations (mllog blocks after the first)"
    extra = rule.eval_per_train_sample * forward_share(wl)
    note = (f"MLPerf {rule.benchmark}: evaluation of {rule.eval_samples} samples every {rule.every_samples} "
            f"(from {rule.first_eval_samples}) adds {100 * extra:.1f}% to the steady step")
    return 1.0 + extra, note
