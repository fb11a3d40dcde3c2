"""A batch of hardware candidates on one serving workload: best configuration plus power, area, cost.

For every candidate: the best SLO-feasible serving configuration on its own
``accelerator_count`` (:func:`best_serving_configs`, candidates grouped by count since the
configurations depend on the deployment size), then :func:`archsweep.model.ppa.power_area_cost`
on one second of serving (``step_time_s = 1``, ``tokens_per_step`` = output tokens/s of the
deployment; the work per accelerator from :func:`serving_activity`). Training-only columns
(goodput, time to train, carbon of a run) are dropped; ``usd_per_million_tokens`` is the
deployment's TCO per output token, ``energy_per_token_j`` the energy per output token.
The clock is the design's (no DVFS search for serving).

Flat result columns (length = number of candidates): the configuration (``tp`` = attention TP,
``pp``, ``ep``, ``dp``, ``attention_dp``, ``replicas``, ``concurrency``, ``chunk_tokens``,
``disaggregated``, ``prefill_accelerators``, ``decode_accelerators``), the serving metrics,
``tokens_per_s`` (= output tokens/s) and ``tokens_per_s_per_accelerator``, the power/area/cost
columns, ``violation_*`` (> 0 violated) and ``feasible``.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from archsweep.model import cost
from archsweep.model.inference.best import best_serving_configs
from archsweep.model.inference.configs import enumerate_serving_configs
from archsweep.model.inference.serving import ServingResult, serving_activity
from archsweep.model.ppa import power_area_cost
from archsweep.spec.architecture import Architecture
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.serving import ServingJob
from archsweep.spec.serving_calibration import ServingCalibration
from archsweep.spec.technology import Technology

__all__ = ["SERVING_PPA_COLUMNS", "evaluate_serving_batch"]

#: Power/area/cost columns kept for serving (training-run columns such as goodput are dropped).
SERVING_PPA_COLUMNS: tuple[str, ...] = (
    "power_w", "energy_per_token_j", "die_area_mm2", "accelerator_cost_usd", "system_capex_usd", "system_power_w",
    "tco_usd_per_year", "usd_per_million_tokens", "tokens_per_s_per_w", "violation_reticle", "violation_tdp",
)


def _flat(hw: HardwareArrays) -> HardwareArrays:
    shape = hw.shape
    return HardwareArrays(**{f.name: np.broadcast_to(getattr(hw, f.name), shape).reshape(-1) for f in fields(hw)})


def _take(hw: HardwareArrays, idx: np.ndarray) -> HardwareArrays:
    return HardwareArrays(**{f.name: np.asarray(getattr(hw, f.name))[idx] for f in fields(hw)})


def evaluate_serving_batch(hw: HardwareArrays, wl: Architecture, job: ServingJob, *, tech: Technology,
                           calibration: Calibration, serving_calibration: ServingCalibration,
                           fp4_supported: np.ndarray | bool = False, disaggregation: bool = True,
                           fixed: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Best serving configuration and power/area/cost of every candidate (flat columns, see module doc).

    Args:
        fixed: keep only configurations with these values (see :func:`enumerate_serving_configs`).
    """
    flat = _flat(hw)
    n = int(np.size(flat.clock_hz))
    counts = np.asarray(flat.accelerator_count, dtype=np.int64)
    fp4 = np.broadcast_to(np.asarray(fp4_supported, dtype=bool), hw.shape).reshape(-1)
    parts: dict[str, np.ndarray] = {}
    for count in np.unique(counts):
        idx = np.flatnonzero(counts == count)
        sub = _take(flat, idx)
        configs = enumerate_serving_configs(wl, job, int(count), disaggregation=disaggregation, fixed=fixed)
        cols = best_serving_configs(sub, wl, job, configs, serving_calibration, calibration, fp4_supported=fp4[idx])
        for key, values in cols.items():
            if key not in parts:
                parts[key] = np.full(n, np.nan) if np.asarray(values).dtype != bool else np.zeros(n, dtype=bool)
            parts[key][idx] = values
    out = {k: v for k, v in parts.items() if k != "memory_violation"}
    out["violation_memory"] = parts["memory_violation"]
    out["concurrency"] = parts["concurrency"]
    out["tokens_per_s"] = parts["output_tokens_per_s"]
    out["tokens_per_s_per_accelerator"] = parts["output_tokens_per_s_per_accelerator"]

    res = ServingResult(**{f.name: (np.asarray(parts[f.name], dtype=np.float64) if f.name != "valid"
                                    else np.ones(n, dtype=bool)) for f in fields(ServingResult)})
    in_domain = flat.accelerator_count <= flat.scaleup_domain_size
    activity = serving_activity(res, job, calibration, in_domain)
    tokens = np.nan_to_num(res.output_tokens_per_s, nan=0.0)
    ppa = power_area_cost(flat, tech, activity, np.ones(n), np.maximum(tokens, 1e-300), np.maximum(tokens, 1e-300),
                          np.zeros(n))
    for key in SERVING_PPA_COLUMNS:
        out[key] = ppa[key]
    out["usd_per_million_tokens"] = cost.usd_per_million_tokens(ppa["tco_usd_per_year"], np.maximum(tokens, 1e-300))
    violations = [np.asarray(v, dtype=np.float64) for k, v in out.items() if k.startswith("violation_")]
    out["feasible"] = np.asarray(parts["feasible"], dtype=bool) & np.logical_and.reduce(
        [np.nan_to_num(v, nan=np.inf) <= 0 for v in violations])
    return out
