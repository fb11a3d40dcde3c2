"""The study file: schema-validated YAML -> cross-checked, frozen :class:`Study`.

A study (``spaces/<name>.yaml``, schema ``schemas/study.schema.json``) says which workloads
to run, which catalog accelerator to perturb (``base``), which hardware parameters to vary and
how to sample them, how to map each workload (search the best parallelism strategy or fix
one), the Pareto objectives and the constraints. It is parsed once, at the edge (ZigZag
style: schema, then cross-field checks that report every problem at once, then frozen typed
objects); nothing past :func:`load_study` reads raw dicts.

Units: hardware-parameter values are parsed with the dimension in
:data:`archsweep.hardware.HARDWARE_PARAMETERS` and stored in SI base units. Constraint bounds
are stored in the unit of their column, inferred from its suffix (:func:`column_dimension`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .model.calibration import DEFAULT_STACK, software_stacks
from .errors import InputError, InputErrors, Problem
from .hardware import HARDWARE_PARAMETERS, PARAMETER_BY_NAME, ParameterInfo
from .paths import spaces_dir
from .schema import validate_document
from .sharding import ShardSizing, auto_shard_count
from .units import parse_quantity
from .yamlio import load_yaml

__all__ = [
    "OUTPUT_COLUMNS", "MAPPING_OBJECTIVES", "MAX_GRID_SIZE", "SamplingMethod", "Direction",
    "ParameterSpace", "Objective", "Constraint", "MappingChoice", "Study",
    "load_study", "parse_study", "parse_parameter_space", "constraint_violations", "column_dimension", "parse_column_value",
]

SamplingMethod = Literal["grid", "random", "sobol"]
Direction = Literal["minimize", "maximize"]

#: Largest grid a study may expand to; beyond it, use random or sobol sampling.
MAX_GRID_SIZE = 50_000_000

_MODEL_OUTPUTS: tuple[str, ...] = (
    "step_time_s", "tokens_per_s", "mfu", "hfu", "memory_per_accelerator_bytes", "power_w",
    "energy_per_token_j", "die_area_mm2", "tdp_w", "clock_hz", "accelerator_cost_usd",
    "system_capex_usd", "tco_usd_per_year", "usd_per_million_tokens", "goodput",
    "time_to_train_s", "carbon_kg_co2e", "tokens_per_s_per_w",
)
_DERIVED_HARDWARE: tuple[str, ...] = ("hbm_bw_bytes_per_s", "hbm_capacity_bytes", "peak_matrix_flops_bf16")

#: Every column an objective or a constraint may name: model outputs, every hardware
#: parameter, and derived hardware quantities (no duplicates, stable order).
OUTPUT_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(
    (*_MODEL_OUTPUTS, *(p.name for p in HARDWARE_PARAMETERS), *_DERIVED_HARDWARE)
))

#: Columns the per-candidate mapping search may minimise (``mapping.objective``).
MAPPING_OBJECTIVES: tuple[str, ...] = (
    "step_time_s", "energy_per_token_j", "usd_per_million_tokens", "memory_per_accelerator_bytes",
)

# Unit suffix of an output column -> dimension of parse_quantity; longest suffix first.
_SUFFIX_DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("_bytes_per_s", "bandwidth"), ("_bytes", "bytes"), ("_hz", "frequency"), ("_mm2", "area"),
    ("_usd", "cost"), ("_w", "power"), ("_j", "energy"), ("_s", "time"),
)


@dataclass(frozen=True)
class ParameterSpace:
    """How one hardware parameter is varied.

    Attributes:
        name: hardware parameter name (``HARDWARE_PARAMETERS``).
        kind: "values" (explicit list) or "range" (``[low, high]`` with step, points or neither).
        values: explicit values (SI floats, or strings for choice parameters); empty for ranges.
        low, high: range bounds, SI (None for "values").
        step: inclusive arithmetic grid step, SI (None unless given).
        points: number of linear/log-spaced points including both bounds (None unless given).
        scale: "linear" or "log": spacing of ``points`` and distribution of continuous draws.
    """

    name: str
    kind: Literal["values", "range"]
    values: tuple[float | str, ...] = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None
    points: int | None = None
    scale: Literal["linear", "log"] = "linear"

    @property
    def info(self) -> ParameterInfo:
        return PARAMETER_BY_NAME[self.name]

    @property
    def is_continuous(self) -> bool:
        """A range with neither step nor points: only random/sobol sampling can draw from it."""
        return self.kind == "range" and self.step is None and self.points is None

    def grid_values(self) -> np.ndarray:
        """The discrete values of this parameter, in order, duplicates removed.

        Floats as float64, integer parameters rounded to whole numbers (float64), choices as
        str. Raises ValueError for a continuous range (it has no grid).
        """
        if self.kind == "values":
            if self.info.kind == "choice":
                raw = np.asarray(self.values, dtype=str)
            else:
                raw = np.asarray(self.values, dtype=np.float64)
        elif self.is_continuous:
            raise ValueError(f"parameter {self.name}: a continuous range has no grid")
        else:
            if self.low is None or self.high is None:
                raise ValueError(f"parameter {self.name}: a range needs low and high")
            if self.step is not None:
                n = int(math.floor((self.high - self.low) / self.step * (1 + 1e-12) + 1e-9)) + 1
                raw = self.low + self.step * np.arange(n, dtype=np.float64)
            elif self.scale == "log":
                raw = np.geomspace(self.low, self.high, int(self.points or 2))
            else:
                raw = np.linspace(self.low, self.high, int(self.points or 2))
        if self.info.kind == "int":
            raw = np.round(raw)
        _, first = np.unique(raw, return_index=True)
        return raw[np.sort(first)]

    @property
    def size(self) -> int:
        """Number of grid values (0 for a continuous range)."""
        return 0 if self.is_continuous else len(self.grid_values())


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
    """

    search: bool
    objective: str = "step_time_s"
    strategy: str | None = None
    software: str = "megatron-core"


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
        search: the parsed ``search`` section (``archsweep.searchspec.SearchSpec``) or None.
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
    search: object | None = None
    shard_sizing: ShardSizing | None = None

    @property
    def varied(self) -> tuple[str, ...]:
        """Names of the varied parameters."""
        return tuple(p.name for p in self.parameters)

    def grid_size(self) -> int:
        """Number of grid points before duplicate removal (product of parameter sizes)."""
        return math.prod(p.size for p in self.parameters)


# ---------------------------------------------------------------------------------------
# Column units
# ---------------------------------------------------------------------------------------

def column_dimension(column: str) -> str:
    """Unit dimension of an output column, from the hardware list or its name's suffix.

    ``_bytes_per_s`` bandwidth, ``_bytes`` bytes, ``_w`` power, ``_s`` time, ``_hz``
    frequency, ``_mm2`` area (in mm2), ``_usd`` cost, ``_j`` energy; a rate ending in
    ``_per_<x>`` (``tokens_per_s``, ``tokens_per_s_per_w``) or anything else is dimensionless.
    """
    if column in PARAMETER_BY_NAME and PARAMETER_BY_NAME[column].kind != "choice":
        return PARAMETER_BY_NAME[column].dimension
    if column.endswith("_bytes_per_s"):
        return "bandwidth"
    head, sep, tail = column.rpartition("_per_")
    if sep and "_" not in tail:
        return "dimensionless"
    for suffix, dimension in _SUFFIX_DIMENSIONS:
        if column.endswith(suffix):
            return dimension
    return "dimensionless"


def parse_column_value(raw: object, column: str, *, file: str, key_path: str) -> float:
    """A bound on ``column`` in the column's own unit (mm2 for ``_mm2``, SI otherwise).

    Bare numbers are taken as already in the column's unit.
    """
    dimension = column_dimension(column)
    if dimension == "area" and column.endswith("_mm2"):
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return parse_quantity(raw, "dimensionless", file=file, key_path=key_path)
        return parse_quantity(raw, "area", file=file, key_path=key_path) / 1e-6
    return parse_quantity(raw, dimension, file=file, key_path=key_path)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------

def _resolve_path(path: str | Path) -> Path:
    """A path, or a stem of ``spaces/`` ("default" -> spaces_dir()/default.yaml)."""
    candidate = Path(path)
    if candidate.exists() or candidate.suffix in {".yaml", ".yml"} or len(candidate.parts) > 1:
        return candidate
    stem_file = spaces_dir() / f"{candidate}.yaml"
    if stem_file.exists():
        return stem_file
    available = sorted(p.stem for p in spaces_dir().glob("*.yaml"))
    raise InputError(str(path), "", str(path), f"a study file path or a stem of {spaces_dir()}: {', '.join(available)}")


def load_study(path: str | Path) -> Study:
    """Read, validate and cross-check a study file; return the frozen :class:`Study`.

    Args:
        path: a YAML path, or a stem of ``spaces/`` ("default").

    Raises:
        InputError / InputErrors: every problem found, each naming file, key path, value and
        what is allowed.
    """
    resolved = _resolve_path(path)
    return parse_study(load_yaml(resolved), file=str(resolved))


def parse_study(document: Any, *, file: str) -> Study:
    """Validate a raw study document (schema, then cross-field checks) into a :class:`Study`."""
    validate_document(document, "study", file)
    problems: list[Problem] = []
    workloads = tuple(document["workloads"])
    _check_workloads(workloads, file, problems)
    _check_base(document["base"], file, problems)
    parameters = _parse_parameters(document.get("parameters", {}), file, problems)
    sampling = document.get("sampling")
    method: SamplingMethod | None = sampling["method"] if sampling else None
    if method is not None:
        _check_sampling(parameters, method, file, problems)
    objectives = _parse_objectives(document["objectives"], file, problems)
    constraints = _parse_constraints(document.get("constraints", []), file, problems)
    search = _guard(problems, lambda: _parse_search(document, file)) if "search" in document else None
    if problems:
        raise _error(problems)
    raw_mapping = document.get("mapping", {"search": "best"})
    software = raw_mapping.get("software", DEFAULT_STACK)
    if software not in software_stacks():
        raise InputError(file, "mapping.software", software, "one of " + ", ".join(software_stacks()))
    mapping = (
        MappingChoice(search=False, objective="step_time_s", strategy=raw_mapping["strategy"], software=software)
        if "strategy" in raw_mapping
        else MappingChoice(search=True, objective=raw_mapping.get("objective", "step_time_s"), software=software)
    )
    return Study(
        name=document["name"],
        description=document.get("description", ""),
        file=file,
        workloads=workloads,
        base=document["base"],
        parameters=parameters,
        sampling_method=method,
        samples=sampling.get("samples") if sampling else None,
        seed=sampling.get("seed", 0) if sampling else 0,
        shards=_shard_count(document.get("shards", 1), parameters, method, sampling, len(workloads)),
        mapping=mapping,
        objectives=objectives,
        constraints=constraints,
        search=search,
        shard_sizing=_shard_sizing(document.get("shards", 1)),
    )


def _shard_sizing(raw: int | str | Mapping[str, Any]) -> ShardSizing | None:
    """The ``shards: auto`` / ``shards: {...}`` settings, or None for a fixed count."""
    if isinstance(raw, int):
        return None
    if raw == "auto":
        return ShardSizing()
    defaults = ShardSizing()
    return ShardSizing(
        target_seconds_per_job=float(raw.get("target_seconds_per_job", defaults.target_seconds_per_job)),
        evaluations_per_second=float(raw.get("evaluations_per_second", defaults.evaluations_per_second)),
    )


def _shard_count(raw: int | str | Mapping[str, Any], parameters: Sequence[ParameterSpace],
                 method: SamplingMethod | None, sampling: Mapping[str, Any] | None, workloads: int) -> int:
    """The study's shard count: given, or from :func:`archsweep.sharding.auto_shard_count`."""
    sizing = _shard_sizing(raw)
    if sizing is None:
        return int(raw)  # type: ignore[arg-type]
    if method is None:  # a search-only study has no sweep to shard
        return 1
    candidates = math.prod(p.size for p in parameters) if method == "grid" else int(sampling["samples"])  # type: ignore[index]
    return auto_shard_count(candidates, workloads, sizing)


def _problem(file: str, key_path: str, value: object, allowed: str) -> Problem:
    """A problem showing its value as :class:`InputError` does ("<...>" verbatim)."""
    return InputError(file, key_path, value, allowed).problem


def _error(problems: Sequence[Problem]) -> InputError | InputErrors:
    """One problem as an :class:`InputError`, several as :class:`InputErrors`."""
    if len(problems) > 1:
        return InputErrors(problems)
    return InputError.from_problem(problems[0])


def _guard(problems: list[Problem], action: Callable[[], Any]) -> Any:
    """Run ``action``; record its InputError(s) in ``problems`` and return None on failure."""
    try:
        return action()
    except InputErrors as exc:
        problems.extend(exc.problems)
    except InputError as exc:
        problems.append(exc.problem)
    return None


def _parse_search(document: Mapping[str, Any], file: str) -> object:
    from archsweep.searchspec import parse_search_spec  # lazy: owned by the search module

    return parse_search_spec(document["search"], file=file, key_path="search")


def _check_workloads(workloads: Sequence[str], file: str, problems: list[Problem]) -> None:
    from archsweep.workloads import list_workloads  # lazy: avoids an import cycle at package import

    available = tuple(list_workloads())
    for i, name in enumerate(workloads):
        if name not in available:
            problems.append(_problem(file, f"workloads[{i}]", name,
                                    f"a workload in models/: {', '.join(sorted(available)) or '(none)'}"))


def _check_base(base: str, file: str, problems: list[Problem]) -> None:
    from archsweep.catalog import get_accelerator  # lazy: the catalog reads data/ on first use

    try:
        get_accelerator(base)
    except InputError as exc:
        problems.append(_problem(file, "base", base, exc.problem.allowed))
    except InputErrors as exc:
        problems.append(_problem(file, "base", base, "; ".join(p.allowed for p in exc.problems)))
    except KeyError:
        problems.append(_problem(file, "base", base, "an accelerator of the hardware catalog"))


def _parse_parameters(raw: Mapping[str, Any], file: str, problems: list[Problem]) -> tuple[ParameterSpace, ...]:
    out: list[ParameterSpace] = []
    for name, spec in raw.items():
        key = f"parameters.{name}"
        info = PARAMETER_BY_NAME.get(name)
        if info is None:
            problems.append(_problem(file, key, name,
                                    f"a hardware parameter: {', '.join(p.name for p in HARDWARE_PARAMETERS)}"))
            continue
        parsed = _guard(problems, lambda: parse_parameter_space(info, spec, file, key))
        if parsed is not None:
            out.append(parsed)
    return tuple(out)


def parse_parameter_space(info: ParameterInfo, spec: Mapping[str, Any], file: str, key: str) -> ParameterSpace:
    """One parameter; raises InputErrors with every problem of this parameter."""
    problems: list[Problem] = []

    def quantity(raw: object, key_path: str, *, strictly_positive: bool) -> float | None:
        return _guard(problems, lambda: parse_quantity(
            raw, info.dimension, file=file, key_path=key_path,  # type: ignore[arg-type]
            positive=strictly_positive, non_negative=not strictly_positive,
        ))

    if "values" in spec:
        values: list[float | str] = []
        if not spec["values"]:
            problems.append(_problem(file, f"{key}.values", [], "at least one value (empty space: 0 candidates)"))
        for i, raw in enumerate(spec["values"]):
            if info.kind == "choice":
                if raw in info.choices:
                    values.append(raw)
                else:
                    problems.append(_problem(file, f"{key}.values[{i}]", raw, f"one of {', '.join(info.choices)}"))
            else:
                value = quantity(raw, f"{key}.values[{i}]", strictly_positive=info.positive)
                if value is not None:
                    values.append(value)
        _raise(problems)
        return ParameterSpace(info.name, "values", values=tuple(values))

    if info.kind == "choice":
        raise InputError(file, f"{key}.range", spec["range"], f"{{values: [...]}} from {', '.join(info.choices)} (a choice parameter has no range)")
    scale = spec.get("scale", "linear")
    low = quantity(spec["range"][0], f"{key}.range[0]", strictly_positive=info.positive or scale == "log")
    high = quantity(spec["range"][1], f"{key}.range[1]", strictly_positive=info.positive or scale == "log")
    step = quantity(spec["step"], f"{key}.step", strictly_positive=True) if "step" in spec else None
    if low is not None and high is not None and low > high:
        problems.append(_problem(file, f"{key}.range", spec["range"], "[low, high] with low <= high (empty range)"))
    if "step" in spec and scale == "log":
        problems.append(_problem(file, f"{key}.scale", "log", "linear with step (for a log grid use points)"))
    _raise(problems)
    return ParameterSpace(info.name, "range", low=low, high=high, step=step, points=spec.get("points"), scale=scale)


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise _error(problems)


def _check_sampling(parameters: Sequence[ParameterSpace], method: str, file: str, problems: list[Problem]) -> None:
    if method != "grid":
        return
    continuous = [p for p in parameters if p.is_continuous]
    for p in continuous:
        problems.append(_problem(file, f"parameters.{p.name}", f"<range [{p.low:g}, {p.high:g}] without step or points>",
                                "step or points for sampling: grid (or sampling random/sobol for a continuous range)"))
    if continuous or not parameters:
        return
    size = math.prod(p.size for p in parameters)
    if size == 0:
        problems.append(_problem(file, "parameters", "<0 candidates>", "a non-empty space"))
    elif size > MAX_GRID_SIZE:
        problems.append(_problem(file, "sampling.method", f"<grid of {size:,} candidates>",
                                f"a grid of at most {MAX_GRID_SIZE:,} candidates; use method random or sobol with samples"))


def _parse_objectives(raw: Sequence[Mapping[str, Any]], file: str, problems: list[Problem]) -> tuple[Objective, ...]:
    out: list[Objective] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        column = item["column"]
        if column not in OUTPUT_COLUMNS:
            problems.append(_problem(file, f"objectives[{i}].column", column, f"an output column: {', '.join(OUTPUT_COLUMNS)}"))
        elif column in seen:
            problems.append(_problem(file, f"objectives[{i}].column", column, "each column at most once"))
        seen.add(column)
        out.append(Objective(column, item["direction"]))
    return tuple(out)


def _parse_constraints(raw: Sequence[Mapping[str, Any]], file: str, problems: list[Problem]) -> tuple[Constraint, ...]:
    out: list[Constraint] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        column, key = item["column"], f"constraints[{i}]"
        if column not in OUTPUT_COLUMNS or (column in PARAMETER_BY_NAME and PARAMETER_BY_NAME[column].kind == "choice"):
            numeric = [c for c in OUTPUT_COLUMNS if c not in PARAMETER_BY_NAME or PARAMETER_BY_NAME[c].kind != "choice"]
            problems.append(_problem(file, f"{key}.column", column, f"a numeric output column: {', '.join(numeric)}"))
            continue
        if column in seen:
            problems.append(_problem(file, f"{key}.column", column, "each column at most once (give min and max in one entry)"))
            continue
        seen.add(column)
        bounds = {
            b: _guard(problems, lambda b=b: parse_column_value(item[b], column, file=file, key_path=f"{key}.{b}"))
            for b in ("max", "min") if b in item
        }
        if bounds.get("max") is not None and bounds.get("min") is not None and bounds["min"] > bounds["max"]:
            problems.append(_problem(file, key, f"<min {item['min']!r} > max {item['max']!r}>", "min <= max"))
        out.append(Constraint(column, max=bounds.get("max"), min=bounds.get("min")))
    return tuple(out)


# ---------------------------------------------------------------------------------------
# Constraint evaluation
# ---------------------------------------------------------------------------------------

def constraint_violations(study: Study, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Violation columns of every constraint of ``study``: > 0 violated (Optuna convention).

    Returns:
        ``{"violation_<column>_max": ..., "violation_<column>_min": ...}`` for each bound given.

    Raises:
        InputError: a constrained column is missing from ``columns``.
    """
    out: dict[str, np.ndarray] = {}
    for i, constraint in enumerate(study.constraints):
        if constraint.column not in columns:
            raise InputError(study.file, f"constraints[{i}].column", constraint.column,
                             f"a column of the results: {', '.join(sorted(columns))}")
        values = np.asarray(columns[constraint.column], dtype=np.float64)
        upper, lower = constraint.violation_max(values), constraint.violation_min(values)
        if upper is not None:
            out[f"violation_{constraint.column}_max"] = upper
        if lower is not None:
            out[f"violation_{constraint.column}_min"] = lower
    return out
