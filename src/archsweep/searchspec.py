"""The ``search:`` section of a study file, parsed into a frozen :class:`SearchSpec`.

Validated against ``schemas/search.schema.json`` (referenced from ``study.schema.json``),
then cross-checked: parameter names come from :data:`archsweep.hardware.HARDWARE_PARAMETERS`,
quantities are parsed with :func:`archsweep.units.parse_quantity` (SI inside), ranges must
not be empty, the grid sampler needs every parameter discrete. Every problem is reported at
once, each naming file, key path, value and what is allowed, before any trial runs.

Objectives and constraints are the study's top-level ``objectives``/``constraints``
(:class:`archsweep.study.Objective` / :class:`archsweep.study.Constraint`).

Several workloads: each trial is evaluated on every workload; an objective is combined
with ``aggregate`` (``mean`` by default, ``worst`` or ``sum``) and a constraint uses the
worst workload (the largest violation), so a feasible trial is feasible everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import InputError, InputErrors, Problem
from .hardware import HARDWARE_PARAMETERS, PARAMETER_BY_NAME
from .schema import validate_document

__all__ = ["SamplerName", "Aggregate", "SAMPLERS", "SamplerSpec", "SearchSpec", "parse_search_spec", "DEFAULT_STORAGE"]

SamplerName = Literal["nsga2", "nsga3", "tpe", "qmc", "random", "grid"]
Aggregate = Literal["mean", "worst", "sum"]
SAMPLERS: tuple[str, ...] = ("nsga2", "nsga3", "tpe", "qmc", "random", "grid")
#: ``storage: journal`` (the default): an Optuna journal file ``results/<study>/search/journal.log``.
DEFAULT_STORAGE = "journal"

_SAMPLER_OPTIONS: dict[str, tuple[str, ...]] = {
    "nsga2": ("population_size", "mutation_prob", "crossover_prob", "swapping_prob"),
    "nsga3": ("population_size", "mutation_prob", "crossover_prob", "swapping_prob"),
    "tpe": ("n_startup_trials", "n_ei_candidates", "multivariate"),
    "qmc": ("qmc_type", "scramble"),
    "random": (),
    "grid": (),
}


@dataclass(frozen=True)
class SamplerSpec:
    """Optuna sampler name and its constructor options (JSON scalars)."""

    name: SamplerName = "nsga2"
    options: tuple[tuple[str, Any], ...] = ()

    def option_dict(self) -> dict[str, Any]:
        return dict(self.options)


@dataclass(frozen=True)
class SearchSpec:
    """A validated search section. Parameter values are SI (see ``archsweep.study.ParameterSpace``).

    Attributes:
        parameters: searched parameters (``archsweep.study.ParameterSpace``), file order.
        sampler: which Optuna sampler, with options.
        trials: total trial budget over all workers.
        batch_size: trials asked/evaluated/told together.
        seed: sampler seed; worker ``w`` seeds its sampler with ``seed + w``.
        workers: number of worker jobs sharing the storage.
        storage: ``"journal"`` (default journal file), a ``*.log`` path, or an RDB URL.
        aggregate: how objectives combine over workloads.
    """

    parameters: tuple[Any, ...]
    trials: int
    sampler: SamplerSpec = field(default_factory=SamplerSpec)
    batch_size: int = 64
    seed: int = 0
    workers: int = 1
    storage: str = DEFAULT_STORAGE
    aggregate: Aggregate = "mean"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)


def _prefixed(problem: Problem, key_path: str) -> Problem:
    inner = problem.key_path
    path = key_path if not inner else (f"{key_path}{inner}" if inner.startswith("[") else f"{key_path}.{inner}")
    return Problem(problem.file, path, problem.value, problem.allowed)


def _raise(problems: list[Problem]) -> None:
    if len(problems) == 1:
        err = InputError(problems[0].file, problems[0].key_path, "<>", problems[0].allowed)
        err.problem = problems[0]
        err.args = (problems[0].render(),)
        raise err
    if problems:
        raise InputErrors(problems)


def parse_search_spec(raw: Mapping[str, Any], *, file: str, key_path: str = "search") -> SearchSpec:
    """Validate and parse a ``search:`` mapping into a :class:`SearchSpec`.

    Raises:
        InputError / InputErrors: schema violations, unknown parameter, bad quantity, empty
        range (low > high), unknown sampler or option, grid sampler over a continuous range.
    """
    from .study import parse_parameter_space  # lazy: study imports this module lazily too

    try:
        validate_document(raw, "search", file)
    except InputErrors as exc:
        raise InputErrors([_prefixed(p, key_path) for p in exc.problems]) from None
    except InputError as exc:
        _raise([_prefixed(exc.problem, key_path)])
    problems: list[Problem] = []
    parameters = []
    for name, spec in raw["parameters"].items():
        key = f"{key_path}.parameters.{name}"
        info = PARAMETER_BY_NAME.get(name)
        if info is None:
            problems.append(InputError(file, key, name,
                                       "a hardware parameter: " + ", ".join(p.name for p in HARDWARE_PARAMETERS)).problem)
            continue
        try:
            parameters.append(parse_parameter_space(info, spec, file, key))
        except InputErrors as exc:
            problems.extend(exc.problems)
        except InputError as exc:
            problems.append(exc.problem)
    sampler_raw = raw.get("sampler", {"name": "nsga2"})
    name = sampler_raw["name"]
    options = sampler_raw.get("options", {})
    for option in options:
        if option not in _SAMPLER_OPTIONS[name]:
            problems.append(InputError(file, f"{key_path}.sampler.options.{option}", option,
                                       f"an option of sampler {name}: {', '.join(_SAMPLER_OPTIONS[name]) or 'none'}").problem)
    if name == "grid":
        for p in parameters:
            if p.is_continuous:
                problems.append(InputError(file, f"{key_path}.parameters.{p.name}", "<continuous range>",
                                           "values, or a range with step or points (the grid sampler needs discrete values)").problem)
    _raise(problems)
    return SearchSpec(
        parameters=tuple(parameters),
        trials=int(raw["trials"]),
        sampler=SamplerSpec(name=name, options=tuple(sorted(options.items()))),
        batch_size=int(raw.get("batch_size", 64)),
        seed=int(raw.get("seed", 0)),
        workers=int(raw.get("workers", 1)),
        storage=str(raw.get("storage", DEFAULT_STORAGE)),
        aggregate=raw.get("aggregate", "mean"),
    )
