"""Sourced inputs of the validation against published runs, as frozen types (no I/O).

Loaded by :mod:`archsweep.load.validation_data` from ``data/validation/mlperf_eval_rules.yaml``
(:class:`EvalRule`) and ``data/validation/trtllm_bench_precisions.yaml`` (:class:`BenchPrecisions`),
each entry with source, locator and confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from archsweep.spec.serving import Precision

__all__ = ["EvalRule", "Fp8WeightHandling", "HfTrainerSchedule", "LoraRecipe", "PrecisionTriple", "BenchPrecisions"]


@dataclass(frozen=True)
class HfTrainerSchedule:
    """Evaluation schedule of submissions on the HuggingFace-Trainer reference ``train.py``: every
    ``eval_steps[submitter]`` optimizer steps, the first after ``int(0.125 x GBS + 2) x eval_steps``
    steps (its ``TrainingArguments(eval_delay=...)``); samples scale with the row's global batch."""

    eval_steps: dict[str, int]
    source: str
    locator: str
    confidence: str

    def steps_of(self, run_id: str) -> int | None:
        """``eval_steps`` of the submitter named in ``run_id`` (``_<submitter>_``), or None."""
        return next((n for name, n in self.eval_steps.items() if f"_{name}_" in run_id), None)

    def samples(self, run_id: str, global_batch: int) -> tuple[int, int] | None:
        """(every, first) evaluation in training samples for the row, or None if not listed."""
        steps = self.steps_of(run_id)
        if steps is None:
            return None
        return steps * global_batch, int(0.125 * global_batch + 2) * steps * global_batch


@dataclass(frozen=True)
class LoraRecipe:
    """A fine-tuning benchmark's LoRA recipe: rank, adapted projections (expanded names of
    :data:`~archsweep.spec.training.LORA_TARGETS`), adapter dropout, all-to-all output exchange."""

    rank: int
    targets: tuple[str, ...]
    dropout: float
    a2a: bool
    source: str
    locator: str
    confidence: str


@dataclass(frozen=True)
class Fp8WeightHandling:
    """How a benchmark's implementation treats weights held in FP8 (``fp8_params``).

    ``transpose_cached`` False: the FP8 transpose of each weight that the data-gradient GEMM reads
    is re-formed in every backward pass instead of once per step (NeMo ``disable_parameter_transpose_cache`` on
    TransformerEngine 1.x). The benchmark's default: a row's own ``fp8_transpose_cached`` cell wins
    (:func:`archsweep.validation.mlperf.transpose_cached`).
    """

    transpose_cached: bool
    source: str
    locator: str
    confidence: str


@dataclass(frozen=True)
class EvalRule:
    """One MLPerf benchmark's evaluation schedule (samples = packed sequences of the benchmark's length).

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
    lora: LoraRecipe | None = None
    fp8_weights: Fp8WeightHandling | None = None
    hf_trainer: HfTrainerSchedule | None = None

    @property
    def eval_per_train_sample(self) -> float:
        """Evaluation samples run per training sample over a run of ``train_samples``."""
        return evals_per_train_sample(self.every_samples, self.first_eval_samples, self.train_samples,
                                      self.eval_samples)


def evals_per_train_sample(every: int, first: int, train: int, eval_samples: int) -> float:
    """Evaluation samples per training sample of a run of ``train`` samples that evaluates
    ``eval_samples`` every ``every`` samples from ``first`` on (a run ends at an evaluation, so it
    trains at least to ``first``)."""
    train = max(train, first, 1)
    evals = max(0, (train - first) // every + 1)
    return evals * eval_samples / train


@dataclass(frozen=True)
class PrecisionTriple:
    """Weight, activation and KV-cache precision of a serving run."""

    weight: Precision
    activation: Precision
    kv: Precision


@dataclass(frozen=True)
class BenchPrecisions:
    """Precisions of published TensorRT-LLM runs of models whose name starts with ``prefix``.

    ``fp4_native``: on accelerators whose matrix engines run FP4 natively (Blackwell); ``other``:
    elsewhere. ``non_expert_weight``: weights outside the routed experts, when wider (None: as
    the experts). ``checkpoint``: the checkpoint's storage format when the weight precision does not
    imply it (``mxfp4``: the openai gpt-oss checkpoints; ``int4_i32``: an AutoAWQ / GPTQ /
    compressed-tensors one; None: fp4 -> nvfp4, else the precision),
    for trtllm-bench's engine-size estimate (model.inference.engine_limits.CHECKPOINT_STORAGE).
    ``fp8_block_scales``: where the rows run FP8 weights, they are 128x128 block-scaled (the MoE's
    attention-DP gather then moves BF16, model.inference.moe_comm).
    """

    prefix: str
    fp4_native: PrecisionTriple
    other: PrecisionTriple
    non_expert_weight: Precision | None
    source: str
    locator: str
    confidence: str
    checkpoint: str | None = None
    fp8_block_scales: bool = False
