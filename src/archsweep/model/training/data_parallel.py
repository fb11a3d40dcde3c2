"""Data parallelism and the optimizer of one training step: gradient reduction, ZeRO / FSDP weight
gathers, and the HBM-bound optimizer update (seconds per step, bytes per step)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from archsweep.model import collectives as coll
from archsweep.model.hbm_pass import hbm_pass_s
from archsweep.model.training.fsdp_passes import fsdp_pass_bytes
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.memory import first_stage_layers, split_stage_slots
from archsweep.model.training.overlap import overlapped_exposed_s
from archsweep.model.training.schedule import microbatch_group
from archsweep.model.training.state_memory import stage_parameters
from archsweep.model.training.zero3_regather import zero3_regather_share
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["DataParallelCost", "SyncBytes", "SyncGroup", "ZeroCollectives", "chunked_sync_exposed_s",
           "chunked_sync_window", "data_parallel", "dp_link_shares", "expert_shard_group", "flat_gather_stride",
           "local_state_params", "optimizer_time_s", "overlapped_exposed_s", "reduced_grad_bytes", "ring_link_shares",
           "synced_stage_parameters", "zero_collectives"]


@dataclass(frozen=True)
class SyncGroup:
    """One data-parallel group of the synced stage as :func:`data_parallel` prices its step sync: the parameters per
    accelerator whose gradients it reduces, its placement (:func:`~archsweep.model.collectives.tiers`) and the
    stride its ranks sit at (what :func:`dp_link_shares` places the link bytes by, for link energy)."""

    params: np.ndarray
    tiers: coll.Tiers
    stride: np.ndarray


@dataclass(frozen=True)
class DataParallelCost:
    """What data parallelism costs one step.

    Attributes:
        exposed_s: gradient reduction / ZeRO gathers left on the critical path, s.
        local_params: trainable-state parameters this accelerator updates (sharded with ZeRO >= 1).
        groups: the dense group's :class:`SyncGroup`, then the expert group's (a model with experts): what the
            bytes sent per step on each fabric are counted from (:func:`dp_link_shares`, :func:`reduced_grad_bytes`;
            link energy), only where the work counts are wanted.
    """

    exposed_s: np.ndarray
    local_params: np.ndarray
    groups: tuple[SyncGroup, ...]


@dataclass(frozen=True)
class SyncBytes:
    """Bytes one accelerator sends in one step's data-parallel collectives, by the fabric they run on (link energy)."""

    scaleup: np.ndarray
    scaleout: np.ndarray


@dataclass(frozen=True)
class ZeroCollectives:
    """The data-parallel collectives of one step over one group's buffer, by ZeRO stage (Rajbhandari et al., SC20,
    Sec. 5): how many of each per step and per micro-batch. :func:`data_parallel` prices them in time and
    :func:`reduced_grad_bytes` counts their bytes, both from this one description (:func:`zero_collectives`).

    Attributes:
        allreduce: gradient all-reduces per step (ZeRO-0: 1).
        reduce_scatter: gradient reduce-scatters per step (ZeRO-1: 1, of the accumulated gradients).
        gather: all-gathers of the updated weights per step (ZeRO 1-2: 1, after the optimizer step).
        reduce_scatter_per_microbatch: gradient reduce-scatters per micro-batch (ZeRO 2-3: 1; only a gradient
            shard is kept).
        gather_per_microbatch: weight all-gathers per micro-batch (ZeRO-3: 2, before the forward and again before
            the backward; their time is priced layer by layer, :func:`_zero3_exposed_s`).
    """

    allreduce: np.ndarray
    reduce_scatter: np.ndarray
    gather: np.ndarray
    reduce_scatter_per_microbatch: np.ndarray
    gather_per_microbatch: np.ndarray


def zero_collectives(zero_stage: np.ndarray, layer_wise: bool = False) -> ZeroCollectives:
    """:class:`ZeroCollectives` of each mapping's ZeRO stage (0 .. 3; 3 is ZeRO-3 / FSDP). ``layer_wise``: stage 1 is
    Megatron-Core's layer-wise distributed optimizer (Muon's, ``TrainingJob.optimizer`` "muon"; NVIDIA/Megatron-LM
    @55ac708 megatron/core/optimizer/layer_wise_optimizer.py): the DDP buffer all-reduces the gradients ("each rank
    have full model and grad") and the updated weights are all-gathered after the step, instead of a reduce-scatter
    and the all-gather."""
    z = np.asarray(zero_stage)
    one = np.ones(z.shape)
    reduced_whole = (z == 0) | ((z == 1) & layer_wise)  # ZeRO 2-3 are not Muon's (TrainingJob.max_zero_stage)
    return ZeroCollectives(allreduce=np.where(reduced_whole, one, 0.0),
                           reduce_scatter=np.where((z == 1) & ~reduced_whole, one, 0.0),
                           gather=np.where((z == 1) | (z == 2), one, 0.0),
                           reduce_scatter_per_microbatch=np.where(z >= 2, one, 0.0),
                           gather_per_microbatch=np.where(z >= 3, 2.0 * one, 0.0))


def synced_stage_parameters(wl: Workload, mp: MappingArrays, etp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dense, expert) parameters per accelerator of the pipeline stage whose gradient sync and optimizer step
    bind the step: the stage holding the most (:func:`~archsweep.model.training.state_memory.stage_parameters`).

    Without the job's embedding / loss split every stage holds ceil(L / pp) layers in the model and the first
    one the embedding besides (the last one the output layer, as large untied, the embedding's copy tied). With
    it (``TrainingJob.embedding_loss_in_pipeline_split``; Megatron-Core ``get_num_layers_to_build``,
    NVIDIA/Megatron-LM @b0cc2706dd megatron/core/transformer/transformer_block.py) every stage has (L + 2) / pp
    slots: the first and the last build one layer fewer beside the embedding / the output layer
    (:func:`~archsweep.model.training.memory.first_stage_layers`), a middle stage (pp >= 3) all its slots and no
    vocabulary matrix; the larger of the two (by parameters per accelerator) is taken."""
    if not wl.training.embedding_loss_in_pipeline_split:
        return stage_parameters(wl, mp, etp)
    first_d, first_e = stage_parameters(wl, mp, etp, first_stage_layers(wl, mp))
    mid_d, mid_e = stage_parameters(wl, mp, etp, split_stage_slots(wl, mp))
    mid_d = mid_d - wl.vocab * wl.hidden / mp.tp  # a middle stage holds no embedding
    middle = (mp.pp >= 3) & (mid_d + mid_e > first_d + first_e)
    return np.where(middle, mid_d, first_d), np.where(middle, mid_e, first_e)


def expert_shard_group(mp: MappingArrays, dp_group: np.ndarray, etp: np.ndarray) -> np.ndarray:
    """Ranks that hold one expert shard's replicas (its gradient sync and ZeRO shard group): the dense group
    ``dp_group`` (dp x cp) x tp over the expert layout ``ep x etp``, at least 1."""
    return np.maximum(dp_group * mp.tp / (mp.ep * etp), 1.0)


def local_state_params(mp: MappingArrays, dense_p: np.ndarray, expert_p: np.ndarray, dp_group: np.ndarray,
                       etp: np.ndarray) -> np.ndarray:
    """Parameters whose optimizer state one accelerator updates, of a stage holding ``dense_p`` / ``expert_p``
    per accelerator: sharded over ``dp_group`` (dense) and :func:`expert_shard_group` (experts) with ZeRO >= 1,
    all of them without (the time side's ``optimizer_time_s`` and the energy side's work counts share it)."""
    expert_group = expert_shard_group(mp, dp_group, etp)
    return np.where(mp.zero_stage >= 1, dense_p / dp_group + expert_p / expert_group, dense_p + expert_p)


def ring_link_shares(t: coll.Tiers) -> tuple[np.ndarray, np.ndarray]:
    """(scale-up, scale-out) bytes one rank sends per byte of its buffer in one reduce-scatter or all-gather over the
    group ``t`` (:func:`~archsweep.model.collectives.tiers`), placed as the time model runs it
    (:func:`~archsweep.model.collectives.sharded_on`: a ring over the ``n_in`` members of a scale-up domain on the
    whole buffer, then a ring over the ``n_out`` domains on ``1 / n_in`` of it): ``(n_in - 1) / n_in`` and
    ``(n_out - 1) / (n_out n_in)``, the ring's ``(n - 1) / n`` of NCCL's bus bandwidth (NVIDIA/nccl-tests @dcf8189
    doc/PERFORMANCE.md, "ReduceScatter", "AllGather"; an all-reduce twice that, "AllReduce": ``2 (n - 1) / n``). 0
    and 0 for a group of one."""
    return _ring_shares(t.n_in, t.n_out)


def _ring_shares(n_in: np.ndarray, n_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ring_link_shares` of a group placed as ``n_in`` members in each of ``n_out`` domains."""
    return (n_in - 1.0) / n_in, (n_out - 1.0) / (n_out * n_in)


def dp_link_shares(hw: HardwareArrays, mp: MappingArrays, cal: Calibration,
                   groups: Sequence[SyncGroup]) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(scale-up, scale-out) bytes per buffer byte (:func:`ring_link_shares`) of each of :func:`data_parallel`'s
    ``groups``, placed as it prices their collectives; ZeRO-3 with flat gathers (``sharded_gather_flat``) at a
    domain's stride (:func:`flat_gather_stride`, as :func:`_zero3_exposed_s` places them). Only the work counts
    (link energy) read them; the pruned search's ranking steps never compute them."""
    flat3 = cal.sharded_gather_flat > 0 and bool(np.any(mp.zero_stage >= 3))
    shares = []
    for g in groups:
        up, out = ring_link_shares(g.tiers)
        if flat3:
            domain = hw.scaleup_domain_size
            flat = _ring_shares(*coll.group_split(g.tiers.n, flat_gather_stride(True, g.tiers.n, g.stride, domain),
                                                  domain))
            up, out = (np.where(mp.zero_stage >= 3, f, s) for f, s in zip(flat, (up, out)))
        shares.append((up, out))
    return tuple(shares)


def reduced_grad_bytes(mp: MappingArrays, cal: Calibration, params: Sequence[np.ndarray], trainable_scale: float,
                       microbatches: np.ndarray, dp_group: np.ndarray,
                       shares: Sequence[tuple[np.ndarray, np.ndarray]], regather: np.ndarray | float = 0.0,
                       layer_wise: bool = False) -> SyncBytes:
    """Bytes one accelerator of a stage holding ``params`` parameters per group (dense, then experts) sends in that
    stage's data-parallel collectives of one step, as :func:`data_parallel` prices them (:func:`zero_collectives`),
    on each fabric: ``shares`` each group's :func:`dp_link_shares` (the groups past ``shares`` send nothing). An
    all-reduce sends twice a reduce-scatter's bytes; reduce-scatters send gradients
    (:meth:`~archsweep.spec.calibration.Calibration.dp_reduce_bytes_per_param`), all-gathers weights (ZeRO 1-2's after-step gather at
    ``Calibration.dp_gather_bytes_per_param``, ZeRO-3's at ``weight_bytes_per_param``). LoRA: the adapters' share
    (``trainable_scale``) of the gradients and of the gathered weights. ``regather``: further ZeRO-3 gathers per
    micro-batch of the first (dense) group's weights (:func:`~archsweep.model.training.zero3_regather.zero3_regather_share`).
    ``layer_wise``: Muon's layer-wise distributed optimizer (:func:`zero_collectives`). 0 where the group is one rank."""
    c = zero_collectives(mp.zero_stage, layer_wise)
    total_up: np.ndarray | float = 0.0
    total_out: np.ndarray | float = 0.0
    for i, (p, (up, out)) in enumerate(zip(params, shares)):
        grad = p * trainable_scale * cal.dp_reduce_bytes_per_param()
        weights = p * trainable_scale * cal.weight_bytes_per_param
        gathered = p * trainable_scale * cal.dp_gather_bytes_per_param()
        per_step = 2.0 * c.allreduce * grad + c.reduce_scatter * grad + c.gather * gathered
        gathers = c.gather_per_microbatch + (regather if i == 0 else 0.0)
        sent = per_step + microbatches * (c.reduce_scatter_per_microbatch * grad + gathers * weights)
        total_up, total_out = total_up + sent * up, total_out + sent * out
    live = dp_group > 1
    return SyncBytes(scaleup=np.where(live, total_up, 0.0), scaleout=np.where(live, total_out, 0.0))


def data_parallel(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration, dp: np.ndarray,
                  etp: np.ndarray, microbatches: np.ndarray, layers_stage: np.ndarray, t_layer_f: np.ndarray,
                  t_layer_b: np.ndarray, t_layer_rc: np.ndarray, t_b: np.ndarray) -> DataParallelCost:
    """Gradient reduction (+ parameter all-gather with a sharded optimizer) of one step.

    ZeRO-0: one all-reduce per step. ZeRO-1 (distributed optimizer): reduce-scatter of the
    accumulated gradients + all-gather of the updated weights, once per step. ZeRO-2/3 keep only
    a gradient shard, so every micro-batch's gradients are reduce-scattered (Rajbhandari et al.,
    SC20, Sec. 5.2), each overlapping that micro-batch's backward; ZeRO-3 needs no all-gather
    after the update (weights are gathered on use, below). LoRA: only the adapters (their share
    of the weights) are reduced and updated. With ``wl.training.param_gather_overlap`` off, the
    ZeRO 1-2 all-gather leaves the overlapped sync and is added in full: the exposed sync functions
    rise by at most their argument's rise, so the step never shortens. A Muon job's ZeRO-1 is the layer-wise
    distributed optimizer: an all-reduce of the gradients and the all-gather (:func:`zero_collectives`)."""
    eff = cal.collective_bw_efficiency
    dense_p, expert_p = synced_stage_parameters(wl, mp, etp)
    trainable_scale = wl.trainable_params / wl.total_params
    dp_group = dp * mp.cp
    stride = mp.tp
    gbytes = cal.dp_reduce_bytes_per_param()
    dense_grad = dense_p * trainable_scale * gbytes
    expert_grad = expert_p * trainable_scale * gbytes
    expert_group = expert_shard_group(mp, dp_group, etp)
    z = mp.zero_stage
    per_microbatch = np.where(z >= 2, microbatches, 1.0)

    # The weight all-gather after the update of ZeRO 1-2: part of the overlapped sync, or (the job's
    # ``param_gather_overlap`` off: Megatron-Core with overlap_param_gather=False gathers synchronously
    # after the optimizer step) exposed in full beside it.
    gather_serial = not wl.training.param_gather_overlap

    c = zero_collectives(z, wl.training.optimizer == "muon")
    groups: list[SyncGroup] = []

    def _sync(grad_bytes: np.ndarray, param_count: np.ndarray, group: np.ndarray,
              grp_stride: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the step's sync of one group's buffer, s, as :class:`ZeroCollectives` counts it; the ZeRO 1-2 weight
        all-gather left out of the overlapped sync, s: all of it with ``param_gather_overlap`` off, else 0)."""
        on = coll.tiers(hw, group, grp_stride, eff)  # one group: its placement and bandwidths once
        rs = coll.sharded_on(hw, grad_bytes, on)  # reduce-scatter
        ag = coll.sharded_on(hw, param_count * trainable_scale * cal.dp_gather_bytes_per_param(), on)  # all-gather
        ar = coll.allreduce_on(hw, grad_bytes, on)
        ag_over = np.zeros_like(ag) if gather_serial else ag
        # ZeRO-3's per-micro-batch gathers are priced layer by layer (_zero3_exposed_s), not here.
        sync = (c.allreduce * ar + c.reduce_scatter * rs + c.gather * ag_over
                + microbatches * (c.reduce_scatter_per_microbatch * rs))
        groups.append(SyncGroup(params=param_count, tiers=on, stride=grp_stride))
        return sync, c.gather * (ag - ag_over)

    grad_sync, gather_exposed = _sync(dense_grad, dense_p, dp_group, stride)
    if wl.moe is not None:
        e_sync, e_gather = _sync(expert_grad, expert_p, expert_group, etp * mp.ep)
        grad_sync, gather_exposed = grad_sync + e_sync, gather_exposed + e_gather
    zero3 = _zero3_exposed_s(hw, wl, mp, cal, dp_group, expert_group, etp, dense_p, expert_p, dense_grad, expert_grad,
                             microbatches, layers_stage, t_layer_f, t_layer_b + t_layer_rc)
    overlap_window = np.where(mp.dp_overlap > 0, cal.dp_overlap_fraction * t_b * per_microbatch, 0.0)
    # ZeRO 0-1: one sync per step, issued per model chunk (:func:`chunked_sync_exposed_s`; v = 1: the
    # window above). ZeRO-2 reduce-scatters every micro-batch under its own backward.
    chunk_b = np.where(mp.dp_overlap > 0, cal.dp_overlap_fraction * t_b, 0.0)
    once = chunked_sync_exposed_s(grad_sync, chunk_b, microbatches, mp.pp, mp.vpp, cal.overlap_interference)
    # ZeRO-3's per-micro-batch reduce-scatter is charged per layer by _zero3_exposed_s.
    grad_exposed = np.select([z >= 3, z == 2], [0.0, overlapped_exposed_s(grad_sync, overlap_window,
                                                                          cal.overlap_interference)], once)
    passes = hbm_pass_s(hw, cal, fsdp_pass_bytes(cal, dense_p + expert_p, dp_group, microbatches,
                                                 trainable_scale, z))  # FSDP's casts and copies (s19-J)
    exposed = np.where(dp_group > 1, grad_exposed + gather_exposed, 0.0) + zero3 + passes
    return DataParallelCost(exposed, local_state_params(mp, dense_p, expert_p, dp_group, etp), tuple(groups))


def _zero3_exposed_s(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration, dp_group: np.ndarray,
                     expert_group: np.ndarray, etp: np.ndarray, dense_p: np.ndarray, expert_p: np.ndarray,
                     dense_grad: np.ndarray, expert_grad: np.ndarray, microbatches: np.ndarray,
                     layers_stage: np.ndarray, fwd_c: np.ndarray, bwd_c: np.ndarray) -> np.ndarray:
    """ZeRO-3 / FSDP: every layer's weights are all-gathered before its forward and again before
    its backward (a recomputed layer reuses the backward gather, but for the weights DeepSpeed's release rule
    frees in between: :func:`~archsweep.model.training.zero3_regather.zero3_regather_share`), the gather of layer i+1
    prefetched while layer i computes (Rajbhandari et al., SC20, Sec. 5.3; PyTorch FSDP, Zhao et
    al., VLDB 2023, Sec. 3.3 "backward/forward prefetch"); the gradient reduce-scatter of a layer
    runs beside the next layer's backward. Per layer and pass the stage takes max(compute,
    communication): a layer too short to hide its gather exposes the difference, and the first
    layer's gather of each pass is never hidden. Monotone: faster compute or faster links never
    lengthen the step. ``fwd_c``/``bwd_c``: one layer's forward / backward (+ recompute) time.

    With ``dp_overlap`` off the gathers and reduce-scatters run on the compute stream, one after
    the other with the layers (interference 1: every byte exposed): DeepSpeed ZeRO-3 with
    ``zero_optimization.overlap_comm: false`` issues its parameter all-gathers on
    ``default_stream()`` (deepspeed/runtime/zero/parameter_offload.py, DeepSpeedZeRoOffload:
    ``__allgather_stream = Stream() if overlap_comm else default_stream()``) and its gradient
    reduce-scatters likewise (deepspeed/runtime/zero/stage3.py, ``reduce_and_partition_stream``)."""
    eff = cal.collective_bw_efficiency
    stride = mp.tp
    g_stride = flat_gather_stride(cal.sharded_gather_flat > 0, dp_group, stride, hw.scaleup_domain_size)
    per_layer = 1.0 / np.maximum(layers_stage, 1.0)
    wbytes = cal.weight_bytes_per_param
    on = coll.tiers(hw, dp_group, g_stride, eff)  # the gather and the reduce-scatter share the group
    gather_l = coll.sharded_on(hw, dense_p * per_layer * wbytes, on)
    rs_l = coll.sharded_on(hw, dense_grad * per_layer, on)
    regather_l: np.ndarray | float = 0.0  # the dense weights gathered again before the backward (DeepSpeed's rule)
    if cal.zero3_max_reuse_distance_params > 0:
        regather_l = zero3_regather_share(wl, mp, cal) * gather_l
    if wl.moe is not None:
        eg_stride = flat_gather_stride(cal.sharded_gather_flat > 0, expert_group, etp * mp.ep, hw.scaleup_domain_size)
        e_on = coll.tiers(hw, expert_group, eg_stride, eff)
        gather_l = gather_l + coll.sharded_on(hw, expert_p * per_layer * wbytes, e_on)
        rs_l = rs_l + coll.sharded_on(hw, expert_grad * per_layer, e_on)
    overlap = mp.dp_overlap > 0
    kappa = np.where(overlap, cal.overlap_interference, 1.0)  # off: serial with the compute
    exposed_layer = (overlapped_exposed_s(gather_l, fwd_c, kappa)
                     + overlapped_exposed_s(gather_l + regather_l + rs_l, bwd_c, kappa))
    first = np.where(overlap, 2.0 * gather_l, 0.0)  # serial: the first layers' gathers are in exposed_layer already
    return np.where((mp.zero_stage >= 3) & (dp_group > 1),
                    microbatches * (layers_stage * exposed_layer + first), 0.0)


def flat_gather_stride(flat: bool | np.ndarray, group: np.ndarray, stride: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """Stride at which a ZeRO-3 gather / reduce-scatter group is placed for the collective model.

    Flat (``sharded_gather_flat``, DeepSpeed ZeRO-3: one ring over all ranks, every rank moving the
    whole message over its own NIC, ZeRO++ Sec. 3) is modelled as a stride of at least one domain,
    so that every member sits in its own domain; but only for a group that spans more than one
    scale-up domain: a group that fits in one domain (``group x stride <= domain``, Megatron order)
    has no scale-out hop and runs on the scale-up fabric."""
    spans = np.asarray(group) * np.asarray(stride) > np.asarray(domain)
    return np.where(np.asarray(flat) & spans, np.maximum(stride, domain), stride)


def chunked_sync_window(microbatches: np.ndarray, pp: np.ndarray, vpp: np.ndarray) -> np.ndarray:
    """Backward passes, in units of one micro-batch's stage backward, that a once-per-step DP sync
    issued chunk by chunk can run beside: ``((v - 1) G + 1) / v``, ``G`` the last micro-batch group
    of the interleaved schedule, :func:`~archsweep.model.training.schedule.microbatch_group` ``N``
    (``p`` where p divides m, else ``m``: one group).

    Megatron-Core's interleaved schedule (``forward_backward_pipelining_with_interleaving``,
    NVIDIA/Megatron-LM @d98e8a64dd megatron/core/pipeline_parallel/schedules.py): ``get_schedule_table``
    (L989-1016) orders the virtual micro-batches group by group, within a group chunk 0 for its
    micro-batches, then chunk 1, ...; the last group runs from its first micro-batch to m - 1; the backward
    walks the same table with the chunk reversed (``get_model_chunk_id(..., forward=False)``, L1244-1249).
    ``backward_step_helper_postprocess`` (L1438-1456) calls ``config.grad_sync_func[chunk]`` (NeMo's Apex
    ``distributed_fused_adam`` / Megatron-Core's DDP ``start_grad_sync`` with ``overlap_grad_reduce``) as soon
    as micro-batch m - 1 of a chunk has run its backward (``is_last_microbatch_for_model_chunk``, L1278-1283;
    rank r launches it r virtual micro-batches later, so that all ranks of the pipeline launch together); the
    chunks still unsynced are launched at the end of the step (L2063-2069). So the first chunk to be synced
    is final after the last group's ``G`` backward passes of it, ``(v - 1) G`` chunk backward passes before
    the end of the step's backward (plus its own pass, which its buckets overlap, as with v = 1); G =
    ``min(m, p)`` only where p divides m (checked against that table, tests/model/test_chunked_dp_sync.py).
    1 for v = 1 or no pipeline (the one-micro-batch window of PyTorch DDP bucketing, Li et al. VLDB 2020).
    Never above ``m`` (``G <= m``); not monotone in m where p does not divide m (m 9 p 8: one group of 9;
    m 16: two of 8), as the schedule is."""
    return _window(microbatches, pp, _chunks(pp, vpp))


def _chunks(pp: np.ndarray, vpp: np.ndarray) -> np.ndarray:
    """Model chunks per pipeline rank: ``vpp`` (at least 1) with a pipeline, 1 without."""
    return np.where(np.asarray(pp, dtype=float) > 1, np.maximum(np.asarray(vpp, dtype=float), 1.0), 1.0)


def _window(microbatches: np.ndarray, pp: np.ndarray, v: np.ndarray) -> np.ndarray:
    """:func:`chunked_sync_window` for ``v`` chunks (:func:`_chunks`)."""
    return ((v - 1.0) * microbatch_group(microbatches, pp) + 1.0) / v


def chunked_sync_exposed_s(sync_s: np.ndarray, chunk_backward_s: np.ndarray, microbatches: np.ndarray,
                           pp: np.ndarray, vpp: np.ndarray, interference: float) -> np.ndarray:
    """Exposed time of a once-per-step DP sync (all-reduce, or reduce-scatter + all-gather) of
    ``sync_s`` issued per model chunk (v chunks of equal size) as each chunk's gradients are final.

    ``chunk_backward_s``: the overlappable backward of one micro-batch over the whole stage
    (fraction x t_b), so one chunk pass is that / v. Chunk ``j`` (j = 1..v) is ready ``(j - 1) G``
    chunk passes after the first, the network takes them in turn (``sync / v`` each), the step's
    compute ends ``W = ((v - 1) G + 1)`` chunk passes after the first chunk's pass began
    (:func:`chunked_sync_window`). The last sync finishes at ``max(sync, (v - 1) G c + sync / v)``,
    so ``E0 = max(sync - W, sync / v - c, 0)`` is left after the compute, and the overlapped rest
    slows that compute by ``interference x (sync - E0)`` (:func:`overlapped_exposed_s`; 1 = serial:
    the whole sync). v = 1 gives :func:`overlapped_exposed_s` of the one-micro-batch window exactly. Non-negative, non-decreasing in
    ``sync_s``, non-increasing in v (and in m and p while p divides m: G follows the schedule's group); the step (which holds ``m`` backward passes) never shortens when compute slows."""
    v = _chunks(pp, vpp)
    window = chunk_backward_s * _window(microbatches, pp, v)
    left = np.maximum(np.maximum(sync_s - window, (sync_s - chunk_backward_s) / v), 0.0)
    return left + interference * (sync_s - left)


def optimizer_time_s(hw: HardwareArrays, wl: Workload, cal: Calibration, local_params: np.ndarray) -> np.ndarray:
    """HBM-bound Adam over the local (possibly sharded) trainable state: ``optimizer_bytes_per_param``
    read and written per trainable parameter at the achievable HBM bandwidth."""
    trainable_scale = wl.trainable_params / wl.total_params
    return hbm_pass_s(hw, cal, local_params * trainable_scale * cal.optimizer_bytes_per_param)
