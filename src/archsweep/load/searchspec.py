"""The ``search:`` section of a study file, parsed into a frozen :class:`SearchSpec`.

Validated against ``schemas/search.schema.json`` (referenced from ``study.schema.json``),
then cross-checked: parameter names come from :data:`archsweep.spec.hardware.HARDWARE_PARAMETERS`,
quantities are parsed with :func:`archsweep.load.units.parse_quantity` (SI inside), ranges must
not be empty, the grid sampler needs every parameter discrete. Every problem is reported at
once, each naming file, key path, value and what is allowed, before any trial runs.

Objectives and constraints are the study's top-level ``objectives``/``constraints``
(:class:`archsweep.load.study.Objective` / :class:`archsweep.load.study.Constraint`).

Several workloads: each trial is evaluated on every workload; an objective is combined
with ``aggregate`` (``mean`` by default, ``worst`` or ``sum``) and a constraint uses the
worst workload (the largest violation), so a feasible trial is feasible everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from archsweep.load.parameters import error, parse_parameter_spaces, problem
from archsweep.load.schema import validate_document
from archsweep.spec.columns import DESIGN_COLUMNS
from archsweep.spec.errors import InputError, InputErrors, Problem
from archsweep.spec.parameters import ParameterSpace
from archsweep.spec.search import (
    DEFAULT_LOCAL_SEARCH_START,
    DEFAULT_STORAGE,
    DEFAULT_SURROGATE_POOL,
    DEFAULT_SURROGATE_START,
    LIMIT_CONSTRAINTS,
    SAMPLER_OPTIONS,
    SURROGATE_OPTIONS,
    SamplerSpec,
    SearchSpec,
)

__all__ = ["parse_search_spec", "default_sampler", "exact_design_problems"]

#: RDB URL schemes Optuna's RDBStorage is tested with (SQLAlchemy dialect, optional +driver).
RDB_SCHEMES = ("sqlite", "postgresql", "mysql")
STORAGE_ALLOWED = ("'journal', a journal file path ending in .log, or an RDB URL "
                   "(sqlite:///path.db, postgresql[+driver]://..., mysql[+driver]://...)")
_RDB_URL = re.compile(r"^(?P<scheme>[a-z]+)(\+[a-z0-9_]+)?://(?P<rest>.*)$")


def _supported_storage(storage: str) -> bool:
    """``journal``, a ``*.log`` path (no URL scheme), or a supported RDB URL with something after ``://``."""
    if storage == DEFAULT_STORAGE:
        return True
    match = _RDB_URL.match(storage)
    if match is None:
        return "://" not in storage and storage.endswith(".log")
    if match["scheme"] not in RDB_SCHEMES:
        return False
    return bool(match["rest"].strip("/")) if match["scheme"] == "sqlite" else bool(match["rest"])


def _prefixed(problem: Problem, key_path: str) -> Problem:
    inner = problem.key_path
    path = key_path if not inner else (f"{key_path}{inner}" if inner.startswith("[") else f"{key_path}.{inner}")
    return Problem(problem.file, path, problem.value, problem.allowed)


def default_sampler(parameters: Sequence[ParameterSpace]) -> dict[str, Any]:
    """The sampler of a search section without one: NSGA-II, followed by the Pareto local search
    from half the budget when a parameter is discrete (README "Scale": on the 80,000-point
    search-quality grid, hypervolume ratio 0.977 vs 0.960 at 1 % and 0.999 vs 0.992 at 5 %)."""
    if any(not p.is_continuous for p in parameters):
        return {"name": "nsga2", "options": {"local_search_start": DEFAULT_LOCAL_SEARCH_START}}
    return {"name": "nsga2"}


def _limit_parameter_problems(file: str, at: str, option: str, options: Mapping[str, Any],
                              parameters: Sequence[ParameterSpace], why: str) -> list[Problem]:
    """The problem of ``option`` (one that acts on the searched TDP / power limits) where the search has parameters
    but no discrete limit parameter among them; ``why``: what the option does with that limit."""
    limits = [p.name for p in parameters if p.name in LIMIT_CONSTRAINTS and not p.is_continuous]
    if not parameters or limits:
        return []
    return [problem(file, f"{at}.{option}", options[option],
                    f"a searched discrete limit parameter ({', '.join(LIMIT_CONSTRAINTS)}): {why}")]


def _option_problems(name: str, options: Mapping[str, Any], parameters: Sequence[ParameterSpace], file: str,
                     at: str) -> list[Problem]:
    """The problems of sampler ``name``'s ``options`` (each at ``at.<option>``): an option the sampler does
    not take, a grid-only option over a search without a discrete parameter, an option without the one it
    needs alongside, and a pair of options that exclude each other."""
    out: list[Problem] = []
    for option in options:
        if option not in SAMPLER_OPTIONS[name]:
            out.append(problem(file, f"{at}.{option}", option,
                               f"an option of sampler {name}: {', '.join(SAMPLER_OPTIONS[name]) or 'none'}"))
    # options that act on the grid, when they are on (local_search_start: any value; surrogate_share: > 0)
    grid_only = (("local_search_start", "local_search_start" in options, "the local search steps on the grid"),
                 ("surrogate_share", bool(options.get("surrogate_share")), "the surrogate proposes grid points"))
    if parameters and all(p.is_continuous for p in parameters):
        for option, on, why in grid_only:
            if on:
                out.append(problem(file, f"{at}.{option}", options[option], "a search with at least one discrete "
                                   f"parameter (values, or a range with step or points): {why}"))
    if not options.get("surrogate_share"):
        for option in SURROGATE_OPTIONS:
            if option != "surrogate_share" and option in options:
                out.append(problem(file, f"{at}.{option}", options[option],
                                   "surrogate_share > 0 alongside (the surrogate proposals are off without it)"))
    if "neighbour_reach" in options and "local_search_start" not in options and not options.get("surrogate_share"):
        out.append(problem(file, f"{at}.neighbour_reach", options["neighbour_reach"],
                           "local_search_start or surrogate_share > 0 alongside (only they step to grid neighbours)"))
    if options.get("local_search_ridge") and "local_search_start" not in options:
        out.append(problem(file, f"{at}.local_search_ridge", options["local_search_ridge"],
                           "local_search_start alongside (the boundary line search runs in the local phase)"))
    if options.get("slack_twins"):
        if "local_search_start" not in options and not options.get("surrogate_share"):
            out.append(problem(file, f"{at}.slack_twins", options["slack_twins"],
                               "local_search_start or surrogate_share > 0 alongside (only they skip the twins)"))
        out.extend(_limit_parameter_problems(file, at, "slack_twins", options, parameters,
                                             "the twins differ from a finished trial only in a limit that does not bind"))
    if options.get("limit_clamp"):
        if not options.get("local_search_model") and not options.get("local_search_ridge"):
            out.append(problem(file, f"{at}.limit_clamp", options["limit_clamp"],
                               "local_search_model or local_search_ridge alongside (only their step models clamp)"))
        out.extend(_limit_parameter_problems(file, at, "limit_clamp", options, parameters,
                                             "the clamp is min(limit, demand)"))
    if options.get("limit_steps"):
        if "local_search_start" not in options:
            out.append(problem(file, f"{at}.limit_steps", options["limit_steps"],
                               "local_search_start alongside (the steps down the limit run in the local phase)"))
        out.extend(_limit_parameter_problems(file, at, "limit_steps", options, parameters,
                                             "the step lowers the limit of a finished design"))
    pool = options.get("surrogate_pool", DEFAULT_SURROGATE_POOL)
    if "surrogate_grid_share" in options and options.get("surrogate_share") and pool != "both":
        out.append(problem(file, f"{at}.surrogate_grid_share", options["surrogate_grid_share"],
                           f"surrogate_pool: both alongside (it splits the trials between the two candidate "
                           f"sets; surrogate_pool is {pool})"))
    start = options.get("surrogate_start", DEFAULT_SURROGATE_START)
    if "surrogate_stop" in options and options["surrogate_stop"] <= start:
        out.append(problem(file, f"{at}.surrogate_stop", options["surrogate_stop"],
                           f"a fraction above surrogate_start ({start})"))
    if options.get("surrogate_exact_design") and any(p.is_continuous for p in parameters):
        out.append(problem(file, f"{at}.surrogate_exact_design", options["surrogate_exact_design"],
                           "every searched parameter discrete (values, or a range with step or points): the design "
                           "objectives are computed at grid points; continuous: "
                           + ", ".join(p.name for p in parameters if p.is_continuous)))
    if options.get("qmc_startup_trials") and options.get("lhs_startup_trials"):
        out.append(problem(file, f"{at}.lhs_startup_trials", options["lhs_startup_trials"],
                           "one start design: qmc_startup_trials or lhs_startup_trials, not both"))
    if options.get("group") and not options.get("multivariate"):
        out.append(problem(file, f"{at}.group", options["group"], "group: true only with multivariate: true (Optuna's TPE)"))
    return out


def exact_design_problems(search: SearchSpec, objective_columns: Sequence[str], file: str,
                          key_path: str = "search") -> list[Problem]:
    """The problem of ``surrogate_exact_design: true`` in a study none of whose objectives (``objective_columns``)
    is closed-form in the design (:data:`~archsweep.spec.columns.DESIGN_COLUMNS`): the option would do nothing."""
    options = search.sampler.option_dict()
    if not options.get("surrogate_exact_design") or any(c in DESIGN_COLUMNS for c in objective_columns):
        return []
    return [problem(file, f"{key_path}.sampler.options.surrogate_exact_design", True,
                    "an objective among the design-only columns (" + ", ".join(DESIGN_COLUMNS) + "); the study's: "
                    + ", ".join(objective_columns))]


def parse_search_spec(raw: Mapping[str, Any], *, file: str, key_path: str = "search") -> SearchSpec:
    """Validate and parse a ``search:`` mapping into a :class:`SearchSpec`.

    Raises:
        InputError / InputErrors: schema violations, unknown parameter, bad quantity, empty
        range (low > high), unknown sampler or option, options that need or exclude another
        (:func:`_option_problems`), grid sampler over a continuous range, unsupported storage.
    """
    try:
        validate_document(raw, "search", file)
    except InputErrors as exc:
        raise InputErrors([_prefixed(p, key_path) for p in exc.problems]) from None
    except InputError as exc:
        raise error([_prefixed(exc.problem, key_path)]) from None
    problems: list[Problem] = []
    parameters = parse_parameter_spaces(raw["parameters"], file, f"{key_path}.parameters", problems)
    sampler_raw = raw.get("sampler") or default_sampler(parameters)
    name = sampler_raw["name"]
    options = sampler_raw.get("options", {})
    problems += _option_problems(name, options, parameters, file, f"{key_path}.sampler.options")
    if name == "grid":
        for p in parameters:
            if p.is_continuous:
                problems.append(problem(file, f"{key_path}.parameters.{p.name}", "<continuous range>",
                                        "values, or a range with step or points (the grid sampler needs discrete values)"))
    storage = raw.get("storage", DEFAULT_STORAGE)
    if not _supported_storage(storage):
        problems.append(problem(file, f"{key_path}.storage", storage, STORAGE_ALLOWED))
    if problems:
        raise error(problems)
    return SearchSpec(
        parameters=tuple(parameters),
        trials=int(raw["trials"]),
        sampler=SamplerSpec(name=name, options=tuple(sorted(options.items()))),
        batch_size=int(raw.get("batch_size", 64)),
        seed=int(raw.get("seed", 0)),
        workers=int(raw.get("workers", 1)),
        storage=str(storage),
        aggregate=raw.get("aggregate", "mean"),
        deduplicate=bool(raw.get("deduplicate", True)),
    )
