"""The compute side of a pipeline stage under a stated layout, and the multi-token-prediction (MTP) block.

* :func:`layer_recompute_s`: one layer's recomputation time of one micro-batch for a share ``moe_frac`` of MoE
  layers (the rule of ``step._stage_compute``, one place for both).
* :func:`mtp_block_costs`: forward / backward / recompute time of the job's MTP layers for one micro-batch.
  Megatron-Core's ``MultiTokenPredictionLayer`` (NVIDIA/Megatron-LM @b0cc2706dd megatron/core/transformer/
  multi_token_prediction.py) runs, per MTP layer, the next token's embedding and the hidden state through two
  norms, the ``eh_proj`` 2h -> h projection, one transformer layer (the decoder's last layer spec: an MoE layer
  in DeepSeek-V3) and the shared output layer and loss: one layer of the last layer's kind + the projection
  (the output layer's GEMM time scaled by its FLOPs, 2h / V) + the output layer. Without a layout Megatron-Core
  builds it on the last pipeline stage (``mtp_on_this_rank``: the post-process stage).
* :func:`layout_stage`: under ``TrainingJob.pipeline_layout`` (:mod:`archsweep.spec.pipeline_layout`) each
  pipeline rank's work of one micro-batch is the sum over its virtual stages of their layers (dense and MoE
  layers by position: the first ``moe.dense_layers`` are dense), MTP layers and output layer; the slowest rank
  binds the steady state, all stages' work sets the 1F1B bubble, and a mapping runs the layout only where
  ``pp x vpp`` is its stage count and Megatron-Core accepts it at that pp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from archsweep.model.training.flops import eh_proj_params
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.recompute_share import partial_recompute_share
from archsweep.model.transformer import LayerCosts
from archsweep.spec.calibration import Calibration
from archsweep.spec.pipeline_layout import PipelineLayout, parse_layout
from archsweep.spec.workload import Workload

__all__ = ["LayoutStage", "kind_flops", "layer_recompute_s", "layout_bubble", "layout_first_layers", "layout_last_layers",
           "layout_rank_layers", "layout_stage", "layout_stage_layers", "mtp_block_costs", "mtp_is_moe", "mtp_output_share"]


def layer_recompute_s(wl: Workload, mp: MappingArrays, cal: Calibration, lc: LayerCosts, moe_frac: float,
                      t_f: np.ndarray) -> np.ndarray:
    """Recomputation time (s) of one layer and micro-batch whose MoE share is ``moe_frac`` and forward time
    ``t_f``: selective (the job's ``recompute_modules``; the attention core only when unfused) or full (the
    forward, less its last GEMM where the checkpoint stops early; block recompute: times the recomputed share of a
    stage's layers, :func:`~archsweep.model.training.recompute_share.full_recompute_share`)."""
    core = lc.attn_core_fwd_s * (mp.flash_attention == 0) if "core_attn" in wl.training.recompute_modules else 0.0
    if set(wl.training.recompute_modules) - {"core_attn"}:
        core = core + (1 - moe_frac) * lc.dense_module_rc_s + moe_frac * lc.moe_module_rc_s
    full = t_f - cal.checkpoint_early_stop * (1 - moe_frac) * lc.dense_last_gemm_fwd_s
    share = partial_recompute_share(wl, mp)  # block: the recomputed share of a stage's layers (recompute_share.py)
    if share is not None:
        full = share * full
    return np.where(mp.recompute == 2, full, np.where(mp.recompute == 1, core, 0.0))


def mtp_is_moe(wl: Workload) -> float:
    """1 where the job's MTP layers are MoE layers, else 0: an MTP layer takes the decoder's last layer spec
    (a MoE layer in a model with any)."""
    return 1.0 if wl.moe_layers > 0 else 0.0


def mtp_output_share(wl: Workload) -> float:
    """One MTP layer's output-side matrix work in units of the output layer's: the output layer again + the
    ``eh_proj`` (:func:`~archsweep.model.training.flops.eh_proj_params`, 2h x h against the output layer's h x V:
    2h / V per token)."""
    return 1.0 + eh_proj_params(wl) / (wl.vocab * wl.hidden)


def mtp_block_costs(wl: Workload, mp: MappingArrays, cal: Calibration, lc: LayerCosts
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(forward, backward, recompute) time (s) of the job's MTP layers for one micro-batch; zeros without MTP."""
    n = float(wl.mtp_num_layers)
    moe = mtp_is_moe(wl)
    out = mtp_output_share(wl)  # the output layer again + the eh_proj
    f = (1 - moe) * lc.dense_fwd_s + moe * lc.moe_fwd_s
    b = (1 - moe) * lc.dense_bwd_s + moe * lc.moe_bwd_s
    rc = layer_recompute_s(wl, mp, cal, lc, moe, f)
    return n * (f + out * lc.logits_fwd_s), n * (b + out * lc.logits_bwd_s), n * rc


def kind_flops(wl: Workload, lc: LayerCosts) -> tuple[Any, Any, Any, Any]:
    """Forward matrix FLOPs of one micro-batch of (a dense layer, a MoE layer, an MTP layer with its ``eh_proj``
    and output layer, the output layer): what picks the busiest stage (the one with the most work)."""
    mtp_moe = mtp_is_moe(wl)
    mtp = (1 - mtp_moe) * lc.dense_flops + mtp_moe * lc.moe_flops + mtp_output_share(wl) * lc.logits_flops
    return lc.dense_flops, lc.moe_flops, mtp, lc.logits_flops


@dataclass(frozen=True)
class LayoutStage:
    """The slowest rank's forward / backward / recompute time of one micro-batch (s), all stages' work of one
    micro-batch (s), the first pp - 1 stages' (s), whether the last rank is the slowest, the most transformer + MTP
    layers any rank builds (the per-layer communication and DP terms), and whether the mapping can run the layout
    (the first rank's layers, for memory: :func:`layout_first_layers`)."""

    t_f: np.ndarray
    t_b: np.ndarray
    t_rc: np.ndarray
    total: np.ndarray
    first_chunks: np.ndarray
    last_slowest: np.ndarray
    layers_stage: np.ndarray
    allowed: np.ndarray
    busiest_counts: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def layout_rank_layers(layout: PipelineLayout, dense_layers: int, pp: int) -> np.ndarray:
    """Per pipeline rank (rows) the count of (dense t, MoE t, m, L) it builds at pipeline size ``pp``."""
    counts = np.zeros((pp, 4))
    index = 0
    for k, stage in enumerate(layout.stages):
        for kind in stage:
            if kind == "t":
                counts[k % pp, 0 if index < dense_layers else 1] += 1
                index += 1
            elif kind in ("m", "L"):
                counts[k % pp, 2 if kind == "m" else 3] += 1
    return counts


def layout_stage(wl: Workload, mp: MappingArrays, cal: Calibration, lc: LayerCosts) -> LayoutStage:
    """:class:`LayoutStage` of ``wl.training.pipeline_layout`` for every mapping of ``mp`` (broadcast)."""
    layout = parse_layout(wl.training.pipeline_layout)
    dense_layers = wl.dense_layers
    per_kind: list[tuple[Any, Any, Any]] = []  # (f, b, rc) of a dense layer, a MoE layer, an MTP layer, the output layer
    for frac in (0.0, 1.0):
        f = (1 - frac) * lc.dense_fwd_s + frac * lc.moe_fwd_s
        per_kind.append((f, (1 - frac) * lc.dense_bwd_s + frac * lc.moe_bwd_s, layer_recompute_s(wl, mp, cal, lc, frac, f)))
    mtp = mtp_block_costs(wl, mp, cal, lc)
    per_mtp = (mtp[0] / max(wl.mtp_num_layers, 1), mtp[1] / max(wl.mtp_num_layers, 1), mtp[2] / max(wl.mtp_num_layers, 1))
    per_kind += [per_mtp, (lc.logits_fwd_s, lc.logits_bwd_s, 0.0)]
    n = layout.stage_count
    vpp = np.maximum(mp.vpp, 1.0)
    shape = np.broadcast_shapes(np.shape(mp.pp), np.shape(mp.vpp), *(np.shape(x) for k in per_kind for x in k))
    zero = np.zeros(shape)
    t_f, t_b, t_rc, total = zero.copy(), zero.copy(), zero.copy(), zero.copy()
    chunks, allowed, last = zero.copy(), np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    busy_counts = [zero.copy() for _ in range(4)]
    flops = kind_flops(wl, lc)
    for pp in layout.pipeline_sizes():
        at = (mp.pp == pp) & (vpp == n // pp)
        counts = layout_rank_layers(layout, dense_layers, pp)
        ranks = [tuple(np.broadcast_to(sum(c[j] * per_kind[j][i] for j in range(4)), shape) for i in range(3))
                 for c in counts]
        sums = [f + b + rc for f, b, rc in ranks]
        slowest = np.argmax(np.stack(sums), axis=0)
        pick = [np.choose(slowest, [r[i] for r in ranks]) for i in range(3)]
        t_f, t_b, t_rc = (np.where(at, pick[i], x) for i, x in enumerate((t_f, t_b, t_rc)))
        busiest = np.argmax(np.stack([np.broadcast_to(sum(c[j] * flops[j] for j in range(4)), shape) for c in counts]), axis=0)
        busy_counts = [np.where(at, np.choose(busiest, [c[j] for c in counts]), x) for j, x in enumerate(busy_counts)]
        total = np.where(at, sum(sums), total)
        work = [sum(stage.count(k) * sum(per_kind[j][i] for i in range(3)) for k, j in (("m", 2), ("L", 3)))
                for stage in layout.stages[:pp - 1]]
        index, head = 0, []
        for stage in layout.stages[:pp - 1]:  # virtual stages 0 .. pp - 2 (model chunk 0 of ranks 0 .. pp - 2)
            n_t = stage.count("t")
            n_dense = min(max(dense_layers - index, 0), n_t)  # the first dense_layers transformer layers are dense
            index += n_t
            head.append(n_dense * sum(per_kind[0]) + (n_t - n_dense) * sum(per_kind[1]))
        chunks = np.where(at, np.broadcast_to(sum(work) + sum(head), shape), chunks)
        last = np.where(at, np.stack(sums)[-1] >= np.max(np.stack(sums), axis=0), last)
        allowed = allowed | at
    return LayoutStage(t_f=t_f, t_b=t_b, t_rc=t_rc, total=total, first_chunks=chunks, last_slowest=last,
                       layers_stage=np.where(allowed, layout_stage_layers(wl, mp), 1.0), allowed=allowed,
                       busiest_counts=(busy_counts[0], busy_counts[1], busy_counts[2], busy_counts[3]))


def layout_stage_layers(wl: Workload, mp: MappingArrays) -> np.ndarray:
    """Transformer + MTP layers of the pipeline rank that builds the most of them under the job's layout (all its
    virtual stages), at each mapping's pp and vpp (:attr:`LayoutStage.layers_stage`, the layer count the per-layer
    collectives divide the stage's parameters by); 1 where the mapping cannot run the layout."""
    layout = parse_layout(wl.training.pipeline_layout)
    n = layout.stage_count
    vpp = np.maximum(mp.vpp, 1.0)
    most = np.ones(np.broadcast_shapes(np.shape(mp.pp), np.shape(mp.vpp)))
    for pp in layout.pipeline_sizes():
        counts = layout_rank_layers(layout, wl.dense_layers, pp)
        most = np.where((mp.pp == pp) & (vpp == n // pp), float(max(c[0] + c[1] + c[2] for c in counts)), most)
    return most


def layout_first_layers(wl: Workload, mp: MappingArrays, rank: int = 0) -> np.ndarray:
    """Transformer + MTP layers the first pipeline rank (``rank`` -1: the last) builds under the job's layout (all
    its virtual stages), at each mapping's pp; 1 where the mapping cannot run the layout (it is invalid there)."""
    layout = parse_layout(wl.training.pipeline_layout)
    out = np.ones(np.shape(mp.pp))
    for pp in layout.pipeline_sizes():
        c = layout_rank_layers(layout, wl.dense_layers, pp)[rank]
        out = np.where(mp.pp == pp, c[0] + c[1] + c[2], out)
    return out


def layout_last_layers(wl: Workload, mp: MappingArrays) -> np.ndarray:
    """:func:`layout_first_layers` of the last pipeline rank (it computes the loss: memory.py)."""
    return layout_first_layers(wl, mp, -1)


def layout_bubble(mp: MappingArrays, microbatches: np.ndarray, slots: np.ndarray, ls: LayoutStage) -> np.ndarray:
    """Idle time per device of one step under the layout (s), ``step._bubble``'s rules with the layout's stages:
    1F1B (vpp 1, pp > 1) the other stages' work of one micro-batch, ``total - slowest``; interleaved, where the last
    rank is the slowest and m >= pp, one micro-batch's work through the first pp - 1 virtual stages (model chunk 0
    of ranks 0 .. pp - 2: Megatron-Core's ``forward_backward_pipelining_with_interleaving`` warm-up, as s12-correct
    derives it for the even split), else ``slots`` (:func:`~archsweep.model.training.schedule.pipeline_bubble_slots`)
    x the slowest rank; none at pp = 1."""
    slowest = ls.t_f + ls.t_b + ls.t_rc
    interleaved = np.where(ls.last_slowest & (microbatches >= mp.pp), ls.first_chunks, slots * slowest)
    return np.where(mp.pp > 1, np.where(mp.vpp <= 1, np.maximum(ls.total - slowest, 0.0), interleaved), 0.0)
