"""Training as a job kind of the driver (:class:`archsweep.model.job.JobKind`).

Mappings: :func:`~archsweep.model.training.mapping.enumerate_mappings`; performance:
:func:`~archsweep.model.training.step.training_step`; the time unit is one optimizer step.
Output columns are derived from the result types: every ``*_s`` field of
:class:`~archsweep.model.training.step.StepResult` (the step time and its breakdown), every field
of :class:`~archsweep.model.training.memory.MemoryBreakdown` as ``memory_<field>`` (the total as
``memory_per_accelerator_bytes``), the mapping's fields, and the rates derived from the step time.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property, lru_cache

import numpy as np

from archsweep.model.activity import ActivityCounts
from archsweep.model.job import PowerInputs
from archsweep.model.training.mapping import (
    RECOMPUTE,
    MappingArrays,
    enumerate_mappings,
    parse_strategy,
    restrict_to_stack,
)
from archsweep.model.training.memory import MemoryBreakdown
from archsweep.model.training.step import (
    StepResult,
    model_flops_per_token,
    training_step,
)
from archsweep.spec.calibration import Calibration
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.stack import StackParallelism
from archsweep.spec.workload import Workload

__all__ = ["busy_phase_s", "TRAINING_OBJECTIVES", "TRAINING_FP8_FIELDS", "TRAINING_PERFORMANCE_FIELDS", "TrainingJobKind", "training_performance_fields"]

#: Objectives the training kind ranks by itself (the driver adds power/cost objectives).
TRAINING_OBJECTIVES = ("step_time_s", "tokens_per_s", "mfu", "memory_per_accelerator_bytes")

#: Hardware fields :func:`~archsweep.model.training.step.training_step` reads (BF16 and FP8 jobs alike):
#: compute and HBM rates and capacity, the clock, the fabrics and the system size, and the part physics
#: of BF16 GEMMs, attention and offloading. Not read: TDP, process node, HBM generation, SRAM size and the
#: vector rate (power/area/cost only).
TRAINING_PERFORMANCE_FIELDS: tuple[str, ...] = (
    "compute_units", "matrix_flops_per_cycle_per_unit_bf16", "matrix_efficiency", "clock_hz",
    "hbm_stacks", "hbm_bw_per_stack_bytes_per_s", "hbm_capacity_per_stack_bytes",
    "scaleup_domain_size", "scaleup_bw_bytes_per_s", "scaleup_latency_s", "scaleup_topology",
    "scaleout_bw_bytes_per_s", "scaleout_achieved_share", "scaleout_latency_s", "scaleout_topology",
    "scaleout_oversubscription",
    "accelerator_count", "softmax_exponentials_per_cycle_per_unit", "host_link_bw_bytes_per_s",
    "gemm_k_half_bf16", "gemm_k_reference", "gemm_tile_m", "gemm_tile_n", "gemm_tile_units",
)
#: The fields an FP8 job reads besides: the FP8 matrix rate and the part's low-precision GEMM physics.
TRAINING_FP8_FIELDS: tuple[str, ...] = (
    "matrix_flops_per_cycle_per_unit_fp8", "fp8_matrix_efficiency_ratio", "nvfp4_matrix_rate_ratio",
    "fp8_gemm_layouts", "gemm_k_half_fp8",
)


def training_performance_fields(workload: Workload) -> tuple[str, ...]:
    """The fields ``training_step`` reads for ``workload``: the FP8 ones only for an FP8 job."""
    if workload.training.precision == "fp8":
        return (*TRAINING_PERFORMANCE_FIELDS, *TRAINING_FP8_FIELDS)
    return TRAINING_PERFORMANCE_FIELDS


def busy_phase_s(result: StepResult) -> np.ndarray:
    """The busiest stage's busy phase of a step, s: its forward / backward (and recompute) kernels with the waits
    that sit between them layer by layer (exposed TP, CP and EP communication, offload copies: each well under a
    millisecond to a few, inside the span a GPU's power controller averages over). Not in it: the pipeline bubble,
    the pipeline sends, the exposed data-parallel sync and the optimizer, the step's idle or memory-bound stretches
    of tens to hundreds of milliseconds at its ends, which a controller reacting within a few milliseconds sees
    as phases of their own (docs/model-accuracy.md, s16-phaseclock)."""
    return (result.compute_time_s + result.recompute_time_s + result.tp_comm_exposed_s + result.cp_comm_exposed_s
            + result.ep_comm_exposed_s + result.offload_exposed_s)


_BOOL_MAPPING_FIELDS = ("sequence_parallel", "flash_attention", "tp_overlap", "dp_overlap")


def _memory_column(name: str) -> str:
    return "memory_per_accelerator_bytes" if name == "total_bytes" else f"memory_{name}"


@lru_cache(maxsize=32)
def _enumerated_mappings(workload: Workload, strategy: str | None,
                         parallelism: StackParallelism | None = None) -> tuple[MappingArrays, float | None]:
    """The mapping batch of (workload, strategy, stack parallelism), enumerated once per process: a
    shard evaluation builds a job kind per batch of candidates, and the pruned search caches its
    tables per batch object (its arrays are made read-only).

    Raises:
        InputError: ``strategy`` fixes a value the stack cannot run (no mapping would be left), or TP
            communication overlap on a stack (or low-precision recipe) without it.
    """
    fixed = parse_strategy(strategy) if strategy else None
    if parallelism is not None and not parallelism.tp_overlap and (fixed or {}).get("tp_overlap"):
        raise InputError("<mapping>", "strategy.tp_overlap", strategy or "",
                         f"tp_overlap=0: the {parallelism.stack} stack cannot overlap the TP collectives with the "
                         "GEMMs here (tp_comm_overlap false for the stack or the job's low-precision recipe)")
    mappings, fixed_dp = enumerate_mappings(workload, fixed,
                                            tp_overlap=parallelism is not None and parallelism.tp_overlap)
    if parallelism is not None:
        allowed = restrict_to_stack(mappings, parallelism)
        if len(mappings) and not len(allowed):
            runnable = "; ".join(f"{k} in {list(v)}" for k, v in parallelism.allowed if v is not None)
            raise InputError("<mapping>", "strategy", strategy or "",
                             f"a mapping the {parallelism.stack} stack can run ({runnable})")
        mappings = allowed
    for f in fields(mappings):
        getattr(mappings, f.name).flags.writeable = False
    return mappings, fixed_dp


@dataclass(frozen=True)
class TrainingJobKind:
    """Training of ``workload`` (architecture + training job) with the model constants ``calibration``.

    ``strategy`` fixes mapping keys (``"tp=8,pp=16"``); keys left out are searched, over what the
    software stack can run when ``parallelism`` is given (None: every mapping the model enumerates).
    """

    workload: Workload
    calibration: Calibration
    strategy: str | None = None
    parallelism: StackParallelism | None = None
    name: str = "training"
    objectives: tuple[str, ...] = TRAINING_OBJECTIVES

    @cached_property
    def _enumerated(self) -> tuple[MappingArrays, float | None]:
        return _enumerated_mappings(self.workload, self.strategy, self.parallelism)

    @property
    def fixed_dp(self) -> float | None:
        return self._enumerated[1]

    @property
    def performance_fields(self) -> tuple[str, ...]:
        return training_performance_fields(self.workload)

    def mappings(self) -> MappingArrays:
        return self._enumerated[0]

    def performance(self, hw: HardwareArrays, mappings: MappingArrays, ranking: bool = False) -> StepResult:
        # ranking: without the work counts (NaN; only the power model reads them)
        return training_step(hw, self.workload, mappings, self.calibration, self.fixed_dp, work_counts=not ranking)

    def violations(self, result: StepResult) -> dict[str, np.ndarray]:
        return {"violation_memory": result.memory_violation}

    def rank(self, result: StepResult, objective: str) -> np.ndarray:
        if objective == "memory_per_accelerator_bytes":
            return result.memory.total_bytes
        return result.step_time_s  # step_time_s, tokens_per_s, mfu: the same order at fixed hardware and job

    def activity(self, result: StepResult, busiest: bool = False) -> ActivityCounts:
        """Per-accelerator work of one step for the power model: the average device's (the job's work over its
        devices: energy), or with ``busiest`` the slowest stage's (its power is what the TDP cap binds on)."""
        cal = self.calibration
        fp8 = self.workload.training.precision == "fp8"
        work = result.busiest if busiest else result
        zeros = np.zeros_like(work.matrix_flops)
        # Vector work: a few FLOP per byte of HBM traffic outside GEMM operands (norms, softmax, Adam);
        # a small term next to the matrix energy.
        vector = work.hbm_bytes * cal.vector_flops_per_hbm_byte
        # Operand staging through SRAM: with tile_m x tile_n output tiles, each MAC (2 FLOP) reads
        # 1/tile_n of an A element and 1/tile_m of a B element.
        bytes_per_element = 1.0 if fp8 else 2.0  # FP8 / BF16 operand size
        sram = work.matrix_flops / 2.0 * bytes_per_element * (1.0 / cal.gemm_tile_m + 1.0 / cal.gemm_tile_n)
        return ActivityCounts(
            matrix_flops_bf16=zeros if fp8 else work.matrix_flops,
            matrix_flops_fp8=work.matrix_flops if fp8 else zeros,
            vector_flops=vector, hbm_bytes=work.hbm_bytes, sram_bytes=sram,
            scaleup_bytes=work.scaleup_bytes, scaleout_bytes=work.scaleout_bytes,
        )

    def power_inputs(self, hw: HardwareArrays, mappings: MappingArrays, result: StepResult) -> PowerInputs:
        wl = self.workload
        return PowerInputs(activity=self.activity(result), time_s=result.step_time_s,
                           tokens=float(wl.tokens_per_step), total_tokens=float(wl.training.total_tokens),
                           checkpoint_params=float(wl.total_params), busiest_activity=self.activity(result, True),
                           busiest_share=1.0 / np.asarray(mappings.pp, dtype=np.float64),
                           busy_time_s=busy_phase_s(result))

    def columns(self, hw_nominal: HardwareArrays, hw: HardwareArrays, mappings: MappingArrays,
                result: StepResult) -> dict[str, np.ndarray]:
        wl = self.workload
        tokens = float(wl.tokens_per_step)
        fp8 = wl.training.precision == "fp8"
        peak_nominal = hw_nominal.peak_matrix_flops_fp8 if fp8 else hw_nominal.peak_matrix_flops_bf16
        step = result.step_time_s
        cols: dict[str, np.ndarray] = {}
        for f in fields(mappings):
            value = getattr(mappings, f.name)
            if f.name == "recompute":
                value = np.asarray(RECOMPUTE, dtype=object)[value.astype(int)]
            elif f.name in _BOOL_MAPPING_FIELDS:
                value = value > 0
            cols[f.name] = value
            if f.name == "pp":
                cols["dp"] = result.dp
        cols["microbatches"] = result.microbatches
        cols.update({f.name: getattr(result, f.name) for f in fields(StepResult) if f.name.endswith("_s")})
        cols["tokens_per_s"] = tokens / step
        cols["mfu"] = model_flops_per_token(wl) * tokens / (step * hw.accelerator_count * peak_nominal)
        cols["hfu"] = result.matrix_flops / (step * peak_nominal)
        cols["memory_per_accelerator_bytes"] = result.memory.total_bytes  # the total first, then its parts
        cols.update({_memory_column(f.name): getattr(result.memory, f.name) for f in fields(MemoryBreakdown)})
        return cols
