"""Grid points whose outputs a finished trial already implies: a limit that does not bind (``slack_twins``).

A searched parameter can be a **limit** on a model quantity with a constraint column that reports its
use: the TDP, ``tdp_w``, with ``violation_tdp = (power - tdp_w) / tdp_w``
(:mod:`archsweep.model.ppa`, ``violation_tdp``). Where the limit does not bind (power below the TDP, so
DVFS does not clamp the clock), the design runs the same at every TDP the power fits under: a finished
trial with ``violation_tdp`` v < -``SLACK`` at TDP L used P = (1 + v) L, and every grid point that
differs from it only in ``tdp_w``, at a level L' >= P (1 + ``SLACK``), has the same objectives,
feasibility and every constraint value but ``violation_tdp`` (still < 0 there). Those points (its
**twins**) would cost an evaluation and add no hypervolume; with ``slack_twins`` the local search
and the surrogate count them as known (never proposed, and a global proposal at one moves off it
with ``local_search_fresh``).

How far below the TDP a clamped point can report its power: DVFS bisects the clock scale s in
[0.05, 1] twelve times (``archsweep.model.driver``, ``_DVFS_BISECTIONS``, ``_DVFS_MIN_CLOCK_SCALE``), so the
clock it keeps is at most 0.95 / 2^12 = 2.3e-4 below the one where power meets the TDP, i.e. at most
2.3e-4 / 0.05 = 0.46 % relatively; power grows at most as s^3 there (dynamic power x s v(s)^2, v at most
proportional to s; leakage x v), so a clamped point reports v >= -1.4 %. ``SLACK`` = 2 % is above that.
Checked on both search-quality grids (``docs/search-quality-history.md``, twelfth session): of every
(point, other TDP level) pair the rule implies with this slack, 138,083 on grid 1 and 80,202 on grid b,
none differs in any objective or in feasibility; with v < -1e-6 as the test of slack, 89,115 / 28,076
pairs do (clamped points report v from ~-1e-8 to ~-2e-4). On the eleventh session's recommended sampler,
24-96 of grid b's 461 evaluations per seed were such twins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from archsweep.search.grid import Axis, Index
from archsweep.spec.search import LIMIT_CONSTRAINTS

__all__ = ["LIMIT_CONSTRAINTS", "SLACK", "limit_axis", "implied_twins"]

#: A limit may bind when its constraint value is above -SLACK (a DVFS-clamped point reports >= -1.4 %: module
#: doc), and a level L' holds a twin when L' >= used x (1 + SLACK).
SLACK = 0.02


def limit_axis(axes: Sequence[Axis]) -> tuple[int, str] | None:
    """(position of the grid's limit axis, its constraint column), or None when no axis is a limit of
    :data:`LIMIT_CONSTRAINTS` with numeric levels."""
    for position, axis in enumerate(axes):
        if axis.name in LIMIT_CONSTRAINTS and all(isinstance(v, (int, float)) for v in axis.values):
            return position, LIMIT_CONSTRAINTS[axis.name]
    return None


def implied_twins(trials: Iterable[tuple[Index, Mapping[str, float]]], axes: Sequence[Axis]) -> set[Index]:
    """The grid points implied by the finished trials ``(grid index, constraint values by name)``: for each
    trial whose limit (:func:`limit_axis`) does not bind, the points differing only on the limit axis at a
    level the used quantity fits under (module doc). Empty when the grid has no limit axis."""
    found = limit_axis(axes)
    if found is None:
        return set()
    position, column = found
    levels = [float(v) for v in axes[position].values]
    twins: set[Index] = set()
    for index, constraints in trials:
        v = constraints.get(column)
        if v is None or not v < -SLACK:
            continue
        used = (1.0 + v) * levels[index[position]]
        for level, limit in enumerate(levels):
            if level != index[position] and limit >= used * (1.0 + SLACK):
                twins.add(index[:position] + (level,) + index[position + 1:])
    return twins
