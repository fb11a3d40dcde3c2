"""Prefill: time to process prompts (compute-bound GEMMs plus causal attention quadratic in the prompt)."""

from __future__ import annotations

import numpy as np

from archsweep.model.inference.attention_span import prefill_span
from archsweep.model.inference.configs import ServingConfigArrays
from archsweep.model.inference.step import StageCost, stage_iteration
from archsweep.spec.architecture import Architecture
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.serving import ServingJob
from archsweep.spec.serving_calibration import ServingCalibration

__all__ = ["prefill_time_s"]


def prefill_time_s(hw: HardwareArrays, wl: Architecture, cfg: ServingConfigArrays, job: ServingJob,
                   scal: ServingCalibration, cal: Calibration, peak: np.ndarray,
                   prompts: np.ndarray | float = 1.0) -> tuple[np.ndarray, StageCost]:
    """Latency of prefilling ``prompts`` prompts of ``job.input_tokens`` on one replica, s.

    The prompt tokens pass all ``pp`` stages in turn (latency = pp x stage time); each token
    attends on average to half the prompt (causal; less on local layers, :func:`prefill_span`). Returns (seconds, the stage's cost).
    """
    isl = float(job.input_tokens)
    zero = np.zeros_like(np.asarray(prompts, dtype=np.float64))
    st = stage_iteration(hw, wl, cfg, job, scal, cal, peak, zero, zero, prompts * isl + zero, prefill_span(wl, isl) + zero)
    return cfg.pp * st.time_s + scal.step_overhead_s, st
