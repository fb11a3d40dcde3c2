"""Parsing one varied hardware parameter (study ``parameters`` and search ``parameters``),
with the problem-collecting helpers the study and search parsers share."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from archsweep.load.units import parse_quantity
from archsweep.spec.errors import InputError, InputErrors, Problem
from archsweep.spec.hardware import ANY_HARDWARE_PARAMETER, PARAMETER_BY_NAME, ParameterInfo
from archsweep.spec.parameters import ParameterSpace

__all__ = ["MAX_PARAMETER_VALUES", "parse_parameter_space", "parse_parameter_spaces", "problem", "error", "guard",
           "raise_problems"]


def problem(file: str, key_path: str, value: object, allowed: str) -> Problem:
    """A problem showing its value as :class:`InputError` does ("<...>" verbatim)."""
    return InputError(file, key_path, value, allowed).problem


def above_maximum(info: ParameterInfo, value: float, raw: object, file: str, key_path: str) -> Problem | None:
    """The problem of a parsed ``value`` (``raw`` as written) above ``info.maximum``; None within it or without one.
    One check for a catalog part's parameters and a study's parameter spaces."""
    if info.maximum is None or value <= info.maximum:
        return None
    return problem(file, key_path, raw, f"a number at most {info.maximum:g}")


def error(problems: Sequence[Problem]) -> InputError | InputErrors:
    """One problem as an :class:`InputError`, several as :class:`InputErrors`."""
    if len(problems) > 1:
        return InputErrors(problems)
    return InputError.from_problem(problems[0])


def guard(problems: list[Problem], action: Callable[[], Any]) -> Any:
    """Run ``action``; record its InputError(s) in ``problems`` and return None on failure."""
    try:
        return action()
    except InputErrors as exc:
        problems.extend(exc.problems)
    except InputError as exc:
        problems.append(exc.problem)
    return None


#: Most grid values of one parameter (a step, points or a list); the whole grid is limited by
#: :data:`archsweep.spec.study.MAX_GRID_SIZE`.
MAX_PARAMETER_VALUES = 1_000_000


def parse_parameter_space(info: ParameterInfo, spec: Mapping[str, Any], file: str, key: str) -> ParameterSpace:
    """One parameter; raises InputErrors with every problem of this parameter."""
    problems: list[Problem] = []

    def quantity(raw: object, key_path: str, *, strictly_positive: bool) -> float | None:
        value = guard(problems, lambda: parse_quantity(
            raw, info.dimension, file=file, key_path=key_path,  # type: ignore[arg-type]
            positive=strictly_positive, non_negative=not strictly_positive,
        ))
        too_large = above_maximum(info, value, raw, file, key_path) if value is not None else None
        if too_large is not None:
            problems.append(too_large)
            return None
        return value

    if "values" in spec:
        values: list[float | str] = []
        if len(spec["values"]) > MAX_PARAMETER_VALUES:
            raise InputError(file, f"{key}.values", f"<{len(spec['values']):,} values>",
                             f"at most {MAX_PARAMETER_VALUES:,} values (MAX_PARAMETER_VALUES)")
        if not spec["values"]:
            problems.append(problem(file, f"{key}.values", [], "at least one value (empty space: 0 candidates)"))
        for i, raw in enumerate(spec["values"]):
            if info.kind == "choice":
                if raw in info.choices:
                    values.append(raw)
                else:
                    problems.append(problem(file, f"{key}.values[{i}]", raw, f"one of {', '.join(info.choices)}"))
            else:
                value = quantity(raw, f"{key}.values[{i}]", strictly_positive=info.positive)
                if value is not None:
                    values.append(value)
        raise_problems(problems)
        return ParameterSpace(info.name, "values", values=tuple(values))

    if info.kind == "choice":
        raise InputError(file, f"{key}.range", spec["range"], f"{{values: [...]}} from {', '.join(info.choices)} (a choice parameter has no range)")
    scale = spec.get("scale", "linear")
    low = quantity(spec["range"][0], f"{key}.range[0]", strictly_positive=info.positive or scale == "log")
    high = quantity(spec["range"][1], f"{key}.range[1]", strictly_positive=info.positive or scale == "log")
    step = quantity(spec["step"], f"{key}.step", strictly_positive=True) if "step" in spec else None
    if low is not None and high is not None and low > high:
        problems.append(problem(file, f"{key}.range", spec["range"], "[low, high] with low <= high (empty range)"))
    if "step" in spec and scale == "log":
        problems.append(problem(file, f"{key}.scale", "log", "linear with step (for a log grid use points)"))
    if low is not None and high is not None and step is not None and (high - low) / step + 1 > MAX_PARAMETER_VALUES:
        problems.append(problem(file, f"{key}.step", spec["step"],
                                f"a step giving at most {MAX_PARAMETER_VALUES:,} grid values over the range "
                                f"(MAX_PARAMETER_VALUES; got {math.floor((high - low) / step) + 1:,})"))
    if isinstance(spec.get("points"), int) and spec["points"] > MAX_PARAMETER_VALUES:
        problems.append(problem(file, f"{key}.points", spec["points"], f"at most {MAX_PARAMETER_VALUES:,} points (MAX_PARAMETER_VALUES)"))
    raise_problems(problems)
    return ParameterSpace(info.name, "range", low=low, high=high, step=step, points=spec.get("points"), scale=scale)


def parse_parameter_spaces(raw: Mapping[str, Any], file: str, key_path: str,
                           problems: list[Problem]) -> tuple[ParameterSpace, ...]:
    """Every varied hardware parameter of a ``parameters`` mapping (name -> values or range) at
    ``key_path`` ("parameters" in a study, "search.parameters" in its search section), in file order.

    A name that is not a hardware parameter and a bad space are recorded in ``problems`` (file,
    ``<key_path>.<name>``, value, what is allowed) and left out, so that every problem is reported.
    """
    out: list[ParameterSpace] = []
    for name, spec in raw.items():
        key = f"{key_path}.{name}"
        info = PARAMETER_BY_NAME.get(name)
        if info is None:
            problems.append(problem(file, key, name, ANY_HARDWARE_PARAMETER))
            continue
        parsed = guard(problems, lambda: parse_parameter_space(info, spec, file, key))  # noqa: B023 (called at once)
        if parsed is not None:
            out.append(parsed)
    return tuple(out)


def raise_problems(problems: list[Problem]) -> None:
    if problems:
        raise error(problems)
