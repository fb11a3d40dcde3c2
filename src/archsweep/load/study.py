"""The study file: schema-validated YAML -> cross-checked, frozen :class:`Study`.

A study (``spaces/<name>.yaml``, schema ``schemas/study.schema.json``) says which workloads
to run, which catalog accelerator to perturb (``base``), which hardware parameters to vary and
how to sample them, how to map each workload (search the best parallelism strategy or fix
one), the Pareto objectives and the constraints. It is parsed once, at the edge (ZigZag
style: schema, then cross-field checks that report every problem at once, then frozen typed
objects); nothing past :func:`load_study` reads raw dicts.

Units: hardware-parameter values are parsed with the dimension in
:data:`archsweep.spec.hardware.HARDWARE_PARAMETERS` and stored in SI base units. Constraint bounds
are stored in the unit of their column, inferred from its suffix (:func:`archsweep.spec.columns.column_dimension`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from archsweep.load.calibration import software_stacks
from archsweep.load.catalog import get_accelerator
from archsweep.load.parameters import error, guard, parse_parameter_spaces, problem
from archsweep.load.paths import spaces_dir
from archsweep.load.roadmap import parse_study_scenarios
from archsweep.load.schema import validate_document
from archsweep.load.searchspec import exact_design_problems, parse_search_spec
from archsweep.load.sensitivity import parse_sensitivity
from archsweep.load.serving_workloads import parse_workload_entries
from archsweep.load.sharding import SizedWorkload, auto_shard_count, estimated_seconds, performance_rows
from archsweep.load.studychecks import (
    check_architectures_load,
    check_part_physics_spaces,
    check_sizes,
    check_strategy,
    check_system_size,
    check_workloads_load,
)
from archsweep.load.throughput import load_throughput_rates
from archsweep.load.training_workloads import check_default_job
from archsweep.load.units import parse_quantity
from archsweep.load.workloads import list_workloads
from archsweep.load.yamlio import load_yaml
from archsweep.spec.calibration import DEFAULT_STACK
from archsweep.spec.columns import OUTPUT_COLUMNS, column_dimension
from archsweep.spec.errors import InputError, InputErrors, Problem
from archsweep.spec.hardware import PARAMETER_BY_NAME
from archsweep.spec.parameters import ParameterSpace
from archsweep.spec.search import SearchSpec
from archsweep.spec.sensitivity import SensitivitySpec
from archsweep.spec.serving import ServingWorkload
from archsweep.spec.study import (
    MAX_GRID_SIZE,
    Constraint,
    MappingChoice,
    Objective,
    SamplingMethod,
    ShardSizing,
    Study,
)
from archsweep.spec.training import TrainingWorkload
from archsweep.spec.workload import Workload

__all__ = ["load_study", "load_study_sensitivity", "parse_study", "parse_column_value"]


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


def load_study_sensitivity(path: str | Path) -> tuple[Study, SensitivitySpec]:
    """:func:`load_study` and the study's ``sensitivity`` section (the defaults where it has none), from one read of
    the file and one parse of the section (``archsweep sensitivity``).

    Raises:
        InputError / InputErrors: as :func:`load_study`.
    """
    resolved = _resolve_path(path)
    document = load_yaml(resolved)
    study = _parse_study(document, file=str(resolved))
    return study, parse_sensitivity(document.get("sensitivity"), study)


def parse_study(document: Any, *, file: str) -> Study:
    """Validate a raw study document (schema, then cross-field checks) into a :class:`Study`."""
    study = _parse_study(document, file=file)
    if "sensitivity" in document:  # checked when the study is read, not first by `archsweep sensitivity`
        parse_sensitivity(document["sensitivity"], study)
    return study


def _parse_study(document: Any, *, file: str) -> Study:
    """:func:`parse_study` without the ``sensitivity`` section."""
    validate_document(document, "study", file)
    problems: list[Problem] = []
    workloads, serving, training = parse_workload_entries(document["workloads"], file, problems)
    _check_workloads(document["workloads"], file, problems)
    _check_base(document["base"], file, problems)
    parameters = parse_parameter_spaces(document.get("parameters", {}), file, "parameters", problems)
    sampling = document.get("sampling")
    method: SamplingMethod | None = sampling["method"] if sampling else None
    if method is not None:
        _check_sampling(parameters, method, file, problems)
    objectives = _parse_objectives(document["objectives"], file, problems)
    constraints = _parse_constraints(document.get("constraints", []), file, problems)
    search = guard(problems, lambda: _parse_search(document, file)) if "search" in document else None
    if search is not None:
        problems += exact_design_problems(search, [o.column for o in objectives], file)
    scenarios = parse_study_scenarios(document.get("scenarios", []), parameters, has_search="search" in document,
                                      file=file, problems=problems)
    if problems:
        raise error(problems)
    loaded = _cross_check(document, workloads, serving, training, parameters, method, search, file, problems)
    if problems:
        raise error(problems)
    raw_mapping = document.get("mapping", {"search": "best"})
    software = raw_mapping.get("software", DEFAULT_STACK)
    if software not in software_stacks():
        raise InputError(file, "mapping.software", software, "one of " + ", ".join(software_stacks()))
    mapping = (
        MappingChoice(search=False, objective="step_time_s", strategy=raw_mapping["strategy"], software=software)
        if "strategy" in raw_mapping
        else MappingChoice(search=True, objective=raw_mapping.get("objective", "step_time_s"), software=software,
                           exhaustive=bool(raw_mapping.get("exhaustive", False)))
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
        shards=_shard_count(document.get("shards", 1), parameters, method, sampling,
                            _sized_workloads(workloads, loaded) * max(len(scenarios), 1), mapping),
        mapping=mapping,
        objectives=objectives,
        constraints=constraints,
        search=search,
        shard_sizing=_shard_sizing(document.get("shards", 1)),
        serving=serving,
        training=training,
        scenarios=scenarios,
    )


def _cross_check(document: Mapping[str, Any], workloads: Sequence[str], serving: Sequence[ServingWorkload],
                 training: Sequence[TrainingWorkload], parameters: Sequence[ParameterSpace],
                 method: SamplingMethod | None, search: SearchSpec | None, file: str,
                 problems: list[Problem]) -> dict[str, Workload]:
    """The checks against workloads, hardware and size limits (:mod:`archsweep.load.studychecks`).

    Training workloads (plain stems with their file's default job, ``{model, training}`` entries
    with the study's job) are checked against the mapping strategy; a serving entry's model file
    must load (the training strategy does not apply to it). Returns the training workloads by name."""
    base = get_accelerator(document["base"])
    entry_names = {s.name for s in serving} | {t.name for t in training}
    plain = [w for w in workloads if w not in entry_names]
    loaded = check_workloads_load(plain, file, problems)
    models = check_architectures_load(list(dict.fromkeys([*(s.model for s in serving), *(t.model for t in training)])),
                                      file, problems)
    for entry in training:
        if entry.model in models:
            loaded[entry.name] = Workload(name=entry.name, architecture=models[entry.model], training=entry.job)
    check_system_size(parameters, base, file, problems)
    # The spaces the study evaluates: its sweep (a study without sampling and without search is read for
    # `eval`/`sensitivity` around the base) and its search (the base with the searched parameters changed).
    spaces = [*([(parameters, "parameters")] if method is not None or search is None else []),
              *([(search.parameters, "search.parameters")] if search is not None else [])]
    check_part_physics_spaces(loaded, base, spaces, file, problems)
    strategy = document.get("mapping", {}).get("strategy")
    if strategy is not None and len(loaded) == len(plain) + len(training):
        check_strategy(strategy, loaded, parameters, base, file, problems)
    candidates = None
    if method == "grid":
        candidates = math.prod(p.size for p in parameters)
    elif method is not None and isinstance(document["sampling"].get("samples"), int):
        candidates = int(document["sampling"]["samples"])
    check_sizes(document, candidates, file, problems)
    return loaded


def _shard_sizing(raw: int | str | Mapping[str, Any]) -> ShardSizing | None:
    """The ``shards: auto`` / ``shards: {...}`` settings, or None for a fixed count."""
    if isinstance(raw, int):
        return None
    if raw == "auto":
        return ShardSizing()
    defaults = ShardSizing()
    rate = raw.get("evaluations_per_second")
    return ShardSizing(
        target_seconds_per_job=float(raw.get("target_seconds_per_job", defaults.target_seconds_per_job)),
        evaluations_per_second=None if rate is None else float(rate),
    )


def _sized_workloads(names: Sequence[str], loaded: Mapping[str, Workload]) -> list[SizedWorkload]:
    """Each workload with its kind for the rates: training (dense or MoE) or serving."""
    return [SizedWorkload(name, "serving" if name not in loaded else "moe" if loaded[name].moe is not None else "dense")
            for name in names]


def _shard_count(raw: int | str | Mapping[str, Any], parameters: Sequence[ParameterSpace],
                 method: SamplingMethod | None, sampling: Mapping[str, Any] | None,
                 workloads: Sequence[SizedWorkload], mapping: MappingChoice) -> int:
    """The study's shard count: given, or sized from the measured rates (:mod:`archsweep.load.sharding`)."""
    sizing = _shard_sizing(raw)
    if sizing is None:
        return int(raw)  # type: ignore[arg-type]
    if method is None:  # a search-only study has no sweep to shard
        return 1
    candidates = math.prod(p.size for p in parameters) if method == "grid" else int(sampling["samples"])  # type: ignore[index]
    groups = performance_rows(parameters, candidates)
    if sizing.evaluations_per_second is not None:
        seconds = candidates * len(workloads) / sizing.evaluations_per_second
    else:
        rows = performance_rows(parameters, candidates, mapping_objective=mapping.objective)
        seconds = estimated_seconds(candidates, rows, workloads, load_throughput_rates(),
                                    exhaustive=mapping.search and mapping.exhaustive)
    return auto_shard_count(candidates, seconds, sizing, groups=groups)


def _parse_search(document: Mapping[str, Any], file: str) -> SearchSpec:
    return parse_search_spec(document["search"], file=file, key_path="search")


def _check_workloads(entries: Sequence[Any], file: str, problems: list[Problem]) -> None:
    """Plain stem entries: a file in models/ with a default training job."""
    available = tuple(list_workloads())
    for i, name in enumerate(entries):
        if not isinstance(name, str):
            continue
        if name not in available:
            problems.append(problem(file, f"workloads[{i}]", name,
                                    f"a workload in models/: {', '.join(sorted(available)) or '(none)'}"))
        else:
            check_default_job(name, file, f"workloads[{i}]", problems)


def _check_base(base: str, file: str, problems: list[Problem]) -> None:
    try:
        get_accelerator(base)
    except InputError as exc:
        problems.append(problem(file, "base", base, exc.problem.allowed))
    except InputErrors as exc:
        problems.append(problem(file, "base", base, "; ".join(p.allowed for p in exc.problems)))
    except KeyError:
        problems.append(problem(file, "base", base, "an accelerator of the hardware catalog"))


def _check_sampling(parameters: Sequence[ParameterSpace], method: str, file: str, problems: list[Problem]) -> None:
    if method != "grid":
        return
    continuous = [p for p in parameters if p.is_continuous]
    for p in continuous:
        problems.append(problem(file, f"parameters.{p.name}", f"<range [{p.low:g}, {p.high:g}] without step or points>",
                                "step or points for sampling: grid (or sampling random/sobol for a continuous range)"))
    if continuous or not parameters:
        return
    size = math.prod(p.size for p in parameters)
    if size == 0:
        problems.append(problem(file, "parameters", "<0 candidates>", "a non-empty space"))
    elif size > MAX_GRID_SIZE:
        problems.append(problem(file, "sampling.method", f"<grid of {size:,} candidates>",
                                f"a grid of at most {MAX_GRID_SIZE:,} candidates; use method random or sobol with samples"))


def _parse_objectives(raw: Sequence[Mapping[str, Any]], file: str, problems: list[Problem]) -> tuple[Objective, ...]:
    out: list[Objective] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        column = item["column"]
        if column not in OUTPUT_COLUMNS:
            problems.append(problem(file, f"objectives[{i}].column", column, f"an output column: {', '.join(OUTPUT_COLUMNS)}"))
        elif column in seen:
            problems.append(problem(file, f"objectives[{i}].column", column, "each column at most once"))
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
            problems.append(problem(file, f"{key}.column", column, f"a numeric output column: {', '.join(numeric)}"))
            continue
        if column in seen:
            problems.append(problem(file, f"{key}.column", column, "each column at most once (give min and max in one entry)"))
            continue
        seen.add(column)
        bounds = {
            b: guard(problems, lambda b=b: parse_column_value(item[b], column, file=file, key_path=f"{key}.{b}"))  # noqa: B023
            for b in ("max", "min") if b in item
        }
        if bounds.get("max") is not None and bounds.get("min") is not None and bounds["min"] > bounds["max"]:
            problems.append(problem(file, key, f"<min {item['min']!r} > max {item['max']!r}>", "min <= max"))
        out.append(Constraint(column, max=bounds.get("max"), min=bounds.get("min")))
    return tuple(out)
