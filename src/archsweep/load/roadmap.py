"""Roadmap scenarios: ``data/roadmap/<name>.yaml`` -> schema-checked, cross-checked, frozen :class:`Scenario`.

A scenario file (schema ``schemas/roadmap.schema.json``) describes one technology generation
(see :mod:`archsweep.spec.roadmap`). Checks beyond the schema, all reported at once, each naming
the file, key path, value and what is allowed:

- ``hardware`` keys are hardware parameters; values parse in the parameter's dimension (unit
  strings allowed) or are one of its choices;
- ``allowed`` keys are hardware parameters: choice lists within the parameter's choices,
  ``min``/``max`` numbers in its dimension with min <= max;
- ``technology`` keys are dotted paths of existing Technology constants (nodes, memories,
  links, packaging, economics, reliability, calibration), values in the field's unit; the
  per-stack HBM bandwidth, capacity and pin rate are hardware parameters (set them under
  ``hardware``), and a link name must be a lane of ``data/technology/links.yaml``;
- ``limits`` keys are numeric output columns, bounds in the column's unit (mm2 for ``_mm2``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import fields, is_dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from archsweep.load.parameters import error, guard, problem
from archsweep.load.paths import data_dir
from archsweep.load.schema import validate_document
from archsweep.load.technology import load_technology
from archsweep.load.units import parse_quantity
from archsweep.load.yamlio import load_yaml
from archsweep.spec.columns import OUTPUT_COLUMNS, column_dimension
from archsweep.spec.errors import InputError, Problem
from archsweep.spec.hardware import ANY_HARDWARE_PARAMETER, PARAMETER_BY_NAME
from archsweep.spec.parameters import ParameterSpace
from archsweep.spec.roadmap import Allowed, Scenario, Sourced
from archsweep.spec.technology import Provenance, Technology

__all__ = ["roadmap_dir", "list_scenarios", "load_scenario", "parse_scenario", "parse_study_scenarios", "FORBIDDEN_TECHNOLOGY"]

#: Technology fields a scenario may not override: they are hardware parameters of the design.
FORBIDDEN_TECHNOLOGY = {"bw_per_stack_bytes_per_s": "hardware.hbm_bw_per_stack_bytes_per_s",
                        "capacity_per_stack_bytes": "hardware.hbm_capacity_per_stack_bytes",
                        "pin_rate_bps": "hardware.hbm_bw_per_stack_bytes_per_s"}


def roadmap_dir() -> Path:
    """``data/roadmap`` (follows ``ARCHSWEEP_DATA_DIR``)."""
    return data_dir() / "roadmap"


def list_scenarios(directory: Path | None = None) -> list[str]:
    """Names (file stems) of the scenarios in ``directory`` (default :func:`roadmap_dir`), sorted."""
    folder = directory if directory is not None else roadmap_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def load_scenario(name: str | int, directory: Path | None = None) -> Scenario:
    """The scenario ``<directory>/<name>.yaml`` (cached per file).

    Raises:
        InputError / InputErrors: a missing file (listing the scenarios there) or any problem
        of :func:`parse_scenario`.
    """
    folder = directory if directory is not None else roadmap_dir()
    path = folder / f"{name}.yaml"
    if not path.is_file():
        raise InputError(str(path), "", str(name), f"a scenario of {folder}: {', '.join(list_scenarios(folder)) or '(none)'}")
    return _load(path.resolve())


@lru_cache(maxsize=32)
def _load(path: Path) -> Scenario:
    return parse_scenario(load_yaml(path), file=str(path), name=path.stem)


def _provenance(raw: Mapping[str, Any]) -> Provenance:
    if raw.get("projection"):
        return Provenance("projection", raw["basis"], raw["confidence"])
    return Provenance(raw["source"], raw["locator"], raw["confidence"])


def _sourced(raw: Mapping[str, Any], value: float | str) -> Sourced:
    prov = _provenance(raw)
    return Sourced(value, prov.source, prov.locator, prov.confidence, projection=bool(raw.get("projection")))


def _hardware_value(name: str, raw: object, file: str, key: str) -> float | str:
    info = PARAMETER_BY_NAME[name]
    if info.kind == "choice":
        if raw not in info.choices:
            raise InputError(file, key, raw, f"one of {', '.join(info.choices)}")
        return str(raw)
    value = parse_quantity(raw, info.dimension, file=file, key_path=key)  # type: ignore[arg-type]
    if info.positive and value <= 0:
        raise InputError(file, key, raw, "a positive value")
    return value


def _known_entries(raw: Mapping[str, Any], section: str, known: Collection[str], allowed: str, file: str,
                   problems: list[Problem]) -> Iterator[tuple[str, str, Any]]:
    """(name, key path, entry) of each entry of ``section`` whose name is in ``known``; each other name is a
    problem that names ``allowed``."""
    for name, entry in raw.items():
        key = f"{section}.{name}"
        if name not in known:
            problems.append(problem(file, key, name, allowed))
            continue
        yield name, key, entry


def _parse_hardware(raw: Mapping[str, Any], file: str, problems: list[Problem]) -> dict[str, Sourced]:
    out: dict[str, Sourced] = {}
    for name, key, entry in _known_entries(raw, "hardware", PARAMETER_BY_NAME, ANY_HARDWARE_PARAMETER, file, problems):
        value = guard(problems, lambda: _hardware_value(name, entry["value"], file, f"{key}.value"))  # noqa: B023
        if value is not None:
            out[name] = _sourced(entry, value)
    return out


def _parse_allowed(raw: Mapping[str, Any], file: str, problems: list[Problem]) -> dict[str, Allowed]:
    out: dict[str, Allowed] = {}
    for name, key, entry in _known_entries(raw, "allowed", PARAMETER_BY_NAME, ANY_HARDWARE_PARAMETER, file, problems):
        info = PARAMETER_BY_NAME[name]
        if info.kind == "choice":
            if "values" not in entry:
                problems.append(problem(file, f"{key}.values", "<missing>", f"a list of {', '.join(info.choices)}"))
                continue
            bad = [v for v in entry["values"] if v not in info.choices]
            if bad:
                problems.append(problem(file, f"{key}.values", bad[0], f"one of {', '.join(info.choices)}"))
                continue
            out[name] = Allowed(name, values=tuple(entry["values"]), provenance=_provenance(entry))
            continue
        if "values" in entry:
            problems.append(problem(file, f"{key}.values", entry["values"], f"min and/or max: {name} is a number"))
            continue
        bounds = {b: guard(problems, partial(parse_quantity, entry[b], info.dimension, file=file, key_path=f"{key}.{b}"))  # type: ignore[arg-type]
                  for b in ("min", "max") if b in entry}
        if None in bounds.values():
            continue
        if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
            problems.append(problem(file, key, f"<min {entry['min']!r} > max {entry['max']!r}>", "min <= max"))
            continue
        out[name] = Allowed(name, low=bounds.get("min"), high=bounds.get("max"), provenance=_provenance(entry))
    return out


def _technology_field(tech: Technology, path: str) -> tuple[Any, str] | str:
    """(the object holding the field, its dimension) for a dotted path, or what is allowed."""
    obj: Any = tech
    parts = path.split(".")
    for i, part in enumerate(parts[:-1]):
        if isinstance(obj, Mapping):
            if part not in obj:
                return f"one of {', '.join(obj)} at {'.'.join(parts[:i + 1])}"
            obj = obj[part]
        elif is_dataclass(obj) and part in {f.name for f in fields(obj)} and part != "provenance":
            obj = getattr(obj, part)
        else:
            known = [f.name for f in fields(obj) if f.name != "provenance"] if is_dataclass(obj) else []
            return f"a Technology path; at {'.'.join(parts[:i + 1])}: one of {', '.join(known)}"
    leaf = parts[-1]
    dims = {f.name: f.metadata.get("dim") for f in fields(obj)} if is_dataclass(obj) and not isinstance(obj, type) else {}
    if leaf not in dims or dims[leaf] in (None, "bool") or leaf == "name":
        return f"a constant of {'.'.join(parts[:-1])}: {', '.join(k for k, d in dims.items() if d not in (None, 'bool') and k != 'name')}"
    return obj, str(dims[leaf])


def _technology_value(tech: Technology, path: str, raw: object, file: str, key: str) -> float | str:
    found = _technology_field(tech, path)
    if isinstance(found, str):
        raise InputError(file, key, path, found)
    leaf = path.rsplit(".", 1)[-1]
    if leaf in FORBIDDEN_TECHNOLOGY:
        raise InputError(file, key, path, f"not a Technology override: set {FORBIDDEN_TECHNOLOGY[leaf]} instead")
    _, dim = found
    if dim == "text":
        if leaf.endswith("_link") and raw not in tech.links.lanes:
            raise InputError(file, f"{key}.value", raw, f"a link lane: {', '.join(tech.links.lanes)}")
        return str(raw)
    if dim == "number":
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise InputError(file, f"{key}.value", raw, f"a plain number in the unit named by '{leaf}'")
        return float(raw)
    return parse_quantity(raw, dim, file=file, key_path=f"{key}.value")  # type: ignore[arg-type]


def _parse_technology(raw: Mapping[str, Any], file: str, problems: list[Problem]) -> dict[str, Sourced]:
    tech = load_technology()
    out: dict[str, Sourced] = {}
    for path, entry in raw.items():
        value = guard(problems, lambda: _technology_value(tech, path, entry["value"], file, f"technology.{path}"))  # noqa: B023
        if value is not None:
            out[path] = _sourced(entry, value)
    return out


def _limit_value(column: str, raw: object, file: str, key: str) -> float:
    if column.endswith("_mm2"):
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return float(raw)
        return parse_quantity(raw, "area", file=file, key_path=key) / 1e-6
    return parse_quantity(raw, column_dimension(column), file=file, key_path=key)  # type: ignore[arg-type]


def _parse_limits(raw: Mapping[str, Any], file: str, problems: list[Problem]) -> dict[str, Sourced]:
    numeric = [c for c in OUTPUT_COLUMNS if c not in PARAMETER_BY_NAME or PARAMETER_BY_NAME[c].kind != "choice"]
    out: dict[str, Sourced] = {}
    for column, key, entry in _known_entries(raw, "limits", numeric, f"a numeric output column: {', '.join(numeric)}",
                                             file, problems):
        value = guard(problems, lambda: _limit_value(column, entry["max"], file, f"{key}.max"))  # noqa: B023
        if value is not None and value <= 0:
            problems.append(problem(file, f"{key}.max", entry["max"], "a positive bound"))
        elif value is not None:
            out[column] = _sourced(entry, value)
    return out


def parse_scenario(document: Any, *, file: str, name: str) -> Scenario:
    """Validate a raw scenario document (schema, then the checks of the module docstring).

    Raises:
        InputError / InputErrors: every problem, each naming file, key path, value and what is allowed.
    """
    validate_document(document, "roadmap", file)
    problems: list[Problem] = []
    hardware = _parse_hardware(document["hardware"], file, problems)
    allowed = _parse_allowed(document.get("allowed", {}), file, problems)
    technology = _parse_technology(document.get("technology", {}), file, problems)
    limits = _parse_limits(document.get("limits", {}), file, problems)
    for pname, rule in allowed.items():  # the generation's own value must be one it offers
        if pname in hardware and not bool(rule.admits([hardware[pname].value])[0]):
            problems.append(problem(file, f"hardware.{pname}.value", hardware[pname].value,
                                    f"a value allowed by allowed.{pname}"))
    if problems:
        raise error(problems)
    return Scenario(name=name, year=int(document["year"]), description=str(document["description"]), file=file,
                    hardware=hardware, allowed=allowed, technology=technology, limits=limits)


def parse_study_scenarios(raw: Sequence[Any], parameters: Sequence[ParameterSpace], *, has_search: bool, file: str,
                          problems: list[Problem]) -> tuple[Scenario, ...]:
    """The scenarios a study names (``scenarios: [2025, 2027]``), each checked against the study:
    it loads, and every varied parameter it restricts keeps at least one value. A study with a
    ``search`` section cannot name scenarios (a search evaluates one technology)."""
    out: list[Scenario] = []
    if raw and has_search:
        problems.append(problem(file, "scenarios", list(raw), "no scenarios in a study with a search section "
                                "(scenarios apply to the sweep: parameters + sampling)"))
        return ()
    for i, name in enumerate(raw):
        if not (roadmap_dir() / f"{name}.yaml").is_file():
            problems.append(problem(file, f"scenarios[{i}]", name,
                                    f"a scenario of {roadmap_dir()}: {', '.join(list_scenarios()) or '(none)'}"))
            continue
        scenario = guard(problems, lambda: load_scenario(str(name)))  # noqa: B023
        if scenario is None:
            continue
        for space in parameters:
            rule = scenario.allowed.get(space.name)
            if rule is not None and not space.is_continuous and rule.restrict(space).size == 0:
                offered = ", ".join(rule.values) if rule.values else f"[{rule.low}, {rule.high}]"
                problems.append(problem(file, f"scenarios[{i}]", name, f"a scenario offering one of the values of "
                                        f"parameters.{space.name} (scenario {name} offers {offered}; {scenario.file})"))
        out.append(scenario)
    return tuple(out)
