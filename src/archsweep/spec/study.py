"""Frozen types of a study: the varied parameters, objectives, constraints, mapping choice.

Built once at the edge by :func:`archsweep.load.study.load_study` (schema, then cross-field
checks, then these frozen objects); nothing past that point reads raw dicts. Parameter values
are SI floats; constraint bounds are in the unit of their column
(:func:`archsweep.spec.columns.column_dimension`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from archsweep.spec.parameters import ParameterSpace
from archsweep.spec.roadmap import Scenario
from archsweep.spec.search import SearchSpec
from archsweep.spec.serving import ServingWorkload
from archsweep.spec.training import TrainingWorkload

__all__ = ["MAX_GRID_SIZE", "MAX_SAMPLES", "SamplingMethod", "Direction", "DEFAULT_TARGET_SECONDS_PER_JOB",
           "ShardSizing", "ParameterSpace", "Objective", "Constraint",
           "MappingChoice", "Study"]

SamplingMethod = Literal["grid", "random", "sobol"]
Direction = Literal["minimize", "maximize"]

#: Largest grid a study may expand to; beyond it, use random or sobol sampling.
MAX_GRID_SIZE = 50_000_000
#: Most candidates random or sobol sampling may draw (``sampling.samples``): as many as a grid.
MAX_SAMPLES = MAX_GRID_SIZE


#: Wanted wall time of one evaluate job, seconds (10 min: long enough to amortise a job's start).
DEFAULT_TARGET_SECONDS_PER_JOB = 600.0
#: Most shards ``auto`` makes (also the DAG size limit: ~4 s of Snakemake planning).
MAX_AUTO_SHARDS = 10_000
#: Most candidates in one shard (a job holds its shard's columns and the model's temporaries).
MAX_CANDIDATES_PER_SHARD = 1_000_000


@dataclass(frozen=True)
class ShardSizing:
    """The ``shards: auto`` settings of a study.

    Attributes:
        target_seconds_per_job: wanted wall time of one evaluate job, seconds (> 0).
        evaluations_per_second: a flat (candidate x workload) evaluations per second of one job
            (> 0), or None for the estimate from the measured rates of
            ``data/sizing/throughput_rates.yaml`` (:mod:`archsweep.load.sharding`).
    """

    target_seconds_per_job: float = DEFAULT_TARGET_SECONDS_PER_JOB
    evaluations_per_second: float | None = None


@dataclass(frozen=True)
class Objective:
    """One Pareto objective: an output column and whether to minimise or maximise it."""

    column: str
    direction: Direction


@dataclass(frozen=True)
class Constraint:
    """A bound on an output column, in the column's unit (see :func:`column_dimension`).

    The violation follows Optuna's convention (> 0 means violated, <= 0 satisfied):
    ``(value - max) / |max|`` and ``(min - value) / |min|``; a bound of 0 gives the absolute
    difference ``value - max`` / ``min - value``. NaN values count as violated (+inf).
    """

    column: str
    max: float | None = None
    min: float | None = None

    def violation_max(self, values: np.ndarray) -> np.ndarray | None:
        """Relative excess over ``max`` (None when there is no upper bound)."""
        if self.max is None:
            return None
        return _relative(np.asarray(values, dtype=np.float64) - self.max, self.max)

    def violation_min(self, values: np.ndarray) -> np.ndarray | None:
        """Relative shortfall below ``min`` (None when there is no lower bound)."""
        if self.min is None:
            return None
        return _relative(self.min - np.asarray(values, dtype=np.float64), self.min)

    def violation(self, values: np.ndarray) -> np.ndarray:
        """Largest violation of either bound, element-wise; > 0 means violated."""
        parts = [v for v in (self.violation_max(values), self.violation_min(values)) if v is not None]
        return parts[0] if len(parts) == 1 else np.maximum(parts[0], parts[1])


def _relative(excess: np.ndarray, bound: float) -> np.ndarray:
    scaled = excess / abs(bound) if bound != 0 else excess
    return np.where(np.isnan(scaled), np.inf, scaled)


@dataclass(frozen=True)
class MappingChoice:
    """How workloads are mapped onto each candidate.

    Attributes:
        search: True: search the parallelism strategies, keep the one minimising ``objective``.
        objective: column minimised by the search (one of :data:`MAPPING_OBJECTIVES`).
        strategy: a fixed strategy string (``"tp=8,pp=4,dp=auto,mb=1,..."``) when not searching.
        software: software stack whose kernel efficiencies apply (a name in
            ``data/calibration/software_stacks.yaml``).
        exhaustive: evaluate every mapping (the reference path) instead of the exact pruned search.
    """

    search: bool
    objective: str = "step_time_s"
    strategy: str | None = None
    software: str = "megatron-core"
    exhaustive: bool = False


@dataclass(frozen=True)
class Study:
    """A validated study. Parameter values are SI; see the module docstring.

    Attributes:
        name: results go to ``results/<name>/``.
        file: path of the study file (for error messages downstream).
        workloads: workload stems (``models/<stem>.yaml``).
        base: catalog accelerator supplying every parameter not varied.
        parameters: varied parameters, in file order (the grid's outermost first).
        sampling_method: None when the study has no ``sampling`` (a search-only study).
        samples: number of random/sobol draws (None for grid).
        seed: seed for random/sobol (0 by default).
        shards: number of evaluation jobs (resolved from ``shard_sizing`` for ``shards: auto``).
        search: the parsed ``search`` section (``archsweep.load.searchspec.SearchSpec``) or None.
        serving: the serving workloads (their names are also in ``workloads``).
        training: the training entries that set their job in the study (``{model, training}``;
            their names are also in ``workloads``). A plain stem trains under its file's default job.
        scenarios: roadmap scenarios (``data/roadmap``): each candidate is expanded once per scenario
            (:mod:`archsweep.candidates.scenarios`); empty: the base design's own technology.
    """

    name: str
    description: str
    file: str
    workloads: tuple[str, ...]
    base: str
    parameters: tuple[ParameterSpace, ...]
    sampling_method: SamplingMethod | None
    samples: int | None
    seed: int
    shards: int
    mapping: MappingChoice
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    search: SearchSpec | None = None
    shard_sizing: ShardSizing | None = None
    serving: tuple[ServingWorkload, ...] = ()
    training: tuple[TrainingWorkload, ...] = ()
    scenarios: tuple[Scenario, ...] = ()

    def training_workload(self, name: str) -> TrainingWorkload | None:
        """The training entry labelled ``name`` when the study sets its job, else None."""
        return next((t for t in self.training if t.name == name), None)

    def scenario(self, name: str) -> Scenario:
        """The scenario named ``name`` (KeyError when the study has none of that name)."""
        found = {s.name: s for s in self.scenarios}
        return found[name]

    def serving_workload(self, name: str) -> ServingWorkload | None:
        """The serving workload labelled ``name``, or None for a training workload."""
        return next((s for s in self.serving if s.name == name), None)

    @property
    def varied(self) -> tuple[str, ...]:
        """Names of the varied parameters."""
        return tuple(p.name for p in self.parameters)

    def grid_size(self) -> int:
        """Number of grid points before duplicate removal (product of parameter sizes)."""
        return math.prod(p.size for p in self.parameters)
