"""Serving as a job kind of the driver (:class:`archsweep.model.job.JobKind`).

Mappings: serving configurations (:func:`~archsweep.model.inference.configs.enumerate_serving_configs`,
given to the kind already enumerated, since the deployment size is the job's choice); performance:
:func:`~archsweep.model.inference.serving.serving_performance`. The time unit is one second: the
activity is the work per accelerator per second (:func:`~archsweep.model.inference.serving.serving_activity`),
``tokens`` the deployment's output tokens/s. Objective: maximise SLO-feasible output tokens/s per
accelerator (ranked as its negative); violations: memory, TTFT and TPOT. Columns: the
configuration's fields and every :class:`~archsweep.model.inference.serving.ServingResult` field but
the constraint values (which come back as ``violation_*``).

Through :func:`archsweep.model.driver.evaluate_job` a serving evaluation gets the same chunked
search, power/area/cost and DVFS (clock and voltage) as training. ``fp4_supported`` and the
deployment size are one value per kind: :func:`~archsweep.model.inference.batch.evaluate_serving_batch`
groups the candidates by (accelerator count, FP4 support) and runs the driver once per group.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from archsweep.model.inference.configs import ServingConfigArrays
from archsweep.model.inference.serving import (
    SERVING_RESULT_COLUMNS,
    ServingResult,
    serving_activity,
    serving_performance,
)
from archsweep.model.job import PowerInputs
from archsweep.spec.architecture import Architecture
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.serving import ServingJob
from archsweep.spec.serving_calibration import ServingCalibration

__all__ = ["SERVING_COLUMNS", "SERVING_OBJECTIVES", "SERVING_PERFORMANCE_FIELDS", "ServingJobKind",
           "serving_performance_fields"]

#: Objectives the serving kind ranks by itself (the driver adds power/cost objectives).
SERVING_OBJECTIVES = ("output_tokens_per_s_per_accelerator", "ttft_s", "tpot_s")

#: Hardware fields :func:`~archsweep.model.inference.serving.serving_performance` reads for a BF16
#: job: compute and HBM rates and capacity, the clock, the fabrics, the system size and the part's GEMM
#: pipeline fill (as training's). Not read:
#: TDP, process node, HBM generation, SRAM size and the vector rate (power/area/cost only).
SERVING_PERFORMANCE_FIELDS: tuple[str, ...] = (
    "compute_units", "matrix_flops_per_cycle_per_unit_bf16", "matrix_efficiency", "clock_hz",
    "hbm_stacks", "hbm_bw_per_stack_bytes_per_s", "hbm_capacity_per_stack_bytes",
    "scaleup_domain_size", "scaleup_bw_bytes_per_s", "scaleup_latency_s", "scaleup_topology",
    "scaleout_bw_bytes_per_s", "scaleout_achieved_share", "scaleout_latency_s", "scaleout_topology",
    "scaleout_oversubscription",
    "accelerator_count", "gemm_k_half_bf16", "gemm_k_reference", "gemm_tile_m", "gemm_tile_n", "gemm_tile_units",
)


def serving_performance_fields(job: ServingJob) -> tuple[str, ...]:
    """The fields serving reads for ``job``: the FP8 matrix rate (:func:`~archsweep.model.inference.step.matrix_peak_flops`)
    and the one-byte GEMM fill only for FP8/FP4 activations."""
    if job.activation_precision == "bf16":
        return SERVING_PERFORMANCE_FIELDS
    return (*SERVING_PERFORMANCE_FIELDS, "matrix_flops_per_cycle_per_unit_fp8", "gemm_k_half_fp8")


_CONSTRAINT_FIELDS = ("valid", "memory_violation", "violation_ttft", "violation_tpot")

#: Flat columns of a serving evaluation: the configuration (``tp`` = attention TP), the serving
#: metrics (:class:`ServingResult` fields but the constraint values), the violations and ``feasible``.
SERVING_COLUMNS: tuple[str, ...] = (
    "tp", "pp", "ep", "dp", "attention_dp", "width", "replicas", "concurrency_per_replica", "chunk_tokens",
    "disaggregated", "prefill_accelerators", "decode_accelerators",
) + tuple(c for c in SERVING_RESULT_COLUMNS if c not in _CONSTRAINT_FIELDS) + (
    "violation_memory", "violation_ttft", "violation_tpot", "violation_mapping", "feasible")


@dataclass(frozen=True)
class ServingJobKind:
    """Serving ``job`` of the architecture ``workload`` with the enumerated ``configs``."""

    workload: Architecture
    job: ServingJob
    configs: ServingConfigArrays
    serving_calibration: ServingCalibration
    calibration: Calibration
    fp4_supported: bool = False
    name: str = "serving"
    objectives: tuple[str, ...] = SERVING_OBJECTIVES

    @property
    def performance_fields(self) -> tuple[str, ...]:
        return serving_performance_fields(self.job)

    def mappings(self) -> ServingConfigArrays:
        return self.configs

    def performance(self, hw: HardwareArrays, mappings: ServingConfigArrays, ranking: bool = False) -> ServingResult:
        return serving_performance(hw, self.workload, mappings, self.job, self.serving_calibration, self.calibration,
                                   fp4_supported=self.fp4_supported)

    def violations(self, result: ServingResult) -> dict[str, np.ndarray]:
        return {"violation_memory": result.memory_violation, "violation_ttft": result.violation_ttft,
                "violation_tpot": result.violation_tpot}

    def rank(self, result: ServingResult, objective: str) -> np.ndarray:
        if objective in ("ttft_s", "tpot_s"):
            return getattr(result, objective)
        return -result.output_tokens_per_s_per_accelerator

    def power_inputs(self, hw: HardwareArrays, mappings: ServingConfigArrays, result: ServingResult) -> PowerInputs:
        in_domain = mappings.accelerators <= hw.scaleup_domain_size
        activity = serving_activity(result, self.job, self.calibration, in_domain)
        tokens = np.maximum(np.nan_to_num(result.output_tokens_per_s, nan=0.0), 1e-300)
        return PowerInputs(activity=activity, time_s=np.ones(np.shape(result.valid)), tokens=tokens,
                           total_tokens=0.0, checkpoint_params=0.0)

    def columns(self, hw_nominal: HardwareArrays, hw: HardwareArrays, mappings: ServingConfigArrays,
                result: ServingResult) -> dict[str, np.ndarray]:
        """:data:`SERVING_COLUMNS` but ``violation_mapping`` and ``feasible`` (the driver adds them)."""
        m = mappings
        cols: dict[str, np.ndarray] = {
            "tp": m.attention_tp, "pp": m.pp, "ep": m.ep,
            "dp": m.replicas * np.where(m.attention_dp > 0, m.width, 1.0),
            "attention_dp": m.attention_dp > 0, "width": m.width, "replicas": m.replicas,
            "concurrency_per_replica": result.concurrency / np.maximum(m.replicas, 1.0),
            "chunk_tokens": m.chunk_tokens, "disaggregated": m.disaggregated > 0,
            "prefill_accelerators": np.where(m.disaggregated > 0, m.prefill_accelerators, 0.0),
            "decode_accelerators": m.decode_accelerators,
        }
        cols.update({f.name: getattr(result, f.name) for f in fields(result) if f.name not in _CONSTRAINT_FIELDS})
        return cols
