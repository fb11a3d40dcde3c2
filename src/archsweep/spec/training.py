"""A training job: how an architecture is trained (batch, sequence length, precision, mode).

Built by :mod:`archsweep.load.workloads` from the ``training:`` section of ``models/<name>.yaml``
(the model's default job) and, per study entry, from the overrides of
:mod:`archsweep.load.training_workloads`. The architecture is a separate type
(:class:`~archsweep.spec.architecture.Architecture`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from archsweep.spec.errors import InputError

__all__ = ["PRECISIONS", "TRAINING_MODES", "Precision", "TrainingJob", "TrainingMode", "TrainingWorkload"]

Precision = Literal["bf16", "fp16", "fp8"]
TrainingMode = Literal["pretrain", "finetune_full", "finetune_lora"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
TRAINING_MODES: tuple[str, ...] = get_args(TrainingMode)


@dataclass(frozen=True)
class TrainingJob:
    """One training job.

    Attributes:
        global_batch_seqs: sequences per optimizer step (>= 1).
        seq_len: tokens per sequence (>= 1).
        precision: matrix datatype ("bf16"/"fp16" mixed precision, "fp8" recipe).
        mode: pre-training, full fine-tuning, or LoRA fine-tuning.
        lora_rank: LoRA rank (mode "finetune_lora" only; the loaders require it > 0 there).
        total_tokens: tokens of the whole run (for time-to-train), 0 if unknown.
    """

    global_batch_seqs: int
    seq_len: int
    precision: Precision = "bf16"
    mode: TrainingMode = "pretrain"
    lora_rank: int = 0
    total_tokens: float = 0.0

    def __post_init__(self) -> None:
        for key in ("global_batch_seqs", "seq_len"):
            value = getattr(self, key)
            if not value >= 1:
                raise InputError("<training job>", key, value, "an integer >= 1")
        if self.precision not in PRECISIONS:
            raise InputError("<training job>", "precision", self.precision, "one of " + ", ".join(PRECISIONS))
        if self.mode not in TRAINING_MODES:
            raise InputError("<training job>", "mode", self.mode, "one of " + ", ".join(TRAINING_MODES))

    @property
    def tokens_per_step(self) -> int:
        """Tokens per optimizer step (global batch x sequence length)."""
        return self.global_batch_seqs * self.seq_len


@dataclass(frozen=True)
class TrainingWorkload:
    """A training entry of a study: a model trained under a job set by the study.

    Attributes:
        name: the label of its rows in the results (``workload`` column); unique in the study.
        model: workload stem of ``models/``.
        job: the model's default job with the entry's overrides applied.
    """

    name: str
    model: str
    job: TrainingJob
