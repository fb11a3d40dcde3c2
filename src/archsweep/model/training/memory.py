"""Memory per accelerator: weights, gradients, optimizer state and activations, bytes.

Model state follows ZeRO (Rajbhandari et al., SC20, Sec. 3.1 and 5): BF16 weights (``calibration.weight_bytes_per_param``,
2 B), FP32 gradient accumulation buffer (``dp_grad_bytes_per_param``, 4 B, Megatron default), FP32 master weights + Adam
moments (``optimizer_state_bytes_per_param``, 12 B); stage 1 shards the optimizer state, stage 2 also the gradients, stage 3
also the weights over the data-parallel (x context-parallel) group; a job on Apex DistributedFusedAdam pays the dtypes it
states instead (:func:`model_state_bytes_per_param`). LoRA fine-tuning keeps gradients and optimizer state only for the
adapters, and its frozen projections keep no input for the backward (:func:`_lora_frozen_input_delta`).

Activations follow Korthikanti et al., "Reducing Activation Recomputation in Large Transformer Models", MLSys 2023, Sec. 4
(Eq. 1-6): per layer ``s b h (34 + 5 a s / h)`` bytes without parallelism, generalised here to GQA (K/V widths), SwiGLU
(3 FFN tensors) and MoE (top-k routed copies) and FP8 recipes (GEMM inputs kept in FP8); tensor + sequence parallelism
divide everything by ``t``; without SP, ``10 s b h`` stays replicated. Dropout masks and outputs (``2 s b h + a s^2 b`` x 3 B) are kept
only when the architecture's dropout is > 0 (Llama, MoE families, MPT train with 0). Selective recomputation drops the ``5 a s^2 b`` attention
term (as does flash attention); full recomputation keeps only each layer's input ``2 s b h/t``.
The first pipeline stage holds the most (under the split at pp >= 3 the second may: :func:`memory_per_accelerator`): the schedule's in-flight micro-batches
(:func:`~archsweep.model.training.schedule.in_flight_layer_fraction`: ``min(pp, m)`` for 1F1B,
``pp (1 + (pp-1)/(pp*vpp))`` interleaved where pp divides m, Korthikanti Sec. 4.2.3; more where it does not); one micro-batch and one
layer at pp = 1 when the MoE all-to-all overlap pairs micro-batches there (:func:`a2a_paired_in_flight`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from archsweep.model.training.layout_stage import layout_first_layers, layout_last_layers
from archsweep.model.training.mapping import MappingArrays, expert_tensor_parallel
from archsweep.model.training.moe_overlap_memory import a2a_paired_in_flight, delayed_wgrad_bytes
from archsweep.model.training.schedule import in_flight_layer_fraction
from archsweep.model.training.sharded_buffers import zero3_unit_buffer_bytes
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["MemoryBreakdown", "a2a_paired_in_flight", "delayed_wgrad_bytes", "first_stage_layers", "layer_activation_bytes",
           "memory_per_accelerator", "model_state_bytes_per_param", "resident_layers", "split_stage_slots", "stage_parameters",
           "usable_hbm_bytes"]


@dataclass(frozen=True)
class MemoryBreakdown:
    """Bytes per accelerator (first pipeline stage, the fullest); parts add up to ``total``.

    ``activations_bytes`` are the stored activations (Korthikanti's accounting);
    ``recompute_working_bytes`` is the one layer re-materialised at a time under full recompute (0 otherwise);
    ``delayed_wgrad_bytes`` is, where the EP all-to-all overlap pairs micro-batches, one MoE layer's delayed
    weight-gradient tensors (:func:`delayed_wgrad_bytes`, 0 elsewhere; the overlap refuses full recompute,
    so at most one of the two is non-zero).
    """

    weights_bytes: np.ndarray
    gradients_bytes: np.ndarray
    optimizer_bytes: np.ndarray
    activations_bytes: np.ndarray
    recompute_working_bytes: np.ndarray
    delayed_wgrad_bytes: np.ndarray
    reserved_bytes: np.ndarray
    total_bytes: np.ndarray


def usable_hbm_bytes(hw: HardwareArrays, cal: Calibration) -> np.ndarray:
    """HBM bytes a mapping may fill per accelerator: the capacity times the software stack's usable
    share (``hbm_usable_fraction``, 1 = all of it). The one feasibility limit of ``training_step``
    and of the pruned mapping search."""
    return np.asarray(hw.hbm_capacity_bytes, dtype=np.float64) * cal.hbm_usable_fraction


def split_stage_slots(wl: Workload, mp: MappingArrays) -> np.ndarray:
    """(L + 2) / pp: the layer slots of every pipeline stage where the job's split counts the embedding and the
    loss as one layer each (``TrainingJob.embedding_loss_in_pipeline_split``); what a middle stage (pp >= 3) builds."""
    return (wl.layers + 2.0) / mp.pp


def first_stage_layers(wl: Workload, mp: MappingArrays) -> np.ndarray:
    """Transformer layers the first pipeline stage builds: ceil(L / pp), as evenly as the pipeline allows; where
    the job's split counts the embedding and the loss as one layer each
    (``TrainingJob.embedding_loss_in_pipeline_split``, Megatron-Core ``get_num_layers_to_build``,
    NVIDIA/Megatron-LM @b0cc2706dd megatron/core/transformer/transformer_block.py) one fewer than its
    (L + 2) / pp slots beside the embedding (pp > 1; all L at pp = 1), as the time side counts them
    (step.py ``_embedding_loss_split``)."""
    if wl.training.pipeline_layout:  # the stated layout's first rank (layout_stage.py)
        return layout_first_layers(wl, mp)
    even = np.ceil(wl.layers / mp.pp)
    if not wl.training.embedding_loss_in_pipeline_split:
        return even
    return np.where(mp.pp > 1, split_stage_slots(wl, mp) - 1.0, float(wl.layers))


def stage_parameters(wl: Workload, mp: MappingArrays, etp: np.ndarray | float | None = None,
                     layers_stage: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(dense parameters, expert parameters) held by one accelerator of the first stage.

    Dense = attention + dense FFN + shared experts + router of the stage's layers, plus the
    input embedding (and the output layer when pp = 1), divided by tp. Experts are divided by
    etp * ep (``etp``: expert tensor parallelism, default tp). Layers are split as evenly as the pipeline allows
    (ceil(L / pp) on the first stage) unless ``layers_stage`` gives the count (:func:`first_stage_layers`).
    """
    layers_stage = np.ceil(wl.layers / mp.pp) if layers_stage is None else layers_stage
    moe_frac = wl.moe_layers / wl.layers
    moe_layers_stage = layers_stage * moe_frac
    dense_layers_stage = layers_stage - moe_layers_stage
    attn = wl.attention_params_per_layer
    shared = 0.0 if wl.moe is None else wl.moe.shared_experts * wl.expert_params + wl.hidden * wl.moe.num_experts
    embed = wl.vocab * wl.hidden * np.where((mp.pp == 1) & (not wl.tied_embeddings), 2.0, 1.0)
    dense = (layers_stage * attn + dense_layers_stage * wl.dense_ffn_params + moe_layers_stage * shared + embed) / mp.tp
    etp = mp.tp if etp is None else etp
    experts = 0.0 if wl.moe is None else moe_layers_stage * wl.moe.num_experts * wl.expert_params / (etp * mp.ep)
    return dense, np.asarray(experts) + 0.0 * dense


def _activation_bytes_per_layer(wl: Workload, mp: MappingArrays, moe_layer: bool,
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
    to tp (experts split like the dense layers); :func:`memory_per_accelerator` passes the mapping's.
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
    if wl.training.mode == "finetune_lora":
        lora_split, lora_whole = _lora_frozen_input_delta(wl, moe_layer, tokens, q_width)
        attn = attn + lora_split
        replicated = replicated + lora_whole
        attn = attn + lora_whole
    sp = mp.sequence_parallel > 0
    total = attn + mlp + norms
    shardable = np.where(sp, total / t, (total - replicated) / t + replicated)
    modules = wl.training.recompute_modules
    # Scores kept without recompute, and under selective recompute that leaves the attention core out.
    keep_scores = ((mp.recompute == 0) if "core_attn" in modules else (mp.recompute != 2)) & (mp.flash_attention == 0)
    shardable = shardable + np.where(keep_scores, score / t, 0.0)
    if set(modules) - {"core_attn"}:
        split, whole = _module_recompute_dropped_bytes(wl, moe_layer, tokens, q_width, kv_width)
        shardable = shardable - np.where(mp.recompute == 1, split / t + np.where(sp, whole / t, whole), 0.0)
    layer_input = 2.0 * tokens * h / np.where(sp, t, 1.0)
    return np.where(mp.recompute == 2, layer_input, shardable)


def _fp8_act_input(wl: Workload) -> bool:
    """Whether the SwiGLU keeps its input (the FC1 output, gate and up halves) in FP8 E4M3 for the
    backward (``activation_fp8_input_store``; Megatron-Core ``activation_func_fp8_input_store``,
    NVIDIA/Megatron-LM @d98e8a6 megatron/core/fusions/fused_bias_swiglu.py L180 / L232 save
    ``input.to(torch.float8_e4m3fn)``, read by mlp.py L283-L312 (dense MLP), moe/experts.py L970 / L978
    (routed experts) and moe/shared_experts.py L289): 1 byte per element instead of BF16's 2. SwiGLU
    only (transformer_config.py L2467 rejects the flag for any other activation)."""
    return bool(wl.training.activation_fp8_input_store) and wl.ffn_type == "swiglu"


def _lora_frozen_input_delta(wl: Workload, moe_layer: bool, tokens, q_width: float) -> tuple[np.ndarray, np.ndarray]:
    """Change of one layer's stored bytes under LoRA fine-tuning, (split by tp, replicated without SP).

    A frozen Linear keeps no input for the backward: it forms only the data gradient, which needs
    the weight alone (TransformerEngine >= 2.1, NVIDIA/TransformerEngine @d0067d0
    transformer_engine/pytorch/module/linear.py ``backward_needs_input = is_grad_enabled and
    weight.requires_grad``, layernorm_linear.py the same; first in 544dd14, 2025-02-07). So the QKV, FC1
    and FC2 inputs that :func:`_activation_bytes_per_layer` keeps for the weight gradient (BF16, or the
    1 B FP8 copy) go, as does the out-projection's FP8 copy of the attention output (flash attention
    keeps the BF16 output for its own backward). An adapted projection's adapter keeps its own BF16
    input for the adapter weight gradients (NeMo ``ParallelLinearAdapter``: ``linear_in`` takes the
    base layer's input, the layernorm output for the fused norm + QKV / FC1): the norm output for
    ``attention_qkv`` / ``mlp_fc1`` (2 B), the attention output for ``attention_dense`` (already kept:
    0), the activation output for ``mlp_fc2`` (2 B). Adapter dropout storage is not counted (NVIDIA's
    MLPerf v5.0 recipe recomputes it: ``NEMO_LORA_USE_THUNDER_DROPOUT=1``, NeMo lora.py
    ``dropout_recompute``). MoE layers: only their attention (the experts' inputs are left as they are)."""
    h = float(wl.hidden)

    def delta(target: str) -> float:  # bytes per input element: as kept under LoRA minus as a trained Linear keeps
        return _kept_input_bytes(wl, target, moe_layer) - _kept_input_bytes(wl, target, moe_layer, lora=False)

    whole = delta("attention_qkv") * tokens * h  # QKV input (norm output)
    split = -(1.0 if wl.training.precision == "fp8" else 0.0) * tokens * q_width  # out-proj FP8 copy
    if not (moe_layer and wl.moe is not None):
        whole = whole + delta("mlp_fc1") * tokens * h  # FC1 input (norm output)
        split = split + delta("mlp_fc2") * tokens * wl.ffn_hidden  # FC2 input
    return split, whole


def _kept_input_bytes(wl: Workload, target: str, moe_layer: bool, lora: bool | None = None) -> float:
    """Bytes per element of its input that the Linear ``target`` (``attention_qkv``, ``mlp_fc1``,
    ``mlp_fc2``) keeps for the backward, in the terms of :func:`_activation_bytes_per_layer`: a trained
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
    (split by tp, replicated without SP), in the terms of :func:`_activation_bytes_per_layer`.

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
    return ((1 - moe_frac) * _activation_bytes_per_layer(wl, mp, False)
            + moe_frac * _activation_bytes_per_layer(wl, mp, True, etp))


def resident_layers(wl: Workload, layers_stage: np.ndarray) -> np.ndarray:
    """Layers of a stage whose activations stay in HBM: all but the ``activation_offload_layers``
    offloaded ones. TransformerEngine's default offload schedule keeps "at most (model_layers -
    num_layers) sets of activations on GPU at any time" (docs/features/other_optimizations/cpu_offloading/
    cpu_offloading.rst @d0067d0): the copy and reload buffers live inside that budget. At least one
    layer stays (num_layers <= model_layers - 1 there)."""
    offloaded = np.minimum(float(wl.training.activation_offload_layers), layers_stage - 1.0)
    return layers_stage - np.maximum(offloaded, 0.0)


def model_state_bytes_per_param(wl: Workload, cal: Calibration) -> tuple[float, float, float]:
    """(gradient buffer, optimizer state, reduced-gradient shard) bytes per trained parameter; the state
    and the shard are sharded over the data-parallel group (the shard only where that group is > 1).

    The stack's optimizer (``dfa_state_dtype`` ""): ``cal.dp_grad_bytes_per_param`` and
    ``cal.optimizer_state_bytes_per_param``, no shard. Apex ``DistributedFusedAdam`` (NVIDIA/apex @6424da3
    apex/contrib/optimizers/distributed_fused_adam.py; the class of NeMo 1.x's ``distributed_fused_adam``):
    the contiguous gradient buffer (``_init_grad_buffer``; NeMo defaults ``contiguous_grad_buffer`` on) and,
    per bucket, the reduce-scattered ``sync_grads_shard`` (kept between steps; the bucket itself at one
    rank) in ``grad_sync_dtype``; per shard ``exp_avg`` and ``exp_avg_sq`` in ``dtype`` (``StateBucket``)
    and the master weights as NeMo chooses them (NVIDIA/NeMo r2.0.0rc1
    nemo/collections/nlp/models/language_modeling/megatron_base_model.py ``setup_optimization``: FP8 weights
    -> ``store_params`` in ``dtype``; ``dtype`` = the BF16 model dtype -> none (the BF16 weights are the
    master); FP32 ``dtype`` with BF16 weights -> ``store_param_remainders``, 2 B of int16 low bits)."""
    state_dtype = wl.training.dfa_state_dtype
    if not state_dtype:
        return float(cal.dp_grad_bytes_per_param), float(cal.optimizer_state_bytes_per_param), 0.0
    state = 4.0 if state_dtype == "fp32" else 2.0
    grad = 4.0 if wl.training.dfa_grad_sync_dtype == "fp32" else 2.0
    master = state if wl.training.fp8_params else (2.0 if state_dtype == "fp32" else 0.0)
    return grad, 2.0 * state + master, grad


def memory_per_accelerator(wl: Workload, mp: MappingArrays, dp: np.ndarray, microbatches: np.ndarray,
                           cal: Calibration) -> MemoryBreakdown:
    """Memory of the fullest pipeline stage's accelerator; ``dp`` and ``microbatches`` broadcast.

    The first stage's; under the job's embedding / loss split (pp >= 3) the second stage's where that is more:
    it builds all (L + 2) / pp slots and no embedding, and holds one in-flight micro-batch (1F1B) or two chunks
    (interleaved) fewer (:func:`~archsweep.model.training.schedule.in_flight_layer_fraction` at rank 1; later
    middle stages hold fewer, the last one the first's layers less the embedding). Llama-3.1 405B's middle
    stage holds ~1.1 G parameters / tp more than the first (review s12 finding 10; the DP sync and optimizer
    take the larger one too: :func:`~archsweep.model.training.data_parallel.synced_stage_parameters`). Bytes
    per parameter and the reserved memory come from ``cal`` (data/calibration/model.yaml). At pp >= 2 the last
    stage's where that is more (s14-fsdpmoe): it holds the first's layer count (its own under a stated layout),
    one in-flight micro-batch (1F1B; ``(v - 1) N + 1`` chunks interleaved) and one micro-batch's logits.
    """
    shared = _stage_shared(wl, mp, dp, microbatches, cal)  # the same for every stage
    first = _stage_memory(wl, mp, dp, microbatches, cal, first_stage_layers(wl, mp), "first", shared)
    out = first
    if wl.training.embedding_loss_in_pipeline_split:
        second = _stage_memory(wl, mp, dp, microbatches, cal, split_stage_slots(wl, mp), "middle", shared)
        out = _larger(mp.pp >= 3, second, first)
    # The last stage builds the output layer and computes the loss (Megatron-Core GPTModel ``post_process``):
    # one micro-batch's logits beside its layers and its own in-flight micro-batches (rank pp - 1).
    last_layers = layout_last_layers(wl, mp) if wl.training.pipeline_layout else first_stage_layers(wl, mp)
    return _larger(mp.pp >= 2, _stage_memory(wl, mp, dp, microbatches, cal, last_layers, "last", shared), out)


def _layer_bytes(wl: Workload, mp: MappingArrays, etp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(one layer's stored activations of one micro-batch, its full working set under full recompute, else 0)."""
    working = _activation_bytes_per_layer(wl, replace(mp, recompute=np.zeros_like(mp.recompute)), wl.moe is not None, etp)
    return layer_activation_bytes(wl, mp, etp), np.where(mp.recompute == 2, working, 0.0)


def _stage_shared(wl: Workload, mp: MappingArrays, dp: np.ndarray, microbatches: np.ndarray, cal: Calibration
                  ) -> tuple[np.ndarray, ...]:
    """What :func:`_stage_memory` takes the same on every stage: (expert TP width, the dense and expert shard groups,
    :func:`_layer_bytes`, the all-to-all pairing factor, the delayed weight gradients, ZeRO-3's unit weights and grads)."""
    etp = expert_tensor_parallel(mp, dp)
    shard_group = dp * mp.cp
    expert_group = np.maximum(shard_group * mp.tp / (mp.ep * etp), 1.0)
    return (etp, shard_group, expert_group, *_layer_bytes(wl, mp, etp), a2a_paired_in_flight(wl, mp, microbatches, cal),
            delayed_wgrad_bytes(wl, mp, cal, etp), *zero3_unit_buffer_bytes(wl, mp, etp, shard_group, expert_group, cal))


def _larger(where: np.ndarray, a: MemoryBreakdown, b: MemoryBreakdown) -> MemoryBreakdown:
    """``a`` where ``where`` and its total is larger, else ``b``, part by part."""
    use = where & (a.total_bytes > b.total_bytes)
    return MemoryBreakdown(**{f.name: np.where(use, getattr(a, f.name), getattr(b, f.name)) for f in fields(a)})


def _stage_memory(wl: Workload, mp: MappingArrays, dp: np.ndarray, microbatches: np.ndarray, cal: Calibration,
                  layers_stage: np.ndarray, stage: str,
                  shared: tuple[np.ndarray, ...] | None = None) -> MemoryBreakdown:
    """:func:`memory_per_accelerator` of the ``stage`` "first" (rank 0, the embedding), "middle" (rank 1, no
    vocabulary matrix) or "last" (rank pp - 1, the output layer and one micro-batch's logits) holding
    ``layers_stage`` layers; ``shared``: :func:`_stage_shared` where the caller has it."""
    etp, shard_group, expert_group, per_layer, working, paired, wgrad, unit_w, unit_g = (
        shared or _stage_shared(wl, mp, dp, microbatches, cal))
    dense, experts = stage_parameters(wl, mp, etp, layers_stage)
    dense = dense - (wl.vocab * wl.hidden / mp.tp if stage == "middle" else 0.0)
    rank = {"first": 0, "middle": 1}.get(stage, mp.pp - 1)
    z = mp.zero_stage
    w_bytes = cal.weight_bytes_per_param * (np.where(z >= 3, dense / shard_group, dense) + np.where(z >= 3, experts / expert_group, experts))
    # LoRA: gradients and optimizer state only for the adapters (their share of the weights).
    trainable = wl.trainable_params / wl.total_params
    trainable_dense, trainable_exp = dense * trainable, experts * trainable
    grad_b, state_b, shard_b = model_state_bytes_per_param(wl, cal)
    g_bytes = grad_b * (np.where(z >= 2, trainable_dense / shard_group, trainable_dense)
                        + np.where(z >= 2, trainable_exp / expert_group, trainable_exp))
    # ZeRO-3: two layers' un-sharded weights and gradients beside the shards (sharded_buffers.py).
    w_bytes, g_bytes = w_bytes + unit_w, g_bytes + unit_g
    o_bytes = (state_b + np.where(shard_group > 1, shard_b, 0.0)) * (
        np.where(z >= 1, trainable_dense / shard_group, trainable_dense) + np.where(z >= 1, trainable_exp / expert_group, trainable_exp))
    in_flight = in_flight_layer_fraction(microbatches, mp.pp, mp.vpp, rank) * paired
    acts = resident_layers(wl, layers_stage) * per_layer * in_flight
    # Output layer logits (bf16 + fp32 loss) live on the last stage; with pp = 1 that is the first.
    tokens = mp.micro_batch * wl.seq_len / mp.cp
    acts = acts + np.where((mp.pp == 1) | (stage == "last"), 6.0 * tokens * wl.vocab / mp.tp, 0.0)
    reserved = np.full(np.shape(acts), cal.memory_reserved_bytes)
    total = w_bytes + g_bytes + o_bytes + acts + working + wgrad + reserved
    zero = 0.0 * total  # broadcast every part to the common shape
    return MemoryBreakdown(weights_bytes=w_bytes + zero, gradients_bytes=g_bytes + zero, optimizer_bytes=o_bytes + zero,
                           activations_bytes=acts + zero, recompute_working_bytes=working + zero,
                           delayed_wgrad_bytes=wgrad + zero, reserved_bytes=reserved + zero, total_bytes=total)
