"""The architecture of a model (a decoder-only transformer LLM) as a frozen type, with its parameter count.

Built from the ``architecture:`` section of ``models/<name>.yaml`` by :mod:`archsweep.load.workloads`;
how it is trained (:class:`~archsweep.spec.training.TrainingJob`) or served
(:class:`~archsweep.spec.serving.ServingJob`) is a separate type. Counts follow the standard
decoder-only transformer accounting (Narayanan et al. SC21, Sec. 5.1; Korthikanti et al. MLSys'23,
Sec. 4) extended to GQA/MQA, SwiGLU and MoE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from archsweep.spec.errors import InputError
from archsweep.spec.training import LORA_TARGETS

__all__ = ["Architecture", "MLAConfig", "MoEConfig"]


@dataclass(frozen=True)
class MoEConfig:
    """Mixture-of-experts FFN.

    Attributes:
        num_experts: routed experts per MoE layer.
        top_k: routed experts activated per token.
        shared_experts: always-active experts per MoE layer (DeepSeek-style), each of
            ``expert_ffn_hidden`` width.
        expert_ffn_hidden: intermediate width of one expert.
        dense_layers: the first ``dense_layers`` layers use a dense FFN of ``ffn_hidden``.
        capacity_factor: token capacity per expert relative to a perfect balance (>= 1);
            compute and all-to-all volume scale with it.
        dropless: True (the default, Megatron-Core's: NVIDIA/Megatron-LM @d98e8a6
            megatron/core/transformer/transformer_config.py ``moe_expert_capacity_factor: Optional[float] =
            None``, "None means no token will be dropped"): each expert takes however many tokens the router
            sends it, so a low-precision layer pads each local expert's rows to the quantisation block
            (``Calibration.moe_fp8_padding_bytes_per_element``). False: drop-and-pad (a capacity factor with
            ``moe_pad_expert_input_to_capacity``): every expert receives exactly its capacity, the padding
            is already there and the quantisation padding is not charged (TransformerEngine @d0067d0
            transformer_engine/pytorch/module/fp8_padding.py returns the input unchanged when the splits
            are already aligned).
        router_groups: group-limited routing (Megatron-Core ``moe_router_num_groups``, HF ``n_group``):
            the routed experts fall into this many groups of consecutive experts; 1: no group limit.
        router_group_topk: groups a token's ``top_k`` experts come from (``moe_router_group_topk``,
            HF ``topk_group``); 1 with ``router_groups`` 1.
        expert_bias: the experts' FC1 / FC2 linear layers carry biases (gpt-oss; Megatron-Core
            ``add_bias_linear``); the cost of adding them outside the grouped GEMM is the stack's
            (``Calibration.expert_bias_bytes_fwd_per_element``).
    """

    num_experts: int
    top_k: int
    shared_experts: int
    expert_ffn_hidden: int
    dense_layers: int = 0
    capacity_factor: float = 1.0
    dropless: bool = True
    router_groups: int = 1
    router_group_topk: int = 1
    expert_bias: bool = False


@dataclass(frozen=True)
class MLAConfig:
    """Multi-head latent attention (DeepSeek-V2/V3), used for parameter and KV accounting.

    The attention FLOPs are modelled as standard attention with ``qk_head_dim`` query/key
    width and ``v_head_dim`` value width per head, plus the low-rank projections.
    """

    q_lora_rank: int
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int


@dataclass(frozen=True)
class Architecture:
    """A decoder-only transformer LLM (all sizes are counts); no training or serving setting.

    Attributes:
        name: the model's name (the ``models/`` file stem, or a validation row's model).
        max_context: longest context the released model supports, tokens (``architecture.max_context``;
            None when the file does not state it). Informational: no model code reads it.
        source: where the numbers come from (paper, table).
        position_encoding: ALiBi (Press et al., ICLR 2022) adds a per-head linear bias to every
            attention score; kernels that load it as a tensor pay HBM traffic per score element.
        sliding_window: tokens a local attention layer attends to and caches (None: every layer full).
        sliding_window_pattern: every n-th layer is full attention, the others local (None: all local
            when ``sliding_window`` is set). gpt-oss: window 128, pattern 2 (alternating); Llama 4:
            chunks of 8192, pattern 4 (every fourth layer a full-attention NoPE layer).
        mtp_num_layers: multi-token-prediction layers (DeepSeek-V3 Sec. 2.2; Megatron-Core ``mtp_num_layers``), each
            one transformer layer of the last layer's kind, a 2h x h projection of [norm(embedding of the next
            token); norm(hidden)] and its own pass through the (shared) output layer and loss (NVIDIA/Megatron-LM
            @b0cc2706dd megatron/core/transformer/multi_token_prediction.py ``MultiTokenPredictionLayer``,
            megatron/training/training.py L354-358 / L556-572). Trained work, not in the published parameter
            counts; 0 (default): none.
        dropout: hidden and attention dropout probability in training (``architecture.dropout``).
            With 0 the stack stores no dropout mask or dropout output (PyTorch ``dropout`` returns
            its input when p = 0: ATen Dropout.cpp ``_dropout_impl``; Megatron-Core
            fusions/fused_bias_dropout.py calls it). Default 0.1: Megatron-LM's
            ``--hidden-dropout`` / ``--attention-dropout`` defaults, the GPT runs of SC21 and
            Korthikanti et al. (whose 34 s b h + 5 a s^2 b counts the masks).
        local_attention: ``"sliding"`` (the last ``sliding_window`` tokens; Beltagy et al., Longformer,
            2020, Sec. 3.1) or ``"chunked"`` (the tokens of the same ``sliding_window``-token chunk).
        softmax_type: the attention softmax: ``"vanilla"``; ``"off-by-one"`` (a fixed 1 added to its denominator);
            ``"learnable"`` (a learned sink logit per head in its denominator: gpt-oss, model card Sec. 2.1;
            Megatron-Bridge models/gpt_oss/gpt_oss_bridge.py ``softmax_type = "learnable"``). Megatron-Core /
            TransformerEngine names. Its cost (one more term per softmax row) is neglected; it decides under which
            ``cp_comm_type`` context parallelism runs (:func:`archsweep.spec.strategy.cp_attention_runs`).
        activation_clamp: clamp limit of a gated FFN activation's inputs (gpt-oss 7.0: HF config
            ``swiglu_limit``, Megatron-Core ``activation_func_clamp_value``); None: no clamp. Its cost is
            the stack's (``Calibration.clamped_glu_bytes_fwd_per_element``: 0 where the stack fuses it).
    """

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn_hidden: int
    ffn_type: Literal["gelu", "swiglu"]
    vocab: int
    tied_embeddings: bool
    attention: Literal["mha", "gqa", "mqa", "mla"]
    moe: MoEConfig | None = None
    mla: MLAConfig | None = None
    source: str = ""
    position_encoding: Literal["rope", "learned", "alibi", "none"] = "rope"
    max_context: int | None = None
    sliding_window: int | None = None
    sliding_window_pattern: int | None = None
    local_attention: Literal["sliding", "chunked"] = "sliding"
    softmax_type: Literal["vanilla", "off-by-one", "learnable"] = "vanilla"
    dropout: float = 0.1
    activation_clamp: float | None = None
    mtp_num_layers: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.mtp_num_layers, int) and self.mtp_num_layers >= 0):
            raise InputError(f"<architecture {self.name}>", "mtp_num_layers", self.mtp_num_layers, "an integer >= 0")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"<architecture {self.name}>", "dropout", self.dropout, "a probability in [0, 1)")

    @property
    def local_layers(self) -> int:
        """Layers with local (sliding-window or chunked) attention; the rest attend to the whole context."""
        if self.sliding_window is None:
            return 0
        if self.sliding_window_pattern is None:
            return self.layers
        return self.layers - self.layers // self.sliding_window_pattern

    # ---- parameter accounting (counts) -------------------------------------------------
    @property
    def ffn_matrices(self) -> int:
        """Weight matrices per FFN (SwiGLU: gate, up, down = 3; GELU: up, down = 2)."""
        return 3 if self.ffn_type == "swiglu" else 2

    @property
    def attention_params_per_layer(self) -> float:
        """Q, K, V and output projection weights of one layer.

        MHA/GQA/MQA: h*H*d (Q) + 2*h*Hkv*d (K, V) + H*d*h (output). MLA (DeepSeek-V2,
        arXiv:2405.04434 Sec. 2.1.2-2.1.3): down/up projections of the compressed query and KV,
        the shared decoupled RoPE key (h x d_R), and the output projection.
        """
        h = self.hidden
        if self.mla is not None:
            m = self.mla
            qk = m.qk_nope_head_dim + m.qk_rope_head_dim
            q = (h * m.q_lora_rank + m.q_lora_rank * self.heads * qk) if m.q_lora_rank else h * self.heads * qk
            kv = h * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank * self.heads * (m.qk_nope_head_dim + m.v_head_dim)
            out = self.heads * m.v_head_dim * h
            return float(q + kv + out)
        q = h * self.heads * self.head_dim
        kv = 2 * h * self.kv_heads * self.head_dim
        out = self.heads * self.head_dim * h
        return float(q + kv + out)

    @property
    def dense_ffn_params(self) -> float:
        """Weights of one dense FFN: ffn_matrices x hidden x ffn_hidden."""
        return float(self.ffn_matrices * self.hidden * self.ffn_hidden)

    @property
    def expert_params(self) -> float:
        """Weights of one expert."""
        if self.moe is None:
            return 0.0
        return float(self.ffn_matrices * self.hidden * self.moe.expert_ffn_hidden)

    @property
    def moe_layers(self) -> int:
        """Layers with an MoE FFN (all but the first ``moe.dense_layers``)."""
        return 0 if self.moe is None else self.layers - self.moe.dense_layers

    @property
    def dense_layers(self) -> int:
        """Layers with a dense FFN."""
        return self.layers - self.moe_layers

    @property
    def embedding_params(self) -> float:
        """Input embedding plus (untied) output projection."""
        return float(self.vocab * self.hidden * (1 if self.tied_embeddings else 2))

    @property
    def router_params(self) -> float:
        """Router (gate) weights of all MoE layers: hidden x num_experts per layer."""
        if self.moe is None:
            return 0.0
        return float(self.moe_layers * self.hidden * self.moe.num_experts)

    @property
    def total_params(self) -> float:
        """All weights (norm weights, biases and learned position embeddings neglected: < 0.2%).

        MoE: every routed and shared expert plus the routers. Matches the published totals of
        GPT-3 175B, Llama 3 (8.03/70.6/405.9B), Mixtral (46.7B) and DeepSeek-V3 (671B) within 1%.
        """
        moe = 0.0
        if self.moe is not None:
            moe = self.moe_layers * (self.moe.num_experts + self.moe.shared_experts) * self.expert_params
        return (self.layers * self.attention_params_per_layer + self.dense_layers * self.dense_ffn_params
                + moe + self.router_params + self.embedding_params)

    @property
    def active_params(self) -> float:
        """Weights touched by one token (MoE: top-k routed plus shared experts, and the router,
        which scores every expert for every token). Mixtral 12.9B, DeepSeek-V3 37B."""
        if self.moe is None:
            return self.total_params
        active_experts = self.moe.top_k + self.moe.shared_experts
        return (self.layers * self.attention_params_per_layer + self.dense_layers * self.dense_ffn_params
                + self.moe_layers * active_experts * self.expert_params + self.router_params
                + self.embedding_params)

    def lora_params(self, rank: int, targets: tuple[str, ...] = LORA_TARGETS) -> float:
        """LoRA adapter weights of rank ``rank`` on the projections ``targets`` (0 when ``rank <= 0``).

        A d_in x d_out projection gets r * (d_in + d_out) adapter weights. ``targets``
        (:data:`~archsweep.spec.training.LORA_TARGETS`): "attention_qkv" (MLA: its query and KV down /
        up projections), "attention_dense", "mlp_fc1" and "mlp_fc2" (dense FFN and every expert's);
        the default, all four, is the QLoRA setting (Dettmers et al. 2023 Sec. 4: "LoRA on all linear
        transformer block layers"). Embeddings and routers are not adapted.
        """
        r = rank
        if r <= 0:
            return 0.0
        h = self.hidden
        if self.mla is not None:
            m = self.mla
            qk = m.qk_nope_head_dim + m.qk_rope_head_dim
            q_shapes = [(h, m.q_lora_rank), (m.q_lora_rank, self.heads * qk)] if m.q_lora_rank else [(h, self.heads * qk)]
            qkv = q_shapes + [(h, m.kv_lora_rank + m.qk_rope_head_dim),
                              (m.kv_lora_rank, self.heads * (m.qk_nope_head_dim + m.v_head_dim))]
            dense = [(self.heads * m.v_head_dim, h)]
        else:
            qkv = [(h, self.heads * self.head_dim), (h, self.kv_heads * self.head_dim), (h, self.kv_heads * self.head_dim)]
            dense = [(self.heads * self.head_dim, h)]
        shapes = (qkv if "attention_qkv" in targets else []) + (dense if "attention_dense" in targets else [])
        attention = sum(r * (a + b) for a, b in shapes)

        def ffn_one(width: int) -> int:
            up = (self.ffn_matrices - 1) * r * (h + width) if "mlp_fc1" in targets else 0
            down = r * (h + width) if "mlp_fc2" in targets else 0
            return up + down

        experts = 0.0
        if self.moe is not None:
            experts = self.moe_layers * (self.moe.num_experts + self.moe.shared_experts) * ffn_one(self.moe.expert_ffn_hidden)
        return float(self.layers * attention + self.dense_layers * ffn_one(self.ffn_hidden) + experts)
