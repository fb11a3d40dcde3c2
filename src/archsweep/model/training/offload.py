"""Activation offloading to host memory: the copy time a step cannot hide, and the bytes it moves.

Megatron-Core's ``cpu_offloading_num_layers`` (TransformerEngine ``get_cpu_offload_context``, default
schedule; docs/features/other_optimizations/cpu_offloading/cpu_offloading.rst @d0067d0): the stored
activations of the first N layers of a stage are copied to host memory on a side stream as the forward
saves them and copied back before each layer's backward. Per offloaded layer and micro-batch, the copy
out (forward) and back (backward) of ``layer_bytes`` at the host link's per-direction rate overlaps that
layer's own forward / backward compute; only the part longer than it shows. The copies read and write
HBM once each (the copy engines' traffic, counted for energy). The memory side is
:func:`archsweep.model.training.memory.resident_layers`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsweep.model.training.memory import resident_layers
from archsweep.spec.workload import Workload

__all__ = ["OffloadCost", "activation_offload"]


@dataclass(frozen=True)
class OffloadCost:
    """Per micro-batch: exposed copy time (s), HBM bytes the copies read + write, and whether the part
    can offload at all (a host link rate is known, or nothing is offloaded)."""

    exposed_s: np.ndarray
    hbm_bytes: np.ndarray
    feasible: np.ndarray


def activation_offload(wl: Workload, host_link_bw_bytes_per_s: float | np.ndarray, layer_bytes: np.ndarray,
                       layers_stage: np.ndarray, t_layer_f: np.ndarray, t_layer_b: np.ndarray) -> OffloadCost:
    """Cost of offloading ``wl.training.activation_offload_layers`` layers of each stage, per micro-batch,
    over a host link of ``host_link_bw_bytes_per_s`` per direction (hardware column; 0: unknown).

    ``layer_bytes``: one layer's stored activations for one micro-batch (bytes); ``t_layer_f`` / ``_b``:
    one layer's forward / backward time (s). Zero offloaded layers cost exactly 0.
    """
    offloaded = layers_stage - resident_layers(wl, layers_stage)
    rate = np.asarray(host_link_bw_bytes_per_s, dtype=np.float64)
    if np.any(rate > 0):
        copy_s = layer_bytes / np.where(rate > 0, rate, 1.0)
        exposed = offloaded * (np.maximum(copy_s - t_layer_f, 0.0) + np.maximum(copy_s - t_layer_b, 0.0))
    else:
        exposed = 0.0 * layer_bytes  # no known host link: the mapping is infeasible (below), not timed
    feasible = (offloaded <= 0) | (rate > 0)
    return OffloadCost(exposed_s=np.where(offloaded > 0, exposed, 0.0), hbm_bytes=2.0 * offloaded * layer_bytes,
                       feasible=np.asarray(feasible))
