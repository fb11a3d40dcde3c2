"""Exposed communication of one training step, one parallelism effect per function (seconds per step).

Each function takes the hardware, the workload, the mapping and what the step already knows
(micro-batches, layers per stage, per-layer compute times), and returns the time that effect adds
to the critical path after what overlaps with compute, plus the bytes it moves where the energy
model needs them. :func:`archsweep.model.training.step.training_step` sums them (the combining
rule stays in one place). All inputs broadcast; every time is >= 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsweep.model import collectives as coll
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.overlap import overlapped_exposed_s
from archsweep.model.training.recompute_share import partial_recompute_share
from archsweep.model.training.schedule import unpaired_chunk_passes
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["TensorParallelCost", "tensor_parallel", "lora_tensor_parallel_s",
           "ExpertParallelCost",
           "expert_parallel", "a2a_paired_exposed_s", "ep_alltoalls_per_layer", "a2a_overlap_pairs", "a2a_unpaired_share", "PipelineCost", "pipeline_p2p",
           "pipeline_p2p_exposed_sends"]


@dataclass(frozen=True)
class TensorParallelCost:
    """Tensor-parallel collectives of one step: exposed time, one all-reduce's time (s), and the bytes one
    rank sends per step in MXFP8's column-wise output-gradient regathers (:func:`tensor_parallel`; 0 without
    them), for the energy model."""

    exposed_s: np.ndarray
    allreduce_s: np.ndarray
    regather_bytes: np.ndarray


def tensor_parallel(hw: HardwareArrays, mp: MappingArrays, cal: Calibration, act_bytes: np.ndarray,
                    microbatches: np.ndarray, layers_stage: np.ndarray, moe_frac: float,
                    recompute_share: np.ndarray | None = None) -> TensorParallelCost:
    """2 all-reduces (or reduce-scatter + all-gather with sequence parallelism, the same volume)
    forward and 2 backward per layer, 2 more when the layer is recomputed, plus the embedding and
    logits; with TP communication overlap only ``cal.tp_overlap_residual`` of it stays exposed
    (Megatron-LM SC21 Sec. 3.2; Korthikanti et al. MLSys'23 Sec. 4.2.2).

    Under sequence parallelism a recipe with ``cal.fp8_tp_grad_regather_bytes_per_element`` > 0 (MXFP8)
    all-gathers the output gradient of each of the layer's two row-parallel Linears (attention
    out-projection, FC2) a second time in backward, its column-wise copy for the weight gradient
    (TransformerEngine v2.7 / v2.9 / v2.12 module/linear.py and layernorm_mlp.py backward: "we can't convert
    row-scaled MXFP8 to column-scaled, so we can't reuse the grad output that was gathered for the dgrad
    GEMM"; without Userbuffers distributed.py ``_all_gather_mxfp8`` gathers both copies); ``act_bytes``
    is the BF16 activation (2 B per element). A MoE layer (``moe_frac``: the share of layers that are MoE)
    regathers once, for its attention out-projection only: its FC2 is the grouped expert Linear, whose
    tokens the token dispatcher moves, with no TP gather of its output gradient (NVIDIA/Megatron-LM
    megatron/core/extensions/transformer_engine.py ``TEGroupedLinear``: an expert layer with TP or EP > 1
    sets ``explicit_expert_comm`` and builds TE's GroupedLinear with ``parallel_mode=None``); so
    ``2 - moe_frac`` regathers per layer on average. ``recompute_share``: the share of a stage's layers recomputed
    in full (:func:`~archsweep.model.training.recompute_share.full_recompute_share`; None: every layer where the
    mapping's recompute is full)."""
    one = np.ones_like(mp.tp)
    tp_ar = coll.allreduce_time_s(hw, act_bytes, mp.tp, one, cal.collective_bw_efficiency)
    if recompute_share is None:
        tp_layer = 4.0 * tp_ar + np.where(mp.recompute == 2, 2.0 * tp_ar, 0.0)
    else:
        tp_layer = 4.0 * tp_ar + np.where(mp.recompute == 2, 2.0 * recompute_share * tp_ar, 0.0)
    regather_bytes = np.zeros(np.broadcast_shapes(np.shape(tp_ar), np.shape(microbatches), np.shape(layers_stage)))
    if cal.fp8_tp_grad_regather_bytes_per_element > 0:
        gathered = act_bytes / 2.0 * cal.fp8_tp_grad_regather_bytes_per_element
        regather = coll.all_gather_time_s(hw, gathered, mp.tp, one, cal.collective_bw_efficiency)
        regathers = np.where(mp.sequence_parallel > 0, 2.0 - moe_frac, 0.0)
        tp_layer = tp_layer + regathers * regather
        # an all-gather of a ``gathered``-byte buffer: each rank sends (tp - 1) / tp of it
        regather_bytes = regather_bytes + (microbatches * layers_stage * regathers * gathered
                                           * (mp.tp - 1) / np.maximum(mp.tp, 1.0))
    tp_total = microbatches * layers_stage * tp_layer + 2.0 * microbatches * tp_ar  # + embedding/logits
    exposed = np.where(mp.tp_overlap > 0, cal.tp_overlap_residual * tp_total, tp_total)
    return TensorParallelCost(exposed, tp_ar, regather_bytes)


def lora_tensor_parallel_s(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration,
                           tokens: np.ndarray, microbatches: np.ndarray, layers_stage: np.ndarray) -> np.ndarray:
    """Tensor-parallel time LoRA adds (dense layers), s per step: the adapters' own collectives and the base
    layer's TP collectives that overlap cannot hide under LoRA; 0 without LoRA or TP.

    From NeMo's ``ParallelLinearAdapter`` (nemo/collections/nlp/modules/common/megatron/adapters/
    parallel_adapters.py, NeMo 24.09 as in the MLPerf v4.1 NVIDIA Dockerfile): synchronous
    ``torch.distributed`` calls on the compute path, outside TransformerEngine's TP overlap, so
    exposed. Per adapter and micro-batch, T = local tokens, r = rank:

    * on a column-parallel projection (attention_qkv, mlp_fc1): the down GEMM's
      ``gather_output=True`` all-gathers the T x r result forward; the up GEMM's input copy
      all-reduces T x r backward (the input gradient's reduce is left to the base layer under SP);
    * on a row-parallel projection (attention_dense, mlp_fc2): the down GEMM (RowParallelLinear)
      all-reduces T x r forward and the up GEMM's input copy T x r backward; its T x h/tp output
      returns to the sequence-parallel layout by one all-to-all forward and one backward when
      ``lora_a2a`` (``_All2AllHp2Sp``), else by an all-gather of the whole T x h output forward
      (``gather_output``) and, under SP, one more backward (``scatter_to_sequence_parallel_region``).

    Full recomputation repeats the forward ones. MoE expert adapters add none here.

    Plus the base layer's column-parallel data-gradient reduce-scatters that TP overlap cannot hide when the
    weights are frozen: under sequence parallelism TransformerEngine's userbuffers overlap the QKV and FC1
    input-gradient reduce-scatter with the weight-gradient GEMM (``ub_bulk_wgrad``; the input all-gather for
    that GEMM with the data-gradient GEMM, ``ub_bulk_dgrad``), and turns both off for a weight that needs no
    gradient (v1.6rc2 .. v1.11 ``module/layernorm_linear.py`` / ``layernorm_mlp.py`` backward: ``if tp_world_size
    == 1 or not weight.requires_grad: ctx.ub_bulk_dgrad = False`` and the same for ``ub_bulk_wgrad``); the
    reduce-scatter is then issued and waited on with no GEMM behind it. Per layer and micro-batch, QKV's and
    (dense layers) FC1's reduce-scatter exposed in full, i.e. ``1 - tp_overlap_residual`` of each added to what
    :func:`tensor_parallel` charges, unless the job pipelines it with the data-gradient GEMM
    (``tp_overlap_rs_dgrad``: Megatron-Core ``tp_comm_overlap_rs_dgrad`` -> TE ``ub_overlap_rs_dgrad``, kept for
    a frozen weight, v1.11 layernorm_linear.py L420-425; for QKV only without ``tp_overlap_disable_qkv``,
    which Megatron-Core turns into ``ub_overlap_rs_dgrad=False`` as well).

    And an adapter on a norm-fed projection (attention_qkv, mlp_fc1) cannot share that projection's overlapped
    input all-gather: NeMo's ``MCoreSelfAttentionMixin`` / ``MCoreMLPMixin`` take the gathered norm output
    from TransformerEngine (``return_layernorm_output_gathered``) only where the projection's all-gather is not
    overlapped (``not linear_qkv.ub_overlap_ag``); otherwise ``ParallelLinearAdapter.forward`` gathers its input
    a second time (``gather_from_sequence_parallel_region``: a T x h all-gather forward, a reduce-scatter
    backward; NeMo v2.0.0.rc0.beta and 24.09-alpha.rc0, mcore_mixins.py ``mcore_register_adapters``,
    parallel_adapters.py ``forward``). NVIDIA's MLPerf configurations take the cheaper way,
    ``tp_comm_disable_qkv`` / ``tp_comm_overlap_disable_qkv`` true (``MC_TP_DISABLE_QKV`` default True in
    ``conf/megatron_gpt_peft_tuning_config.yaml``: NVIDIA's v4.0 file and the 16 v4.1 files that carry the key),
    which Megatron-Core turns into ``ub_overlap_ag=False`` for the QKV projection (core_v0.7.0.beta
    ``transformer_engine.py`` TELayerNormColumnParallelLinear): the job's ``tp_overlap_disable_qkv``, priced as
    the projection's forward all-gather exposed in full, ``1 - tp_overlap_residual`` of it added. Without it
    (Megatron-Core's default; the v4.0 copies without the key) the all-gather stays overlapped and the adapter's
    own gather (an all-gather forward, a reduce-scatter backward) is exposed in full. An adapter on FC1 is
    priced the first way (``tp_comm_overlap_disable_fc1`` is not a job option). Full recompute repeats the
    forward ones.
    """
    targets = wl.training.lora_targets
    if wl.training.mode != "finetune_lora" or not wl.training.lora_rank:
        return np.zeros_like(mp.tp * tokens)
    one = np.ones_like(mp.tp)
    eff = cal.collective_bw_efficiency
    h = float(wl.hidden)
    small = 2.0 * tokens * float(wl.training.lora_rank)
    ag_small = coll.all_gather_time_s(hw, small, mp.tp, one, eff)
    ar_small = coll.allreduce_time_s(hw, small, mp.tp, one, eff)
    sp = mp.sequence_parallel > 0
    if wl.training.lora_a2a:
        a2a = coll.alltoall_time_s(hw, 2.0 * tokens * h / mp.tp, mp.tp, one, eff)
        out_f, out_b = np.where(sp, a2a, coll.all_gather_time_s(hw, 2.0 * tokens * h, mp.tp, one, eff)), np.where(sp, a2a, 0.0)
    else:
        gather = coll.all_gather_time_s(hw, 2.0 * tokens * h, mp.tp, one, eff)
        out_f, out_b = gather, np.where(sp, gather, 0.0)
    column_f, column_b = ag_small, ar_small
    row_f, row_b = ar_small + out_f, ar_small + out_b
    dense_share = 1.0 - wl.moe_layers / wl.layers
    fwd = ((column_f if "attention_qkv" in targets else 0.0) + (row_f if "attention_dense" in targets else 0.0)
           + dense_share * ((column_f if "mlp_fc1" in targets else 0.0) + (row_f if "mlp_fc2" in targets else 0.0)))
    bwd = ((column_b if "attention_qkv" in targets else 0.0) + (row_b if "attention_dense" in targets else 0.0)
           + dense_share * ((column_b if "mlp_fc1" in targets else 0.0) + (row_b if "mlp_fc2" in targets else 0.0)))
    overlap = sp & (mp.tp_overlap > 0)
    unhidden = np.where(overlap, 1.0 - cal.tp_overlap_residual, 0.0)
    qkv_off = wl.training.tp_overlap_disable_qkv
    rs_dgrad = wl.training.tp_overlap_rs_dgrad
    # a frozen projection's reduce-scatter stays hidden where it is pipelined with the data-gradient GEMM
    # (tp_overlap_rs_dgrad; Megatron-Core turns it off for QKV with tp_overlap_disable_qkv)
    qkv_rs_pipelined = rs_dgrad and not qkv_off
    fc1_rs_pipelined = rs_dgrad
    exposed_rs = float(not qkv_rs_pipelined) + dense_share * float(not fc1_rs_pipelined)
    full_rs = coll.reduce_scatter_time_s(hw, 2.0 * tokens * h, mp.tp, one, eff)
    full_ag = coll.all_gather_time_s(hw, 2.0 * tokens * h, mp.tp, one, eff)
    frozen_rs = unhidden * exposed_rs * full_rs
    qkv_fed = float("attention_qkv" in targets)
    if qkv_off:  # TE hands the gathered norm output over; its all-gather runs without overlap
        fwd = fwd + unhidden * qkv_fed * full_ag
    else:  # the all-gather stays overlapped; NeMo's adapter gathers its input again, exposed in full
        fwd = fwd + np.where(overlap, qkv_fed * full_ag, 0.0)
        bwd = bwd + np.where(overlap, qkv_fed * full_rs, 0.0)
    fwd = fwd + unhidden * dense_share * float("mlp_fc1" in targets) * full_ag
    share = partial_recompute_share(wl, mp)  # block: the recomputed share
    rc_fwd = fwd if share is None else share * fwd
    per_layer = fwd + bwd + np.where(mp.recompute == 2, rc_fwd, 0.0) + frozen_rs
    return np.where(mp.tp > 1, microbatches * layers_stage * per_layer, 0.0)


@dataclass(frozen=True)
class ExpertParallelCost:
    """Expert-parallel dispatch and combine of one step: exposed time (s) and the bytes one rank sends over
    the scale-up fabric and the scale-out network, as the time prices them
    (:func:`~archsweep.model.collectives.ep_dispatch_bytes` x all-to-alls x MoE layers x micro-batches)."""

    exposed_s: np.ndarray
    scaleup_bytes: np.ndarray
    scaleout_bytes: np.ndarray


def expert_parallel(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration, tokens: np.ndarray,
                    etp: np.ndarray, dp: np.ndarray, microbatches: np.ndarray, layers_stage: np.ndarray,
                    moe_frac: float, moe_layer_s: np.ndarray | float = 0.0) -> ExpertParallelCost:
    """Dispatch + combine all-to-all of the routed tokens (top-k copies, capacity factor), forward
    and backward, per MoE layer (Lepikhin et al., GShard, 2020; Megatron-Core token dispatcher).
    EP ranks sit after TP x CP (stride tp*cp) or, folded over TP, on consecutive ranks. A stack whose
    dispatcher forwards per domain (``cal.moe_dispatch_per_domain``: DeepEP / HybridEP) sends a token
    across the scale-out network once per remote domain it reaches
    (:func:`~archsweep.model.collectives.ep_dispatch_bytes`).

    With the job's ``moe_a2a_overlap`` on a stack that offers it (``cal.moe_a2a_overlap``) on a mapping where
    Megatron-Core runs the combined 1F1B schedule (:func:`a2a_overlap_pairs`: pp = 1 or an interleaved
    pipeline), which pairs the forward of one micro-batch with the backward of another (NVIDIA/Megatron-LM
    @d98e8a6 megatron/core/pipeline_parallel/combined_1f1b.py), the
    four all-to-alls of a MoE layer run on their own stream under that pair's compute
    (``moe_layer_s``: forward + backward of one MoE layer): only the excess stays exposed. The
    passes without a partner (the schedule's warm-up forwards and cool-down backwards: pp - 1
    non-interleaved, 2 (pp - 1) + (vpp - 1) pp interleaved, one more for the combined schedule,
    Megatron-Core get_pipeline_parallel_schedule / Narayanan et al. SC21 Sec. 2.2) stay exposed."""
    if wl.moe is None:
        zero = np.zeros(np.broadcast_shapes(np.shape(dp), np.shape(mp.tp)))
        return ExpertParallelCost(zero, zero, zero)
    h = float(wl.hidden)
    a2a_bytes = 2.0 * tokens * wl.moe.top_k * wl.moe.capacity_factor * h / mp.tp
    stride = np.where(etp < mp.tp, 1.0, mp.tp * mp.cp)
    # the time and the bytes of its two tiers (0 over scale-out where the EP group sits in one domain)
    a2a, a2a_in, a2a_out = coll.ep_dispatch(hw, a2a_bytes, mp.ep, stride, cal.collective_bw_efficiency,
                                            cal.moe_dispatch_per_domain, float(wl.moe.num_experts), wl.moe.top_k,
                                            wl.moe.router_groups, wl.moe.router_group_topk)
    per_layer = ep_alltoalls_per_layer(mp, wl) * a2a
    unpaired = a2a_unpaired_share(wl, mp, cal, microbatches)
    per_layer = (1.0 - unpaired) * a2a_paired_exposed_s(hw, cal, per_layer, moe_layer_s) + unpaired * per_layer
    exposed = microbatches * layers_stage * moe_frac * per_layer
    passes = microbatches * layers_stage * moe_frac * ep_alltoalls_per_layer(mp, wl)
    return ExpertParallelCost(exposed, passes * a2a_in, passes * a2a_out)


def a2a_paired_exposed_s(hw: HardwareArrays, cal: Calibration, a2a_s: np.ndarray,
                         compute_s: np.ndarray | float) -> np.ndarray:
    """Time a MoE layer's ``a2a_s`` of all-to-alls add beside ``compute_s`` of another micro-batch's compute
    under the combined-1F1B overlap, s: the excess no compute hides, plus the compute's slowdown while both
    run, the share ``cal.moe_a2a_overlap_sms / hw.compute_units`` (<= 1) of the units the dispatch / combine
    kernels hold, times the shorter of the two: :func:`~archsweep.model.training.overlap.overlapped_exposed_s`
    (the rule of the overlapped data-parallel collectives) with that share as its interference. Megatron-Bridge
    @fcbb6031 / @0fbfe7d3 scripts/performance/utils/overrides.py L72-75 / L68-71 give HybridEP 32 SMs ("TODO: This needs to be
    adjusted when overlapping HybridEP with computation"); the kernels hold them for the whole dispatch /
    combine (deepseek-ai/DeepEP hybrid-ep: persistent blocks, one per SM). 0 SMs: perfect overlap."""
    units = np.asarray(hw.compute_units, dtype=np.float64)
    share = np.where(units > 0.0, np.minimum(cal.moe_a2a_overlap_sms / np.where(units > 0.0, units, 1.0), 1.0), 0.0)
    return overlapped_exposed_s(a2a_s, np.asarray(compute_s, dtype=np.float64), share)


def ep_alltoalls_per_layer(mp: MappingArrays, wl: Workload | None = None) -> np.ndarray:
    """EP all-to-alls per MoE layer and micro-batch: dispatch + combine forward and backward (4), and the
    forward's two again where the layer is recomputed in full. Megatron-Core's full recompute checkpoints
    whole transformer layers (NVIDIA/Megatron-LM @d98e8a64dd megatron/core/recompute.py
    ``checkpointed_forward``: ``custom_forward`` calls each ``layer(...)``, run again in the backward by
    ``tensor_parallel.checkpoint`` / ``te_checkpoint``), and a MoE layer's forward is router, token
    dispatcher (dispatch all-to-all), experts, combine all-to-all (transformer/moe/moe_layer.py), as the
    TP all-reduces of a recomputed layer are re-charged (:func:`tensor_parallel`). Selective recompute
    here never re-runs them because the one Megatron-Core module that would, 'moe' (the whole MoE layer,
    dispatch and combine included), is not modelled: archsweep's ``RECOMPUTE_MODULES`` rejects it.
    Modelling it would take 6 all-to-alls here, as full recompute, and no overlap
    (:func:`a2a_unpaired_share`). ``wl``: the job whose block recompute re-runs only a share of a stage's layers
    (:func:`~archsweep.model.training.recompute_share.full_recompute_share`; None: every layer)."""
    share = None if wl is None else partial_recompute_share(wl, mp)
    return 4.0 + (np.where(mp.recompute == 2, 2.0, 0.0) if share is None else 2.0 * share)


def a2a_unpaired_share(wl: Workload, mp: MappingArrays, cal: Calibration, microbatches: np.ndarray) -> np.ndarray:
    """Share of a step's MoE all-to-alls that no other micro-batch's compute can hide: 1 where the
    combined-1F1B overlap does not pair (:func:`a2a_overlap_pairs`: the job's ``moe_a2a_overlap`` off, the
    default; the stack's ``cal.moe_a2a_overlap`` 0; ep = 1; a non-interleaved pipeline; or full recompute);
    else the schedule's warm-up + 1 chunk passes over all ``microbatches * vpp`` (see
    :func:`expert_parallel`; pp = 1: one unpaired pass, the first forward of
    ``combined_1f1b_schedule_for_no_pipelining``). Which mappings Megatron-Core accepts the overlap for, with
    its sources: :func:`a2a_overlap_pairs`; why selective recompute keeps it: :func:`ep_alltoalls_per_layer`."""
    warmup = np.where(mp.vpp > 1, 2.0 * (mp.pp - 1) + (mp.vpp - 1) * mp.pp, mp.pp - 1) + 1.0
    share = np.minimum(warmup / np.maximum(microbatches * mp.vpp, 1.0), 1.0)
    return np.where(a2a_overlap_pairs(wl, mp, cal), share, 1.0)


def a2a_overlap_pairs(wl: Workload, mp: MappingArrays, cal: Calibration) -> np.ndarray:
    """Where the combined-1F1B EP all-to-all overlap pairs the forward of one micro-batch with the backward
    of another: a MoE job that asks for it (``wl.training.moe_a2a_overlap``: Megatron-Core
    ``overlap_moe_expert_parallel_comm``, off by default) on a stack that offers it (``cal.moe_a2a_overlap``),
    on a mapping Megatron-Core accepts it for and runs the combined schedule on. The one predicate of the
    hidden all-to-alls, of the pruned search's bound (:mod:`archsweep.model.training.comm_bound`) and of
    the memory the pairing holds (:func:`archsweep.model.training.moe_overlap_memory.a2a_paired_in_flight`,
    :func:`~archsweep.model.training.moe_overlap_memory.delayed_wgrad_bytes`).

    NVIDIA/Megatron-LM @d98e8a6 megatron/core/transformer/transformer_config.py ``__post_init__`` (``if
    self.overlap_moe_expert_parallel_comm``) refuses it for pp > 1 without
    ``virtual_pipeline_model_parallel_size``, for ``expert_model_parallel_size`` 1, and with full recompute
    (``recompute_granularity != 'full'``, ``recompute_method`` / ``recompute_num_layers`` None, 'moe' not in
    ``recompute_modules``; selective recompute is allowed, its modules never include 'moe'): such a mapping
    keeps every all-to-all exposed and holds nothing extra. The schedules that remain
    (megatron/core/pipeline_parallel/schedules.py): ``forward_backward_no_pipelining`` calls
    ``combined_1f1b_schedule_for_no_pipelining`` (pp = 1) and ``forward_backward_pipelining_with_interleaving``
    calls ``combined_1f1b_schedule_for_interleaved_pipelining`` (pp > 1, vpp > 1), both when
    ``overlap_moe_expert_parallel_comm`` is set and the step is not forward-only."""
    if wl.moe is None:
        return np.zeros(np.shape(mp.pp), dtype=bool)
    scheduled = (mp.pp == 1) | (mp.vpp > 1)
    asked = bool(wl.training.moe_a2a_overlap) and cal.moe_a2a_overlap > 0
    return scheduled & (mp.ep > 1) & (mp.recompute != 2) & asked


@dataclass(frozen=True)
class PipelineCost:
    """Pipeline point-to-point of one step: exposed time (s), bytes per send, and whether the
    stages' neighbours sit across the scale-out network (bool array)."""

    exposed_s: np.ndarray
    send_bytes: np.ndarray
    crosses_scaleout: np.ndarray


def pipeline_p2p(hw: HardwareArrays, mp: MappingArrays, cal: Calibration, act_bytes: np.ndarray, dp: np.ndarray,
                 microbatches: np.ndarray) -> PipelineCost:
    """Activations forward and gradients backward between stages, once per micro-batch and virtual
    stage (``vpp x m`` chunk passes each way per device and step); the steady-state sends hide behind
    compute only in an interleaved schedule that overlaps them (:func:`pipeline_p2p_exposed_sends`),
    the warm-up's and cool-down's never do: ``p - 1`` with 1F1B, ``2 (p - 1) + (v - 1) p`` interleaved
    (:func:`~archsweep.model.training.schedule.unpaired_chunk_passes`). Each send also pays one
    NCCL kernel launch (``cal.kernel_overhead_s``) besides the link latency of
    :func:`~archsweep.model.collectives.p2p_time_s`: a fixed cost per chunk pass, so the exposed time
    grows with ``vpp``. The pruned search's communication bound leaves the launch out (a
    non-negative term: the bound stays a bound)."""
    p2p_bytes = act_bytes / np.where(mp.sequence_parallel > 0, mp.tp, 1.0)
    crosses = mp.tp * mp.cp * dp >= hw.scaleup_domain_size
    p2p = coll.p2p_time_s(hw, p2p_bytes, crosses, cal.collective_bw_efficiency) + cal.kernel_overhead_s
    exposed = np.where(mp.pp > 1, 2.0 * p2p * pipeline_p2p_exposed_sends(mp, cal, microbatches), 0.0)
    return PipelineCost(exposed, p2p_bytes, crosses)


def pipeline_p2p_exposed_sends(mp: MappingArrays, cal: Calibration, microbatches: np.ndarray) -> np.ndarray:
    """Sends each way per device and step whose time is on the critical path (see :func:`pipeline_p2p`).

    The schedule's own accounting (NVIDIA/Megatron-LM @d98e8a6 megatron/core/pipeline_parallel/):
    1F1B (``vpp`` 1) waits on every transfer before the next compute: ``schedules.py``
    ``forward_backward_pipelining_without_interleaving`` calls the blocking
    ``send_forward_recv_backward`` / ``send_backward_recv_forward`` after each forward / backward and
    raises on ``overlap_p2p_comm`` (l. 2181), ``arguments.py`` forces it off without interleaving
    (l. 1010-1012): all ``m`` steady-state passes exposed, plus the ``p - 1`` of the fill. The
    interleaved schedule with ``overlap_p2p_comm`` (``forward_backward_pipelining_with_interleaving``
    l. 1731-1899: ``pp_post_forward`` posts ``send_forward_recv_forward(..., overlap_p2p_comm=True)``
    and ``pp_pre_forward`` waits on that receive only before the *next* forward, one backward chunk
    later; the same for gradients) hides the steady-state sends behind the other direction's chunk;
    its warm-up and cool-down sends stay blocking (``overlap_p2p_comm_warmup_flush`` defaults to
    False: l. 1633-1657, 2053): the ``unpaired`` passes. ``cal.pipeline_p2p_overlap`` is the share of
    steady-state sends a stack hides *when it interleaves*: 0.5 for Megatron-Core / NeMo /
    Megatron-Bridge, which set ``overlap_p2p_comm`` whenever vpp > 1 and, with
    ``deallocate_pipeline_outputs``, wait on each activation send at once (l. 1811-1815) while the
    gradient send runs under the next chunk; 0 for the synchronous 2021-22 code."""
    unpaired = unpaired_chunk_passes(microbatches, mp.pp, mp.vpp)
    hidden = np.where(mp.vpp > 1, cal.pipeline_p2p_overlap, 0.0)
    return mp.vpp * microbatches * (1 - hidden) + unpaired
