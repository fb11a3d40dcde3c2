"""Stored activations of one transformer layer for one micro-batch, bytes per accelerator (a part of
:func:`~archsweep.model.training.memory.memory_per_accelerator`; moved out of memory.py for its size).

Activations follow Korthikanti et al., "Reducing Activation Recomputation in Large Transformer Models", MLSys 2023, Sec. 4
(Eq. 1-6): per layer ``s b h (34 + 5 a s / h)`` bytes without parallelism, generalised here to GQA (K/V widths), SwiGLU
(3 FFN tensors) and MoE (top-k routed copies) and FP8 recipes (GEMM inputs kept in FP8); tensor + sequence parallelism
divide everything by ``t``; without SP, ``10 s b h`` stays replicated. Dropout masks and outputs (``2 s b h + a s^2 b`` x 3 B) are kept
only when the architecture's dropout is > 0 (Llama, MoE families, MPT train with 0). Selective recomputation drops the ``5 a s^2 b`` attention
term (as does flash attention); full recomputation keeps only each layer's input ``2 s b h/t`` (block recompute of
k layers per stage, or uniform units of k layers: the shares of recompute_share.py). LoRA fine-tuning's frozen
projections keep no input for the backward (:func:`_lora_frozen_input_delta`).
"""

from __future__ import annotations

import numpy as np

from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.recompute_share import partial_recompute, stored_shares
from archsweep.spec.workload import Workload

__all__ = ["activation_bytes_per_layer", "layer_activation_bytes", "resident_layers"]


def activation_bytes_per_layer(wl: Workload, mp: MappingArrays, moe_layer: bool,
                                etp: np.ndarray | float | None = None) -> np.ndarray:
    """Stored activations of one layer for one micro-batch, bytes (Korthikanti Eq. 1-2 generalised).

    A MoE layer (Megatron-Core, NVIDIA/Megatron-LM @d98e8a6, megatron/core/transformer/moe/) keeps per
    routed copy (top-k x capacity factor copies of each token) the grouped FC1 input, the FC1 output and
    the activation output (experts.py TEGroupedMLP); its router keeps the score function's FP32 output,
    tokens x experts x 4 B (router.py gating in ``moe_router_dtype`` fp32; softmax / sigmoid save their
    output for the backward). With expert tensor parallelism ``etp`` > 1 the all-to-all dispatcher
    all-gathers the received tokens over the expert-TP group before the experts
    (token_dispatcher.py MoEAlltoAllTokenDispatcher.dispatch_postprocess,
    gather_from_sequence_parallel_region), so each rank keeps the FC1 input of etp / tp of the routed
    copies, not 1 / tp (FC1 output and activation are split etp ways: 1 / tp again). ``etp`` defaults
    to tp (experts split like the dense layers); :func:`~archsweep.model.training.memory.memory_per_accelerator` passes the mapping's.
    Permute / unpermute and the all-to-all buffers save only indices for the backward (moe_utils.py
    permute / unpermute without merging probs: the probs multiply inside the experts' activation).
    """
    t, c, b = mp.tp, mp.cp, mp.micro_batch
    s, h = float(wl.seq_len), float(wl.hidden)
    tokens = b * s / c
    q_width = wl.heads * wl.head_dim
    kv_width = wl.kv_heads * wl.head_dim
    # Dropout (p > 0) keeps a 1 B mask after the out-projection and after FC2 (Th each), and on the
    # attention scores a mask (1 B) and the dropped scores (2 B); with p = 0 PyTorch's dropout returns
    # its input and stores nothing (Architecture.dropout).
    drop = 1.0 if wl.architecture.dropout > 0.0 else 0.0
    # Attention block: QKV input 2Th, Q 2T*qw, K and V 2T*kvw each, out-proj input 2T*qw, dropout mask Th.
    attn = 2 * tokens * h + 2 * tokens * q_width + 4 * tokens * kv_width + 2 * tokens * q_width + drop * tokens * h
    score = (2.0 + 3.0 * drop) * wl.heads * tokens * s  # softmax out 2, dropout mask 1, dropout out 2 bytes per score
    if moe_layer and wl.moe is not None:
        moe = wl.moe
        routed = moe.top_k * moe.capacity_factor
        copies = routed + moe.shared_experts
        gather = t if etp is None else etp  # FC1 input gathered over the expert-TP group
        width = (6.0 if wl.ffn_type == "swiglu" else 4.0) * moe.expert_ffn_hidden
        router_scores = 4.0 * tokens * moe.num_experts
        mlp = ((2 + drop) * tokens * h + copies * tokens * (2 * h + width) + routed * tokens * 2 * h * (gather - 1.0)
               + router_scores)
    else:
        mlp = (2 + drop) * tokens * h + (6.0 if wl.ffn_type == "swiglu" else 4.0) * tokens * wl.ffn_hidden
    norms = 4 * tokens * h
    replicated = (8.0 + 2.0 * drop) * tokens * h  # LN inputs, dropout masks, QKV/MLP inputs stay whole without SP
    if wl.training.precision == "fp8":
        # An FP8 Linear keeps its input for the weight-gradient GEMM as the quantised column-wise
        # copy, 1 B instead of 2 (TransformerEngine cast.cu: FP8 data + FP8 transpose): the QKV and
        # FC1 inputs (norm outputs) and the FC2 input halve; the out-projection keeps an FP8 copy of
        # the attention output beside the BF16 one flash attention saves for its own backward.
        attn = attn - tokens * h + tokens * q_width
        if moe_layer and wl.moe is not None:
            mlp = mlp - copies * tokens * (h + wl.moe.expert_ffn_hidden) - routed * tokens * h * (gather - 1.0)
        else:
            mlp = mlp - tokens * h - tokens * wl.ffn_hidden
        replicated = (6.0 + 2.0 * drop) * tokens * h
    if _fp8_act_input(wl):  # FC1 output (2 x ffn wide) kept in FP8 by the SwiGLU: 1 B less per element
        if moe_layer and wl.moe is not None:
            mlp = mlp - copies * tokens * 2.0 * wl.moe.expert_ffn_hidden
        else:
            mlp = mlp - tokens * 2.0 * wl.ffn_hidden
    gathered = 0.0 * tokens  # kept whole on every TP rank, with or without SP (the LoRA adapters' gathered inputs)
    if wl.training.mode == "finetune_lora":
        lora_split, lora_whole, gathered = _lora_frozen_input_delta(wl, mp, moe_layer, tokens, q_width)
        attn = attn + lora_split
        replicated = replicated + lora_whole
        attn = attn + lora_whole
    sp = mp.sequence_parallel > 0
    total = attn + mlp + norms
    shardable = np.where(sp, total / t, (total - replicated) / t + replicated) + gathered
    modules = wl.training.recompute_modules
    # Scores kept without recompute, and under selective recompute that leaves the attention core out.
    keep_scores = ((mp.recompute == 0) if "core_attn" in modules else (mp.recompute != 2)) & (mp.flash_attention == 0)
    shardable = shardable + np.where(keep_scores, score / t, 0.0)
    if set(modules) - {"core_attn"}:
        split, whole = _module_recompute_dropped_bytes(wl, moe_layer, tokens, q_width, kv_width)
        shardable = shardable - np.where(mp.recompute == 1, split / t + np.where(sp, whole / t, whole), 0.0)
    layer_input = 2.0 * tokens * h / np.where(sp, t, 1.0)
    if not partial_recompute(wl):
        return np.where(mp.recompute == 2, layer_input, shardable)
    # Block / uniform units (recompute_share.py): the checkpointed layers' inputs, the other layers' every
    # activation as without recompute (scores kept where no fused attention drops them).
    inputs, kept = stored_shares(wl, mp)
    full_layer = np.where(sp, total / t, (total - replicated) / t + replicated) + gathered + np.where(
        mp.flash_attention == 0, score / t, 0.0)
    return np.where(mp.recompute == 2, inputs * layer_input + kept * full_layer, shardable)


def _fp8_act_input(wl: Workload) -> bool:
    """Whether the SwiGLU keeps its input (the FC1 output, gate and up halves) in FP8 E4M3 for the
    backward (``activation_fp8_input_store``; Megatron-Core ``activation_func_fp8_input_store``,
    NVIDIA/Megatron-LM @d98e8a6 megatron/core/fusions/fused_bias_swiglu.py L180 / L232 save
    ``input.to(torch.float8_e4m3fn)``, read by mlp.py L283-L312 (dense MLP), moe/experts.py L970 / L978
    (routed experts) and moe/shared_experts.py L289): 1 byte per element instead of BF16's 2. SwiGLU
    only (transformer_config.py L2467 rejects the flag for any other activation)."""
    return bool(wl.training.activation_fp8_input_store) and wl.ffn_type == "swiglu"


def _lora_frozen_input_delta(wl: Workload, mp: MappingArrays, moe_layer: bool, tokens,
                             q_width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Change of one layer's stored bytes under LoRA fine-tuning, (split by tp, replicated without SP,
    whole on every TP rank with or without SP).

    A frozen Linear keeps no input for the backward: it forms only the data gradient, which needs
    the weight alone (TransformerEngine >= 2.1, NVIDIA/TransformerEngine @d0067d0
    transformer_engine/pytorch/module/linear.py ``backward_needs_input = is_grad_enabled and
    weight.requires_grad``, layernorm_linear.py the same; first in 544dd14, 2025-02-07). So the QKV, FC1
    and FC2 inputs that :func:`activation_bytes_per_layer` keeps for the weight gradient (BF16, or the
    1 B FP8 copy) go, as does the out-projection's FP8 copy of the attention output (flash attention
    keeps the BF16 output for its own backward). An adapted projection's adapter keeps its own BF16
    input for the adapter weight gradients (NeMo ``ParallelLinearAdapter``: ``linear_in`` takes the
    base layer's input, the layernorm output for the fused norm + QKV / FC1): the norm output for
    ``attention_qkv`` / ``mlp_fc1`` (2 B), the attention output for ``attention_dense`` (already kept:
    0), the activation output for ``mlp_fc2`` (2 B). Under sequence parallelism the QKV / FC1 adapter's
    ``linear_in`` (a ColumnParallelLinear built with ``sequence_parallel`` False, which saves its input:
    NVIDIA/Megatron-LM @d98e8a6 megatron/core/tensor_parallel/layers.py L604) takes the norm output
    gathered over the TP group, full sequence x h on every rank: TransformerEngine returns it gathered
    (``return_layernorm_output_gathered``) or the adapter gathers it (``gather_from_sequence_parallel_region``)
    (NVIDIA/NeMo v2.0.0.rc0.beta mcore_mixins.py L70-L79 + parallel_adapters.py L283-L291; NeMo 2 25.04-alpha.rc1
    nemo/collections/llm/peft/utils.py L53-L108 + L374-L391; NVIDIA-NeMo/Megatron-Bridge @067f987 peft/utils.py
    L625-L650, whose opt-in ``sequence_parallel_input_regather``, off by default, exists to drop that copy).
    TransformerEngine keeps only the sequence shard of the norm output and only for a trained weight
    (v1.11 layernorm_linear.py ``ln_out if weight.requires_grad else None``), so the gathered copy is
    the adapter's alone: the third term. Adapter dropout: nothing stored where it is recomputed
    (``lora_dropout_recompute``, the default: NVIDIA's MLPerf v5.0 recipe ``NEMO_LORA_USE_THUNDER_DROPOUT=1``,
    NeMo lora.py ``dropout_recompute``), else :func:`_lora_dropout_bytes`. MoE layers: only their attention (the
    experts' inputs are left as they are)."""
    h = float(wl.hidden)
    zero = 0.0 * tokens

    def adapter(target: str) -> float:  # bytes per element the QKV / FC1 adapter keeps (gathered under SP)
        return _kept_input_bytes(wl, target, moe_layer) if target in wl.training.lora_targets else 0.0

    def delta(target: str) -> float:  # bytes per input element: as kept under LoRA minus as a trained Linear keeps
        return _kept_input_bytes(wl, target, moe_layer) - _kept_input_bytes(wl, target, moe_layer, lora=False)

    lora_mlp = not (moe_layer and wl.moe is not None)
    norm_targets = ("attention_qkv", "mlp_fc1") if lora_mlp else ("attention_qkv",)
    whole = zero + sum(delta(x) - adapter(x) for x in norm_targets) * tokens * h  # the trained Linears' norm outputs
    gathered = zero + sum(adapter(x) for x in norm_targets) * tokens * h  # the adapters' gathered copies
    split = -(1.0 if wl.training.precision == "fp8" else 0.0) * tokens * q_width  # out-proj FP8 copy
    if lora_mlp:
        split = split + delta("mlp_fc2") * tokens * wl.ffn_hidden  # FC2 input
    drop_split, drop_whole, drop_gathered = _lora_dropout_bytes(wl, mp, moe_layer, tokens, q_width)
    return split + drop_split, whole + drop_whole, gathered + drop_gathered


def _lora_dropout_bytes(wl: Workload, mp: MappingArrays, moe_layer: bool, tokens,
                        q_width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bytes of one layer the adapters' stored dropout adds under LoRA (``lora_dropout`` > 0 and not
    ``lora_dropout_recompute``), (split by tp, replicated without SP, whole on every TP rank); 0 otherwise.

    NeMo 1.x ``ParallelLinearAdapter.forward`` (NVIDIA/NeMo v2.0.0.rc0.beta
    nemo/collections/nlp/modules/common/megatron/adapters/parallel_adapters.py L280-L282 and L231-L232:
    ``x = self.dropout(x)`` with ``self.dropout = nn.Dropout(dropout)`` before ``linear_in``,
    ``dropout_position: pre``; NeMo 2 peft/utils.py the same): PyTorch's dropout keeps its 1 B boolean mask for
    the backward and ``linear_in`` keeps the dropped BF16 copy (2 B) as its input. Where nothing else keeps the
    undropped input, the copy takes the place of the adapter input :func:`_kept_input_bytes` counts (+1 B: QKV and
    FC1, whose norm output the frozen base Linear does not keep; FC2's activation output); the out-projection's
    input, the attention output, stays kept by flash attention beside them (+3 B). The QKV / FC1 mask is drawn
    on the tensor the adapter receives: the gathered norm output where TransformerEngine returns it gathered
    (no TP overlap of that projection's all-gather: ``tp_overlap`` 0, or QKV with ``tp_overlap_disable_qkv``;
    NeMo mcore_mixins.py L70-L79 ``not ub_overlap_ag``), full sequence on every rank under SP; else the
    sequence shard (the adapter gathers after the dropout, parallel_adapters.py L283-L291). MoE layers: the
    attention adapters only."""
    zero = 0.0 * tokens
    t = wl.training
    if t.mode != "finetune_lora" or t.lora_dropout <= 0.0 or t.lora_dropout_recompute:
        return zero, zero, zero
    dense_mlp = not (moe_layer and wl.moe is not None)
    h = float(wl.hidden)
    overlap = mp.tp_overlap > 0
    qkv_gathered = np.where(overlap & (not t.tp_overlap_disable_qkv), 0.0, 1.0) * ("attention_qkv" in t.lora_targets)
    fc1_gathered = np.where(overlap, 0.0, 1.0) * (dense_mlp and "mlp_fc1" in t.lora_targets)
    masks = ("attention_qkv" in t.lora_targets) + (dense_mlp and "mlp_fc1" in t.lora_targets)
    gathered = (qkv_gathered + fc1_gathered) * tokens * h
    whole = masks * tokens * h - gathered
    split = (3.0 * ("attention_dense" in t.lora_targets) * tokens * q_width
             + (dense_mlp and "mlp_fc2" in t.lora_targets) * tokens * wl.ffn_hidden)
    return zero + split, zero + whole, zero + gathered


def _kept_input_bytes(wl: Workload, target: str, moe_layer: bool, lora: bool | None = None) -> float:
    """Bytes per element of its input that the Linear ``target`` (``attention_qkv``, ``mlp_fc1``,
    ``mlp_fc2``) keeps for the backward, in the terms of :func:`activation_bytes_per_layer`: a trained
    Linear its input (BF16 2 B, FP8 the 1 B copy); under LoRA (``lora`` None: the job's mode) the
    frozen base Linear nothing and an adapted one's adapter its BF16 input (2 B). A MoE layer's MLP
    inputs are kept as trained (LoRA leaves the experts' inputs as they are: see
    :func:`_lora_frozen_input_delta`)."""
    lora = wl.training.mode == "finetune_lora" if lora is None else lora
    if lora and not (moe_layer and wl.moe is not None and target.startswith("mlp_")):
        return 2.0 if target in wl.training.lora_targets else 0.0
    return 1.0 if wl.training.precision == "fp8" else 2.0


def _module_recompute_dropped_bytes(wl: Workload, moe_layer: bool, tokens, q_width: float,
                                    kv_width: float) -> tuple[np.ndarray, np.ndarray]:
    """Stored bytes of one layer that selective recompute of the job's ``recompute_modules`` frees,
    (split by tp, replicated without SP), in the terms of :func:`activation_bytes_per_layer`.

    Megatron-Core (NVIDIA/Megatron-LM @d98e8a6 transformer_config.py ``recompute_modules``):
    ``layernorm``, ``moe_act`` and ``mla_up_proj`` use output-discarding checkpointing (the output's
    storage is freed after its consumer saved it, and re-filled before that consumer's backward):
    freed are the two norm outputs (the QKV and MLP inputs, replicated without SP; FP8: the 1 B copy
    the Linear keeps), the routed experts' activation output (the grouped FC2 input), and the MLA
    up-projections' Q, K, V (the attention core's saved inputs). ``mlp`` and ``shared_experts``
    checkpoint the whole module: only its input stays (a dense layer's FC1 output, activation output
    and FC2 input are freed; the shared experts' FC1 input, FC1 output and activation output)."""
    modules = set(wl.training.recompute_modules)
    h = float(wl.hidden)
    fp8 = wl.training.precision == "fp8"
    width = 6.0 if wl.ffn_type == "swiglu" else 4.0  # FC1 output + activation output, BF16 bytes per FFN element
    width = width - 2.0 * _fp8_act_input(wl)  # the FC1 output kept in FP8 (1 B x 2 ffn)
    split = whole = 0.0 * tokens
    if "layernorm" in modules:  # the norm outputs as the Linears (LoRA: the adapters) keep them
        kept = _kept_input_bytes(wl, "attention_qkv", moe_layer) + _kept_input_bytes(wl, "mlp_fc1", moe_layer)
        whole = whole + kept * tokens * h
    if "mla_up_proj" in modules and wl.mla is not None:
        split = split + 2.0 * tokens * q_width + 4.0 * tokens * kv_width
    moe = wl.moe if moe_layer else None
    if "mlp" in modules and moe is None:  # FC1 output + the FC2 input as kept (LoRA: by its adapter only)
        split = split + (width - 2.0 + _kept_input_bytes(wl, "mlp_fc2", moe_layer)) * tokens * wl.ffn_hidden
    if moe is not None and "moe_act" in modules:
        split = split + (1.0 if fp8 else 2.0) * moe.top_k * moe.capacity_factor * tokens * moe.expert_ffn_hidden
    if moe is not None and "shared_experts" in modules and moe.shared_experts > 0:
        per_copy = 2.0 * h + width * moe.expert_ffn_hidden - ((h + moe.expert_ffn_hidden) if fp8 else 0.0)
        split = split + moe.shared_experts * tokens * per_copy
    return split, whole


def layer_activation_bytes(wl: Workload, mp: MappingArrays, etp: np.ndarray | float | None = None) -> np.ndarray:
    """Stored activations of one layer for one micro-batch, bytes, dense and MoE layers in the
    workload's proportion (what one offloaded layer copies to host memory)."""
    moe_frac = wl.moe_layers / wl.layers
    return ((1 - moe_frac) * activation_bytes_per_layer(wl, mp, False)
            + moe_frac * activation_bytes_per_layer(wl, mp, True, etp))


def resident_layers(wl: Workload, layers_stage: np.ndarray) -> np.ndarray:
    """Layers of a stage whose activations stay in HBM: all but the ``activation_offload_layers``
    offloaded ones. TransformerEngine's default offload schedule keeps "at most (model_layers -
    num_layers) sets of activations on GPU at any time" (docs/features/other_optimizations/cpu_offloading/
    cpu_offloading.rst @d0067d0): the copy and reload buffers live inside that budget. At least one
    layer stays (num_layers <= model_layers - 1 there)."""
    offloaded = np.minimum(float(wl.training.activation_offload_layers), layers_stage - 1.0)
    return layers_stage - np.maximum(offloaded, 0.0)
