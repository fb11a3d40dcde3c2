"""The search grid: the discrete parameters of a search space as axes of grid levels, and grid neighbours.

Shared by the proposing samplers (:mod:`archsweep.search.proposing` and its subclasses), their helpers (the
candidate pools, twins, ridge, clamp, limit steps, rate coordinates) and the Latin-hypercube start
(:mod:`archsweep.search.startup`); code that only reads an axis takes the :class:`Axis` protocol.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

__all__ = ["Index", "Axis", "GridAxis", "grid_axes", "checked_reach", "nearest_ring", "neighbours"]

Index = tuple[int, ...]


class Axis(Protocol):
    """What the samplers read of one discrete parameter of the grid (:class:`GridAxis` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def values(self) -> tuple[Any, ...]: ...

    def index(self, value: Any) -> int | None: ...


def _key(value: Any) -> Any:
    """A grid value as a dict key: strings as they are, numbers to 12 significant digits (a stepped
    float distribution may differ from ``low + i * step`` in the last bits)."""
    return value if isinstance(value, str) else float(f"{float(value):.12g}")


@dataclass(frozen=True)
class GridAxis:
    """One discrete parameter: its grid values in order (Python scalars)."""

    name: str
    values: tuple[Any, ...]

    def index(self, value: Any) -> int | None:
        """Position of ``value`` on the axis, None if off the grid."""
        return self._positions.get(_key(value))

    @property
    def _positions(self) -> dict[Any, int]:
        cached: dict[Any, int] | None = self.__dict__.get("_positions_cache")
        if cached is None:
            cached = {_key(v): i for i, v in enumerate(self.values)}
            object.__setattr__(self, "_positions_cache", cached)
        return cached


def grid_axes(space: Mapping[str, BaseDistribution]) -> tuple[GridAxis, ...]:
    """The discrete parameters of ``space`` (sorted by name): categorical choices in their listed
    order, stepped int/float ranges ``low, low + step, ..., high``. Continuous ranges are left out."""
    axes = []
    for name in sorted(space):
        dist = space[name]
        if isinstance(dist, CategoricalDistribution):
            axes.append(GridAxis(name, tuple(dist.choices)))
        elif isinstance(dist, (IntDistribution, FloatDistribution)) and dist.step is not None:
            count = int(round((dist.high - dist.low) / dist.step)) + 1
            steps = (dist.low + i * dist.step for i in range(count))
            values = tuple(int(v) for v in steps) if isinstance(dist, IntDistribution) else tuple(float(v) for v in steps)
            axes.append(GridAxis(name, values))
    return tuple(axes)


def checked_reach(reach: int) -> int:
    """``reach`` (the most steps of a one-axis move, ``neighbour_reach``) of a sampler that steps to grid
    neighbours; ValueError naming it unless it is >= 1."""
    if reach < 1:
        raise ValueError(f"reach: got {reach}; allowed: an integer >= 1")
    return reach


def neighbours(index: Index, sizes: Sequence[int], axes: int, reach: int = 1) -> tuple[list[Index], list[Index]]:
    """Grid neighbours of ``index`` inside ``0 <= i < sizes``: up to ``reach`` steps on one axis
    (nearest first), and one step on each of two axes (empty when ``axes`` is 1)."""
    one, two = [], []
    for step in range(1, reach + 1):
        for a in range(len(sizes)):
            for d in (-step, step):
                if 0 <= index[a] + d < sizes[a]:
                    one.append(index[:a] + (index[a] + d,) + index[a + 1:])
    if axes >= 2:
        for a, b in itertools.combinations(range(len(sizes)), 2):
            for da, db in itertools.product((-1, 1), repeat=2):
                if 0 <= index[a] + da < sizes[a] and 0 <= index[b] + db < sizes[b]:
                    moved = list(index)
                    moved[a] += da
                    moved[b] += db
                    two.append(tuple(moved))
    return one, two


def nearest_ring(index: Index, moves: Sequence[Index]) -> list[Index]:
    """The ``moves`` (one-axis moves of ``index``) of the fewest steps, in their order; empty when
    ``moves`` is: the ring a parent proposes from before any move farther away (``neighbour_reach``)."""
    if not moves:
        return []
    steps = [max(abs(a - b) for a, b in zip(move, index)) for move in moves]
    return [move for move, step in zip(moves, steps) if step == min(steps)]
