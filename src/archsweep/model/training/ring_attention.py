"""Context parallelism's ring attention: the bytes one rank sends and the transfer time the ring's steps leave
exposed (s per training step: summed over its micro-batches and the stage's layers), BF16 and FP8 attention.

TransformerEngine's ``AttnFuncWithCPAndKVP2P`` (the default ``cp_comm_type="p2p"``, DotProductAttention L689;
transformer_engine/pytorch/attention/dot_product_attention/context_parallel.py @d0067d0da) runs cp steps of equal
work (``core_fwd_s`` / cp, ``core_bwd_s`` / cp: a step's flash call and its merge kernels). Each transfer hides only
behind the step it overlaps (s21-G):

* Forward (L1697-1716): step i waits for the K/V it received during step i - 1, then sends them on: cp - 1 hops
  of one rank's K/V, each overlapped with one step. Under FP8 attention with a per-tensor recipe (delayed or
  current scaling) q, k, v are the FP8 tensors' 1-byte data (L1693-1695); MXFP8 attention sends them in BF16.
* Backward, BF16 (L2455-2500, L2717-2719): step i sends one buffer [K/V for step i + 1, dK/dV accumulated so far]
  (step 0 K/V only, step cp - 1 dK/dV only) and waits for it right after its own flash backward.
* Backward, FP8 attention (``ctx.fp8``, L2467-2485, buffers L2313 / L2365-2372): steps 0 .. cp - 2 send the K/V
  only (the forward's bytes per element), each waited after that step's flash backward (L2717-2719); step cp - 1
  issues one all-to-all of every step's dK/dV (a ``(cp, *kv.shape)`` buffer of ``torch.uint8``: 1 byte per
  element, (cp - 1) / cp of it leaving the rank), waited after that step's flash backward. TransformerEngine 1.x,
  which the NeMo 1.x MLPerf rows run, has the same FP8 ring (v1.10 transformer_engine/pytorch/attention.py: K/V
  cast to FP8 before the forward ring L1435-1441 with ``NVTE_FP8_DPA_BWD`` at its default 1, the backward's
  ``dkv_fp8`` of ``(cp_size, *kv.shape)`` L2164-2175 and its all-to-all L2234; v1.11 L2273-2284, L2343; s23-N).

An NVFP4 job with FP8 attention is priced as MXFP8 attention's ring (BF16 K/V, the FP8 backward): at d0067d0da
TransformerEngine has no FP8 attention under the NVFP4 recipe itself (dot_product_attention/utils.py L721-723
disables FusedAttention for it) and runs one only where ``NVTE_DPA_FP8_RECIPE`` picks a delayed, current or MXFP8
recipe for the attention (the recipe table of dot_product_attention.py L167-238), which the job does not say.

Not priced: the forward ring a recomputed attention core (full or selective recompute) runs again.
"""

from __future__ import annotations

import numpy as np

from archsweep.model import collectives as coll
from archsweep.model.training.mapping import MappingArrays
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["fp8_ring", "kv_elements", "ring_kv_bytes_per_element", "context_parallel_send_bytes", "context_parallel_bytes_per_layer",
           "context_parallel_exposed_s"]

#: recipes whose FP8 attention hands the ring its FP8 tensors' 1-byte data (delayed / current scaling)
_PER_TENSOR_RECIPES = ("delayed", "current")
#: bytes per dK / dV element of the FP8 backward's all-to-all (``buffer_dtype = torch.uint8``, L2313)
FP8_RING_GRAD_BYTES = 1.0
_BF16_BYTES = 2.0


def fp8_ring(wl: Workload) -> bool:
    """Whether the ring runs TransformerEngine's FP8 path: an FP8 job with FP8 attention
    (``fp8_dot_product_attention``)."""
    return wl.training.precision == "fp8" and wl.training.fp8_dot_product_attention


def ring_kv_bytes_per_element(wl: Workload) -> float:
    """Bytes per K / V element a ring hop carries: 1 under per-tensor-scaled FP8 attention, else 2 (BF16; MXFP8
    attention keeps its K / V in BF16 for the ring)."""
    return 1.0 if fp8_ring(wl) and wl.training.low_precision_recipe in _PER_TENSOR_RECIPES else _BF16_BYTES


def kv_elements(wl: Workload, mp: MappingArrays, tokens: np.ndarray) -> np.ndarray:
    """K and V elements of a rank's ``tokens`` local tokens, its KV heads split over ``min(tp, kv_heads)``."""
    return 2.0 * tokens * wl.kv_heads * wl.head_dim / np.minimum(mp.tp, wl.kv_heads)


def context_parallel_send_bytes(wl: Workload, mp: MappingArrays, tokens: np.ndarray) -> np.ndarray:
    """Bytes of one ring hop: a rank's K and V at :func:`ring_kv_bytes_per_element`."""
    return ring_kv_bytes_per_element(wl) * kv_elements(wl, mp, tokens)


def context_parallel_bytes_per_layer(wl: Workload, mp: MappingArrays, tokens: np.ndarray) -> np.ndarray:
    """Bytes one rank sends per layer and micro-batch (forward and backward): BF16 3 (cp - 1) hops of K/V (forward
    cp - 1, backward 2 (cp - 1) K/V-sized halves of its buffers); FP8 attention 2 (cp - 1) hops of K/V plus the
    (cp - 1) dK/dV shares of its all-to-all at :data:`FP8_RING_GRAD_BYTES`. 0 without CP."""
    c = np.maximum(mp.cp, 1.0)
    hop = context_parallel_send_bytes(wl, mp, tokens)
    if fp8_ring(wl):
        return (c - 1.0) * (2.0 * hop + FP8_RING_GRAD_BYTES * kv_elements(wl, mp, tokens))
    return 3.0 * (c - 1.0) * hop


def context_parallel_exposed_s(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration,
                               tokens: np.ndarray, microbatches: np.ndarray, layers_stage: np.ndarray,
                               core_fwd_s: np.ndarray, core_bwd_s: np.ndarray | float) -> np.ndarray:
    """Ring attention's exposed transfer time (s) over the step: each transfer hides only behind the ring step it
    overlaps (module docstring). Forward (cp - 1) max(hop - step, 0). Backward, BF16: 2 max(hop - step, 0) +
    (cp - 2) max(2 hop - step, 0); FP8 attention: (cp - 1) max(hop - step, 0) + max(all-to-all - step, 0). A hop is
    :func:`context_parallel_send_bytes` over ``p2p_time_s`` (its latency once per transfer), on the scale-out tier
    where tp x cp leaves the domain; the all-to-all is ``alltoall_time_s`` of the cp ranks at stride tp."""
    kv_bytes = context_parallel_send_bytes(wl, mp, tokens)
    crosses = mp.tp * mp.cp > hw.scaleup_domain_size
    hop = coll.p2p_time_s(hw, kv_bytes, crosses, cal.collective_bw_efficiency)
    c = np.maximum(mp.cp, 1.0)
    step_f, step_b = core_fwd_s / c, core_bwd_s / c
    fwd = (c - 1.0) * np.maximum(hop - step_f, 0.0)
    if fp8_ring(wl):
        grads = c * FP8_RING_GRAD_BYTES * kv_elements(wl, mp, tokens)  # the all-to-all buffer, own share included
        a2a = coll.alltoall_time_s(hw, grads, c, mp.tp, cal.collective_bw_efficiency)
        bwd = (c - 1.0) * np.maximum(hop - step_b, 0.0) + np.maximum(a2a - step_b, 0.0)
    else:
        hop2 = coll.p2p_time_s(hw, 2.0 * kv_bytes, crosses, cal.collective_bw_efficiency)
        bwd = 2.0 * np.maximum(hop - step_b, 0.0) + np.maximum(c - 2.0, 0.0) * np.maximum(hop2 - step_b, 0.0)
    return np.where(mp.cp > 1, microbatches * layers_stage * (fwd + bwd), 0.0)
