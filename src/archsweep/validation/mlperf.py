"""MLPerf Training rows: the evaluation pauses inside the measured wall-clock rate.

data/validation/SOURCE.md: an MLPerf row's tokens/s is samples x seq / elapsed time to the last
evaluation marker, so its step time (GBS x seq / tokens/s) INCLUDES the evaluation passes the
benchmark rule prescribes. archsweep predicts the steady-state training step; validation
therefore models the evaluation time and compares like with like (it does not strip it from the
measurement, which would need the per-run logs):

    measured step  ~=  steady step + eval_samples_per_train_sample x forward time of the step's batch

The forward time is the model's own (:func:`eval_forward_share`, the ``eval_forward_share`` column
validation adds to the chosen mapping's result): the stage's forward compute of all micro-batches
(``m x t_f``, no backward, no optimizer, no gradient reduction: an evaluation is a forward pass at the
training batch) over the model's steady step, whose backward carries the recomputed forward where the
row recomputes (the llama2_70b_lora rows without steady blocks all run recompute=full, where the
forward is ~(1 + a) / (3 + 4a) of the step's compute for LoRA, not the (1 + a) / (2 + 3a) of a FLOP
share without recompute, used until s9-m1; ``a``: attention-score FLOPs per token relative to 2 x the
weights). Communication the evaluation forward may expose (ZeRO-3 weight gathers) is not counted.
Warm-up (CUDA-graph capture, compilation) happens before ``run_start`` in the reference
implementations and is not added to the factor. The schedules, with their sources, are data:
``data/validation/mlperf_eval_rules.yaml`` (benchmarks it does not list are compared as measured).
Where a row also carries ``steady_step_time_s`` (the training step between evaluations, from the
mllog ``block_start``/``block_stop`` markers: data/validation/derive/mlperf_steady_step.py), validation
compares with that instead and applies no factor: it is what the model predicts, with no evaluation
or warm-up in it. The logs show why the factor alone does not carry to multi-node rows: on one
8-GPU node the wall-clock step is 1.12-1.15 x the steady step (the FLOP-share rule before s9-m1 gave 1.13), but
1.22-1.38 x on 64 H100s (GBS 8) and 1.45-1.58 x on 512-1024 GPUs (GBS 64-128): an evaluation
(173 samples) costs 0.73 of a training step per sample at TP4 CP2 against 0.45 at TP4 CP1 (it gains
little from context parallelism), larger global batches train 2.4-3.6 x more samples with
evaluations every 384 samples, and the first block holds 7-19 s of warm-up (not before
``run_start``, as the reference README suggests: e.g. NVIDIA eos_n128 v4.0, first block 55.8 s for
57 steps at a steady 0.67 s).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping

import numpy as np

from archsweep.load.validation_data import load_mlperf_eval_rules
from archsweep.model.training.step import stage_compute
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.validation_data import EvalRule, evals_per_train_sample
from archsweep.spec.workload import Workload
from archsweep.validation.cells import cell_number, cell_text, cell_yes_no
from archsweep.validation.layer_time import mapping_from_result
from archsweep.validation.types import STEADY_STEP, RowPlan, Skip

_BENCHMARK = re.compile(r"(llama2_70b_lora|llama31_405b|llama31_8b|gpt3)\s*$")
_TIME_TO_TRAIN = re.compile(r"time_to_train_min\b[^(]*\(runs:\s*([0-9.]+(?:\s*,\s*[0-9.]+)*)\)")


#: The source groups of MLPerf Training rows: ``mlperf`` (fitted on) and ``mlperf-forward`` (v5.0 / v5.1 results never fitted,
#: a forward test: archsweep.validation.holdout.FORWARD_TEST_GROUPS); both compared by the same rules.
MLPERF_GROUPS: frozenset[str] = frozenset({"mlperf", "mlperf-forward"})
#: CSV column: whether the row's run keeps its FP8 weights' transposes across micro-batches (yes / no / empty)
TRANSPOSE_CACHED = "fp8_transpose_cached"


def benchmark_of(row: Mapping[str, str]) -> str | None:
    """The MLPerf benchmark id a row's run_id ends with, or None (not an MLPerf row)."""
    if cell_text(row, "source_group") not in MLPERF_GROUPS:
        return None
    match = _BENCHMARK.search(cell_text(row, "run_id"))
    return match.group(1) if match else None


def transpose_cached(row: Mapping[str, str]) -> bool:
    """Whether the row's run keeps the FP8 transpose of its FP8 weights across micro-batches: the row's
    ``fp8_transpose_cached`` cell where stated (yes / no: what its own run decides, its printed config or its
    implementation's code and TransformerEngine version, data/validation/derive/mlperf_fp8_transpose_cache.py),
    else its MLPerf benchmark's default (data/validation/mlperf_eval_rules.yaml ``fp8_weights.transpose_cached``,
    the NeMo 1.x / TransformerEngine 1.x reading), else True. Other text in the cell skips the row (``Skip``)."""
    if (stated := cell_yes_no(row, TRANSPOSE_CACHED)) is not None:
        return stated
    rule = load_mlperf_eval_rules().get(benchmark_of(row) or "")
    return not (rule is not None and rule.fp8_weights is not None and not rule.fp8_weights.transpose_cached)


#: result column (the share of the step time an evaluation forward of one training batch takes)
EVAL_SHARE = "eval_forward_share"


def eval_schedule(row: Mapping[str, str]) -> tuple[float, str | None]:
    """(evaluation samples per training sample, a note) of the row: 0 where the row has no evaluation rule
    or is compared with its steady step (then the note says so).

    Raises:
        Skip: an HF-Trainer row without the time to train or the rate its training samples come from.
    """
    rule = load_mlperf_eval_rules().get(benchmark_of(row) or "")
    if rule is None:
        return 0.0, None
    if cell_number(row, STEADY_STEP) is not None:
        return 0.0, "MLPerf: compared with the steady-state step between evaluations (mllog blocks after the first)"
    every, first, per_sample = _schedule(row, rule)
    return per_sample, (f"MLPerf {rule.benchmark}: evaluation of {rule.eval_samples} samples every {every} "
                        f"(from {first}): {per_sample:.3f} evaluation samples per training sample, each a forward pass")


def eval_forward_share(wl: Workload, result: Mapping[str, np.ndarray], hw: HardwareArrays, cal: Calibration) -> float:
    """The model's forward time of one training batch (``m x t_f`` of the slowest stage, s) over its steady
    step time (s) for the mapping in ``result``; ``hw`` at the result's clock, ``cal`` as the step used it."""
    sc = stage_compute(hw, wl, mapping_from_result(result), cal)
    forward_s = sc.microbatches * (sc.layers_stage * sc.t_layer_f + sc.lc.logits_fwd_s)
    return float(np.ravel(forward_s)[0]) / float(np.ravel(result["step_time_s"])[0])


def wallclock_factor(plan: RowPlan, result: Mapping[str, np.ndarray]) -> float:
    """Measured wall-clock step / the model's steady step for ``plan`` with the mapping in ``result``: 1 without
    an evaluation schedule, else 1 + evaluation samples per training sample x ``result[EVAL_SHARE]``."""
    if plan.eval_per_train_sample <= 0.0:
        return 1.0
    if EVAL_SHARE not in result:
        raise Skip(f"{plan.run_id}: the evaluation's forward share ({EVAL_SHARE}) is missing from the model result")
    return 1.0 + plan.eval_per_train_sample * float(np.ravel(result[EVAL_SHARE])[0])


def _schedule(row: Mapping[str, str], rule: EvalRule) -> tuple[int, int, float]:
    """(every, first, evaluation samples per training sample) of the row: the benchmark's schedule, or
    the one a HuggingFace-Trainer submission states (``rule.hf_trainer``: every and first scale with the
    row's global batch; the run's training samples = its median time to train (the ``runs:`` list of
    ``other_metric``) x its median rate ``tokens_per_s_total`` / ``seq_len``: both medians over the runs).

    Raises:
        Skip: a row of a listed HF-Trainer submitter without one of those cells (named).
    """
    run_id = cell_text(row, "run_id")
    if rule.hf_trainer is None or rule.hf_trainer.steps_of(run_id) is None:
        return rule.every_samples, rule.first_eval_samples, rule.eval_per_train_sample
    gbs, rate, seq = (cell_number(row, c) for c in ("global_batch_seqs", "tokens_per_s_total", "seq_len"))
    runs = _TIME_TO_TRAIN.search(cell_text(row, "other_metric"))
    missing = [what for value, what in ((gbs, "global_batch_seqs"), (rate, "tokens_per_s_total"), (seq, "seq_len"),
                                        (runs, "other_metric 'time_to_train_min ... (runs: <minutes>, ...)'"))
               if not value]
    if missing or gbs is None or rate is None or seq is None or runs is None:
        raise Skip(f"{run_id}: the MLPerf {rule.benchmark} HF-Trainer evaluation schedule needs "
                   f"{', '.join(missing)} (empty or unreadable): its training samples are the median time to "
                   "train x the median rate")
    every, first = rule.hf_trainer.samples(run_id, int(gbs)) or (0, 0)
    train = int(statistics.median(float(m) for m in runs.group(1).split(",")) * 60.0 * rate / seq)
    return every, first, evals_per_train_sample(every, first, train, rule.eval_samples)
