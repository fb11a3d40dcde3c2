"""A lower bound of a training step's communication and optimizer time, linear in five hardware rates.

For every (accelerator count, scale-up domain size) pair and every mapping, :func:`coefficients`
returns two coefficient rows ``L1, L2`` of length 5 such that, for ANY hardware row ``c`` with that
accelerator count and domain size (any bandwidths, latencies, topologies, oversubscription)::

    tp_exposed + cp_exposed + ep_exposed + pp_exposed + dp_exposed + optimizer
        >= max(L1 . x(c), L2 . x(c)),
    x(c) = (1 / (B_up * eff), 1 / (B_out * eff), a_up, a_out, 1 / B_hbm)      (:func:`features`)

with ``B_up``/``B_out`` the raw per-accelerator scale-up/scale-out bandwidths (``B_out``: the line rate x
the part's achieved share, :func:`archsweep.model.collectives.scaleout_rate`, the rate every scale-out
term of the step runs at), ``eff`` the
collective efficiency, ``a`` the latencies and ``B_hbm`` the HBM bandwidth.

Proof, term by term against :func:`archsweep.model.training.step.training_step` (same names):

1. Effective bandwidths never exceed the raw ones: ``scaleup_bw_effective = B_up * dims_used / dims * share``
   with ``1 <= dims_used <= dims`` and the full mesh's ``share = mesh_share <= 1`` (also the in-domain
   point-to-point's); ``scaleout_bw_effective = B_out * f`` with ``f`` in
   {1, 1/over, 0.5/over, 1/3}, ``over >= 1``. Every collective time is a sum of ``bytes / bw`` and
   ``count * latency`` with non-negative factors, so replacing ``bw`` by the raw ``B * eff`` can
   only lower it. The group split (``group_split``) depends only on the group size, stride and the
   domain size, all fixed by the (count, domain, mapping) triple.
2. All-reduce: one tier: ``min(ring, tree)``; ring ``2 (n-1)/n S / bw + 2 (n-1) a``, tree
   ``2 S / bw + 2 log2(n) a``; for ``n >= 1``: ``2 (n-1)/n <= 2`` and ``log2 n <= n - 1``, so the
   minimum of the two is ``>= 2 (n-1)/n S / bw + 2 log2(n) a``. Two tiers: the in-domain ring as is,
   plus the cross-domain ``min(ring, tree)`` bounded the same way. Reduce-scatter / all-gather and
   point-to-point: linear already (equal to the model at the raw bandwidths). All-to-all
   ``max(t_in, t_out)`` is ``>= t_in`` and ``>= t_out``: ``L1`` carries the in-domain part, ``L2``
   the scale-out part, every other term is in both, hence the ``max`` of the two dot products.
3. TP, EP and PP exposures are non-negative multiples (micro-batches, layers, overlap residuals:
   the same factors as the model) of those collectives; CP exposure is bounded by 0 and the DP exposure
   of ZeRO stages 0-2 by item 4; ZeRO-3 adds ``microbatches * (layers * exposed + first)`` with
   ``exposed = E(gather, fwd) + E(gather + reduce_scatter, bwd)`` per layer and ``first = 2 * gather``
   under the DP overlap (0 without), ``E = overlapped_exposed_s``. Since issue 14 (s18) that is bounded by
   ``m (2 g + 2 kappa L g + kappa L rs)`` with the overlap and ``m L (2 g + rs)`` without (kappa 1, serial:
   the model's exact value; L the model's ``layers_stage``: ``ceil(layers / pp)``, or under a stated pipeline
   layout the transformer + MTP layers of its busiest rank, ``layout_stage_layers``, which also divides ``g``
   and ``rs``: before s18-R the bound kept ``ceil(layers / pp)`` there, so its ``2 m g`` could exceed the
   model's where that rank holds more layers), because ``E(a, c) = max(a - c, 0) + kappa min(a, c)
   = (1 - kappa) max(a - c, 0) + kappa a >= kappa a`` for kappa in [0, 1] (the stack's ``overlap_interference``).
   A flat ZeRO-3 gather group is placed by the same ``flat_gather_stride`` as the model (flat only when the
   group spans more than one domain).
4. DP sync of ZeRO 0-2, S (the caller adds ``D`` and ``W``: see :func:`coefficients`): without the DP overlap
   exposed in full (in ``L1, L2``); with it ``left + kappa (S - left)`` (``chunked_sync_exposed_s``) or
   ``E(S, window)`` (ZeRO-2), with ``left >= max(S - window, 0)``, so ``>= (1 - kappa) max(S - window, 0) +
   kappa S`` (non-decreasing in ``left``) with ``window <= w C`` (C = compute + recompute + bubble); then
   ``C + exposed >= kappa S + max(C, (1 - (1 - kappa) w) C + (1 - kappa) S)``: ``kappa S`` goes into ``L1, L2``,
   ``D = (1 - kappa) S`` and ``W = (1 - kappa) w`` (before s18: kappa taken as 0, a looser bound).
   Non-decreasing in C (W <= 1), so a lower C (the caller's table) keeps it a lower bound.
   The optimizer time is exactly its coefficient times ``1 / B_hbm``.

All other step terms (compute, recompute, bubble) are handled by the caller's compute bound.
tests/model/test_comm_bound.py checks the claim on random hardware for dense and MoE workloads.
"""

from __future__ import annotations

import numpy as np

from archsweep.model import collectives as coll
from archsweep.model.training.communication import (
    a2a_unpaired_share,
    ep_alltoalls_per_layer,
    pipeline_p2p_exposed_sends,
)
from archsweep.model.training.data_parallel import chunked_sync_window, flat_gather_stride, synced_stage_parameters
from archsweep.model.training.layout_stage import layout_stage_layers
from archsweep.model.training.mapping import (
    MappingArrays,
    data_parallel_degree,
    expert_tensor_parallel,
    microbatch_count,
)
from archsweep.model.training.recompute_share import partial_recompute_share
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["FEATURES", "coefficients", "features"]

#: Names of the hardware rates the coefficients multiply, in order.
FEATURES = ("inv_scaleup_bw_eff", "inv_scaleout_bw_eff", "scaleup_latency_s", "scaleout_latency_s", "inv_hbm_bw")

_Coef = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # (bytes up, bytes out, hops up, hops out)


def features(hw: HardwareArrays, cal: Calibration) -> np.ndarray:
    """(n, 5) hardware rates of the flat batch ``hw`` (see :data:`FEATURES`)."""
    eff = cal.collective_bw_efficiency
    return np.column_stack([
        1.0 / (np.asarray(hw.scaleup_bw_bytes_per_s, dtype=np.float64) * eff),
        1.0 / (np.asarray(coll.scaleout_rate(hw), dtype=np.float64) * eff),
        np.asarray(hw.scaleup_latency_s, dtype=np.float64),
        np.asarray(hw.scaleout_latency_s, dtype=np.float64),
        1.0 / np.asarray(hw.hbm_bw_bytes_per_s, dtype=np.float64),
    ])


def _allreduce(size, n, stride, domain) -> _Coef:
    n_in, n_out = coll.group_split(n, stride, domain)
    inside = n_out <= 1
    n1 = np.maximum(n, 1.0)
    flat = (2.0 * (n1 - 1) / n1 * size, 0.0, 2.0 * np.log2(n1), 0.0)
    hier = (2.0 * (n_in - 1) / n_in * size, 2.0 * (n_out - 1) / n_out * size / n_in, 2.0 * (n_in - 1),
            2.0 * np.log2(np.maximum(n_out, 1.0)))
    return tuple(np.where(inside, f, h) for f, h in zip(flat, hier))


def _sharded(size, n, stride, domain) -> _Coef:
    n_in, n_out = coll.group_split(n, stride, domain)
    return ((n_in - 1) / n_in * size, (n_out - 1) / n_out * size / n_in, n_in - 1.0, n_out - 1.0)


def _alltoall(size, n, stride, domain, per_domain: float, experts: float, top_k: int, groups: int,
              group_topk: int) -> tuple[_Coef, _Coef]:
    n_in, n_out = coll.group_split(n, stride, domain)
    more = n > 1
    b_in, b_out = coll.ep_dispatch_bytes(size, n, n_in, per_domain, experts, top_k, groups, group_topk)
    zero = np.zeros(np.shape(more))
    t_in = (np.where(more, b_in, 0.0), zero, np.where(more, n_in - 1.0, 0.0), zero)
    t_out = (zero, np.where(more, b_out, 0.0), zero, np.where(more, n_out - 1.0, 0.0))
    return t_in, t_out


def _add(acc: list, coef, mult) -> None:
    for j in range(4):
        acc[j] = acc[j] + mult * coef[j]


def _zero3_multipliers(mp: MappingArrays, cal: Calibration, microbatches: np.ndarray, layers_stage: np.ndarray,
                       dp_group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(multiplier of one layer's ZeRO-3 weight gather, of its gradient reduce-scatter): module docstring item 3.
    With the DP overlap: 2 m (the first layer's gather of each pass) + 2 kappa m L for the gathers and kappa m L
    for the reduce-scatters; without it (serial, interference 1): 2 m L and m L. ``layers_stage``: the model's L
    (``ceil(layers / pp)``, or :func:`~archsweep.model.training.layout_stage.layout_stage_layers`). A kappa outside [0, 1]: 2 m and 0."""
    live = (mp.zero_stage >= 3) & (dp_group > 1)
    kappa = cal.overlap_interference
    if not 0.0 <= kappa <= 1.0:
        return np.where(live, 2.0 * microbatches, 0.0), np.zeros(np.shape(live))
    overlap = mp.dp_overlap > 0
    per_layer = np.where(overlap, kappa, 1.0) * microbatches * layers_stage
    gather = np.where(overlap, 2.0 * microbatches, 0.0) + 2.0 * per_layer
    return np.where(live, gather, 0.0), np.where(live, per_layer, 0.0)


def coefficients(wl: Workload, mp: MappingArrays, cal: Calibration, fixed_dp: float | None,
                 accelerator_count: np.ndarray, domain: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(L1, L2, D, W): L1, L2 and D (the DP sync of overlapped mappings) of shape
    broadcast(count, domain, mapping) + (5,), W (the overlap window per unit of compute, in
    [0, 1]) of the broadcast shape: see the module docstring."""
    n_acc = np.asarray(accelerator_count, dtype=np.float64)
    domain = np.asarray(domain, dtype=np.float64)
    dp = data_parallel_degree(n_acc, mp, fixed_dp)
    microbatches = microbatch_count(wl.training.global_batch_seqs, dp, mp)
    etp = expert_tensor_parallel(mp, dp)
    layers_stage = np.ceil(wl.layers / mp.pp)
    moe_frac = wl.moe_layers / wl.layers
    rc = mp.recompute
    s, h = float(wl.seq_len), float(wl.hidden)
    tokens = mp.micro_batch * s / mp.cp
    act_bytes = 2.0 * tokens * h
    shape = np.broadcast_shapes(np.shape(n_acc), np.shape(domain), np.shape(mp.tp))
    acc: list = [np.zeros(shape) for _ in range(4)]

    # TP: (4 + 2 [full recompute]) all-reduces per layer and micro-batch, 2 more for embedding/logits.
    # (block recompute: 2 x the recomputed share, as communication.tensor_parallel charges it.)
    share = partial_recompute_share(wl, mp)
    rc_extra = np.where(rc == 2, 2.0, 0.0) if share is None else 2.0 * share
    tp_mult = microbatches * layers_stage * (4.0 + rc_extra) + 2.0 * microbatches
    tp_mult = np.where(mp.tp_overlap > 0, cal.tp_overlap_residual, 1.0) * tp_mult
    _add(acc, _allreduce(act_bytes, mp.tp, np.ones_like(mp.tp), domain), tp_mult)

    # PP: point-to-point activations, on the scale-out tier where the pipeline crosses domains.
    p2p_bytes = act_bytes / np.where(mp.sequence_parallel > 0, mp.tp, 1.0)
    crosses = mp.tp * mp.cp * dp >= domain
    pp_mult = np.where(mp.pp > 1, 2.0 * pipeline_p2p_exposed_sends(mp, cal, microbatches), 0.0)
    _add(acc, (np.where(crosses, 0.0, p2p_bytes), np.where(crosses, p2p_bytes, 0.0),
               np.where(crosses, 0.0, 1.0), np.where(crosses, 1.0, 0.0)), pp_mult)

    # ZeRO-3: the first layer's gather of each pass (forward, backward) is never hidden.
    dense_p, expert_p = synced_stage_parameters(wl, mp, etp)  # as data_parallel: the bound stays exact
    dp_group = dp * mp.cp
    expert_group = np.maximum(dp_group * mp.tp / (mp.ep * etp), 1.0)
    flat_gather = cal.sharded_gather_flat > 0
    g_stride = flat_gather_stride(flat_gather, dp_group, mp.tp, domain)
    # The layers the model divides a stage's parameters by (a stated layout's busiest rank: layout_stage).
    z3_layers = layout_stage_layers(wl, mp) if wl.training.pipeline_layout else layers_stage
    per_layer = 1.0 / np.maximum(z3_layers, 1.0)
    wbytes = cal.weight_bytes_per_param
    z3_mult, rs_mult = _zero3_multipliers(mp, cal, microbatches, z3_layers, dp_group)
    gbytes = cal.dp_reduce_bytes_per_param()
    trainable_scale = wl.trainable_params / wl.total_params
    _add(acc, _sharded(dense_p * per_layer * wbytes, dp_group, g_stride, domain), z3_mult)
    _add(acc, _sharded(dense_p * trainable_scale * gbytes * per_layer, dp_group, g_stride, domain), rs_mult)

    acc2 = list(acc)
    if wl.moe is not None:
        eg_stride = flat_gather_stride(flat_gather, expert_group, etp * mp.ep, domain)
        _add(acc, _sharded(expert_p * per_layer * wbytes, expert_group, eg_stride, domain), z3_mult)
        _add(acc, _sharded(expert_p * trainable_scale * gbytes * per_layer, expert_group, eg_stride, domain), rs_mult)
        acc2 = list(acc)
        # EP: dispatch + combine all-to-all, forward and backward (+ forward again under full recompute):
        # in-domain part (L1), scale-out part (L2).
        a2a_bytes = 2.0 * tokens * wl.moe.top_k * wl.moe.capacity_factor * h / mp.tp
        t_in, t_out = _alltoall(a2a_bytes, mp.ep, np.where(etp < mp.tp, 1.0, mp.tp * mp.cp), domain,
                                cal.moe_dispatch_per_domain, float(wl.moe.num_experts), wl.moe.top_k,
                                wl.moe.router_groups, wl.moe.router_group_topk)
        # With the combined-1F1B overlap only the unpaired share is certain (the rest is max(., 0)).
        ep_mult = (microbatches * layers_stage * moe_frac * ep_alltoalls_per_layer(mp, wl)
                   * a2a_unpaired_share(wl, mp, cal, microbatches))
        _add(acc, t_in, ep_mult)
        _add(acc2, t_out, ep_mult)

    # DP gradient sync of ZeRO 0-2 (ZeRO-3's is charged per layer, above).
    z = mp.zero_stage
    sync: list = [np.zeros(shape) for _ in range(4)]
    groups = [(dense_p, dp_group, mp.tp)]
    if wl.moe is not None:
        groups.append((expert_p, expert_group, etp * mp.ep))
    stages = [z == 0, z == 1, z == 2]  # (ZeRO 3: 0)
    for params, group, stride in groups:
        grad = params * trainable_scale * gbytes
        ag_bytes = params * trainable_scale * cal.dp_gather_bytes_per_param()
        ar, rs, ag = _allreduce(grad, group, stride, domain), _sharded(grad, group, stride, domain), _sharded(ag_bytes, group, stride, domain)
        for j in range(4):
            sync[j] = sync[j] + np.select(stages, [ar[j], rs[j] + ag[j], microbatches * rs[j] + ag[j]], 0.0)
    on = (dp_group > 1) & (z < 3)
    overlapped = on & (mp.dp_overlap > 0)
    # Without overlap the sync is exposed in full (added); with it, compute + exposed sync
    # >= max(compute, sync) since the overlap window (fraction x backward) never exceeds compute.
    # With it, the interference kappa (in [0, 1]) keeps kappa x sync exposed whatever the window (item 4 of the
    # module docstring): kappa x sync is added, (1 - kappa) x sync overlaps a window (1 - kappa) w.
    ov_ok = 0.0 <= cal.dp_overlap_fraction <= 1.0
    kappa = cal.overlap_interference if 0.0 <= cal.overlap_interference <= 1.0 else 0.0
    linear = np.where(on & ~overlapped, 1.0, np.where(overlapped & ov_ok, kappa, 0.0))
    _add(acc, sync, linear)
    _add(acc2, sync, linear)
    dp_over = np.stack([np.broadcast_to(np.where(overlapped & ov_ok, (1.0 - kappa) * c, 0.0), shape) for c in sync]
                       + [np.zeros(shape)], axis=-1)
    # The overlap window is f x one micro-batch's backward x chunked_sync_window (ZeRO 0-1: one sync
    # issued per model chunk) or x micro-batches (ZeRO-2), and compute >= micro-batches x backward,
    # so window <= w x compute with w = f x chunked_sync_window / micro-batches (<= f) or f:
    # compute + exposed sync >= max(compute, (1 - w) compute + sync).
    chunked = chunked_sync_window(microbatches, mp.pp, mp.vpp) / microbatches
    window = np.broadcast_to(np.where(overlapped & ov_ok, (1.0 - kappa) * cal.dp_overlap_fraction * np.where(z == 2, 1.0, chunked),
                                      1.0), shape)

    # Optimizer: HBM-bound Adam over the local trainable state (exact).
    local_params = np.where(mp.zero_stage >= 1, dense_p / dp_group + expert_p / expert_group, dense_p + expert_p)
    opt = np.broadcast_to(local_params * trainable_scale * cal.optimizer_bytes_per_param / cal.hbm_bw_efficiency, shape)
    out1 = np.stack([np.broadcast_to(a, shape) for a in acc] + [opt], axis=-1)
    out2 = np.stack([np.broadcast_to(a, shape) for a in acc2] + [opt], axis=-1)
    return out1, out2, dp_over, window
