"""Model state per accelerator: the parameters a pipeline stage holds and the gradient / optimizer bytes per
parameter (parts of :func:`~archsweep.model.training.memory.memory_per_accelerator`; moved out of memory.py for its size).

Model state follows ZeRO (Rajbhandari et al., SC20, Sec. 3.1 and 5): BF16 weights (``calibration.weight_bytes_per_param``,
2 B), the gradient buffer in the stack's dtype (``dp_grad_bytes_per_param``: 4 B FP32 in Megatron-LM's BF16 runs, 2 B in
the 2021 code's FP16 runs and DeepSpeed ZeRO-3; data/calibration/software_stacks.yaml), FP32 master weights + Adam
moments (``optimizer_state_bytes_per_param``, 12 B); stage 1 shards the optimizer state, stage 2 also the gradients, stage 3
also the weights over the data-parallel (x context-parallel) group; a job on Apex DistributedFusedAdam pays the dtypes it
states instead (:func:`model_state_bytes_per_param`). LoRA fine-tuning keeps gradients and optimizer state only for the
adapters. Per job, :func:`archsweep.load.part_physics.job_calibration` sets 1 B weights for FP8 parameters and a 2 B
gradient buffer for a BF16 ``dfa_grad_sync_dtype`` on the stack's optimizer; the quantised weight copies of a
low-precision job (:func:`stage_linear_parameters`) are counted with the weights in memory.py.
"""

from __future__ import annotations

import numpy as np

from archsweep.model.training.mapping import MappingArrays
from archsweep.spec.calibration import Calibration
from archsweep.spec.training import OPTIMIZER_DTYPE_BYTES
from archsweep.spec.workload import Workload

__all__ = ["model_state_bytes_per_param", "muon_parameters", "stage_linear_parameters", "stage_parameters"]


def stage_parameters(wl: Workload, mp: MappingArrays, etp: np.ndarray | float | None = None,
                     layers_stage: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(dense parameters, expert parameters) held by one accelerator of the first stage.

    Dense = attention + dense FFN + shared experts + router of the stage's layers, plus the
    input embedding (and the output layer when pp = 1), divided by tp. Experts are divided by
    etp * ep (``etp``: expert tensor parallelism, default tp). Layers are split as evenly as the pipeline allows
    (ceil(L / pp) on the first stage) unless ``layers_stage`` gives the count (:func:`~archsweep.model.training.memory.first_stage_layers`).
    """
    layers_stage = np.ceil(wl.layers / mp.pp) if layers_stage is None else layers_stage
    embed = wl.vocab * wl.hidden * np.where((mp.pp == 1) & (not wl.tied_embeddings), 2.0, 1.0)
    return _stage_weights(wl, mp, mp.tp if etp is None else etp, layers_stage, router=True, embed=embed)


def _stage_weights(wl: Workload, mp: MappingArrays, etp: np.ndarray | float, layers_stage: np.ndarray, router: bool,
                   embed: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(dense, expert) parameters of one accelerator of a stage of ``layers_stage`` layers: attention, dense FFN
    and shared experts of its layers, the router's where ``router``, plus ``embed``, over tp; experts over etp * ep."""
    moe_layers_stage = layers_stage * (wl.moe_layers / wl.layers)
    dense_layers_stage = layers_stage - moe_layers_stage
    shared = 0.0 if wl.moe is None else wl.moe.shared_experts * wl.expert_params + (
        wl.hidden * wl.moe.num_experts if router else 0.0)
    dense = (layers_stage * wl.attention_params_per_layer + dense_layers_stage * wl.dense_ffn_params
             + moe_layers_stage * shared + embed) / mp.tp
    experts = 0.0 if wl.moe is None else moe_layers_stage * wl.moe.num_experts * wl.expert_params / (etp * mp.ep)
    return dense, np.asarray(experts) + 0.0 * dense


def stage_linear_parameters(wl: Workload, mp: MappingArrays, etp: np.ndarray | float,
                            layers_stage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dense, expert) Linear weight parameters of one accelerator of a stage holding ``layers_stage`` layers:
    what :func:`stage_parameters` counts less the embedding, the output layer and the router, i.e. the weights
    of the TransformerEngine Linear modules (attention projections, dense FFN, shared and routed experts), whose
    quantised copies a low-precision job keeps (Megatron-Core's ``output_layer`` and router are not TE modules)."""
    return _stage_weights(wl, mp, etp, layers_stage, router=False, embed=0.0)


def muon_parameters(wl: Workload, mp: MappingArrays, etp: np.ndarray | float,
                    layers_stage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dense, expert) parameters of one accelerator of a stage holding ``layers_stage`` layers that a Muon job
    (``TrainingJob.optimizer`` "muon") updates with Muon, at ``cal.muon_state_bytes_per_param`` of state: every
    2-D weight of its layers (attention, dense FFN, router, shared and routed experts), not the embedding and the
    output layer, which run Adam (NVIDIA/Megatron-LM @55ac708 megatron/core/optimizer/muon.py
    ``get_megatron_muon_optimizer``: ``is_embedding_or_output_parameter`` or not 2-D -> Adam)."""
    return _stage_weights(wl, mp, etp, layers_stage, router=True, embed=0.0)


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
    state = OPTIMIZER_DTYPE_BYTES[state_dtype]
    grad = OPTIMIZER_DTYPE_BYTES[wl.training.dfa_grad_sync_dtype]  # set where state_dtype is (TrainingJob)
    master = state if wl.training.fp8_params else (2.0 if state_dtype == "fp32" else 0.0)
    return grad, 2.0 * state + master, grad
