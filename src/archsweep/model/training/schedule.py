"""Pipeline schedules: bubble and in-flight activations for m micro-batches, p stages, v chunks.

One stage (a device) holds ``v`` model chunks (virtual stages) of ``L / (p v)`` layers each;
``T`` is the time one device spends on one micro-batch (forward + backward + recompute of all
its chunks), so a chunk of one micro-batch costs ``T / v``.

Step time of a schedule, in units of ``T`` (idle time included):

* 1F1B (v = 1, PipeDream-Flush; Narayanan et al. SC21 Sec. 2.2.1, Eq. 1): ``m + p - 1``. This
  holds for every m >= 1: a single micro-batch crosses all p stages forward and back (``p T``),
  so with m < p the bubble is ``(p - 1) T``, a fraction ``(p - 1) / m`` of the work.
* Interleaved 1F1B (v > 1; SC21 Sec. 2.2.2, Eq. 2): micro-batches enter in groups of p; each
  group visits the p devices v times. With m >= p the step is ``m + (p - 1) / v`` (SC21's
  bubble ``(p - 1) / v`` when m is a multiple of p, as Megatron-LM requires; Llama 3, Sec.
  3.3.2, relaxes that requirement with the same bubble). With m < p a group cannot fill the
  ring: every one of the first ``v - 1`` rounds lasts ``p`` chunk slots (the time a chunk
  needs to come back to the first device), not ``m``; the last round drains as in 1F1B:

      step / T = ((v - 1) * max(m, p) + m + p - 1) / v

  which is ``m + (p - 1) / v`` for m >= p and ``p`` for m = 1 (interleaving buys nothing).

Bubble = step - m (the schedule's idle time per device, in T). Properties (tested): the
bubble is never below ``(p - 1) / v`` (SC21's lower bound) nor below ``p - m`` (one micro-batch
must cross every stage), and the bubble fraction ``bubble / m`` never grows with m.

In-flight activations on the first device (the fullest), in chunk-micro-batches of
``L / (p v)`` layers: 1F1B keeps ``min(m, p)`` micro-batches (Korthikanti et al. MLSys 2023,
Sec. 4.2.3); the interleaved schedule's warm-up runs ``(v - 1) N + 2 (p - 1)`` forward chunks
before its first backward (Megatron-LM ``schedules.py``, ``get_pp_rank_microbatches``), N the
micro-batch group (:func:`microbatch_group`), so ``min(m v, (v - 1) N + 2 p - 1)`` chunks are held:
``L (1 + (p - 1) / (p v))`` layers when p divides m (N = p), Korthikanti's interleaving factor.
"""

from __future__ import annotations

import numpy as np

__all__ = ["in_flight_layer_fraction", "interleaving_allowed", "microbatch_group", "pipeline_bubble_slots",
           "unpaired_chunk_passes"]


def microbatch_group(m: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Micro-batches per group of the interleaved schedule, N (``microbatch_group_size_per_vp_stage``): ``p``
    (Megatron-Core's default) where ``p`` divides ``m``, else ``m``. Megatron-Core raises where the last group
    ``m mod N`` is in (0, p) (RuntimeError "The remainder of M ... divided by N ... should be 0, or larger than
    or equal to the pipeline-parallel size"; ``forward_backward_pipelining_with_interleaving``,
    megatron/core/pipeline_parallel/schedules.py, NVIDIA/Megatron-LM @b0cc2706dd), which the default N = p
    always hits when p does not divide m: such a run sets N = m (one group, no remainder), as the bubble and
    :func:`interleaving_allowed` assume. Where m < p no N in [p, m] exists (interleaving refused)."""
    m, p = np.asarray(m, dtype=float), np.asarray(p, dtype=float)
    return np.where(np.mod(m, p) == 0, p, m)


def interleaving_allowed(m: np.ndarray, p: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether the framework runs an interleaved schedule (v > 1) with ``m`` micro-batches.

    Megatron-Core's interleaved 1F1B takes micro-batches in groups of N contiguous ones per
    virtual stage, with ``p <= N <= m``, and raises otherwise (ValueError "The number of contiguous
    micro-batches in a virtual pipeline stage should range in [PP, M]";
    megatron/core/pipeline_parallel/schedules.py, forward_backward_pipelining_with_interleaving,
    ``microbatch_group_size_per_vp_stage``, NVIDIA/Megatron-LM @d98e8a6). So interleaving needs
    ``m >= p`` (any such m: N = m leaves no remainder); 1F1B (v = 1) runs any m >= 1. The bubble
    formula above still covers m < p, for schedules that allow it (it is then ``p``: no gain).
    """
    m, p, v = np.asarray(m, dtype=float), np.asarray(p, dtype=float), np.asarray(v, dtype=float)
    return (v <= 1.0) | (m >= p)


def pipeline_bubble_slots(m: np.ndarray, p: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Idle time per device of one step, in units of one micro-batch's stage time ``T``.

    Args:
        m: micro-batches per step (>= 1); p: pipeline stages (>= 1); v: chunks per stage (>= 1).
    """
    m, p, v = np.asarray(m, dtype=float), np.asarray(p, dtype=float), np.asarray(v, dtype=float)
    step = ((v - 1.0) * np.maximum(m, p) + m + p - 1.0) / v
    return step - m


def in_flight_layer_fraction(m: np.ndarray, p: np.ndarray, v: np.ndarray, rank: int | np.ndarray = 0,
                             group: np.ndarray | None = None) -> np.ndarray:
    """Micro-batches' worth of one stage's layers held by the device of pipeline rank ``rank`` (the first by
    default: the fullest) at the peak: ``p - rank`` in place of ``p`` below, the warm-up's ``2 (p - rank - 1)``.

    Multiply by (layers per stage) x (one layer's activations of one micro-batch). 1 without a
    pipeline; ``min(m, p)`` for 1F1B; ``min(m v, (v - 1) N + 2 p - 1) / v`` interleaved, N =
    :func:`microbatch_group` (``v p + p - 1`` chunks when p divides m; p 4 v 2 m 7: 14 chunks, not 11; p 8 v 4 m 12: 48, not 39);
    ``group``: that N where the caller has it (memory.py, once for every stage).
    """
    m, p, v = np.asarray(m, dtype=float), np.asarray(p, dtype=float), np.asarray(v, dtype=float)
    n = microbatch_group(m, p) if group is None else group
    warm_chunks = np.where(v > 1, (v - 1.0) * n + 2.0 * (p - rank) - 1.0, p - rank)
    chunks = np.minimum(m * v, warm_chunks)
    return np.where(p > 1, chunks / v, 1.0)


def unpaired_chunk_passes(m: np.ndarray, p: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Forward chunk passes of the first device before its first backward (its warm-up), which no
    backward runs beside; the cool-down has as many backward passes without a forward.

    1F1B: ``p - 1`` (SC21 Sec. 2.2.1). Interleaved: ``2 (p - 1) + (v - 1) N``, N the micro-batch
    group (:func:`microbatch_group`: p where p divides m, else m) (Megatron-Core ``schedules.py`` ``get_pp_rank_microbatches``,
    ``(p - rank - 1) * 2 + (v - 1) * microbatch_group_size_per_vp_stage`` at rank 0, capped at the
    ``m v`` chunk passes of a step; NVIDIA/Megatron-LM @d98e8a6; 1F1B keeps ``p - 1`` even for
    m < p: one micro-batch still crosses all p stages). During the warm-up a chunk's input
    comes from the stage before it within the same round of ``p`` chunk slots, so every send is on
    the critical path; in the steady state a send has the other half of the 1F1B slot to hide under.
    0 without a pipeline. Non-decreasing in ``v`` (tested).
    """
    m, p, v = np.asarray(m, dtype=float), np.asarray(p, dtype=float), np.asarray(v, dtype=float)
    interleaved = np.minimum(2.0 * (p - 1.0) + (v - 1.0) * microbatch_group(m, p), m * v)
    return np.where(p > 1, np.where(v > 1, interleaved, p - 1.0), 0.0)
