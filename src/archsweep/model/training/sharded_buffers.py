"""ZeRO-3 / FSDP: the un-sharded parameter and gradient buffers a sharded layer needs while it computes, bytes
per accelerator (:func:`zero3_unit_buffer_bytes`; moved out of memory.py for its size).

A ZeRO-3 stage keeps only a 1 / (data-parallel group) shard of each weight, but a layer computes with all of
its weights: before its forward and again before its backward the layer (the FSDP *unit*: one transformer
layer in Megatron-FSDP, PyTorch FSDP's auto-wrap policy of the block, DeepSpeed's per-module gather) is
all-gathered into an un-sharded buffer, and its weight gradient is produced un-sharded before the
reduce-scatter leaves the shard. Overlapping the gather of the next layer with this layer's compute, and this
layer's reduce-scatter with the next layer's gradient, holds two units of each at once
(``zero3_unsharded_units``, data/calibration/model.yaml):

* Megatron-FSDP (NVIDIA/Megatron-LM @d98e8a64dd docs/user-guide/features/megatron_fsdp.md, "FSDP Module
  Hooks" L379-382): "To overlap the pre-fetch all-gather with computation, at least two FSDP units worth of
  un-sharded weight memory is required at any point in time. [...] To overlap gradient reduce-scatter with
  wgrad computation, at least two FSDP units worth of un-sharded gradient memory is required"; its
  double-buffer allocator (L407-420) holds exactly "2 persistently-allocated buffers" of the largest unit
  (the MaxPool of all units, L422-428); the unit is ``TransformerLayer`` (L366), the parameters of the MoE
  layer's experts included (expert modules get their own mesh, sharded over the expert data-parallel group
  after EP, L502-516); megatron/core/distributed/fsdp/src/docs/runtime_schedule.md ("Double buffering":
  each all-gather drains its queue to one, i.e. the current and the prefetched unit).
* PyTorch FSDP ``limit_all_gathers=True`` (the mpt rows' Composer default): at most two un-sharded units in
  flight (docs.pytorch.org, torch.distributed.fsdp.FullyShardedDataParallel ``limit_all_gathers``).

One unit is the largest layer of the model per accelerator (after TP / EP): a MoE layer's attention, shared
experts and router over ``tp`` plus its ``num_experts / ep`` local experts over ``etp`` (with EP 1 every
expert of the layer), a dense layer's attention and FFN over ``tp``; the dense part is gathered only where the
data-parallel group is > 1, the expert part where the expert data-parallel group is. Weights at
``weight_bytes_per_param`` (the gathered compute copy, FP8 where the weights are FP8), gradients at
``zero3_unsharded_grad_bytes_per_param`` (the wgrad GEMM's BF16 output; a lower side where the stack reduces in
FP32).

The modules outside the units (the stage's embedding and output layer) are held un-sharded for the whole step where
the stack states ``zero3_nonunit_unsharded`` (:func:`zero3_nonunit_bytes`; Megatron-FSDP, the megatron-core stacks):
"Non-unit modules remain persistently un-sharded" (megatron_fsdp.md L392). Read at NVIDIA/Megatron-LM @0d8e0714cd
(Megatron-Bridge v0.2.0's pin, NeMo 25.11) megatron/core/distributed/fsdp/src/megatron_fsdp/: the units are
``TransformerLayer`` only (mcore_fsdp_adapter.py L93-97); every module gets the pre-forward gather
(megatron_fsdp.py L829-835) but the post-forward release is registered on units only (L837-845, ``_post_forward``
L770-783), the post-backward release acts on units only (L557-563), the root pre-backward hook marks only unit
buckets releasable (L752-757), so a non-unit bucket is freed only by ``AllGatherPipeline.reset``
(param_and_grad_buffer.py L3095-3110) at ``synchronize_param_gather`` (megatron_fsdp.py L1017-1022), after the
step's backward. Megatron-Core's ``VocabParallelEmbedding`` and output ``ColumnParallelLinear`` are not
TransformerEngine modules, so FP8 parameters (``fp8_model_init``) do not reach them: they are held in the model's
BF16 (:data:`NONUNIT_BYTES_PER_PARAM`). Not counted: the output layer's un-sharded weight gradient at the start of the
backward (a transient beside the logits' gradient) and PyTorch FSDP's root unit, which FSDP1 does not reshard after
the forward either (s14-fsdpmoe, docs/model-accuracy.md: mpt_080 / mpt_179's stated mappings would exceed HBM).

Megatron-FSDP without ``fsdp_double_buffer`` holds more than two units: it prefetches until
``suggested_communication_unit_size / 2`` elements are gathered and keeps reduce-scatter buckets queued up to
``suggested_communication_unit_size`` elements, at least 1e9 when unset (megatron_fsdp.py L358-383,
param_and_grad_buffer.py L3205-3231 and L2783-2806). Its double buffer (``FixedPoolAllocator``, L633-783;
prefetch stopped at two units L3193-3203, gradients waited down to two units L2818-2838), which every Megatron-FSDP
preset of the validation rows sets, holds the two units counted here: the mode a mapping may run, so the model
counts it.

ZeRO-2 (Megatron-FSDP ``optim_grads``: the gradient buffer sharded, the weights not, no units:
mcore_fsdp_adapter.py L96-99, param_and_grad_buffer.py L1746-1749) produces each bucket's gradient un-sharded
(``get_main_grad`` fetching a bucket of the distributed gradient buffer in ``_grad_acc``, megatron_fsdp.py L506-548) and reduce-scatters
it asynchronously; a queued bucket is freed only when the queued buckets exceed the queue capacity
(``wait_for_previous_grad_reduce``, param_and_grad_buffer.py L2783-2806), ``bucket_size`` or 1e9 elements and at
least 1e9 (megatron_fsdp.py L358-383), every micro-batch (L577-597). So a backward holds min(capacity, the stage's
gradients) un-sharded at ``zero3_unsharded_grad_bytes_per_param`` (:func:`zero2_grad_queue_bytes`; a lower side:
the buckets being filled come beside the queue), where the stack states ``zero2_grad_queue_params``.

DeepSpeed ZeRO-3 does not gather whole layers: its hooks fetch one sub-module (a ``Linear``) at a time and keep
at most ``stage3_max_live_parameters`` parameters gathered per GPU (default 1e9, "maximum number of parameters
per GPU before releasing them"), and each gradient leaves its parameter's full-size buffer for a reduce bucket
of ``reduce_bucket_size`` elements (default 5e8) before the reduce-scatter (microsoft/DeepSpeed @e3e35d679d
deepspeed/runtime/zero/constants.py, ZERO_OPTIMIZATION_MAX_LIVE_PARAMETERS_DEFAULT,
ZERO_OPTIMIZATION_REDUCE_BUCKET_SIZE_DEFAULT). A stack that states ``zero3_live_params_cap`` /
``zero3_grad_bucket_params`` (the deepspeed-zero3 stacks, data/calibration/software_stacks.yaml) holds
un-sharded weights of max(cap, its largest sub-module) parameters and gradients of bucket + that module, each
never more than the two whole layers above. The largest sub-module is taken as one FFN matrix over tp (the
largest ``Linear`` of a dense layer whose FFN is wider than about 2.7 x hidden; a MoE layer's one expert
matrix where that is larger): the fused gate / up matrix of a gated MLP is twice that, so a lower side there."""

from __future__ import annotations

import numpy as np

from archsweep.model.training.mapping import MappingArrays
from archsweep.spec.calibration import Calibration
from archsweep.spec.workload import Workload

__all__ = ["NONUNIT_BYTES_PER_PARAM", "zero2_grad_queue_bytes", "zero3_largest_module_params", "zero3_nonunit_bytes",
           "zero3_unit_buffer_bytes", "zero3_unit_params"]

#: Bytes per parameter of the un-sharded embedding / output layer under Megatron-FSDP: BF16, the model's dtype
#: (not TransformerEngine modules, so not FP8 parameters; module docstring). A job whose weights are wider keeps
#: its own width (:func:`zero3_nonunit_bytes`).
NONUNIT_BYTES_PER_PARAM = 2.0


def zero3_unit_params(wl: Workload, mp: MappingArrays, etp: np.ndarray | float, shard_group: np.ndarray,
                      expert_group: np.ndarray) -> np.ndarray:
    """Parameters per accelerator of the largest FSDP unit (one layer) that ZeRO-3 gathers: the dense part
    where ``shard_group`` > 1, the experts where ``expert_group`` > 1 (module docstring)."""
    dense_on = np.asarray(shard_group) > 1.0
    attn = wl.attention_params_per_layer / mp.tp
    dense_layer = np.where(dense_on, attn + wl.dense_ffn_params / mp.tp, 0.0)
    if wl.moe is None or wl.moe_layers <= 0:
        return dense_layer
    shared = (wl.moe.shared_experts * wl.expert_params + wl.hidden * wl.moe.num_experts) / mp.tp
    experts = wl.moe.num_experts * wl.expert_params / (np.asarray(etp) * mp.ep)
    moe_layer = np.where(dense_on, attn + shared, 0.0) + np.where(np.asarray(expert_group) > 1.0, experts, 0.0)
    return np.maximum(moe_layer, dense_layer) if wl.moe_layers < wl.layers else moe_layer


def zero3_unit_buffer_bytes(wl: Workload, mp: MappingArrays, etp: np.ndarray | float, shard_group: np.ndarray,
                            expert_group: np.ndarray, cal: Calibration) -> tuple[np.ndarray, np.ndarray]:
    """(weight bytes, gradient bytes) of the ``cal.zero3_unsharded_units`` un-sharded units a ZeRO-3 mapping
    holds beside its shards: weights at ``weight_bytes_per_param``, gradients at
    ``zero3_unsharded_grad_bytes_per_param`` (data/calibration/model.yaml); 0 below ZeRO-3. LoRA: gradients only
    for the trainable share."""
    unit = cal.zero3_unsharded_units * zero3_unit_params(wl, mp, etp, shard_group, expert_group)
    weight_params, grad_params = unit, unit
    if cal.zero3_live_params_cap > 0.0 or cal.zero3_grad_bucket_params > 0.0:
        module = zero3_largest_module_params(wl, mp, etp)
        if cal.zero3_live_params_cap > 0.0:
            weight_params = np.minimum(unit, np.maximum(cal.zero3_live_params_cap, module))
        if cal.zero3_grad_bucket_params > 0.0:
            grad_params = np.minimum(unit, cal.zero3_grad_bucket_params + module)
    on = mp.zero_stage >= 3
    trainable = wl.trainable_params / wl.total_params
    weights = np.where(on, weight_params * cal.weight_bytes_per_param, 0.0)
    grads = np.where(on, grad_params * trainable * cal.zero3_unsharded_grad_bytes_per_param, 0.0)
    return weights, grads


def zero3_largest_module_params(wl: Workload, mp: MappingArrays, etp: np.ndarray | float) -> np.ndarray:
    """Parameters per accelerator of the largest sub-module a per-module ZeRO-3 (DeepSpeed) gathers at once: one
    FFN matrix over ``tp``, or one expert matrix over ``etp`` where larger (module docstring)."""
    dense = np.full(np.shape(mp.tp), wl.dense_ffn_params / wl.ffn_matrices) / mp.tp
    if wl.moe is None or wl.moe_layers <= 0:
        return dense
    return np.maximum(dense, wl.expert_params / wl.ffn_matrices / np.asarray(etp))


def zero3_nonunit_bytes(wl: Workload, mp: MappingArrays, shard_group: np.ndarray, cal: Calibration,
                        stage: str) -> np.ndarray:
    """Bytes per accelerator of a stage's vocabulary matrices (embedding on the first stage, output layer on the
    last, both at pp = 1 unless tied) held un-sharded beside their shard where a ZeRO-3 mapping's stack keeps the
    modules outside its units gathered (``cal.zero3_nonunit_unsharded``, module docstring); at
    max(``weight_bytes_per_param``, :data:`NONUNIT_BYTES_PER_PARAM`) per parameter over ``tp``. 0 below ZeRO-3,
    where the dense state is not sharded (``shard_group`` 1), and on a ``middle`` stage (no vocabulary matrix)."""
    if cal.zero3_nonunit_unsharded <= 0.0 or stage == "middle":
        return np.zeros(np.shape(mp.zero_stage))
    matrices = np.where((mp.pp == 1) & (not wl.tied_embeddings), 2.0, 1.0)
    params = matrices * wl.vocab * wl.hidden / mp.tp
    on = (mp.zero_stage >= 3) & (np.asarray(shard_group) > 1.0)
    return np.where(on, params * max(cal.weight_bytes_per_param, NONUNIT_BYTES_PER_PARAM), 0.0)


def zero2_grad_queue_bytes(mp: MappingArrays, grad_params: np.ndarray, cal: Calibration) -> np.ndarray:
    """Bytes per accelerator of the un-sharded gradient buckets a ZeRO-2 backward holds queued for their
    reduce-scatter: min(``cal.zero2_grad_queue_params``, ``grad_params``) at ``zero3_unsharded_grad_bytes_per_param``
    (module docstring); ``grad_params``: the stage's trained parameters per accelerator whose gradients are
    sharded (its data-parallel group > 1). 0 at other ZeRO stages and on stacks without the queue."""
    if cal.zero2_grad_queue_params <= 0.0:
        return np.zeros(np.shape(mp.zero_stage))
    queued = np.minimum(cal.zero2_grad_queue_params, grad_params)
    return np.where(mp.zero_stage == 2, queued * cal.zero3_unsharded_grad_bytes_per_param, 0.0)
