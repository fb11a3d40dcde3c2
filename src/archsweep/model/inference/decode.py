"""Decode: one engine iteration advancing every sequence of a replica by one token.

With ``pp`` stages the ``batch`` sequences run as ``pp`` micro-batches of ``batch / pp`` (the
pipeline stays full), so a sequence advances once per round of ``pp`` stage iterations. Weights
are read once per stage iteration and the KV cache of every sequence once per token: memory-bound
at small batch, compute-bound at large. ``prefill_tokens_per_step`` adds the prompt chunks that
chunked prefill mixes into the same iteration (aggregated serving).
"""

from __future__ import annotations

import numpy as np

from archsweep.model.inference.attention_span import decode_span, prefill_span
from archsweep.model.inference.configs import ServingConfigArrays
from archsweep.model.inference.step import StageCost, stage_iteration
from archsweep.spec.architecture import Architecture
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.serving import ServingJob
from archsweep.spec.serving_calibration import ServingCalibration

__all__ = ["decode_step_time_s"]


def decode_step_time_s(hw: HardwareArrays, wl: Architecture, cfg: ServingConfigArrays, job: ServingJob,
                       scal: ServingCalibration, cal: Calibration, peak: np.ndarray, batch: np.ndarray,
                       prefill_tokens_per_step: np.ndarray | float = 0.0,
                       padding_tokens_per_step: np.ndarray | float = 0.0) -> tuple[np.ndarray, StageCost]:
    """Seconds per output token of every sequence (one round), and one stage iteration's cost.

    ``padding_tokens_per_step``: dummy requests of a CUDA-graph padded iteration (per replica).

    KV length per sequence: the prompt plus half the output on average (``ISL + OSL / 2``); local
    (sliding-window, chunked) layers read less (:mod:`~archsweep.model.inference.attention_span`).
    """
    pp = cfg.pp
    ctx = decode_span(wl, float(job.input_tokens) + 0.5 * float(job.output_tokens))
    st = stage_iteration(hw, wl, cfg, job, scal, cal, peak, batch / pp, ctx, prefill_tokens_per_step / pp,
                         prefill_span(wl, float(job.input_tokens)), padding_tokens_per_step / pp)
    return pp * st.time_s + scal.step_overhead_s, st
