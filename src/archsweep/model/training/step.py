"""Training step time of one mapping on one hardware design: the combining rule in one place.

    step = m * (t_f + t_b + t_rc)                      compute of all micro-batches (per stage)
         + bubble                                      pipeline bubble (_bubble): 1F1B the other stages' work,
                                                        interleaved the first pp - 1 model chunks' (m >= pp)
         + exposed TP + CP + EP communication           per layer, on the critical path (TP: with
                                                        the LoRA adapters' own collectives)
         + exposed PP point-to-point                    activations between stages
         + exposed DP gradient reduction / ZeRO gathers after what overlaps with backward
         + optimizer step                               HBM-bound Adam update
         + m * exposed activation offload copies        host-link copy longer than the layer (offload.py)

``t_f``/``t_b`` are one stage's forward/backward time for one micro-batch (the slowest stage:
ceil(L/pp) layers, plus the output layer when it shares the stage), ``m = B / (dp * mb)``.
All inputs broadcast; every output has the broadcast shape. Infeasible mappings are flagged,
never raised.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from archsweep.model.gemm import scalar_part_physics
from archsweep.model.training.activation_memory import layer_activation_bytes
from archsweep.model.training.communication import (
    expert_parallel,
    lora_tensor_parallel_s,
    pipeline_p2p,
    tensor_parallel,
)
from archsweep.model.training.cp_collectives import cp_exposed_s
from archsweep.model.training.data_parallel import data_parallel, optimizer_time_s
from archsweep.model.training.flops import model_flops_per_token
from archsweep.model.training.layout_stage import layer_recompute_s, layout_bubble, layout_stage, mtp_block_costs
from archsweep.model.training.mapping import (
    MappingArrays,
    data_parallel_degree,
    expert_tensor_parallel,
    microbatch_count,
)
from archsweep.model.training.memory import (
    MemoryBreakdown,
    first_stage_layers,
    memory_per_accelerator,
    split_stage_slots,
    usable_hbm_bytes,
)
from archsweep.model.training.newton_schulz import muon_stage_allowed, newton_schulz_step
from archsweep.model.training.offload import OffloadCost, activation_offload
from archsweep.model.training.recompute_share import partial_recompute_share
from archsweep.model.training.schedule import interleaving_allowed, pipeline_bubble_slots
from archsweep.model.training.work_counts import NO_WORK, DeviceWork, split_busiest_stage, step_link_bytes, step_work
from archsweep.model.transformer import LAYER_MAPPING_FIELDS, LayerCosts, layer_costs
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

_MAPPING_NAMES = tuple(f.name for f in fields(MappingArrays))

__all__ = ["StageCompute", "StepResult", "stage_compute", "stage_offload", "take_stage", "training_step",
           "model_flops_per_token"]


@dataclass(frozen=True)
class StepResult:
    """Step time, its breakdown, work counts and constraint values (arrays, SI): ``matrix_flops`` .. ``scaleout_bytes``
    the average device's work (the job's over its devices), ``busiest`` the busiest stage's (work_counts.py)."""

    step_time_s: np.ndarray
    compute_time_s: np.ndarray
    recompute_time_s: np.ndarray
    bubble_time_s: np.ndarray
    tp_comm_exposed_s: np.ndarray
    cp_comm_exposed_s: np.ndarray
    ep_comm_exposed_s: np.ndarray
    pp_comm_exposed_s: np.ndarray
    dp_comm_exposed_s: np.ndarray
    optimizer_time_s: np.ndarray
    offload_exposed_s: np.ndarray
    dp: np.ndarray
    microbatches: np.ndarray
    memory: MemoryBreakdown
    matrix_flops: np.ndarray
    hbm_bytes: np.ndarray
    scaleup_bytes: np.ndarray
    scaleout_bytes: np.ndarray
    valid: np.ndarray
    memory_violation: np.ndarray
    busiest: DeviceWork


@dataclass(frozen=True)
class StageCompute:
    """The compute side of a step (:func:`stage_compute`): per-layer and per-stage times of one
    micro-batch, the step's ``compute``, ``recompute`` and ``bubble`` terms (arrays, SI), and the dense / MoE / MTP
    layers and output layers of the stage with the most work (work_counts.py)."""

    dp: np.ndarray
    microbatches: np.ndarray
    etp: np.ndarray
    valid: np.ndarray
    lc: LayerCosts
    layers_stage: np.ndarray
    moe_frac: float
    t_layer_f: np.ndarray
    t_layer_b: np.ndarray
    t_layer_rc: np.ndarray
    t_b: np.ndarray
    compute: np.ndarray
    recompute: np.ndarray
    bubble: np.ndarray
    busiest_dense: np.ndarray | float
    busiest_moe: np.ndarray | float
    busiest_mtp: np.ndarray | float
    busiest_output: np.ndarray | float


def stage_compute(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration,
                  fixed_dp: float | None = None,
                  layer_classes: tuple[np.ndarray, np.ndarray] | None = None,
                  last_slowest: bool | None = None) -> StageCompute:
    """Compute, recompute and bubble of ``training_step`` (the same arrays), without its
    communication, memory and work counts: what the pruned mapping search tabulates
    (``valid`` here is before the offload check that ``training_step`` adds); ``hw``'s batch-wide
    part columns collapsed once here (:func:`~archsweep.model.gemm.scalar_part_physics`).

    ``layer_classes`` (class of each position of the inputs' LAST axis, first position of each class):
    ``layer_costs`` is evaluated once per class and spread, for callers whose positions of one class
    share every input ``layer_costs`` reads (the hardware row, the mapping's
    :data:`~archsweep.model.transformer.LAYER_MAPPING_FIELDS` and the expert TP width; the pipeline
    depth, schedule and recomputation may differ): the same values, element for element
    (tests/model/test_layer_classes.py); :func:`~archsweep.model.training.key_tables.layer_classes`
    builds them.

    ``last_slowest`` (embedding / loss split only): None picks the slowest stage from the times (as ``training_step``);
    True / False fixes it to the last / a middle stage (pp >= 3), for the pruned search's tables (key_tables)."""
    return _stage_compute(scalar_part_physics(hw), wl, mp, cal, fixed_dp, layer_classes, last_slowest)


def _take_last(x: Any, index: np.ndarray, size: int) -> Any:
    """``x`` at ``index`` along its last axis where that axis has ``size`` positions; ``x`` itself where it
    broadcasts along it (0-d, a float or length 1)."""
    if np.ndim(x) == 0 or np.shape(x)[-1] != size or size == 1:
        return x
    return np.take(x, index, axis=-1)


def _class_reps(name: str, x: Any, class_of: np.ndarray, first: np.ndarray) -> Any:
    """``x`` at the first position of each layer class (:func:`_take_last`), after checking that spreading
    those back by ``class_of`` gives ``x`` (O(size)): a caller's classes that merge positions differing in an
    input of ``layer_costs`` raise here instead of returning another position's costs.

    Raises:
        ValueError: ``x`` differs within a class (names the input)."""
    reps = _take_last(x, first, len(class_of))
    if reps is x:
        return x
    kind = np.asarray(x).dtype
    if not np.array_equal(np.take(reps, class_of, axis=-1), x, equal_nan=bool(np.issubdtype(kind, np.inexact))):
        raise ValueError(f"stage_compute layer_classes: {name} differs within a layer class; positions of one class "
                         f"must share the hardware row, the expert TP width and {', '.join(LAYER_MAPPING_FIELDS)} "
                         "(key_tables.layer_classes)")
    return reps


_UNLISTED = frozenset(_MAPPING_NAMES) - set(LAYER_MAPPING_FIELDS)


class _LayerFieldsOnly(MappingArrays):
    """The per-class mapping ``layer_costs`` gets on the deduplicated path: a field outside
    :data:`~archsweep.model.transformer.LAYER_MAPPING_FIELDS` was not taken per class, so reading it raises
    (a placeholder would give ordinary wrong values: ``nan > 0`` is False, ``np.where(nan, ...)`` true)."""

    def __getattribute__(self, name: str) -> Any:
        if name in _UNLISTED:
            raise AttributeError(f"mapping field {name!r} is not in LAYER_MAPPING_FIELDS "
                                 f"({', '.join(LAYER_MAPPING_FIELDS)}), so layer_costs cannot read it per layer "
                                 "class (stage_compute layer_classes): add it there (model/transformer.py)")
        return super().__getattribute__(name)


def _layer_costs(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration, peak: np.ndarray,
                 etp: np.ndarray, layer_classes: tuple[np.ndarray, np.ndarray] | None) -> LayerCosts:
    """``layer_costs``, once per layer class when ``layer_classes`` is given (:func:`stage_compute`): on the
    classes' first positions (every input checked to be equal within each class, :func:`_class_reps`), with
    a mapping whose unlisted fields cannot be read (:class:`_LayerFieldsOnly`)."""
    if layer_classes is None:
        return layer_costs(hw, wl, mp, cal, peak, etp)
    class_of, first = layer_classes
    sub_hw = HardwareArrays(**{k: _class_reps(f"hardware column {k}", v, class_of, first)
                               for k, v in hw.columns().items()})
    sub_mp = _LayerFieldsOnly(**{f: (_class_reps(f"mapping field {f}", getattr(mp, f), class_of, first)
                                     if f in LAYER_MAPPING_FIELDS else np.full((), np.nan)) for f in _MAPPING_NAMES})
    lc = layer_costs(sub_hw, wl, sub_mp, cal, _class_reps("peak", peak, class_of, first),
                     _class_reps("expert TP width", etp, class_of, first))
    return _take_layer_costs(lc, class_of, len(first))


def _take_layer_costs(lc: LayerCosts, index: np.ndarray, size: int) -> LayerCosts:
    """Every field of ``lc`` (of inputs whose last axis has ``size`` positions) at ``index`` along that axis."""
    return LayerCosts(**{f.name: _take_last(getattr(lc, f.name), index, size) for f in fields(lc)})


def _embedding_loss_split(wl: Workload, mp: MappingArrays, lc: LayerCosts, t_layer_f: np.ndarray,
                          t_layer_b: np.ndarray, t_layer_rc: np.ndarray, last_slowest: bool | None,
                          mtp: tuple[Any, Any, Any] = (0.0, 0.0, 0.0)
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(forward, backward, recompute time of the slowest stage per micro-batch, layout allowed, whether the last
    stage is the slowest: ``last_slowest`` None from the times, else as given where pp >= 3) where the
    job's pipeline split counts the embedding and the loss as one layer each
    (``TrainingJob.embedding_loss_in_pipeline_split``; Megatron-Core ``get_num_layers_to_build``,
    NVIDIA/Megatron-LM @b0cc2706dd megatron/core/transformer/transformer_block.py): (L + 2) / pp slots per
    stage; the last stage builds one layer fewer and runs the output layer, the first one fewer beside the
    embedding (its lookup is not timed), the others all their slots. Steady state runs at the slower of
    the last and a middle stage (pp >= 3; none at pp <= 2); at pp = 1 the one stage holds all L layers.
    Allowed only where pp divides L + 2 and vpp the slots per stage (Megatron-Core asserts both)."""
    slots = split_stage_slots(wl, mp)
    last = first_stage_layers(wl, mp)  # the last stage builds as many layers as the first (one slot fewer each)
    middle = np.where(mp.pp > 2, slots, 0.0)
    last_f, last_b = last * t_layer_f + lc.logits_fwd_s + mtp[0], last * t_layer_b + lc.logits_bwd_s + mtp[1]
    last_rc = last * t_layer_rc + mtp[2]  # + the MTP block (layout_stage.mtp_block_costs), on the last stage
    use_last = ((last_f + last_b + last_rc) >= middle * (t_layer_f + t_layer_b + t_layer_rc) if last_slowest is None
                else np.asarray(last_slowest) | (middle == 0.0))
    vpp = np.maximum(mp.vpp, 1.0)
    allowed = (mp.pp == 1) | ((np.mod(wl.layers + 2.0, mp.pp) == 0) & (np.mod(slots, vpp) == 0))
    return (np.where(use_last, last_f, middle * t_layer_f), np.where(use_last, last_b, middle * t_layer_b),
            np.where(use_last, last_rc, middle * t_layer_rc), allowed, use_last)


def _bubble(wl: Workload, mp: MappingArrays, lc: LayerCosts, microbatches: np.ndarray, t_layer: np.ndarray,
            t_slowest: np.ndarray, use_last: np.ndarray | bool = True, mtp_s: np.ndarray | float = 0.0) -> np.ndarray:
    """Idle time per device of one step (s): ``t_layer`` one layer's forward + backward + recompute time of one
    micro-batch, ``t_slowest`` the slowest stage's, ``use_last`` whether that is the last stage (the split's
    choice, :func:`_embedding_loss_split`; always without the split), ``mtp_s`` the MTP block's (on the last
    stage, like the output layer: in neither the other stages' work nor the first ``p - 1`` chunks).

    1F1B (vpp 1, pp > 1): the other stages' work of one micro-batch, ``(all L layers + the output layer) - the
    slowest stage``; it is ``(p - 1) T`` for equal stages. Megatron-Core's
    ``forward_backward_pipelining_without_interleaving`` (NVIDIA/Megatron-LM @b0cc2706dd
    megatron/core/pipeline_parallel/schedules.py L2145-2298) makes each stage wait on ``recv_forward`` before
    its first forward and on ``recv_backward`` / ``send_backward_recv_forward`` before each backward: the
    slowest stage runs its ``m`` forward + backward passes back to back once the first micro-batch's forward
    has crossed the stages before it, and the last micro-batch's gradient then crosses them back; so the
    output layer, which only the last stage runs, is on the critical path ``m`` times, not ``m + p - 1``.

    Interleaved (vpp > 1, m >= p, where the last stage, which runs the output layer in its last model chunk, is
    the slowest): the forward + backward of one micro-batch through the first ``p - 1`` virtual stages (model
    chunk 0 of every other device): ``(p - 1) / v`` of a stage without the output layer (``ceil(L / p) / v``
    layers a chunk), and under the embedding / loss split ``(p - 1) (L + 2) / (p v) - 1`` layers (virtual stage 0
    builds one layer fewer beside the embedding). Megatron-Core's ``forward_backward_pipelining_with_interleaving``
    (same file: ``get_schedule_table``, ``get_pp_rank_microbatches``: ``2 (p - rank - 1) + (v - 1) N`` warm-up
    forwards, N = p micro-batches a group, or N = m when p does not divide m): the last device starts once micro-batch
    0 has crossed virtual stages 0 .. p - 2 and then never waits; the last gradient crosses them back. So the
    output layer is on the critical path ``m`` times, not ``m + (p - 1) / v`` (the old ``(p - 1) / v`` slots of
    the whole slowest stage). Checked against a dependency simulation of that schedule for p 2-8, v 2-4, m = p ..
    4 p, with and without the split (tests/model/test_interleaved_bubble.py). Otherwise (m < p, which
    Megatron-Core refuses, or a middle stage slower than the last one under the split):
    :func:`~archsweep.model.training.schedule.pipeline_bubble_slots` slots of the slowest stage. pp = 1: none."""
    slots = pipeline_bubble_slots(microbatches, mp.pp, mp.vpp)
    out = lc.logits_fwd_s + lc.logits_bwd_s
    others = wl.layers * t_layer + out + mtp_s - t_slowest
    v = np.maximum(mp.vpp, 1.0)
    if wl.training.embedding_loss_in_pipeline_split:
        first_chunks = ((mp.pp - 1.0) * (wl.layers + 2.0) / (mp.pp * v) - 1.0) * t_layer
    else:
        first_chunks = (mp.pp - 1.0) / v * (t_slowest - out - mtp_s)  # every stage ceil(L / p) layers + the last's
    interleaved = np.where(use_last & (microbatches >= mp.pp), np.maximum(first_chunks, 0.0), slots * t_slowest)
    return np.where(mp.pp > 1, np.where(mp.vpp <= 1, np.maximum(others, 0.0), interleaved), 0.0)


def _stage_compute(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration,
                   fixed_dp: float | None, layer_classes: tuple[np.ndarray, np.ndarray] | None = None,
                   last_slowest: bool | None = None) -> StageCompute:
    """:func:`stage_compute` of ``hw`` as :func:`~archsweep.model.gemm.scalar_part_physics` returns it."""
    n_acc = hw.accelerator_count
    model_par = mp.tp * mp.pp * mp.cp
    dp = data_parallel_degree(n_acc, mp, fixed_dp)
    gb = float(wl.training.global_batch_seqs)
    microbatches = microbatch_count(wl.training.global_batch_seqs, dp, mp)
    # EP within DP x CP (experts TP-split), or folded over TP x DP x CP with unsplit experts.
    etp = expert_tensor_parallel(mp, dp)
    valid = ((dp * model_par == n_acc) & (np.mod(gb, dp * mp.micro_batch) == 0)
             & (mp.ep <= dp * mp.cp * mp.tp) & (np.mod(dp * mp.cp * mp.tp, mp.ep) == 0) & (mp.pp <= wl.layers)
             & interleaving_allowed(microbatches, mp.pp, mp.vpp))

    peak = hw.peak_matrix_flops_fp8 if wl.training.precision == "fp8" else hw.peak_matrix_flops_bf16
    lc = _layer_costs(hw, wl, mp, cal, peak, etp, layer_classes)
    layers_stage = np.ceil(wl.layers / mp.pp)
    moe_frac = wl.moe_layers / wl.layers
    t_layer_f = (1 - moe_frac) * lc.dense_fwd_s + moe_frac * lc.moe_fwd_s
    t_layer_b = (1 - moe_frac) * lc.dense_bwd_s + moe_frac * lc.moe_bwd_s
    t_layer_rc = layer_recompute_s(wl, mp, cal, lc, moe_frac, t_layer_f)
    # The output layer runs on the last stage; it shares it with that stage's layers.
    t_f = layers_stage * t_layer_f + lc.logits_fwd_s
    t_b = layers_stage * t_layer_b + lc.logits_bwd_s
    t_rc = layers_stage * t_layer_rc
    mtp = mtp_block_costs(wl, mp, cal, lc) if wl.mtp_num_layers else (0.0, 0.0, 0.0)  # on the last stage
    t_f, t_b, t_rc = t_f + mtp[0], t_b + mtp[1], t_rc + mtp[2]
    use_last: np.ndarray | bool = True
    # The busiest stage (most work, work_counts.py): the even split's last (ceil(L / pp) layers + output + MTP).
    busiest: tuple[Any, Any, Any, Any] = (layers_stage * (1 - moe_frac), layers_stage * moe_frac, wl.mtp_num_layers, 1.0)
    if wl.training.embedding_loss_in_pipeline_split:
        t_f, t_b, t_rc, split_ok, use_last = _embedding_loss_split(wl, mp, lc, t_layer_f, t_layer_b, t_layer_rc,
                                                                   last_slowest, mtp)
        valid, busiest = valid & split_ok, split_busiest_stage(wl, mp, lc)
    if wl.training.pipeline_layout:  # the stated layout replaces the even split (layout_stage.py)
        ls = layout_stage(wl, mp, cal, lc)
        t_f, t_b, t_rc, layers_stage, valid = ls.t_f, ls.t_b, ls.t_rc, ls.layers_stage, valid & ls.allowed
        busiest = ls.busiest_counts
        bubble = layout_bubble(mp, microbatches, pipeline_bubble_slots(microbatches, mp.pp, mp.vpp), ls)
    else:
        bubble = _bubble(wl, mp, lc, microbatches, t_layer_f + t_layer_b + t_layer_rc, t_f + t_b + t_rc, use_last,
                         mtp[0] + mtp[1] + mtp[2])
    return StageCompute(dp=dp, microbatches=microbatches, etp=etp, valid=valid, lc=lc, layers_stage=layers_stage,
                        moe_frac=moe_frac, t_layer_f=t_layer_f, t_layer_b=t_layer_b, t_layer_rc=t_layer_rc, t_b=t_b,
                        compute=microbatches * (t_f + t_b), recompute=microbatches * t_rc, bubble=bubble,
                        busiest_dense=busiest[0], busiest_moe=busiest[1], busiest_mtp=busiest[2], busiest_output=busiest[3])


def stage_offload(hw: HardwareArrays, wl: Workload, mp: MappingArrays, sc: StageCompute,
                  layer_bytes: np.ndarray | None = None) -> OffloadCost:
    """The step's activation offload (offload.py) on ``sc``'s layer times (``layer_bytes``: ``layer_activation_bytes``
    of ``sc.etp`` where the caller has it): its ``feasible`` and ``muon_stage_allowed`` complete ``sc.valid`` to ``training_step``'s ``valid``."""
    per_layer = layer_activation_bytes(wl, mp, sc.etp) if layer_bytes is None else layer_bytes
    return activation_offload(wl, hw.host_link_bw_bytes_per_s, per_layer, sc.layers_stage, sc.t_layer_f, sc.t_layer_b)


def take_stage(sc: StageCompute, index: np.ndarray, size: int) -> StageCompute:
    """``sc`` (of inputs whose last axis has ``size`` positions) at ``index`` along that axis, every array
    field and every :class:`~archsweep.model.transformer.LayerCosts` field taken alike (0-d fields as they are)."""
    lc = _take_layer_costs(sc.lc, index, size)
    taken: dict[str, Any] = {f.name: _take_last(getattr(sc, f.name), index, size) for f in fields(sc) if f.name != "lc"}
    return StageCompute(lc=lc, **taken)


def training_step(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration,
                  fixed_dp: float | None = None, stage: StageCompute | None = None, work_counts: bool = True) -> StepResult:
    """Step time and memory of ``wl`` on ``hw`` with mapping ``mp`` (all broadcast).

    ``stage``: this step's compute side where the caller has it already (the pruned search's refined
    bound, :func:`take_stage`): :func:`stage_compute` of the same hardware rows and of mappings equal to
    ``mp`` in every field it reads (a compute class: all but the ZeRO stage and the overlap flags), in
    ``mp``'s shape; the step is then the same, element for element (tests/model/test_step_stage.py).
    ``work_counts`` False: the work-count fields (``matrix_flops`` .. ``scaleout_bytes``, ``busiest``) are NaN."""
    hw = scalar_part_physics(hw)
    sc = _stage_compute(hw, wl, mp, cal, fixed_dp) if stage is None else stage
    dp, microbatches, etp, lc, layers_stage, moe_frac = sc.dp, sc.microbatches, sc.etp, sc.lc, sc.layers_stage, sc.moe_frac
    t_layer_f, t_layer_b, t_layer_rc, t_b = sc.t_layer_f, sc.t_layer_b, sc.t_layer_rc, sc.t_b

    # --- communication, one effect each (communication.py, data_parallel.py) ---
    s, h = float(wl.seq_len), float(wl.hidden)
    tokens = mp.micro_batch * s / mp.cp
    act_bytes = 2.0 * tokens * h
    tp = tensor_parallel(hw, mp, cal, act_bytes, microbatches, layers_stage, moe_frac,
                         partial_recompute_share(wl, mp))
    # LoRA's own TP time (adapters' collectives, what overlap cannot hide under LoRA), reported with the exposed TP.
    tp_exposed = tp.exposed_s + lora_tensor_parallel_s(hw, wl, mp, cal, tokens, microbatches, layers_stage)
    cp_exposed = cp_exposed_s(hw, wl, mp, cal, tokens, microbatches, layers_stage, lc.attn_core_fwd_s,
                              lc.attn_core_bwd_s)
    ep = expert_parallel(hw, wl, mp, cal, tokens, etp, dp, microbatches, layers_stage, moe_frac,
                         lc.moe_fwd_s + lc.moe_bwd_s)
    pp = pipeline_p2p(hw, mp, cal, act_bytes, dp, microbatches)
    data = data_parallel(hw, wl, mp, cal, dp, etp, microbatches, layers_stage, t_layer_f, t_layer_b, t_layer_rc, t_b)
    muon = newton_schulz_step(hw, wl, mp, cal, etp, dp * mp.cp, layers_stage)  # 0 for Adam
    optimizer = optimizer_time_s(hw, wl, cal, data.local_params) + muon.time_s
    offload = stage_offload(hw, wl, mp, sc, layer_bytes := layer_activation_bytes(wl, mp, etp))  # memory's too
    offload_exposed = microbatches * offload.exposed_s
    valid = sc.valid & offload.feasible & muon_stage_allowed(wl, mp)
    compute, recompute, bubble = sc.compute, sc.recompute, sc.bubble
    step = (compute + recompute + bubble + tp_exposed + cp_exposed + ep.exposed_s + pp.exposed_s + data.exposed_s
            + optimizer + offload_exposed)

    mem = memory_per_accelerator(wl, mp, dp, microbatches, cal, etp, layer_bytes, hw.fp8_gemm_layouts)
    usable = usable_hbm_bytes(hw, cal)
    memory_violation = (mem.total_bytes - usable) / usable

    # Work counts per accelerator per step (work_counts.py): the average device's (energy, hfu), the busiest's (TDP);
    # NaN without ``work_counts`` (the pruned search's exact scores: they read the time and the memory only).
    work = step_work(wl, mp, cal, lc, microbatches, dp * mp.cp, etp, offload.hbm_bytes,
                     step_link_bytes(hw, wl, mp, cal, (tokens, act_bytes, microbatches, layers_stage, moe_frac), tp, ep, pp, data),
                     (sc.busiest_dense, sc.busiest_moe, sc.busiest_mtp, sc.busiest_output),
                     muon.flops_per_layer) if work_counts else NO_WORK
    shape = np.broadcast_shapes(np.shape(step), np.shape(valid))

    def bc(x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x, shape)

    return StepResult(
        step_time_s=bc(step), compute_time_s=bc(compute), recompute_time_s=bc(recompute), bubble_time_s=bc(bubble),
        tp_comm_exposed_s=bc(tp_exposed), cp_comm_exposed_s=bc(cp_exposed), ep_comm_exposed_s=bc(ep.exposed_s),
        pp_comm_exposed_s=bc(pp.exposed_s), dp_comm_exposed_s=bc(data.exposed_s), optimizer_time_s=bc(optimizer),
        offload_exposed_s=bc(offload_exposed),
        dp=bc(dp), microbatches=bc(microbatches), memory=mem, matrix_flops=bc(work.average.matrix_flops),
        hbm_bytes=bc(work.average.hbm_bytes), scaleup_bytes=bc(work.average.scaleup_bytes),
        scaleout_bytes=bc(work.average.scaleout_bytes), valid=bc(valid), memory_violation=bc(memory_violation),
        busiest=DeviceWork(**{f.name: bc(getattr(work.busiest, f.name)) for f in fields(DeviceWork)}),
    )
