"""Read a study's ``sensitivity`` section (schema ``sensitivity.schema.json``) into a frozen spec.

Without the section, the defaults answer "which of the parameters this study varies matters
most, around its base design": every varied parameter at the lowest and highest value the
study explores (a parameter named in ``tornado`` with ``null``: base x (1 -+ relative), a choice
at its neighbours in the choice list), no grids, the study's workloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from archsweep.load.catalog import get_accelerator
from archsweep.load.parameters import error, guard, parse_parameter_space, problem
from archsweep.load.schema import validate_document
from archsweep.load.units import parse_quantity
from archsweep.load.workloads import list_workloads
from archsweep.spec.columns import OUTPUT_COLUMNS
from archsweep.spec.errors import Problem
from archsweep.spec.hardware import ANY_HARDWARE_PARAMETER, PARAMETER_BY_NAME
from archsweep.spec.sensitivity import (
    DEFAULT_SENSITIVITY_OUTPUTS,
    SensitivityGrid,
    SensitivitySpec,
    TornadoParameter,
)
from archsweep.spec.study import MAX_CANDIDATES_PER_SHARD, Study

__all__ = ["parse_sensitivity"]


def _value(name: str, raw: Any, file: str, key: str) -> float | str:
    info = PARAMETER_BY_NAME[name]
    if info.kind == "choice":
        if raw not in info.choices:
            raise error([problem(file, key, raw, f"one of {', '.join(info.choices)}")])
        return str(raw)
    value = parse_quantity(raw, info.dimension, file=file, key_path=key)  # type: ignore[arg-type]
    return float(round(value)) if info.kind == "int" else float(value)


def _default_setting(name: str, base: Any, relative: float) -> tuple[Any, Any]:
    info = PARAMETER_BY_NAME[name]
    if info.kind == "choice":
        i = info.choices.index(base)
        return info.choices[max(i - 1, 0)], info.choices[min(i + 1, len(info.choices) - 1)]
    low, high = float(base) * (1 - relative), float(base) * (1 + relative)
    if info.kind == "int":
        low, high = max(1.0, float(np.floor(low))), float(np.ceil(high))
    return low, high


def _explored(study: Study) -> dict[str, tuple[Any, Any]]:
    """(lowest, highest) value of each parameter the study's sweep varies (choices in list order)."""
    out = {}
    for space in study.parameters:
        info = PARAMETER_BY_NAME[space.name]
        if info.kind == "choice":
            ordered = sorted(space.values, key=info.choices.index)
            out[space.name] = (ordered[0], ordered[-1])
        else:
            values = np.asarray(space.grid_values() if space.kind == "range" and not space.is_continuous
                                else (space.values or (space.low, space.high)), dtype=np.float64)
            out[space.name] = (float(values.min()), float(values.max()))
    return out


def _axis(raw: Mapping[str, Any], file: str, key: str) -> tuple[str, tuple[Any, ...]]:
    (name, spec), = raw.items()
    if name not in PARAMETER_BY_NAME:
        raise error([problem(file, key, name, ANY_HARDWARE_PARAMETER)])
    space = parse_parameter_space(PARAMETER_BY_NAME[name], spec, file, f"{key}.{name}")
    if space.kind == "range" and space.points is None and space.step is None:
        raise error([problem(file, f"{key}.{name}", "<range>", "a range with points or step (a grid needs values)")])
    values = space.values if space.kind == "values" else tuple(float(v) for v in space.grid_values())
    return name, tuple(values)


def parse_sensitivity(document: Mapping[str, Any] | None, study: Study) -> SensitivitySpec:
    """The sensitivity spec of ``study`` from its raw ``sensitivity`` section (None: the defaults)."""
    file = study.file
    raw = dict(document or {})
    validate_document(raw, "sensitivity", file)
    problems: list[Problem] = []
    base = dict(get_accelerator(study.base).as_dict())
    for name, value in (raw.get("base") or {}).items():
        if name not in PARAMETER_BY_NAME:
            problems.append(problem(file, f"sensitivity.base.{name}", name, ANY_HARDWARE_PARAMETER))
            continue
        parsed = guard(problems, lambda n=name, v=value: _value(n, v, file, f"sensitivity.base.{n}"))
        if parsed is not None:
            base[name] = parsed
    relative = float(raw.get("relative", 0.2))
    tornado_raw = raw.get("tornado")
    if tornado_raw is None:
        tornado_raw = dict.fromkeys(study.varied or getattr(study.search, "names", ()))
    explored = _explored(study)
    tornado = []
    for name, setting in tornado_raw.items():
        if name not in PARAMETER_BY_NAME:
            problems.append(problem(file, f"sensitivity.tornado.{name}", name, ANY_HARDWARE_PARAMETER))
            continue
        if setting is None and name in explored:
            low, high = explored[name]
        elif setting is None:
            low, high = _default_setting(name, base[name], relative)
        else:
            low = guard(problems, lambda n=name, v=setting[0]: _value(n, v, file, f"sensitivity.tornado.{n}[0]"))
            high = guard(problems, lambda n=name, v=setting[1]: _value(n, v, file, f"sensitivity.tornado.{n}[1]"))
        tornado.append(TornadoParameter(name, low, high))
    grids = []
    for i, grid in enumerate(raw.get("grids", ())):
        x = guard(problems, lambda g=grid, k=i: _axis(g["x"], file, f"sensitivity.grids[{k}].x"))
        y = guard(problems, lambda g=grid, k=i: _axis(g["y"], file, f"sensitivity.grids[{k}].y"))
        if x and y:
            if x[0] == y[0]:
                problems.append(problem(file, f"sensitivity.grids[{i}].y", y[0], "a parameter other than x"))
            if len(x[1]) * len(y[1]) > MAX_CANDIDATES_PER_SHARD:
                problems.append(problem(file, f"sensitivity.grids[{i}]", f"{len(x[1])} x {len(y[1])} points",
                                        f"at most {MAX_CANDIDATES_PER_SHARD:,} points per grid (MAX_CANDIDATES_PER_SHARD)"))
                continue
            grids.append(SensitivityGrid(x[0], x[1], y[0], y[1]))
    outputs = tuple(raw.get("outputs", DEFAULT_SENSITIVITY_OUTPUTS))
    for k, name in enumerate(outputs):
        if name not in OUTPUT_COLUMNS:  # mfu and hfu among them
            problems.append(problem(file, f"sensitivity.outputs[{k}]", name, "an output column: " + ", ".join(OUTPUT_COLUMNS)))
    entries = [t.name for t in study.training]  # the study's {model, training} entries, under the study's job
    known = [*list_workloads(), *entries]
    for k, name in enumerate(raw.get("workloads", ())):
        if name not in known:
            problems.append(problem(file, f"sensitivity.workloads[{k}]", name,
                                    "a training workload: a workload in models/ or a {model, training} entry of the "
                                    "study: " + ", ".join(sorted(known))))
    # Default: the study's training workloads (sensitivity evaluates training jobs; a serving entry is left out).
    default = tuple(w for w in study.workloads if study.serving_workload(w) is None)
    workloads = tuple(raw.get("workloads", default))
    if not workloads:
        problems.append(problem(file, "workloads", list(study.workloads),
                                "a training workload for the sensitivity (a serving-only study has none; name one "
                                "under sensitivity.workloads)"))
    if problems:
        raise error(problems)
    return SensitivitySpec(base=base, workloads=workloads, tornado=tuple(tornado),
                           grids=tuple(grids), outputs=outputs, relative=relative, file=file)
