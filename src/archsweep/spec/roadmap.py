"""Roadmap scenarios as frozen types: one technology generation (a year) as a named set of overrides.

Built by :func:`archsweep.load.roadmap.load_scenario` from ``data/roadmap/<name>.yaml``. A
scenario is applied at the edge, never inside the model:

- ``hardware``: values of the technology-dependent hardware parameters of the study's base
  design (process node, HBM generation and per-stack bandwidth/capacity, scale-up and scale-out
  bandwidth per accelerator, scale-up domain size); a parameter the study varies keeps the
  study's values (see ``allowed``);
- ``allowed``: which values of a varied parameter the generation offers (process nodes, HBM
  generations as lists; numbers as ``[min, max]``): the study's other values are dropped for
  that scenario;
- ``technology``: Technology constants it overrides, by dotted path (``nodes.N2.wafer_cost_usd``,
  ``memories.HBM4.cost_usd_per_gb``), applied with :func:`scenario_technology`;
- ``limits``: upper bounds on output columns the generation's packaging imposes
  (``package_area_mm2``: the interposer as a reticle multiple), checked by :func:`limit_violations`.

Every value carries its provenance: a source and locator in ``data/``, or ``projection`` with
its ``basis`` (confidence ``low``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archsweep.spec.parameters import ParameterSpace
from archsweep.spec.technology import Provenance, Technology

__all__ = ["Sourced", "Allowed", "Scenario", "scenario_technology", "limit_violations", "limit_column"]


@dataclass(frozen=True)
class Sourced:
    """One roadmap value (SI for hardware parameters, the Technology field's unit for constants,
    the column's unit for limits) and where it comes from.

    Attributes:
        value: the value (a float, or a string for choices and link names).
        source: file or publication it comes from (for a projection: ``projection``).
        locator: where in the source (for a projection: its basis).
        confidence: ``high`` .. ``low`` (``low`` for every projection).
        projection: True when no source states the value for that year.
    """

    value: float | str
    source: str
    locator: str
    confidence: str
    projection: bool = False

    @property
    def provenance(self) -> Provenance:
        return Provenance(self.source, self.locator, self.confidence)


@dataclass(frozen=True)
class Allowed:
    """The values of one varied hardware parameter a generation offers.

    Attributes:
        name: hardware parameter.
        values: allowed choices (choice parameters), empty otherwise.
        low, high: allowed numeric interval, SI (None: unbounded on that side).
        provenance: where the restriction comes from.
    """

    name: str
    values: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    provenance: Provenance = field(default=Provenance("", "", ""))

    def admits(self, values: Sequence[float | str] | np.ndarray) -> np.ndarray:
        """Element-wise: the value is offered by the generation."""
        if self.values:
            return np.isin(np.asarray(values, dtype=str), np.asarray(self.values, dtype=str))
        x = np.asarray(values, dtype=np.float64)
        ok = np.ones(x.shape, dtype=bool)
        if self.low is not None:
            ok &= x >= self.low * (1 - 1e-12)
        if self.high is not None:
            ok &= x <= self.high * (1 + 1e-12)
        return ok

    def restrict(self, space: ParameterSpace) -> ParameterSpace:
        """``space`` limited to the allowed values (a continuous range is clipped; a grid keeps its
        allowed points as explicit values, possibly none)."""
        if space.is_continuous:
            low = max(float(space.low), self.low) if self.low is not None else space.low  # type: ignore[arg-type]
            high = min(float(space.high), self.high) if self.high is not None else space.high  # type: ignore[arg-type]
            return ParameterSpace(space.name, "range", low=low, high=high, scale=space.scale)
        grid = space.grid_values()
        kept = grid[self.admits(grid)]
        return ParameterSpace(space.name, "values", values=tuple(kept.tolist()))


@dataclass(frozen=True)
class Scenario:
    """One technology generation (see the module docstring).

    Attributes:
        name: the file stem (``"2027"``); recorded in every candidate row (column ``scenario``).
        year: the year the generation ships.
        description: one line for the report.
        file: path of the scenario file (for error messages downstream).
        hardware: hardware parameter -> value (SI; str for choices).
        allowed: varied-parameter restrictions.
        technology: dotted Technology path -> value (the field's unit).
        limits: output column -> upper bound (the column's unit).
    """

    name: str
    year: int
    description: str
    file: str
    hardware: Mapping[str, Sourced]
    allowed: Mapping[str, Allowed]
    technology: Mapping[str, Sourced]
    limits: Mapping[str, Sourced]


def _replaced(obj: Any, parts: list[str], value: Any) -> Any:
    """A copy of ``obj`` with the attribute / key path ``parts`` set to ``value`` (frozen
    dataclasses are copied, not rebuilt: their ``__post_init__`` must not run twice)."""
    head, rest = parts[0], parts[1:]
    child = obj[head] if isinstance(obj, Mapping) else getattr(obj, head)
    new = value if not rest else _replaced(child, rest, value)
    if isinstance(obj, Mapping):
        return {**obj, head: new}
    out = copy.copy(obj)
    object.__setattr__(out, head, new)
    return out


def scenario_technology(tech: Technology, scenario: Scenario | None) -> Technology:
    """``tech`` with the scenario's constants (and their provenance) in place; ``tech`` itself
    when there is no scenario or it overrides nothing."""
    if scenario is None or not scenario.technology:
        return tech
    out = tech
    for path, sourced in scenario.technology.items():
        out = _replaced(out, path.split("."), sourced.value)
    provenance = {**tech.provenance, **{p: s.provenance for p, s in scenario.technology.items()}}
    return _replaced(out, ["provenance"], provenance)


def limit_column(column: str) -> str:
    """Name of the violation column of a scenario limit on ``column``."""
    return f"violation_scenario_{column}_max"


def limit_violations(scenario: Scenario | None, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``violation_scenario_<column>_max`` = (value - max) / max for each limit (> 0 violated,
    NaN counts as violated); columns missing from ``columns`` are skipped."""
    out: dict[str, np.ndarray] = {}
    for column, bound in (scenario.limits.items() if scenario is not None else ()):
        if column in columns:
            excess = (np.asarray(columns[column], dtype=np.float64) - float(bound.value)) / abs(float(bound.value))
            out[limit_column(column)] = np.where(np.isnan(excess), np.inf, excess)
    return out
