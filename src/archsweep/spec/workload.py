"""A training workload: an architecture and the training job it runs, as one frozen pair.

:class:`Workload` is what the training model (:mod:`archsweep.model.training`) evaluates. It
delegates the architecture's fields and parameter accounting (``wl.layers``, ``wl.total_params``)
and the job's (``wl.seq_len``, ``wl.tokens_per_step``) so model code reads one object; the two
halves are separate types (:class:`~archsweep.spec.architecture.Architecture`,
:class:`~archsweep.spec.training.TrainingJob`) so a study can train one architecture under
several jobs, and serving takes the architecture alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from archsweep.spec.architecture import Architecture, MLAConfig, MoEConfig
from archsweep.spec.pipeline_layout import parse_layout
from archsweep.spec.training import Precision, TrainingJob, TrainingMode

__all__ = [
    "Architecture",
    "MLAConfig",
    "MoEConfig",
    "Precision",
    "TrainingJob",
    "TrainingMode",
    "TrainingSetup",
    "Workload",
]

#: Former name of :class:`TrainingJob`.
TrainingSetup = TrainingJob


@dataclass(frozen=True)
class Workload:
    """An architecture trained under a job.

    Attributes:
        name: the label of its rows (``workload`` column): the model stem, or a study entry's name.
        architecture: what is trained.
        training: how it is trained.
    """

    name: str
    architecture: Architecture
    training: TrainingJob

    def __post_init__(self) -> None:
        if self.training.pipeline_layout:
            parse_layout(self.training.pipeline_layout).check_model(
                self.architecture.layers, self.architecture.mtp_num_layers, f"<workload {self.name}>")

    @property
    def mtp_num_layers(self) -> int:
        """Multi-token-prediction layers (:attr:`Architecture.mtp_num_layers`)."""
        return self.architecture.mtp_num_layers

    # ---- the job -------------------------------------------------------------------------
    @property
    def seq_len(self) -> int:
        """Tokens per sequence of the training job."""
        return self.training.seq_len

    @property
    def tokens_per_step(self) -> int:
        """Tokens per optimizer step (global batch x sequence length)."""
        return self.training.tokens_per_step

    @property
    def lora_params(self) -> float:
        """LoRA adapter weights (mode "finetune_lora"; 0 otherwise): :meth:`Architecture.lora_params`."""
        if self.training.mode != "finetune_lora":
            return 0.0
        return self.architecture.lora_params(self.training.lora_rank, self.training.lora_targets)

    @property
    def trainable_params(self) -> float:
        """Weights with gradients and optimizer state: LoRA adapters for "finetune_lora", else all."""
        return self.lora_params if self.training.mode == "finetune_lora" else self.total_params

    # ---- the architecture (delegated) ------------------------------------------------------
    @property
    def layers(self) -> int:
        return self.architecture.layers

    @property
    def hidden(self) -> int:
        return self.architecture.hidden

    @property
    def heads(self) -> int:
        return self.architecture.heads

    @property
    def kv_heads(self) -> int:
        return self.architecture.kv_heads

    @property
    def head_dim(self) -> int:
        return self.architecture.head_dim

    @property
    def ffn_hidden(self) -> int:
        return self.architecture.ffn_hidden

    @property
    def ffn_type(self) -> Literal["gelu", "swiglu"]:
        return self.architecture.ffn_type

    @property
    def vocab(self) -> int:
        return self.architecture.vocab

    @property
    def tied_embeddings(self) -> bool:
        return self.architecture.tied_embeddings

    @property
    def attention(self) -> Literal["mha", "gqa", "mqa", "mla"]:
        return self.architecture.attention

    @property
    def moe(self) -> MoEConfig | None:
        return self.architecture.moe

    @property
    def mla(self) -> MLAConfig | None:
        return self.architecture.mla

    @property
    def source(self) -> str:
        return self.architecture.source

    @property
    def position_encoding(self) -> Literal["rope", "learned", "alibi", "none"]:
        return self.architecture.position_encoding

    @property
    def max_context(self) -> int | None:
        return self.architecture.max_context

    @property
    def sliding_window(self) -> int | None:
        return self.architecture.sliding_window

    @property
    def sliding_window_pattern(self) -> int | None:
        return self.architecture.sliding_window_pattern

    @property
    def local_attention(self) -> Literal["sliding", "chunked"]:
        return self.architecture.local_attention

    @property
    def softmax_type(self) -> Literal["vanilla", "off-by-one", "learnable"]:
        return self.architecture.softmax_type

    @property
    def local_layers(self) -> int:
        return self.architecture.local_layers

    @property
    def ffn_matrices(self) -> int:
        return self.architecture.ffn_matrices

    @property
    def attention_params_per_layer(self) -> float:
        return self.architecture.attention_params_per_layer

    @property
    def dense_ffn_params(self) -> float:
        return self.architecture.dense_ffn_params

    @property
    def expert_params(self) -> float:
        return self.architecture.expert_params

    @property
    def moe_layers(self) -> int:
        return self.architecture.moe_layers

    @property
    def dense_layers(self) -> int:
        return self.architecture.dense_layers

    @property
    def embedding_params(self) -> float:
        return self.architecture.embedding_params

    @property
    def router_params(self) -> float:
        return self.architecture.router_params

    @property
    def total_params(self) -> float:
        return self.architecture.total_params

    @property
    def active_params(self) -> float:
        return self.architecture.active_params
