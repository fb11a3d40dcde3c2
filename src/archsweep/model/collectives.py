"""Collective communication time over a two-tier network (scale-up domain + scale-out).

Alpha-beta cost model (Thakur, Rabenseifner & Gropp, "Optimization of Collective Communication
Operations in MPICH", IJHPCA 2005; Chan et al. 2007) for a group of ``n`` ranks exchanging a
message of ``size`` bytes per rank:

* ring all-reduce:      2 (n-1)/n * S / B + 2 (n-1) a
* reduce-scatter / all-gather: (n-1)/n * S / B + (n-1) a
* all-to-all (pairwise exchange): (n-1)/n * S / B + (n-1) a
* double-binary-tree all-reduce (NCCL trees, latency-bound messages): 2 S / B + 2 log2(n) a
* point-to-point: S / B + a

Placement: a group with rank stride ``stride`` (Megatron order: TP innermost) puts
``n_in = clip(D / stride, 1, n)`` members in each scale-up domain of size D and spans
``n_out = n / n_in`` domains. Hierarchical all-reduce (Jia et al., "Highly Scalable Deep
Learning Training System with Mixed-Precision", 2018; NCCL's NVLS/tree-of-rings): reduce-
scatter inside the domain, all-reduce of S/n_in across domains on the scale-out network (every
accelerator has its own NIC rail), all-gather inside the domain. Topology enters through the
effective per-accelerator bandwidth of each tier (:func:`scaleout_bw_effective`,
:func:`scaleup_bw_effective`). Every function is 0 for a group of one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsweep.spec.hardware import HardwareArrays

__all__ = [
    "Tiers", "group_split", "mesh_share", "scaleup_bw_effective", "scaleout_rate", "scaleout_bw_effective", "tiers",
    "allreduce_time_s", "allreduce_on", "sharded_on", "reduce_scatter_time_s", "all_gather_time_s", "alltoall_time_s", "p2p_time_s",
    "ep_dispatch", "ep_dispatch_bytes", "ep_dispatch_time_s",
]


def group_split(n: np.ndarray, stride: np.ndarray, domain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(members per scale-up domain, domains spanned) of a group of ``n`` ranks at ``stride``."""
    n_in = np.clip(np.floor(domain / np.maximum(stride, 1.0)), 1.0, n)
    n_in = np.where(n_in >= 1.0, n_in, 1.0)
    return n_in, n / n_in


def mesh_share(hw: HardwareArrays, n_in: np.ndarray) -> np.ndarray:
    """Share of a part's scale-up bandwidth that ``n_in`` members of one domain reach each other with, in (0, 1].

    In a full mesh (``scaleup_topology`` ``full_mesh``) each accelerator splits its links equally over the
    D - 1 other members of its domain, and a collective among ``n_in`` of them can drive only the links to
    its n_in - 1 peers: (n_in - 1) / (D - 1) (Intel Gaudi docs, "Intel Gaudi Network Configuration": 21
    scale-up ports to 7 peers, "21/7 = 3 scale-up ports for each connection inside the box"; AMD ROCm
    gpu-arch/mi300.md: one xGMI link to each of the 7 peers). A point-to-point send is ``n_in`` = 2. 1 on
    every other topology.
    """
    d = np.maximum(np.asarray(hw.scaleup_domain_size, dtype=np.float64), 2.0)
    share = np.clip((np.maximum(n_in, 2.0) - 1.0) / (d - 1.0), 0.0, 1.0)
    return np.where(hw.scaleup_topology == "full_mesh", share, 1.0)


def scaleup_bw_effective(hw: HardwareArrays, n_in: np.ndarray) -> np.ndarray:
    """Per-accelerator bandwidth a collective over ``n_in`` domain members can use, bytes/s.

    Switched domains give every rank its full bandwidth. In a k-D torus each dimension owns
    1/k of the links; a group filling ``ceil(log_side(n_in))`` dimensions uses that share. In a
    full mesh the group reaches its peers over their links only (:func:`mesh_share`).
    """
    bw = hw.scaleup_bw_bytes_per_s
    dims = np.select([hw.scaleup_topology == "torus2d", hw.scaleup_topology == "torus3d"], [2.0, 3.0], 1.0)
    side = np.maximum(hw.scaleup_domain_size ** (1.0 / dims), 2.0)
    dims_used = np.clip(np.ceil(np.log(np.maximum(n_in, 1.0)) / np.log(side) - 1e-9), 1.0, dims)
    return bw * dims_used / dims * mesh_share(hw, n_in)


def scaleout_rate(hw: HardwareArrays) -> np.ndarray:
    """The scale-out rate per accelerator the performance model runs at, bytes/s: the line rate
    ``scaleout_bw_bytes_per_s`` (which sizes NICs and switch ports: model/cost.py, power.py, area.py) times
    the part column ``scaleout_achieved_share`` (the share its system achieves, 1 unless the catalog
    publishes one: data/hardware/catalog.yaml B300)."""
    return hw.scaleout_bw_bytes_per_s * hw.scaleout_achieved_share


def scaleout_bw_effective(hw: HardwareArrays, n_out: np.ndarray) -> np.ndarray:
    """Per-accelerator scale-out bandwidth for a collective across ``n_out`` domains, bytes/s.

    Rail-optimised fabrics keep same-rail traffic on one non-blocking leaf (full bandwidth).
    An oversubscribed fat tree divides bandwidth by the oversubscription ratio once traffic
    leaves the leaf; a dragonfly's global links carry it at half bandwidth under uniform
    traffic (Kim et al., ISCA 2008, Sec. 4); a 3-D torus across pods shares 1/3 per dimension.
    """
    bw = scaleout_rate(hw)
    over = np.maximum(hw.scaleout_oversubscription, 1.0)
    topo = hw.scaleout_topology
    factor = np.select(
        [topo == "rail_optimized", topo == "fat_tree", topo == "dragonfly", topo == "torus3d"],
        [1.0 / np.where(n_out > 32, over, 1.0), 1.0 / over, 0.5 / over, 1.0 / 3.0], 1.0)
    return bw * factor


def _ring(steps_factor: float, size: np.ndarray, n: np.ndarray, bw: np.ndarray, latency: np.ndarray) -> np.ndarray:
    """Ring collective; exactly 0 for n = 1 (both terms carry the factor n - 1)."""
    steps = n - 1.0
    return steps_factor * steps * (size / (n * bw) + latency)


def _tree_allreduce(size: np.ndarray, n: np.ndarray, bw: np.ndarray, latency: np.ndarray) -> np.ndarray:
    n = np.maximum(n, 1.0)
    return np.where(n > 1, 2.0 * size / bw + 2.0 * np.log2(n) * latency, 0.0)


@dataclass(frozen=True)
class Tiers:
    """A group of ``n`` ranks placed over the two tiers (:func:`group_split`) with each tier's effective
    bandwidth times the collective efficiency (:func:`tiers`): what every collective of that group on one
    hardware batch shares, whatever its message (the ``*_on`` functions)."""

    n: np.ndarray
    n_in: np.ndarray
    n_out: np.ndarray
    bw_in: np.ndarray
    bw_out: np.ndarray


def tiers(hw: HardwareArrays, n: np.ndarray, stride: np.ndarray, efficiency: float) -> Tiers:
    """The :class:`Tiers` of a group of ``n`` ranks at ``stride`` on ``hw``: computed once for several
    collectives of one group (data_parallel.py: a reduce-scatter, an all-gather and an all-reduce)."""
    n_in, n_out = group_split(n, stride, hw.scaleup_domain_size)
    return Tiers(n, n_in, n_out, scaleup_bw_effective(hw, n_in) * efficiency, scaleout_bw_effective(hw, n_out) * efficiency)


def allreduce_time_s(hw: HardwareArrays, size: np.ndarray, n: np.ndarray, stride: np.ndarray,
                     efficiency: float) -> np.ndarray:
    """All-reduce of ``size`` bytes per rank: best of flat ring, tree and hierarchical, s."""
    return allreduce_on(hw, size, tiers(hw, n, stride, efficiency))


def allreduce_on(hw: HardwareArrays, size: np.ndarray, t: Tiers) -> np.ndarray:
    """:func:`allreduce_time_s` of the group ``t`` (:func:`tiers`), s."""
    n, n_in, n_out, bw_in, bw_out = t.n, t.n_in, t.n_out, t.bw_in, t.bw_out
    lat_in, lat_out = hw.scaleup_latency_s, hw.scaleout_latency_s
    inside = n_out <= 1
    # Single tier: ring or tree on the scale-up fabric.
    flat_in = np.minimum(_ring(2.0, size, n, bw_in, lat_in), _tree_allreduce(size, n, bw_in, lat_in))
    # Two tiers: reduce-scatter + all-gather in the domain, all-reduce of size/n_in across domains.
    cross = np.minimum(_ring(2.0, size / n_in, n_out, bw_out, lat_out),
                       _tree_allreduce(size / n_in, n_out, bw_out, lat_out))
    hierarchical = _ring(2.0, size, n_in, bw_in, lat_in) + cross
    return np.where(inside, flat_in, hierarchical)


def _sharded(hw: HardwareArrays, size: np.ndarray, n: np.ndarray, stride: np.ndarray, efficiency: float) -> np.ndarray:
    """Reduce-scatter or all-gather (same cost): in-domain ring, then cross-domain ring."""
    return sharded_on(hw, size, tiers(hw, n, stride, efficiency))


def sharded_on(hw: HardwareArrays, size: np.ndarray, t: Tiers) -> np.ndarray:
    """A reduce-scatter or all-gather (:func:`reduce_scatter_time_s`, :func:`all_gather_time_s`: the same
    cost) of ``size`` bytes per rank over the group ``t`` (:func:`tiers`), s."""
    n_in, n_out, bw_in, bw_out = t.n_in, t.n_out, t.bw_in, t.bw_out
    return _ring(1.0, size, n_in, bw_in, hw.scaleup_latency_s) + _ring(1.0, size / n_in, n_out, bw_out, hw.scaleout_latency_s)


def reduce_scatter_time_s(hw: HardwareArrays, size: np.ndarray, n: np.ndarray, stride: np.ndarray,
                          efficiency: float) -> np.ndarray:
    """Reduce-scatter of a ``size``-byte buffer per rank (each keeps size/n), s."""
    return _sharded(hw, size, n, stride, efficiency)


def all_gather_time_s(hw: HardwareArrays, size: np.ndarray, n: np.ndarray, stride: np.ndarray,
                      efficiency: float) -> np.ndarray:
    """All-gather producing a ``size``-byte buffer per rank, s."""
    return _sharded(hw, size, n, stride, efficiency)


def alltoall_time_s(hw: HardwareArrays, size: np.ndarray, n: np.ndarray, stride: np.ndarray,
                    efficiency: float) -> np.ndarray:
    """All-to-all where each rank sends ``size`` bytes in total, split evenly over the group, s.

    The share for peers outside the scale-up domain, (n - n_in)/n of the message, crosses the
    scale-out network; both tiers transfer concurrently, the slower one sets the time.
    """
    g = tiers(hw, n, stride, efficiency)
    n_in, n_out, bw_in, bw_out = g.n_in, g.n_out, g.bw_in, g.bw_out
    n_safe = np.maximum(n, 1.0)
    t_in = (n_in - 1) / n_safe * size / bw_in + (n_in - 1) * hw.scaleup_latency_s
    t_out = (n - n_in) / n_safe * size / bw_out + (n_out - 1) * hw.scaleout_latency_s
    return np.where(n > 1, np.maximum(t_in, t_out), 0.0)


def _reach(experts: float, held: np.ndarray, top_k: int) -> np.ndarray:
    """Probability that a token's ``top_k`` distinct experts, drawn uniformly from ``experts``, include
    one of ``held`` given experts: 1 - C(experts - held, top_k) / C(experts, top_k)."""
    miss = np.ones_like(np.asarray(held, dtype=np.float64))
    for i in range(int(top_k)):
        miss = miss * np.clip((experts - held - i) / (experts - i), 0.0, 1.0)
    return 1.0 - miss


def _comb(a: np.ndarray, b: int) -> np.ndarray:
    """C(a, b) for integer-valued ``a`` >= 0 (array) and integer ``b`` >= 0; 0 where b > a."""
    out = np.ones_like(np.asarray(a, dtype=np.float64))
    for i in range(int(b)):
        out = out * np.maximum(a - i, 0.0) / (i + 1.0)
    return out


def _grouped_reach(experts: float, held: np.ndarray, top_k: int, groups: int, group_topk: int) -> np.ndarray:
    """Probability that a token reaches a unit (rank or domain) holding ``held`` consecutive experts
    under group-limited routing: the ``experts`` fall into ``groups`` consecutive groups, a token picks
    ``group_topk`` groups, then its ``top_k`` experts among theirs (Megatron-Core ``group_limited_topk``;
    DeepSeek-V3 node-limited routing; both drawn uniformly: balanced routing). Where the unit's experts
    are whole groups (m = held / group size of them) or lie inside one group (m = 1), the unit is
    reached with sum_j P(j of its m groups picked) x :func:`_reach` (held / m x j of the picked groups'
    experts); elsewhere (groups not aligned with units), or with no group limit, :func:`_reach`."""
    held = np.asarray(held, dtype=np.float64)
    uniform = _reach(experts, held, top_k)
    if groups <= 1 or group_topk >= groups:
        return uniform
    size = experts / groups
    ratio = held / size
    whole = (ratio >= 1.0) & np.isclose(ratio, np.round(ratio))
    inside = (ratio < 1.0) & (held > 0.0) & np.isclose(size / np.maximum(held, 1e-30),
                                                     np.round(size / np.maximum(held, 1e-30)))
    m = np.where(whole, np.round(ratio), 1.0)
    per_group = held / m
    picked = group_topk * size
    total = _comb(np.asarray(float(groups)), group_topk)
    grouped = np.zeros_like(held)
    for j in range(1, int(group_topk) + 1):
        p_j = _comb(m, j) * _comb(groups - m, group_topk - j) / total
        grouped = grouped + p_j * _reach(picked, j * per_group, top_k)
    return np.where(whole | inside, grouped, uniform)


def ep_dispatch_bytes(size: np.ndarray, n: np.ndarray, n_in: np.ndarray, per_domain: float, experts: float,
                      top_k: int, groups: int = 1, group_topk: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(scale-up bytes, scale-out bytes) one rank sends in an expert-parallel dispatch (or combine)
    whose ``size`` bytes are ``top_k`` routed copies of its tokens, over ``n`` ranks, ``n_in`` per domain.

    ``per_domain`` 0: one copy per routed expert, as an all-to-all (Megatron-Core alltoall dispatcher):
    (n_in - 1)/n of ``size`` stays in the domain, (n - n_in)/n crosses the scale-out network.
    ``per_domain`` 1: hierarchical dispatch (DeepEP normal kernels, "NVLink and RDMA forwarding";
    HybridEP): a token crosses the scale-out network once per remote domain holding any of its
    experts (deepseek-ai/DeepEP tests/test_internode.py: ``num_rdma_token_sent`` counts (token, node)
    pairs) and reaches each expert rank once (``is_token_in_rank``), forwarded inside the domain over
    the scale-up fabric. With the ``experts`` spread evenly over the ranks and a token's ``top_k``
    experts drawn uniformly (balanced routing), a group holding ``e`` experts is reached with
    probability :func:`_reach` (hypergeometric): the scale-out bytes are size / top_k x (n/n_in - 1)
    x reach(experts n_in / n), never above the all-to-all's; the scale-up bytes are size / top_k x
    n x reach(experts / n) x (n_in - 1)/n_in (every rank copy but the receiver's own passes a
    forwarder) once the group spans domains, and size / top_k x (n_in - 1) x reach(experts / n)
    inside one domain. With group-limited routing (``groups`` > 1: a token's experts come from
    ``group_topk`` of ``groups`` groups of consecutive experts; DeepSeek-V3 Sec. 2.1.2, at most 4 nodes)
    the domain reach is :func:`_grouped_reach`, which caps the domains a token reaches where the groups
    align with the domains; the scale-up forwarding keeps the uniform rank reach (an upper bound on those
    bytes; capping it too was measured and not kept, docs/model-accuracy.md s9-m4). All linear in ``size`` with non-negative factors."""
    n_safe = np.maximum(n, 1.0)
    flat_in, flat_out = (n_in - 1.0) / n_safe * size, (n - n_in) / n_safe * size
    if per_domain <= 0.0:
        return flat_in, flat_out
    n_in_safe = np.maximum(n_in, 1.0)
    n_out = n_safe / n_in_safe
    copy = size / max(int(top_k), 1)
    remote = copy * (n_out - 1.0) * _grouped_reach(experts, experts * n_in_safe / n_safe, top_k, groups, group_topk)
    rank_reach = _reach(experts, experts / n_safe, top_k)
    forwarded = np.where(n_out > 1.0, copy * n_safe * rank_reach * (n_in_safe - 1.0) / n_in_safe,
                         copy * (n_in_safe - 1.0) * rank_reach)
    return forwarded, np.minimum(remote, flat_out)


def ep_dispatch(hw: HardwareArrays, size: np.ndarray, n: np.ndarray, stride: np.ndarray, efficiency: float,
                per_domain: float, experts: float, top_k: int, groups: int = 1,
                group_topk: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One expert-parallel dispatch (or combine) of ``size`` bytes per rank (``top_k`` routed copies):
    (time s, scale-up bytes, scale-out bytes). Both tiers at once, the slower sets the time
    (:func:`alltoall_time_s`), with the bytes of :func:`ep_dispatch_bytes` (``groups`` / ``group_topk``: the
    router's group limit, 1 / 1 none); ``per_domain`` 0 gives :func:`alltoall_time_s` exactly."""
    g = tiers(hw, n, stride, efficiency)
    n_in, n_out, bw_in, bw_out = g.n_in, g.n_out, g.bw_in, g.bw_out
    b_in, b_out = ep_dispatch_bytes(size, n, n_in, per_domain, experts, top_k, groups, group_topk)
    t_in = b_in / bw_in + (n_in - 1) * hw.scaleup_latency_s
    t_out = b_out / bw_out + (n_out - 1) * hw.scaleout_latency_s
    return np.where(n > 1, np.maximum(t_in, t_out), 0.0), b_in, b_out


def ep_dispatch_time_s(hw: HardwareArrays, size: np.ndarray, n: np.ndarray, stride: np.ndarray, efficiency: float,
                       per_domain: float, experts: float, top_k: int, groups: int = 1,
                       group_topk: int = 1) -> np.ndarray:
    """The time of :func:`ep_dispatch`, s."""
    return ep_dispatch(hw, size, n, stride, efficiency, per_domain, experts, top_k, groups, group_topk)[0]


def p2p_time_s(hw: HardwareArrays, size: np.ndarray, crosses_domain: np.ndarray, efficiency: float) -> np.ndarray:
    """Point-to-point send of ``size`` bytes, on the scale-out tier where it crosses domains (inside a full
    mesh over the one peer's links, :func:`mesh_share`), s."""
    in_domain = hw.scaleup_bw_bytes_per_s * mesh_share(hw, np.asarray(2.0))
    bw = np.where(crosses_domain, scaleout_rate(hw), in_domain) * efficiency
    lat = np.where(crosses_domain, hw.scaleout_latency_s, hw.scaleup_latency_s)
    return size / bw + lat
