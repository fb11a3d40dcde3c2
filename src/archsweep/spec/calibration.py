"""Calibration constants of the performance model as a frozen type (SI units).

One set of constants for every accelerator (no per-run tuning), loaded by
:func:`archsweep.load.calibration.load_calibration` from ``data/calibration/model.yaml`` (each
value with source, locator and confidence) and a software stack's entries of
``data/calibration/software_stacks.yaml``. The model takes it as an argument.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Calibration", "DEFAULT_STACK"]

DEFAULT_STACK = "megatron-core"


@dataclass(frozen=True)
class Calibration:
    """Model constants (SI). See ``data/calibration/model.yaml`` for the source of each."""

    gemm_tile_m: float
    gemm_tile_n: float
    gemm_k_half: float
    gemm_in_training_ratio: float
    kernel_overhead_s: float
    hbm_bw_efficiency: float
    flash_attention_efficiency: float
    flash_attention_backward_flop_ratio: float
    elementwise_bytes_per_token_per_hidden: float
    elementwise_bytes_per_token_per_ffn: float
    dp_grad_bytes_per_param: float
    optimizer_bytes_per_param: float
    weight_bytes_per_param: float
    optimizer_state_bytes_per_param: float
    vector_flops_per_hbm_byte: float
    memory_reserved_bytes: float
    dp_overlap_fraction: float
    tp_overlap_residual: float
    collective_bw_efficiency: float
    pipeline_p2p_overlap: float
    #: HBM bytes per element of an FP8 recipe's separate quantisation of a GEMM operand (0: none).
    fp8_quantize_bytes_per_element: float = 0.0
    #: Flash-attention backward efficiency over forward efficiency (share of peak), 1 = equal.
    flash_attention_backward_efficiency_ratio: float = 1.0
    #: Matmul FLOPs one softmax exponential costs in time (0 = no head-dimension dependence of the
    #: attention efficiency); see archsweep.model.attention_kernel.
    attention_softmax_flop_equivalent: float = 0.0
    #: Rate of an unmasked (non-causal) flash-attention kernel over that of a causal one at the same
    #: length (1 = no difference): the cp - 1 off-diagonal steps of causal ring attention run unmasked
    #: (archsweep.model.transformer, ``ring_attention_mask_factor``).
    attention_noncausal_rate_ratio: float = 1.0
    #: Rows per CTA block of a causal flash-attention kernel (0 = no schedule law) and, forward and backward, each
    #: block's fixed work in tiles and the tail share of the longest block
    #: (archsweep.model.attention_kernel.causal_schedule_efficiency).
    attention_block_tokens: float = 0.0
    attention_fwd_block_extra_tiles: float = 0.0
    attention_fwd_tail_share: float = 0.0
    attention_bwd_block_extra_tiles: float = 0.0
    attention_bwd_tail_share: float = 0.0
    #: Muon (``TrainingJob.optimizer`` "muon"): Newton-Schulz iterations per orthogonalisation and the FP32 state
    #: bytes per parameter it keeps (archsweep.model.training.newton_schulz, state_memory).
    muon_newton_schulz_steps: float = 5.0
    muon_state_bytes_per_param: float = 8.0
    #: Share of the shorter of (collective, compute) that running them concurrently does not hide
    #: (0 = perfect overlap, 1 = serial); see archsweep.model.training.data_parallel.
    overlap_interference: float = 0.0
    #: ZeRO-3: layers (FSDP units) held un-sharded at once, weights and weight gradients each
    #: (archsweep.model.training.sharded_buffers).
    zero3_unsharded_units: float = 2.0
    #: ZeRO-3: bytes per parameter of a layer's un-sharded weight gradient before its reduce-scatter.
    zero3_unsharded_grad_bytes_per_param: float = 2.0
    # Set by the software stack (data/calibration/software_stacks.yaml):
    stack: str = "megatron-core"
    elementwise_traffic_multiplier: float = 1.0
    attention_mma_cap_flops_per_cycle_per_unit: float = 0.0
    alibi_bias_bytes_per_score: float = 0.0
    #: 1: ZeRO-3 gathers/reduce-scatters run as flat rings over all ranks (every rank moves the
    #: full message over its own NIC; no in-domain hierarchy), 0: hierarchical (model.yaml default).
    sharded_gather_flat: float = 0.0
    #: ZeRO-3 gathering per sub-module (DeepSpeed ``stage3_max_live_parameters``): parameters per accelerator
    #: held gathered at once, at least the largest sub-module; 0 = whole layers (``zero3_unsharded_units``).
    zero3_live_params_cap: float = 0.0
    #: ZeRO-3 gradient reduce bucket (DeepSpeed ``reduce_bucket_size``), elements: the un-sharded gradients are
    #: this plus the largest sub-module's; 0 = whole layers (archsweep.model.training.sharded_buffers).
    zero3_grad_bucket_params: float = 0.0
    #: ZeRO-3 release rule (DeepSpeed ``stage3_max_reuse_distance``), parameters: a sub-module's gathered weights are
    #: freed unless it recurs within this many parameters of the module trace, so under full recompute the modules
    #: far from their backward are gathered a third time (archsweep.model.training.zero3_regather); 0 = the
    #: recomputed forward's gather serves the backward.
    zero3_max_reuse_distance_params: float = 0.0
    #: 1 where ZeRO-3 keeps the modules outside its units (the stage's embedding / output layer) un-sharded once
    #: gathered, for the rest of the step (Megatron-FSDP); 0: they are gathered and freed like a unit or not
    #: counted (archsweep.model.training.sharded_buffers.zero3_nonunit_bytes).
    zero3_nonunit_unsharded: float = 0.0
    #: ZeRO-2 gradient reduce-scatter queue (Megatron-FSDP ``optim_grads``), elements: un-sharded gradient buckets
    #: held until the queued ones exceed it, so a backward holds min(this, the stage's gradients) of them; 0 = none
    #: counted (archsweep.model.training.sharded_buffers.zero2_grad_queue_bytes).
    zero2_grad_queue_params: float = 0.0
    #: Host-side time per MoE layer per micro-batch (forward + backward) that the GPU cannot hide, s.
    moe_layer_host_overhead_s: float = 0.0
    #: Host time per MoE layer per micro-batch that grows with the micro-batch, s per local token
    #: (``micro-batch x sequence / cp``), on top of ``moe_layer_host_overhead_s``; 0 under a full-iteration
    #: CUDA graph like it (:mod:`archsweep.validation.moe_graphs`). 0 = the host time is per micro-batch only.
    moe_host_s_per_token: float = 0.0
    #: Host time per MoE layer per micro-batch that a CUDA graph over attention, router and EP
    #: preprocess removes, s: validation adds it to ``moe_layer_host_overhead_s`` (the time with those
    #: parts graphed) on a row whose stated ``moe_cuda_graph_scope`` leaves them eager
    #: (:mod:`archsweep.validation.moe_graphs`); 0 = no such distinction.
    moe_host_ungraphed_extra_s: float = 0.0
    #: Host time per MoE layer per micro-batch that capturing the shared experts in the router's CUDA
    #: graph removes, s: validation adds it on a row with shared experts whose stated scope has no
    #: ``moe_router`` (:mod:`archsweep.validation.moe_graphs`); 0 = no such distinction.
    moe_host_shared_expert_ungraphed_s: float = 0.0
    #: HBM bytes per routed copy and hidden unit, in each of forward and backward, of re-laying the
    #: permuted tokens of a dropless low-precision MoE layer so that each local expert's rows are a
    #: multiple of the quantisation block (Megatron-Core TEGroupedMLP ``Fp8Padding`` / ``Fp8Unpadding``);
    #: 0 = the stack does not pad (or the run is drop-and-pad: capacities already aligned).
    moe_fp8_padding_bytes_per_element: float = 0.0
    #: HBM bytes per routed copy and hidden unit, in each of forward and backward, of the dispatcher's second
    #: permutation: the alltoall dispatcher sorts the received tokens by local expert after the all-to-all and
    #: restores their order before the combine (Megatron-Core ``sort_chunks_by_idxs``, run whenever a rank holds
    #: more than one expert); 0 = the dispatcher lands the tokens in expert order (DeepEP / HybridEP).
    moe_local_sort_bytes_per_element: float = 0.0
    #: HBM bytes per token and hidden unit, forward, of adding the shared experts' output to the routed
    #: experts' (Megatron-Core ``MoELayer.combine``: ``output + shared_expert_output``); its backward passes the
    #: gradient through. 0 = the stack has no separate add.
    moe_shared_add_bytes_per_element: float = 0.0
    #: 1: the stack offers the overlap of the MoE dispatch/combine all-to-all of one micro-batch with the
    #: compute of another (Megatron-Core combined 1F1B, ``overlap_moe_expert_parallel_comm``): a job that
    #: asks for it (``TrainingJob.moe_a2a_overlap``, off by default) runs it where the schedule allows it
    #: (pp = 1 or interleaved, ep > 1, no full recompute: model.training.communication.a2a_overlap_pairs);
    #: 0: the all-to-all is exposed whatever the job asks.
    moe_a2a_overlap: float = 0.0
    #: SMs (compute units) per GPU that the overlapped MoE dispatch / combine kernels hold while they run beside
    #: another micro-batch's compute (HybridEP ``moe_hybridep_num_sms``, DeepEP ``moe_deepep_num_sms``): that
    #: compute runs on the other units only, a slowdown of this share of the units for the time the two overlap
    #: (model.training.communication.expert_parallel). 0 = the overlap is free.
    moe_a2a_overlap_sms: float = 0.0
    #: The same for the flex stack's other backend, DeepEP (``moe_deepep_num_sms``), where a validation row states
    #: it (``moe_token_dispatcher`` deepep: archsweep.validation.dispatcher_sms); 0 = as ``moe_a2a_overlap_sms``.
    moe_deepep_overlap_sms: float = 0.0
    #: 1: the MoE token dispatcher sends a token across the scale-out network once per remote scale-up
    #: domain holding any of its experts and forwards it inside the domain (DeepEP normal kernels,
    #: HybridEP: :func:`archsweep.model.collectives.ep_dispatch_bytes`); 0: one copy per routed
    #: expert, an all-to-all (Megatron-Core alltoall dispatcher).
    moe_dispatch_per_domain: float = 0.0
    #: HBM bytes per element of the routed experts' FFN intermediate (routed token x ``expert_ffn_hidden``
    #: unit) that a stack moves to clamp a gated activation's inputs as separate kernels (the architecture's
    #: ``activation_clamp``), forward and backward, and the kernels it launches per MoE layer each way;
    #: 0 = the stack fuses the clamp into the activation (or the model has none). The fused activation's own
    #: traffic is ``elementwise_bytes_per_token_per_ffn``'s.
    clamped_glu_bytes_fwd_per_element: float = 0.0
    clamped_glu_bytes_bwd_per_element: float = 0.0
    clamped_glu_kernels_fwd: float = 0.0
    clamped_glu_kernels_bwd: float = 0.0
    #: HBM bytes per element of the routed experts' output (routed token x hidden unit) that a stack moves
    #: to add the experts' FC2 bias outside the grouped GEMM (the architecture's ``moe.expert_bias``),
    #: forward and backward, and the kernels it launches per local expert each way; 0 = in the GEMM epilogue.
    expert_bias_bytes_fwd_per_element: float = 0.0
    expert_bias_bytes_bwd_per_element: float = 0.0
    expert_bias_kernels_fwd_per_expert: float = 0.0
    expert_bias_kernels_bwd_per_expert: float = 0.0
    #: Set per job by ``load.part_physics.job_calibration`` (the recipe's ``gemm_dtype``,
    #: data/calibration/low_precision_recipes.yaml): datatype of a low-precision job's Linear GEMMs,
    #: "fp8" (at the part's ``fp8_matrix_efficiency_ratio``) or "nvfp4" (``nvfp4_matrix_rate_ratio``).
    low_precision_gemm_dtype: str = "fp8"
    #: Set per recipe (data/calibration/low_precision_recipes.yaml ``gemm_rate_vs_per_tensor``): rate of
    #: the recipe's FP8 GEMM kernels over the per-tensor FP8 kernels (MXFP8 block-scaled GEMMs 0.951,
    #: TransformerEngine's pre-quantised GEMM benchmark on B300); 1 for per-tensor recipes and NVFP4.
    low_precision_gemm_rate_factor: float = 1.0
    #: Set per recipe (data/calibration/low_precision_recipes.yaml): HBM bytes per element of quantising
    #: a norm output that feeds a GEMM (0: the norm writes it quantised), on a part whose FP8 GEMMs take
    #: the TN layout only; ``fp8_quantize_bytes_per_element`` and this on an any-layout part
    #: (hardware column ``fp8_gemm_layouts``) are the ``_any_layout`` fields.
    fp8_norm_quantize_bytes_per_element: float = 0.0
    fp8_quantize_bytes_per_element_any_layout: float = 0.0
    fp8_norm_quantize_bytes_per_element_any_layout: float = 0.0
    #: Set per recipe (data/calibration/low_precision_recipes.yaml ``split_quantize_kernels_*``): kernels
    #: TransformerEngine launches per local expert to quantise one operand of a grouped MoE GEMM, on a
    #: TN-only part and on an any-layout part (0: BF16, or one fused kernel for all experts).
    fp8_split_quantize_kernels: float = 0.0
    fp8_split_quantize_kernels_any_layout: float = 0.0
    #: Set per recipe (data/calibration/low_precision_recipes.yaml ``tp_grad_regather_bytes``): bytes per
    #: element of the output gradient that each row-parallel Linear all-gathers a second time in backward
    #: under sequence parallelism (MXFP8: its column-wise copy for the weight gradient, 1 + 1/32 B; 0: the
    #: row-wise copy gathered for the data gradient serves both GEMMs).
    fp8_tp_grad_regather_bytes_per_element: float = 0.0
    #: Set per job by ``load.part_physics.job_calibration`` from the part and the recipe
    #: (data/hardware/low_precision_rates.yaml ``quantize_hbm_share_<recipe>``): share of peak HBM
    #: bandwidth the recipe's quantisation kernels reach on the part; 0 = ``hbm_bw_efficiency``.
    fp8_quantize_hbm_share: float = 0.0
    #: Set per job by ``load.part_physics.job_calibration`` where the job runs FP8 attention
    #: (``TrainingJob.fp8_dot_product_attention``): the part's FP8 flash-attention rate over its BF16 one
    #: (data/hardware/low_precision_rates.yaml ``fp8_attention_rate_ratio``); 1 = BF16 attention.
    fp8_attention_rate_ratio: float = 1.0
    #: Set per job by ``load.part_physics.job_calibration``: HBM bytes per weight element of re-forming the FP8 weight transpose
    #: that an FP8 data-gradient GEMM reads, in every backward pass (read 1 B + write 1 B = 2 when the
    #: weights are held in FP8 and the transpose is not cached across micro-batches; 0 = cached once per
    #: step). The model drops it on a part whose FP8 GEMMs take any layout (no transpose needed).
    fp8_weight_transpose_bytes_per_element: float = 0.0
    #: 1 where the stack runs TransformerEngine modules whose quantised weight workspaces are cached across
    #: micro-batches and steps (Megatron-Core passes ``is_first_microbatch``: data/calibration/software_stacks.yaml
    #: ``te_fp8_weight_cache``); 0: no persistent quantised weight copy is counted.
    te_fp8_weight_cache: float = 0.0
    #: 1 where the stack's TransformerEngine (up to v2.14.1) all-to-alls the saved attention output with dO before
    #: ``a2a+p2p``'s backward ring (nine all-to-alls per layer and micro-batch); 0 from v2.15, whose forward keeps
    #: the output in the ring's layout, so the backward sends dO alone (eight): data/calibration/software_stacks.yaml
    #: ``te_a2a_p2p_backward_sends_output`` (archsweep.model.training.cp_collectives).
    te_a2a_p2p_backward_sends_output: float = 1.0
    #: Set per job by ``load.part_physics.job_calibration`` (data/calibration/low_precision_recipes.yaml
    #: ``weight_copy_bytes_*`` / ``fp8_param_copy_bytes_*``): bytes per Linear weight parameter of the quantised
    #: weight copies kept beside the weights (``weight_bytes_per_param``) over a step on a TN-only part; 0 for
    #: BF16 jobs, stacks without the cache and jobs that do not cache them.
    fp8_weight_copy_bytes_per_param: float = 0.0
    #: The same on a part whose FP8 GEMMs take any layout (``fp8_gemm_layouts`` "any"), bytes per parameter.
    fp8_weight_copy_bytes_per_param_any_layout: float = 0.0
    #: Set per job by ``load.part_physics.job_calibration`` (data/calibration/low_precision_recipes.yaml
    #: ``fp8_param_gather_bytes``): bytes per parameter of the distributed optimizer's (ZeRO 1-2) after-step
    #: weight all-gather where the job holds its weights in low precision (MXFP8: BF16 through the gradient
    #: buffer, 2); 0: the weights' own ``weight_bytes_per_param`` (:meth:`dp_gather_bytes_per_param`).
    param_gather_bytes_per_param: float = 0.0
    #: Share of the HBM capacity a mapping may fill (memory feasibility: total <= fraction x capacity);
    #: 1 = all of it beyond ``memory_reserved_bytes``. Set by a software stack whose allocator and
    #: runtime are known to leave less (data/calibration/software_stacks.yaml ``megatron-2021``).
    hbm_usable_fraction: float = 1.0
    #: 1 where full recompute runs under PyTorch's non-reentrant ``torch.utils.checkpoint`` with its default
    #: early stop: the recomputation ends once the last saved tensor is re-packed, which autograd does
    #: before the op that saves it runs, so a dense layer's last GEMM (FFN down projection) is not
    #: re-run (data/calibration/software_stacks.yaml ``pytorch-fsdp``); 0: the whole layer forward.
    checkpoint_early_stop: float = 0.0
    #: Bytes per parameter the data-parallel gradient reduce-scatter / all-reduce moves where the stack reduces in
    #: another dtype than it keeps its gradient buffer in (``dp_grad_bytes_per_param``): PyTorch FSDP reduces in
    #: the BF16 compute dtype and up-casts the reduced shard to the FP32 flat parameter's dtype
    #: (data/calibration/software_stacks.yaml ``pytorch-fsdp``); 0: the buffer's dtype (:meth:`dp_reduce_bytes_per_param`).
    dp_grad_reduce_bytes_per_param: float = 0.0
    #: PyTorch FSDP's per-micro-batch HBM passes (bytes per parameter; model.training.fsdp_passes): over the
    #: un-sharded gradient, the local gradient shard, the FP32 accumulation of that shard (micro-batches after
    #: the first) and one FP32 -> BF16 cast of the local parameter shard (data/calibration/software_stacks.yaml
    #: ``pytorch-fsdp``); 0: not priced (every other stack).
    fsdp_unsharded_grad_pass_bytes_per_param: float = 0.0
    fsdp_shard_grad_pass_bytes_per_param: float = 0.0
    fsdp_shard_accumulate_bytes_per_param: float = 0.0
    fsdp_param_cast_bytes_per_param: float = 0.0
    #: Bytes per logit element (one micro-batch's tokens x vocabulary / tp) the output layer and the loss hold at
    #: the stack's peak on the last pipeline stage (model.training.memory): data/calibration/model.yaml (Megatron-Core:
    #: the BF16 logits and the FP32 copy its cross entropy makes, 6) unless a stack sets its own
    #: (data/calibration/software_stacks.yaml ``pytorch-fsdp``: llm-foundry's fused cross entropy, 4).
    loss_logit_bytes_per_element: float = 6.0

    def dp_reduce_bytes_per_param(self) -> float:
        """Bytes per parameter of the data-parallel gradient reduction: ``dp_grad_reduce_bytes_per_param`` where
        the stack sets it, else the gradient buffer's ``dp_grad_bytes_per_param``."""
        return self.dp_grad_reduce_bytes_per_param or self.dp_grad_bytes_per_param

    def dp_gather_bytes_per_param(self) -> float:
        """Bytes per parameter of the ZeRO 1-2 after-step weight all-gather: ``param_gather_bytes_per_param``
        where a job's low-precision weights set it, else ``weight_bytes_per_param``."""
        return self.param_gather_bytes_per_param or self.weight_bytes_per_param
