"""Checks of a study against its workloads and its hardware, made when the study is read.

What can be known before any candidate is evaluated is checked here, so a study that can
never run is refused with the culprit named instead of sweeping infeasible rows or dying in
a job:

- every workload file loads (its own problems are reported, under the study's
  ``workloads[i]``);
- a fixed ``mapping.strategy`` parses and fits every workload (tp divides the heads, pp at
  most the layers, ... :func:`archsweep.spec.strategy.strategy_problems`) and its fixed
  degrees fit the largest system of the study;
- the scale-up domain is never larger than the largest system (``accelerator_count``);
- every training job's low-precision recipe runs on the candidates (an NVFP4 recipe needs the
  base part's NVFP4 peak, :func:`archsweep.load.part_physics.check_recipe`, or a varied
  ``nvfp4_matrix_rate_ratio`` > 0), and a varied ``fp8_matrix_efficiency_ratio`` keeps FP8 GEMMs at
  most at the FP8 peak: the same checks over the sweep's ``parameters`` and over a ``search:``
  section's ``search.parameters`` (:func:`check_part_physics_spaces`);
- the size limits: ``sampling.samples`` at most :data:`MAX_SAMPLES`, and a fixed
  ``shards`` at most the number of candidates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from archsweep.load.parameters import problem
from archsweep.load.part_physics import check_recipe, runs_nvfp4
from archsweep.load.workloads import load_architecture, load_workload
from archsweep.spec.architecture import Architecture
from archsweep.spec.catalog import CatalogEntry
from archsweep.spec.errors import InputError, InputErrors, Problem
from archsweep.spec.parameters import ParameterSpace
from archsweep.spec.strategy import (
    MAX_ACCELERATOR_COUNT,
    parse_strategy,
    strategy_problems,
)
from archsweep.spec.study import MAX_SAMPLES
from archsweep.spec.workload import Workload

__all__ = ["check_workloads_load", "check_architectures_load", "check_strategy", "check_system_size", "check_sizes",
           "check_recipes", "check_part_physics", "check_part_physics_spaces"]


def check_workloads_load(workloads: Sequence[str], file: str, problems: list[Problem]) -> dict[str, Workload]:
    """Load every workload; a broken workload file adds its own problems after one naming
    ``workloads[i]``. Returns the workloads that loaded."""
    out: dict[str, Workload] = {}
    for i, name in enumerate(workloads):
        try:
            out[name] = load_workload(name)
        except (InputError, InputErrors) as exc:
            own = exc.problems if isinstance(exc, InputErrors) else (exc.problem,)
            problems.append(problem(file, f"workloads[{i}]", name, "a workload whose own file is valid (its problems follow)"))
            problems.extend(own)
    return out


def check_architectures_load(models: Sequence[str], file: str, problems: list[Problem]) -> dict[str, Architecture]:
    """Load the architecture of every model named by a ``{model, training}`` or ``{model, serving}``
    entry; a broken model file adds its own problems after one naming the model."""
    out: dict[str, Architecture] = {}
    for name in models:
        try:
            out[name] = load_architecture(name)
        except (InputError, InputErrors) as exc:
            own = exc.problems if isinstance(exc, InputErrors) else (exc.problem,)
            problems.append(problem(file, "workloads", name, "a model whose own file is valid (its problems follow)"))
            problems.extend(own)
    return out


def _largest(parameters: Sequence[ParameterSpace], name: str, base: CatalogEntry) -> float:
    """Largest value the study can give numeric hardware parameter ``name``."""
    for p in parameters:
        if p.name == name:
            return float(max(p.values)) if p.kind == "values" and p.values else float(p.high or 0.0)
    return float(getattr(base.design, name))


def _smallest(parameters: Sequence[ParameterSpace], name: str, base: CatalogEntry) -> tuple[float, str]:
    """Smallest value of ``name`` and the key path it comes from."""
    for p in parameters:
        if p.name == name:
            value = float(min(p.values)) if p.kind == "values" and p.values else float(p.low or 0.0)
            return value, f"parameters.{name}"
    return float(getattr(base.design, name)), f"base ({base.name}: {name})"


def check_system_size(parameters: Sequence[ParameterSpace], base: CatalogEntry, file: str,
                      problems: list[Problem]) -> None:
    """A scale-up domain larger than every system of the study can never be built."""
    largest_system = _largest(parameters, "accelerator_count", base)
    if largest_system > MAX_ACCELERATOR_COUNT:
        problems.append(problem(file, "parameters.accelerator_count", largest_system,
                                f"at most {MAX_ACCELERATOR_COUNT:,} accelerators (MAX_ACCELERATOR_COUNT)"))
    for p in parameters:
        if p.name != "scaleup_domain_size":
            continue
        values = [float(v) for v in p.values] if p.kind == "values" else [float(p.low or 0.0)]
        for j, value in enumerate(values):
            if value > largest_system:
                key = f"parameters.scaleup_domain_size.values[{j}]" if p.kind == "values" else "parameters.scaleup_domain_size.range[0]"
                problems.append(problem(file, key, int(value) if value.is_integer() else value,
                                        f"at most the largest system of the study (accelerator_count "
                                        f"{int(largest_system):,}): a scale-up domain cannot be larger than the system"))


def check_strategy(text: str, workloads: Mapping[str, Workload], parameters: Sequence[ParameterSpace],
                   base: CatalogEntry, file: str, problems: list[Problem]) -> None:
    """``mapping.strategy``: parses, fits every workload and the largest system."""
    try:
        fixed = parse_strategy(text, source=file)
    except InputError as exc:
        problems.append(Problem(file, f"mapping.strategy.{exc.problem.key_path}".rstrip("."), exc.problem.value,
                                exc.problem.allowed))
        return
    for name, workload in workloads.items():
        for key, value, allowed in strategy_problems(fixed, workload):
            problems.append(problem(file, f"mapping.strategy.{key}", value, f"{allowed} (workload {name})"))
    degrees = {k: int(fixed[k]) for k in ("tp", "pp", "cp", "dp") if k in fixed}
    product = math.prod(degrees.values())
    largest_system = _largest(parameters, "accelerator_count", base)
    if degrees and product > largest_system:
        given = "*".join(f"{k}={v}" for k, v in degrees.items())
        problems.append(problem(file, "mapping.strategy", f"<{given} = {product:,} accelerators>",
                                f"tp*pp*cp*dp at most the largest system of the study (accelerator_count "
                                f"{int(largest_system):,})"))


def check_sizes(document: Mapping[str, Any], candidates: int | None, file: str, problems: list[Problem]) -> None:
    """``sampling.samples`` and a fixed ``shards`` within their limits."""
    sampling = document.get("sampling") or {}
    samples = sampling.get("samples")
    if isinstance(samples, int) and samples > MAX_SAMPLES:
        problems.append(problem(file, "sampling.samples", samples,
                                f"at most {MAX_SAMPLES:,} samples (MAX_SAMPLES; split the study or search it with "
                                "`search` instead)"))
        return
    shards = document.get("shards", 1)
    if isinstance(shards, int) and candidates is not None and shards > max(candidates, 1):
        problems.append(problem(file, "shards", shards,
                                f"at most the {candidates:,} candidate(s) of the study (one shard per candidate at "
                                "most), or 'auto'"))


def _extent(space: ParameterSpace) -> tuple[float, float]:
    """(smallest, largest) value a numeric parameter space takes."""
    if space.kind == "values":
        values = [float(v) for v in space.values]
        return min(values), max(values)
    return float(space.low or 0.0), float(space.high or 0.0)


def check_part_physics(parameters: Sequence[ParameterSpace], base: CatalogEntry, file: str,
                       problems: list[Problem], key: str = "parameters") -> None:
    """A varied ``fp8_matrix_efficiency_ratio`` keeps the FP8 GEMM efficiency (``matrix_efficiency`` x the
    ratio) at most 1 for every candidate: the achieved rate cannot exceed the FP8 peak (a varied
    ``scaleout_achieved_share`` above 1 is refused where it is parsed: ``ParameterInfo.maximum``). ``key``: where
    ``parameters`` come from (``parameters`` of a sweep, ``search.parameters`` of a search)."""
    varied = {p.name: p for p in parameters}
    if "fp8_matrix_efficiency_ratio" not in varied:
        return
    top = _extent(varied["fp8_matrix_efficiency_ratio"])[1]
    eff = _extent(varied["matrix_efficiency"])[1] if "matrix_efficiency" in varied else base.design.matrix_efficiency
    if top * eff > 1.0:
        problems.append(problem(file, f"{key}.fp8_matrix_efficiency_ratio", top,
                                f"at most 1 / matrix_efficiency = {1.0 / eff:.4g} (matrix_efficiency up to {eff:g}: "
                                "FP8 GEMMs cannot run above the FP8 peak)"))


def check_recipes(workloads: Mapping[str, Workload], base: CatalogEntry, file: str, problems: list[Problem],
                  parameters: Sequence[ParameterSpace] = (), key: str = "parameters") -> None:
    """Every FP8 job's ``low_precision_recipe`` runs on every candidate: NVFP4 needs an NVFP4 rate (the
    base part's NVFP4 peak, or a varied ``nvfp4_matrix_rate_ratio`` > 0 throughout). ``key``: where
    ``parameters`` come from, as in :func:`check_part_physics`."""
    nvfp4 = next((p for p in parameters if p.name == "nvfp4_matrix_rate_ratio"), None)
    for name, workload in workloads.items():
        job = workload.training
        if job.precision != "fp8":
            continue
        if nvfp4 is not None and runs_nvfp4(job.low_precision_recipe):
            if _extent(nvfp4)[0] <= 0:
                problems.append(problem(file, f"{key}.nvfp4_matrix_rate_ratio", _extent(nvfp4)[0],
                                        f"> 0 for every candidate: workload {name} runs the NVFP4 recipe"))
            continue
        try:
            check_recipe(base, job.low_precision_recipe)
        except InputError as exc:
            problems.append(problem(file, "workloads", name, f"a low_precision_recipe the base part {base.name} runs "
                                    f"({job.low_precision_recipe}: {exc.problem.allowed}; "
                                    f"{exc.problem.file}: {exc.problem.key_path} {exc.problem.value})"))


def check_part_physics_spaces(workloads: Mapping[str, Workload], base: CatalogEntry,
                              spaces: Sequence[tuple[Sequence[ParameterSpace], str]], file: str,
                              problems: list[Problem]) -> None:
    """:func:`check_recipes` and :func:`check_part_physics` over every space the study evaluates, each
    ``(parameters, key)``: the sweep's ``parameters`` and a search's ``search.parameters`` (a search
    evaluates the base part with only its searched parameters changed). A problem of the base part
    itself (no NVFP4 peak, varied in neither space) is reported once."""
    found: list[Problem] = []
    for parameters, key in spaces:
        check_recipes(workloads, base, file, found, parameters, key)
        check_part_physics(parameters, base, file, found, key)
    problems.extend(dict.fromkeys(found))
