"""Context parallelism's all-to-all (Ulysses), all-gather and hierarchical attention: the exposed collective time (s
per training step: summed over its micro-batches and the stage's layers), the bytes one rank sends and the work
around the attention kernels, by the job's ``cp_comm_type`` (:class:`~archsweep.spec.training.TrainingJob`);
``p2p``, the K/V ring, stays with :mod:`archsweep.model.training.ring_attention`, and ``a2a+p2p`` composes the two:
the all-to-all over ``cp_a2a_size`` consecutive CP ranks, then that ring over the cp / ``cp_a2a_size`` groups
(TransformerEngine's ``AttnFuncWithCPAndKVP2P`` with ``cp_group = [a2a group, p2p group]``, release_v2.8: forward,
the all-to-all of q, k, v before the ring, L1185-1192, and of the merged output after it, L1673-1676; backward, of
the saved output and dO before the ring, L2013-2027, and of dq, dk, dv after it, L2466-2478: nine all-to-alls, each
tensor's bytes per element by :func:`_hier_a2a_bytes`; the ring's FP8 rules stay the ring's; from v2.15 the backward
sends dO alone, eight, where the stack's ``te_a2a_p2p_backward_sends_output`` is 0: :func:`_hier_a2a_calls`).

As TransformerEngine runs them (NVIDIA/TransformerEngine release_v2.8,
transformer_engine/pytorch/attention/dot_product_attention/context_parallel.py; ``attn_forward_func_with_cp``
L3789-3823 picks the class):

* ``a2a``, ``AttnFuncWithCPAndQKVOA2A`` (class L3041): the forward all-to-alls q, k and v (L3187-3189: one
  ``all_to_all_single`` each, issued back to back on the CP group), runs one attention kernel over the whole
  sequence with heads / cp, then all-to-alls its output (L3276-3278); the backward all-to-alls dO (L3426-3428),
  runs the attention backward, then all-to-alls dq, dk, dv (L3536-3538). ``flash_attn_a2a_communicate``
  (L261-326) ends with ``torch.cuda.current_stream().wait_stream(cp_stream)``: the compute stream waits for every
  all-to-all, so none overlaps the attention kernel; of the chunk copies around them only the first tensor's
  before and the last one's after each call are exposed (:func:`_a2a_copies_s`). Under FP8 attention (``fp8`` with a
  per-tensor recipe) q, k, v are quantized before the all-to-all (L3167-3176) and dO before its own (L3396-3403), FP8
  data, 1 byte; the output and dq, dk, dv are FP8 data under delayed scaling (``out_._data`` L3230-3232, ``dq, dk, dv
  = [x._data ...]`` L3504-3505) but BF16 under current scaling, which creates O and dQ, dK, dV unquantized
  (transformer_engine/pytorch/csrc/extensions/attention.cpp ``quantizer_helper(..., true, ...)`` L133, L423-425;
  ``out_f16 = out_`` after the all-to-all L3289-3290, dq, dk, dv quantized only after theirs L3557-3558): 2 bytes
  (:func:`_a2a_bytes`); else every tensor 2 bytes (BF16). Each all-to-all sends (cp - 1) / cp of its tensor
  (``collectives.alltoall_time_s``, its per-peer latency included, the cp ranks at stride tp).
* ``all_gather``, ``AttnFuncWithCPAndKVAllGather`` (class L2555, "KV all-gather between CP ranks is exposed"): the
  forward all-gathers k and v (``gather_along_first_dim``, synchronous, L2660-2661), then runs the rank's two query
  chunks against the gathered K / V; the backward all-gathers k and v again (L2849-2850) and reduce-scatters dk and
  dv after the attention backward (``reduce_scatter_along_first_dim``, L3009-3010). All exposed. No FP8 argument
  reaches it (L3803-3807): its tensors are BF16, 2 bytes.

The attention kernel itself under both: one causal kernel (a2a: the whole sequence; all_gather: each query chunk
against the K / V up to it, ``causal_bottom_right``), so the ring's unmasked-step discount
(``attention_kernel.ring_attention_mask_factor``) does not apply (:func:`ring_steps`), nor do the ring's per-step
merges; the all-gather's chunk copies take their place (:func:`cp_kernel_extra_s`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.model import collectives as coll
from archsweep.model.hbm_pass import hbm_pass_s
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.ring_attention import (
    context_parallel_bytes_per_layer as ring_bytes_per_layer,
)
from archsweep.model.training.ring_attention import (
    context_parallel_exposed_s as ring_exposed_s,
)
from archsweep.model.training.ring_attention import fp8_ring, kv_elements
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["cp_bytes_per_layer", "cp_exposed_s", "cp_kernel_extra_s", "fp8_attention_runs", "ring_steps"]

_BF16_BYTES = 2.0


def _a2a_and_ring_sizes(wl: Workload, cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(all-to-all group size, ring size) per mapping under ``a2a+p2p``: min(``cp_a2a_size``, cp) consecutive CP
    ranks all-to-all, and cp over that many groups form the ring (1 and 1 at cp 1; at cp = ``cp_a2a_size`` the ring
    has one rank and TransformerEngine runs the plain a2a, ``attn_forward_func_with_cp``)."""
    c = np.maximum(np.asarray(cp, dtype=np.float64), 1.0)
    a2a = np.minimum(float(wl.training.cp_a2a_size), c)
    return a2a, c / a2a


def ring_steps(wl: Workload, cp: np.ndarray) -> np.ndarray:
    """The ring steps the job's attention kernel runs in, element-wise over ``cp`` (the ring's unmasked-step
    discount and merges come with them): ``p2p`` cp, ``a2a+p2p`` the ring's cp / ``cp_a2a_size``, else 1 (one
    kernel over the whole sequence, or the all-gather's two chunk kernels)."""
    c = np.maximum(np.asarray(cp, dtype=np.float64), 1.0)
    kind = wl.training.cp_comm_type
    if kind == "p2p":
        return c
    if kind == "a2a+p2p":
        return _a2a_and_ring_sizes(wl, c)[1]
    return np.ones_like(c)


def causal_kernel_shape(wl: Workload, cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(queries per head, heads over the rank's ``heads / tp``) of the causal kernel a rank runs under context
    parallelism, element-wise over ``cp`` (what :func:`~archsweep.model.attention_kernel.causal_schedule_efficiency`
    takes): ``p2p`` its ring's causal step over the rank's s / cp queries, all heads; ``a2a`` (Ulysses) the whole
    sequence for 1 / cp of the heads; ``a2a+p2p`` the ring's s / ring queries for 1 / ``cp_a2a_size`` of the heads;
    ``all_gather`` approximated as ``a2a``: its two chunk kernels each run the rank's queries against the gathered
    keys up to the chunk, rows as long as the whole sequence's."""
    c = np.maximum(np.asarray(cp, dtype=np.float64), 1.0)
    s = float(wl.seq_len)
    kind = wl.training.cp_comm_type
    if kind == "p2p":
        return s / c, np.ones_like(c)
    if kind == "a2a+p2p":
        a2a, ring = _a2a_and_ring_sizes(wl, c)
        return s / ring, 1.0 / a2a
    return np.full_like(c, s), 1.0 / c


def fp8_attention_runs(wl: Workload, cp: np.ndarray) -> np.ndarray:
    """Where a job asking for FP8 attention (``fp8_dot_product_attention``) gets it, element-wise over ``cp``: not
    under the all-gather CP at cp > 1, whose attention class TransformerEngine calls without the FP8 arguments
    (release_v2.8 ``attn_forward_func_with_cp`` L3803-3807) and whose K / V are gathered in BF16, so its kernel
    runs BF16 (the backend filter keeps FusedAttention for FP8 under CP, ``utils.get_attention_backend``)."""
    gathered = wl.training.cp_comm_type == "all_gather"
    return ~(gathered & (np.asarray(cp) > 1))


def cp_kernel_extra_s(hw: HardwareArrays, wl: Workload, cal: Calibration, cp: np.ndarray, q_bytes: np.ndarray,
                      kv_bytes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(forward, backward) time (s, one layer and micro-batch) a rank's context-parallel attention spends around
    its attention kernels beyond one kernel over its queries: HBM-bound copies and merges at ``hbm_pass_s`` and
    ``kernel_overhead_s`` per extra kernel. ``q_bytes``: the rank's BF16 queries (its output alike); ``kv_bytes``:
    its BF16 K and V. 0 at cp 1. By ``cp_comm_type`` (TransformerEngine release_v2.8 context_parallel.py):

    * ``p2p``, the ring (v1.6rc2 ``AttnFuncWithCP`` onward): per step, forward, the output correction
      out += out_step * exp(lse_step - lse) (read out, out_step, write out) and the log-sum-exp update; backward,
      dq += dq_step (read 2, write 1), the cat of dk, dv into one buffer (read 1, write 1) and dkv += dkv_step
      (read 2, write 1); plus one attention kernel per extra step in each direction.
    * ``a2a+p2p``: the ring's, over its cp / ``cp_a2a_size`` steps (the all-to-all group's chunk copies are
      :func:`cp_exposed_s`'s).
    * ``a2a`` (``AttnFuncWithCPAndQKVOA2A``): one attention kernel over the whole sequence, nothing merged: 0 (the
      chunk copies around the all-to-alls are :func:`cp_exposed_s`'s).
    * ``all_gather`` (``AttnFuncWithCPAndKVAllGather``): two kernels (the rank's two query chunks), and copies,
      in Megatron-Core's ``sbhd`` layout (``TEDotProductAttention.qkv_format``, megatron/core/extensions/
      transformer_engine.py L2074 @d98e8a6; TransformerEngine passes it through, backends.py L1789-1826), where the
      chunk selections and K / V ranges are slices along the leading sequence dimension and their ``contiguous()`` /
      ``movedim`` calls copy nothing (L2657, L2691, L2713, L2901, L2909-2911, L2983, L3013-3014; ``bshd`` would copy
      there). Forward: the gathered K / V's chunk reorder (``index_select``, read + write of G = cp x ``kv_bytes``,
      L2667-2668) and each chunk's output copied into ``out`` (L2775): 2 q + 2 G bytes, 5 kernels more than one
      attention kernel (2 reorders, 2 copies, the second chunk's kernel). Backward: the gathered dK / dV zeroed
      (write G, L2837-2838), the re-gathered K / V reordered (2 G, L2856-2857), each chunk's dq copied (2 q total,
      L2980), each chunk's dK / dV added into the gathered ones over the range it reaches (read 2, write 1: 3 f G
      with f = (2 cp + 1) / (2 cp), the two chunks reaching (2 cp + 1) of the 2 cp chunks, L2993-2994) and dK / dV
      reordered back (2 G, L3004-3005): 2 q + (5 + 3 f) G bytes, 13 kernels more (2 zero fills, 2 reorders, 2 dq
      copies, 4 additions, 2 reorders back, the second chunk's kernel)."""
    c = np.maximum(np.asarray(cp, dtype=np.float64), 1.0)
    over = cal.kernel_overhead_s
    kind = wl.training.cp_comm_type
    if kind in ("p2p", "a2a+p2p"):
        c = ring_steps(wl, c)
        fwd = c * (hbm_pass_s(hw, cal, 3.0 * q_bytes) + 2.0 * over) + (c - 1.0) * over
        bwd = c * (hbm_pass_s(hw, cal, 3.0 * q_bytes + 5.0 * kv_bytes) + 3.0 * over) + (c - 1.0) * over
    elif kind == "all_gather":
        gathered, reach = c * kv_bytes, (2.0 * c + 1.0) / (2.0 * c)
        fwd = hbm_pass_s(hw, cal, 2.0 * q_bytes + 2.0 * gathered) + 5.0 * over
        bwd = hbm_pass_s(hw, cal, 2.0 * q_bytes + (5.0 + 3.0 * reach) * gathered) + 13.0 * over
    else:
        return np.zeros_like(c * q_bytes), np.zeros_like(c * q_bytes)
    on = c > 1.0
    return np.where(on, fwd, 0.0), np.where(on, bwd, 0.0)


def _hierarchy(wl: Workload, mp: MappingArrays) -> tuple[np.ndarray, np.ndarray, MappingArrays]:
    """``a2a+p2p``'s (all-to-all group size, ring size, the ring's mapping): after the all-to-all a rank holds the
    group's tokens with 1 / group of its heads, so the ring runs as a ``p2p`` ring of cp / group ranks whose tp is
    tp x group (peers at that stride: TransformerEngine's ``cp_global_ranks[(rank + 1) % cp_size * cp_size_a2a +
    rank_a2a]``, AttnFuncWithCPAndKVP2P.forward) over tokens x group."""
    a2a, ring = _a2a_and_ring_sizes(wl, mp.cp)
    return a2a, ring, replace(mp, tp=mp.tp * a2a, cp=ring)


def _a2a_elements(wl: Workload, mp: MappingArrays, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(q or output elements, k plus v elements) of a rank's ``tokens`` local tokens, its heads split over tp: the
    forward's q, k, v and output all-to-alls and the backward's dO, dq, dk, dv move these."""
    return tokens * wl.heads * wl.head_dim / mp.tp, kv_elements(wl, mp, tokens)


def _a2a_bytes(wl: Workload) -> tuple[float, float, float, float]:
    """Bytes per element of the plain ``a2a``'s all-to-alls by tensor: (q, k, v; output; dO; dq, dk, dv). Under FP8
    attention (:func:`fp8_ring`) with delayed scaling all FP8 data, 1 byte; with current scaling q, k, v and dO 1
    byte, the output and dq, dk, dv BF16 (module docstring); else every tensor BF16."""
    recipe = wl.training.low_precision_recipe if fp8_ring(wl) else ""
    if recipe == "delayed":
        return 1.0, 1.0, 1.0, 1.0
    if recipe == "current":
        return 1.0, _BF16_BYTES, 1.0, _BF16_BYTES
    return (_BF16_BYTES,) * 4


def _a2a_sizes(wl: Workload, mp: MappingArrays, tokens: np.ndarray) -> list[np.ndarray]:
    """Bytes of each of the plain ``a2a``'s eight all-to-alls (forward q, k, v, output; backward dO, dq, dk, dv) of a
    rank's ``tokens`` local tokens, its heads split over tp (:func:`_a2a_bytes`)."""
    q, kv = _a2a_elements(wl, mp, tokens)
    qkv, out, dout, grads = _a2a_bytes(wl)
    return [qkv * q, qkv * kv / 2.0, qkv * kv / 2.0, out * q, dout * q, grads * q, grads * kv / 2.0, grads * kv / 2.0]


def _hier_a2a_bytes(wl: Workload) -> tuple[float, float, float, float, float]:
    """Bytes per element of ``a2a+p2p``'s all-to-alls where its ring has more than one rank, by tensor: (q, k, v
    forward; output forward; output backward; dO backward; dq, dk, dv backward). TransformerEngine release_v2.8
    ``AttnFuncWithCPAndKVP2P`` moves FP8 data there only for FP8 inputs (``fp8 and is_input_fp8``, L1186-1189 and
    L2467-2469), which no job option gives (Megatron-Core's fp8_multi_head_attention), so q, k, v go BF16 and are
    quantized after the all-to-all (L1199-1217). Under FP8 attention with a per-tensor recipe (:func:`fp8_ring`) the
    forward's output is the merge's FP32 (``out_per_step`` dequantized to float32, L1565-1572, the merge keeps its
    dtype, L102-112; cast to BF16 only after the all-to-all, L1707); the backward moves the saved FP8 output's
    data (delayed; current scaling keeps it BF16, ``NVTE_DPA_FP8CS_O_in_F16`` default 1, L56 and L1926-1935) and
    dO's FP8 data (L1938-1944); dq, dk, dv go BF16 (delayed: ``.sum(dim=0).to(bwd_nominal_dtype)``, L2415-2433) or
    FP32 (current scaling's float32 accumulators, L1963-1986, L2435-2437). Else every tensor BF16, 2 bytes."""
    recipe = wl.training.low_precision_recipe if fp8_ring(wl) else ""
    if recipe == "delayed":
        return _BF16_BYTES, 4.0, 1.0, 1.0, _BF16_BYTES
    if recipe == "current":
        return _BF16_BYTES, 4.0, _BF16_BYTES, 1.0, 4.0
    return (_BF16_BYTES,) * 5


def _hier_a2a_calls(wl: Workload, mp: MappingArrays, cal: Calibration, tokens: np.ndarray) -> list[list[np.ndarray]]:
    """Bytes of ``a2a+p2p``'s all-to-alls of a rank's ``tokens`` local tokens, its heads split over tp
    (:func:`_hier_a2a_bytes`), by ``flash_attn_a2a_communicate`` call: [q, k, v], [output] forward; [output, dO],
    [dq, dk, dv] backward (nine) where ``cal.te_a2a_p2p_backward_sends_output`` is 1 (TransformerEngine up to
    v2.14.1: ``out, dout = flash_attn_a2a_communicate([out, dout], ...)``, v2.14.1 L2258), else [dO] (eight: v2.15
    L2402, ``dout = flash_attn_a2a_communicate(dout, ...)``; its forward keeps the output before its all-to-all,
    L2023-2027, commit 8e73f54fe)."""
    q, kv = _a2a_elements(wl, mp, tokens)
    qkv, out_f, out_b, dout, grads = _hier_a2a_bytes(wl)
    backward = [out_b * q, dout * q] if cal.te_a2a_p2p_backward_sends_output > 0.0 else [dout * q]
    return [[qkv * q, qkv * kv / 2.0, qkv * kv / 2.0], [out_f * q], backward, [grads * q, grads * kv / 2.0,
                                                                             grads * kv / 2.0]]


def _a2a_copies_s(hw: HardwareArrays, cal: Calibration, calls: list[list[np.ndarray]]) -> np.ndarray:
    """The chunk copies the all-to-alls cannot hide (s): per ``flash_attn_a2a_communicate`` call (``calls``: the
    bytes of its tensors, in order), the first tensor's copy before its send and the last one's after its receive,
    each a read and a write of the tensor and one kernel (``kernel_overhead_s``). TransformerEngine release_v2.8
    L261-326: before the attention each tensor is ``movedim(-3, 0).contiguous()`` before its all-to-all and
    ``reorder_seq_chunks_for_a2a_before_attn`` (an ``index_select``) after it; after the attention the reorder before
    and the ``movedim(...).contiguous()`` after; the copies of the other tensors run beside the next tensor's
    transfer (the reorders on ``cp_stream``), and the compute stream waits for the last (L325)."""
    moved = sum(2.0 * sizes[0] + 2.0 * sizes[-1] for sizes in calls)
    return hbm_pass_s(hw, cal, moved) + 2.0 * len(calls) * cal.kernel_overhead_s


def _a2a_exposed(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration,
                 tokens: np.ndarray) -> np.ndarray:
    """One layer's and micro-batch's all-to-all time (s), forward and backward: q, k, v, out, dO, dq, dk, dv, each
    one ``alltoall_time_s`` of its whole tensor (own share included) over the cp ranks at stride tp, and the chunk
    copies of its four calls that no transfer hides (:func:`_a2a_copies_s`: [q, k, v], [out], [dO], [dq, dk, dv])."""
    sizes = _a2a_sizes(wl, mp, tokens)
    c = np.maximum(mp.cp, 1.0)
    moved = sum(coll.alltoall_time_s(hw, size, c, mp.tp, cal.collective_bw_efficiency) for size in sizes)
    return moved + _a2a_copies_s(hw, cal, [sizes[0:3], sizes[3:4], sizes[4:5], sizes[5:8]])


def _all_gather_exposed(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration,
                        tokens: np.ndarray) -> np.ndarray:
    """One layer's and micro-batch's K / V all-gathers (k and v, forward and backward: 4) and dK / dV
    reduce-scatters (2), BF16, each of the gathered (cp x local) tensor over the cp ranks at stride tp (s)."""
    c = np.maximum(mp.cp, 1.0)
    full = _BF16_BYTES * c * kv_elements(wl, mp, tokens) / 2.0  # one of k, v gathered
    return 6.0 * coll.all_gather_time_s(hw, full, c, mp.tp, cal.collective_bw_efficiency)


def cp_exposed_s(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration, tokens: np.ndarray,
                 microbatches: np.ndarray, layers_stage: np.ndarray, core_fwd_s: np.ndarray,
                 core_bwd_s: np.ndarray | float) -> np.ndarray:
    """Context parallelism's exposed communication over the step (s) for the job's ``cp_comm_type``: ``p2p`` the
    ring's (:func:`~archsweep.model.training.ring_attention.context_parallel_exposed_s`, per-step overlap);
    ``a2a`` and ``all_gather`` all of their collectives (module docstring: nothing overlaps them); ``a2a+p2p`` its
    nine all-to-alls (eight from TransformerEngine v2.15: :func:`_hier_a2a_calls`) over the group, exposed, plus
    the ring's over the groups. 0 at cp 1."""
    kind = wl.training.cp_comm_type
    if kind == "p2p":
        return ring_exposed_s(hw, wl, mp, cal, tokens, microbatches, layers_stage, core_fwd_s, core_bwd_s)
    if kind == "a2a+p2p":
        a2a, ring, ring_mp = _hierarchy(wl, mp)
        group = replace(mp, cp=a2a)
        calls = _hier_a2a_calls(wl, group, cal, tokens)
        hier = sum(coll.alltoall_time_s(hw, size, a2a, mp.tp, cal.collective_bw_efficiency)
                   for sizes in calls for size in sizes)
        hier = hier + _a2a_copies_s(hw, cal, calls)  # L1191-2478's calls
        # a ring of one rank: TransformerEngine runs the plain a2a (attn_forward_func_with_cp)
        per_layer = np.where(a2a > 1, np.where(ring > 1, hier, _a2a_exposed(hw, wl, group, cal, tokens)), 0.0)
        ring_s = ring_exposed_s(hw, wl, ring_mp, cal, tokens * a2a, microbatches, layers_stage, core_fwd_s, core_bwd_s)
        return np.where(mp.cp > 1, microbatches * layers_stage * per_layer, 0.0) + ring_s
    per_layer = _a2a_exposed(hw, wl, mp, cal, tokens) if kind == "a2a" else _all_gather_exposed(hw, wl, mp, cal, tokens)
    return np.where(mp.cp > 1, microbatches * layers_stage * per_layer, 0.0)


def cp_bytes_per_layer(wl: Workload, mp: MappingArrays, cal: Calibration, tokens: np.ndarray) -> np.ndarray:
    """Bytes one rank sends per layer and micro-batch, forward and backward: ``p2p`` the ring's; ``a2a`` (cp - 1) /
    cp of q, k, v, out, dO, dq, dk, dv; ``a2a+p2p`` (group - 1) / group of its nine (eight: the stack's
    ``te_a2a_p2p_backward_sends_output`` 0) all-to-alls' tensors plus the ring's; ``all_gather`` (cp - 1) times
    its K and V shards in each of the 4 all-gathers and 2 reduce-scatters (BF16). 0 without CP."""
    kind = wl.training.cp_comm_type
    if kind == "p2p":
        return ring_bytes_per_layer(wl, mp, tokens)
    c = np.maximum(mp.cp, 1.0)
    plain = sum(_a2a_sizes(wl, mp, tokens))  # the a2a's eight tensors
    if kind == "a2a":
        return plain * (c - 1.0) / c
    if kind == "a2a+p2p":
        a2a, ring, ring_mp = _hierarchy(wl, mp)
        hier = sum(size for sizes in _hier_a2a_calls(wl, mp, cal, tokens) for size in sizes)
        moved = np.where(ring > 1, hier, plain)  # a ring of one rank: the plain a2a
        return moved * (a2a - 1.0) / a2a + ring_bytes_per_layer(wl, ring_mp, tokens * a2a)
    return _BF16_BYTES * 3.0 * kv_elements(wl, mp, tokens) * (c - 1.0)
