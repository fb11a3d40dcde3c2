"""A batch of hardware candidates on one serving workload, through the job-agnostic driver.

Candidates are grouped by (``accelerator_count``, FP4 support): the configurations depend on the
deployment size (:func:`enumerate_serving_configs`) and the FP4 rate is the kind's. Each group runs
:func:`archsweep.model.driver.evaluate_job` with the serving job kind
(:class:`~archsweep.model.inference.job_kind.ServingJobKind`), so serving gets the training job's
chunked best-configuration search, power/area/cost and DVFS (clock and voltage lowered together
where the package would exceed its TDP). Power/area/cost is taken over one second of serving
(time unit 1 s, tokens = output tokens/s of the deployment, work per accelerator from
:func:`serving_activity`). Training-only columns (goodput, time to train, carbon of a run) are
dropped; ``usd_per_million_tokens`` is the deployment's TCO per output token (no checkpoint
goodput), ``energy_per_token_j`` the energy per output token.

Flat result columns (length = number of candidates): :data:`SERVING_COLUMNS` (configuration,
serving metrics, violations, ``feasible``), ``tokens_per_s`` (= output tokens/s),
``tokens_per_s_per_accelerator``, the effective ``clock_hz`` after DVFS, ``tdp_w``, derived
hardware quantities and :data:`SERVING_PPA_COLUMNS`.
"""

from __future__ import annotations

import numpy as np

from archsweep.model import cost
from archsweep.model.driver import evaluate_job
from archsweep.model.inference.configs import (
    CHUNK_SIZES,
    CONCURRENCY_LADDER,
    enumerate_serving_configs,
)
from archsweep.model.inference.job_kind import SERVING_COLUMNS, ServingJobKind
from archsweep.model.ppa import PPA_COLUMNS
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
    "power_busiest_w", "power_busy_w",
)
_DROPPED = frozenset(PPA_COLUMNS) - frozenset(SERVING_PPA_COLUMNS)


def _no_configuration(n: int) -> dict[str, np.ndarray]:
    out = {c: np.full(n, np.nan) for c in SERVING_COLUMNS}
    out["feasible"] = np.zeros(n, dtype=bool)
    out["violation_mapping"] = np.ones(n)
    return out


def evaluate_serving_batch(hw: HardwareArrays, wl: Architecture, job: ServingJob, *, tech: Technology,
                           calibration: Calibration, serving_calibration: ServingCalibration,
                           fp4_supported: np.ndarray | bool = False, disaggregation: bool = True,
                           fixed: dict[str, float] | None = None,
                           concurrency_ladder: tuple[int, ...] = CONCURRENCY_LADDER,
                           chunk_sizes: tuple[int, ...] = CHUNK_SIZES,
                           objective: str = "output_tokens_per_s_per_accelerator") -> dict[str, np.ndarray]:
    """Best serving configuration and power/area/cost of every candidate (flat columns, see module doc).

    Args:
        fixed: keep only configurations with these values (see :func:`enumerate_serving_configs`).
        concurrency_ladder: sequences in flight per replica to try.
        chunk_sizes: tokens per engine iteration to try.
        objective: what the configuration search minimises (a serving objective or a driver
            power/cost objective; default: maximise SLO-feasible output tokens/s per accelerator).
    """
    flat = hw.flat()
    n = int(np.size(flat.clock_hz))
    counts = np.asarray(flat.accelerator_count, dtype=np.int64)
    fp4 = np.broadcast_to(np.asarray(fp4_supported, dtype=bool), hw.shape).reshape(-1)
    parts: dict[str, np.ndarray] = {}
    for count, native in sorted({(int(c), bool(f)) for c, f in zip(counts, fp4, strict=True)}):
        idx = np.flatnonzero((counts == count) & (fp4 == native))
        configs = enumerate_serving_configs(wl, job, count, disaggregation=disaggregation, fixed=fixed,
                                            concurrency_ladder=concurrency_ladder, chunk_sizes=chunk_sizes)
        if len(configs) == 0:
            cols = _no_configuration(idx.size)
        else:
            kind = ServingJobKind(wl, job, configs, serving_calibration, calibration, fp4_supported=native)
            cols = evaluate_job(flat.rows(idx), kind, tech=tech, objective=objective)
        for key, values in cols.items():
            if key in _DROPPED:
                continue
            values = np.asarray(values)
            if key not in parts:
                parts[key] = np.zeros(n, dtype=bool) if values.dtype == bool else np.full(n, np.nan)
            parts[key][idx] = values
    out = parts
    tokens = np.maximum(np.nan_to_num(out["output_tokens_per_s"], nan=0.0), 1e-300)
    if "tco_usd_per_year" in out:  # TCO per output token: serving has no checkpoint goodput
        out["usd_per_million_tokens"] = cost.usd_per_million_tokens(out["tco_usd_per_year"], tokens)
    out["tokens_per_s"] = out["output_tokens_per_s"]
    out["tokens_per_s_per_accelerator"] = out["output_tokens_per_s_per_accelerator"]
    return out
