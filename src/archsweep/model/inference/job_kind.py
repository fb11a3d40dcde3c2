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
search, power/area/cost and DVFS (clock and voltage) as training. Limitation: ``fp4_supported``
is one value for the whole batch here (:func:`~archsweep.model.inference.best.best_serving_configs`
takes it per candidate).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from archsweep.model.inference.configs import ServingConfigArrays
from archsweep.model.inference.serving import (
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

__all__ = ["SERVING_OBJECTIVES", "ServingJobKind"]

#: Objectives the serving kind ranks by itself (the driver adds power/cost objectives).
SERVING_OBJECTIVES = ("output_tokens_per_s_per_accelerator", "ttft_s", "tpot_s")

_CONSTRAINT_FIELDS = ("valid", "memory_violation", "violation_ttft", "violation_tpot")


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

    def mappings(self) -> ServingConfigArrays:
        return self.configs

    def performance(self, hw: HardwareArrays, mappings: ServingConfigArrays) -> ServingResult:
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
        return PowerInputs(activity=activity, time_s=np.ones(np.shape(result.valid)), tokens=result.output_tokens_per_s,
                           total_tokens=0.0, checkpoint_params=0.0)

    def columns(self, hw_nominal: HardwareArrays, hw: HardwareArrays, mappings: ServingConfigArrays,
                result: ServingResult) -> dict[str, np.ndarray]:
        cols = {f.name: np.asarray(getattr(mappings, f.name)) for f in fields(mappings)}
        cols.update({f.name: getattr(result, f.name) for f in fields(result) if f.name not in _CONSTRAINT_FIELDS})
        return cols
