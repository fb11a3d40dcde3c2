"""LLM serving (inference) performance model: a second job kind next to training.

Pure vectorised numpy functions: hardware (:class:`archsweep.hardware.HardwareArrays`),
architecture (:class:`archsweep.spec.architecture.Architecture`), serving job (:class:`ServingJob`) and
serving configuration (:class:`ServingConfigArrays`) are separate inputs; constants arrive as a
:class:`ServingCalibration`. Nothing here reads a file.

Protocol for the job-agnostic driver: ``enumerate_serving_configs`` (mappings) and
``serving_performance`` (vectorised performance function, broadcast candidates (n, 1) x
configurations (1, m)) behind :class:`ServingJobKind`; ``evaluate_serving_batch`` runs the job-agnostic
driver (:func:`archsweep.model.driver.evaluate_job`: best-configuration search, power/area/cost,
DVFS) on it.
"""

from __future__ import annotations

from archsweep.model.inference.batch import SERVING_PPA_COLUMNS, evaluate_serving_batch
from archsweep.model.inference.best import throughput_latency_curve
from archsweep.model.inference.configs import (
    ServingConfigArrays,
    enumerate_serving_configs,
)
from archsweep.model.inference.job_kind import SERVING_COLUMNS, ServingJobKind
from archsweep.model.inference.kv_cache import (
    kv_bytes_per_token_per_accelerator,
    kv_bytes_per_token_per_layer,
)
from archsweep.model.inference.serving import (
    ServingResult,
    serving_activity,
    serving_performance,
)
from archsweep.spec.serving import ServingJob
from archsweep.spec.serving_calibration import ServingCalibration

__all__ = [
    "ServingCalibration", "ServingJob", "ServingConfigArrays", "enumerate_serving_configs",
    "kv_bytes_per_token_per_layer", "kv_bytes_per_token_per_accelerator",
    "ServingResult", "serving_performance", "serving_activity",
    "ServingJobKind", "throughput_latency_curve", "SERVING_COLUMNS",
    "evaluate_serving_batch", "SERVING_PPA_COLUMNS",
]
