"""PyTorch FSDP's per-micro-batch HBM passes over parameters and gradients beside its collectives (issue 10, s19-J).

FULL_SHARD FSDP with BF16 ``param_dtype`` over an FP32 flat-parameter shard and gradient accumulation without
``no_sync`` (Composer's llm-foundry runs) makes, per FSDP unit and micro-batch, elementwise passes the collectives'
bytes do not count (pytorch/pytorch ``torch/distributed/fsdp/_runtime_utils.py`` ``_post_backward_hook`` /
``_cast_grad_to_param_dtype``, ``flat_param.py`` ``_use_low_precision_shard`` / ``_get_unflat_views``,
``torch/distributed/algorithms/_comm_hooks/default_hooks.py`` ``reduce_scatter_hook``):

* the unsharded gradient (BF16, every stage parameter): the backward of the flat parameter's ``split`` views
  concatenates the per-parameter gradients into the flat gradient (read + write) and ``grad.div_`` by the
  pre-divide factor (read + write): ``fsdp_unsharded_grad_pass_bytes_per_param``;
* the local shard's gradient: the post-divide ``output.div_`` (BF16 read + write) and the up-cast of the reduced
  BF16 shard to the FP32 parameter dtype (read 2, write 4): ``fsdp_shard_grad_pass_bytes_per_param``; from the
  second micro-batch on, ``_saved_grad_shard += new_sharded_grad`` (FP32 read, read, write):
  ``fsdp_shard_accumulate_bytes_per_param``;
* the local parameter shard: the FP32 -> BF16 copy into the low-precision shard before each all-gather
  (``fsdp_param_cast_bytes_per_param`` per cast): two per micro-batch under FULL_SHARD (ZeRO-3: it frees the
  un-sharded parameter after the forward and gathers again for the backward), one under SHARD_GRAD_OP (ZeRO-2:
  kept from the forward to the backward, freed in the post-backward when gradients are synced).

Priced at the achievable HBM bandwidth (:func:`archsweep.model.hbm_pass.hbm_pass_s`) and added serially to the step
(an upper side: the shard-side passes run on FSDP's side streams beside the backward). 0 for every stack that does not
state them."""

from __future__ import annotations

import numpy as np

from archsweep.spec.calibration import Calibration

__all__ = ["fsdp_pass_bytes"]


def fsdp_pass_bytes(cal: Calibration, stage_params: np.ndarray, shard_group: np.ndarray, microbatches: np.ndarray,
                    trainable_scale: float, zero_stage: np.ndarray) -> np.ndarray:
    """HBM bytes per accelerator and step of FSDP's parameter / gradient passes (module docstring).

    ``stage_params``: parameters of the accelerator's pipeline stage (un-sharded, per tensor-parallel rank);
    ``shard_group``: ranks the stage's parameters are sharded over; ``microbatches``: per step; ZeRO-3 (FULL_SHARD,
    two casts per micro-batch) and ZeRO-2 (SHARD_GRAD_OP, one) mappings with a group above 1 pay. Frozen parameters
    (LoRA) are cast but carry no gradient."""
    if not (cal.fsdp_unsharded_grad_pass_bytes_per_param or cal.fsdp_shard_grad_pass_bytes_per_param
            or cal.fsdp_shard_accumulate_bytes_per_param or cal.fsdp_param_cast_bytes_per_param):
        return np.zeros(np.broadcast(stage_params, shard_group, microbatches, zero_stage).shape)  # not priced
    group = np.maximum(shard_group, 1.0)
    shard = stage_params / group
    grad_scale = trainable_scale
    per_microbatch = (stage_params * grad_scale * cal.fsdp_unsharded_grad_pass_bytes_per_param
                      + shard * grad_scale * cal.fsdp_shard_grad_pass_bytes_per_param
                      + shard * np.where(zero_stage >= 3, 2.0, 1.0) * cal.fsdp_param_cast_bytes_per_param)
    accumulate = np.maximum(microbatches - 1.0, 0.0) * shard * grad_scale * cal.fsdp_shard_accumulate_bytes_per_param
    on = (zero_stage >= 2) & (shard_group > 1)
    return np.where(on, microbatches * per_microbatch + accumulate, 0.0)
