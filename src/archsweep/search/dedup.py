"""Points already evaluated in a search (``deduplicate``, on by default).

Samplers propose points already evaluated (on a discrete grid, univariate TPE repeated about a
third of its 800 trials in the search-quality benchmark). The worker keeps every evaluated point
of the study with what it told Optuna; a trial at a known point is told the same values and
constraints without a model evaluation, tagged ``duplicate_of`` (the evaluated trial's number)
and not counted against the budget, so ``trials`` is the number of distinct points evaluated.

Several workers share a storage: each keeps its own points in memory and, before each batch,
adds the counted trials the others finished since its last look (:meth:`PointCache.refresh`,
one ``get_trials`` read of the storage). Two workers can still evaluate the same point when both
ask it before either tells it; each is then counted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from archsweep.search.mappingattrs import MAPPING_ATTR
from archsweep.search.proposing import CONSTRAINT_CAP
from archsweep.search.storage import CANDIDATE_ATTR, DUPLICATE_ATTR, EVALUATED_ATTR, FEASIBLE_ATTR

__all__ = ["Told", "PointCache", "point_key", "space_size", "counted", "finite_or_cap"]
_CONSTRAINT_PREFIX = "constraints:"  # where Trial.set_constraint keeps a value (Optuna 5 system attrs)


def counted(trial: optuna.trial.FrozenTrial) -> bool:
    """Part of the budget: evaluated by the model (COMPLETE, or FAIL with ``evaluated``), not a duplicate."""
    if DUPLICATE_ATTR in trial.user_attrs:
        return False
    return trial.state == optuna.trial.TrialState.COMPLETE or bool(trial.user_attrs.get(EVALUATED_ATTR))


def point_key(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Hashable point: parameter names sorted, floats to 12 significant digits (stepped float
    distributions may differ in the last bits between samplers)."""
    return tuple((k, float(f"{v:.12g}") if isinstance(v, float) else v) for k, v in sorted(params.items()))


def space_size(space: Mapping[str, BaseDistribution]) -> int | None:
    """Number of distinct points, or None when a parameter is continuous."""
    size = 1
    for dist in space.values():
        if isinstance(dist, CategoricalDistribution):
            size *= len(dist.choices)
        elif isinstance(dist, (IntDistribution, FloatDistribution)) and dist.step is not None:
            size *= int(round((dist.high - dist.low) / dist.step)) + 1
        else:
            return None
    return size


@dataclass(frozen=True)
class Told:
    """What the evaluated trial ``number`` told Optuna (``values`` None: told FAIL); ``mapping``: each workload's
    chosen mapping (:data:`~archsweep.search.mappingattrs.MAPPING_ATTR`), None when not stored."""

    number: int
    values: tuple[float, ...] | None
    constraints: tuple[tuple[str, float], ...]
    feasible: bool
    candidate_id: str
    mapping: Mapping[str, Any] | None = None


class PointCache:
    """Evaluated points of one study: this worker's, plus the others' seen by :meth:`refresh`."""

    def __init__(self) -> None:
        self._points: dict[tuple[tuple[str, Any], ...], Told] = {}
        self._looked: set[int] = set()
        self._settled = 0  # every trial numbered below it is finished and looked at

    def __len__(self) -> int:
        return len(self._points)

    def get(self, key: tuple[tuple[str, Any], ...]) -> Told | None:
        return self._points.get(key)

    def add(self, key: tuple[tuple[str, Any], ...], told: Told) -> None:
        self._points.setdefault(key, told)
        self._looked.add(told.number)

    def refresh(self, ostudy: optuna.Study) -> int:
        """Add the counted finished trials not seen yet; returns how many were added. Trials
        below the first unfinished one are not looked at again (a study's trials are numbered
        0, 1, ... in ``get_trials`` order), so a refresh costs the unfinished tail, not the study."""
        added = 0
        finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
        trials = ostudy.get_trials(deepcopy=False)
        for t in trials[self._settled:]:
            if t.state not in finished or t.number in self._looked:
                continue
            self._looked.add(t.number)
            if not counted(t):
                continue
            constraints = tuple(sorted((k[len(_CONSTRAINT_PREFIX):], float(v)) for k, v in t.system_attrs.items()
                                       if k.startswith(_CONSTRAINT_PREFIX)))
            values = tuple(t.values) if t.state == optuna.trial.TrialState.COMPLETE and t.values is not None else None
            key = point_key(t.params)
            if key not in self._points:
                self._points[key] = Told(t.number, values, constraints, bool(t.user_attrs.get(FEASIBLE_ATTR)),
                                         str(t.user_attrs.get(CANDIDATE_ATTR, "")), t.user_attrs.get(MAPPING_ATTR))
                added += 1
        while self._settled < len(trials) and trials[self._settled].state in finished \
                and trials[self._settled].number in self._looked:
            self._settled += 1
        return added


def finite_or_cap(value: float) -> float:
    """A constraint value Optuna accepts (no NaN/inf): non-finite -> ``CONSTRAINT_CAP`` (violated)."""
    return float(value) if math.isfinite(value) else CONSTRAINT_CAP
