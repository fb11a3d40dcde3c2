"""Steps down the limit axis: a design's clamped versions (``limit_steps``; pure numpy and moocore).

The model caps a package's power at its TDP by DVFS: a design draws its demand power D at the nominal
clock whatever the TDP T, and where D > T the clock falls until the power is T, power = min(T, D)
(:mod:`archsweep.search.clamp`). A design with a lower TDP is the same design **clamped**: the same price,
a lower clock, throughput and (at the lower voltage) energy per token, and the power is T, so a lower
TDP also turns a design over the power cap into one under it. On search-quality grid 1 the recommended
search's low seeds (0.978-0.981) all miss one island of the front (``docs/search-quality-history.md``, s17-A):
14 TDP-clamped designs at HBM3 and 8 HBM stacks, the top of the stacks axis, which alone would lift them to
0.992-0.997; every seed that finds one island point ends with 9-12 of them (the local search walks the island).
The route the data show: a found front point at 7 stacks, its stacks step (over the power cap, the TDP not
binding), and that design's TDP step down, an island point.

The rule: every **base**, an infeasible finished point one step on one axis from a found front point whose
limit does not bind (its demand exact, ``D = (1 + v) T``), has a **child**, the same design at the highest limit
level below both its own and its demand that no trial holds or implies. On the limit axis only the clamp term moves, z = log(min(T, D) / D), so the child's objectives and
constraints (in :func:`~archsweep.search.ridge.constraint_transform`'s form) are predicted as the base's
measured ones plus, per column, a x (change of z) + b x (change of z^2). The coefficients come from **sibling
pairs**, finished trials of one design at two limit levels, one of them unclamped (its demand exact): least
squares through the origin over the pairs, with at least :data:`MIN_PAIRS` of them; with fewer, the clamp slope
of the clamped step model (:func:`~archsweep.search.clamp.fit_clamped_step_model`, b = 0), whose demand it also
supplies where the limit binds. The square term: on grid 1 a shallow clamp lowers the energy per token (a lower
voltage; 176 units, HBM3, 8 stacks: -2.4 % at z = -0.14) and a deep one raises it (+3.3 % at z = -0.73), so a
straight line through 70 sibling pairs of a run's first 600 evaluations gives the energy a slope of -0.01, and
the fit on z and z^2 leaves an rms error of 0.011 (log throughput) and 0.017 (log energy) against 0.033 and
0.021. Children
predicted to violate a constraint other than the limit's own (which the clamp meets by construction) are
dropped; of the others the one whose predicted objectives add the most hypervolume to the found front
(:func:`~archsweep.search.parentgain.predicted_gain`; the contribution rule's reference point) is proposed,
ties drawn, **whatever its predicted gain**: the clamp's effect on the energy per token depends on the design
beyond what the fit captures (the 10 % / 90 % quantiles of the per-pair slope -0.13 / +0.11 on a grid-1 run),
so a gain threshold dropped the island's entry points (a first version that proposed over every front and
infeasible point's child, only when its predicted gain was positive, lost 0.0026 on six grid-1 seeds). The
bases are few (8-23 children after 500-800 of a grid-1 run's evaluations).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from archsweep.search.clamp import ClampedStepModel, fit_clamped_step_model
from archsweep.search.grid import Index
from archsweep.search.parentgain import predicted_children, predicted_gain
from archsweep.search.ridge import constraint_transform
from archsweep.search.stepmodel import objective_transform
from archsweep.search.twins import SLACK

__all__ = ["MIN_PAIRS", "LimitSteps", "limit_step", "limit_step_data", "sibling_slopes", "step_down"]

#: Sibling pairs (module doc) needed before their slopes replace the clamped step model's.
MIN_PAIRS = 3


@dataclass(frozen=True)
class LimitSteps:
    """What the rule reads: the bases' grid indices (n), measured minimised objectives (n, k) and constraint
    values (n, c); the found front (p, k) and its reference point (k,); the objectives' log columns (k,);
    every finished trial's log demand (exact or imputed); the coefficients (2, k + c) of each of the k
    objective then c constraint columns on z and z^2; the limit axis, its levels' logs and the limit constraint's column among the c."""

    bases: tuple[Index, ...]
    values: np.ndarray
    violations: np.ndarray
    front: np.ndarray
    reference: np.ndarray
    logged: np.ndarray
    log_demand: dict[Index, float]
    slopes: np.ndarray
    axis: int
    log_levels: np.ndarray
    slot: int


def limit_step_data(rows: np.ndarray, indices: Sequence[Index], constraints: np.ndarray, front: np.ndarray,
                    reference: np.ndarray, bases: Sequence[int], sizes: Sequence[int], axis: int,
                    levels: Sequence[float], slot: int) -> LimitSteps:
    """Fit the rule's model on every complete trial: ``rows`` (n, k) minimised objectives, ``indices`` grid
    indices, ``constraints`` (n, c) constraint values (> 0 violated) of which column ``slot`` is the limit's
    ((used - limit) / limit); ``front``/``reference`` the found front and its reference point; ``bases`` the
    positions of the trials that may step down (found front and infeasible points); the limit on ``axis``
    with ``levels``."""
    rows = np.asarray(rows, dtype=np.float64)
    constraints = np.asarray(constraints, dtype=np.float64)
    transformed, logged = objective_transform(rows)
    k = rows.shape[1]
    targets = np.hstack([transformed, constraint_transform(constraints)])
    model: ClampedStepModel = fit_clamped_step_model(np.array(indices), targets, sizes, axis, levels,
                                                     constraints[:, slot], k + slot)
    slopes = sibling_slopes(indices, targets, constraints[:, slot], axis, model.log_levels)
    if slopes is None:
        slopes = np.vstack([model.slopes, np.zeros_like(model.slopes)])
    chosen = list(bases)
    return LimitSteps(tuple(indices[i] for i in chosen), rows[chosen], constraints[chosen], front, reference,
                      logged, model.known, slopes, axis, model.log_levels, slot)


def sibling_slopes(indices: Sequence[Index], targets: np.ndarray, limit_values: np.ndarray, axis: int,
                   log_levels: np.ndarray) -> np.ndarray | None:
    """Per column of ``targets`` (n, m), the least-squares coefficients (2, m) of its change between two
    finished trials of one design (every axis but ``axis`` equal) on the changes of z = min(0, log T - log D)
    and of z^2, over the pairs in which one trial's limit does not bind (``limit_values`` < -``SLACK``:
    D = (1 + v) T); None with fewer than :data:`MIN_PAIRS` pairs with a change of z. The square term: a
    shallow clamp lowers the energy per token (a lower voltage), a deep one raises it (the static power over
    a longer time). A column's pairs with a non-finite value are left out of its fit (0 when none is left)."""
    targets = np.asarray(targets, dtype=np.float64)
    designs: dict[Index, list[int]] = {}
    for n, index in enumerate(indices):
        designs.setdefault(index[:axis] + index[axis + 1:], []).append(n)
    dz, dy = [], []
    for members in designs.values():
        exact = [n for n in members if -1.0 < limit_values[n] < -SLACK]
        if not exact or len(members) < 2:
            continue
        log_d = float(log_levels[indices[exact[0]][axis]] + np.log1p(limit_values[exact[0]]))
        z = {n: min(0.0, float(log_levels[indices[n][axis]]) - log_d) for n in members}
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if abs(z[a] - z[b]) > 1e-9:
                    dz.append((z[b] - z[a], z[b] ** 2 - z[a] ** 2))
                    dy.append(targets[b] - targets[a])
    if len(dz) < MIN_PAIRS:
        return None
    x, y = np.array(dz), np.array(dy)
    out = np.zeros((2, y.shape[1]))
    for column in range(y.shape[1]):
        ok = np.isfinite(y[:, column])
        if ok.sum() >= MIN_PAIRS:
            out[:, column] = np.linalg.lstsq(x[ok], y[ok, column], rcond=None)[0]
    return out


def step_down(base: Index, log_demand: float, axis: int, log_levels: np.ndarray,
              taken: set[Index] | frozenset[Index]) -> Index | None:
    """``base`` at the highest level of ``axis`` below its own and below ``log_demand`` (log of the demand, in
    the levels' log unit; NaN: unknown, every lower level) that is not in ``taken``; None when there is none."""
    for level in range(base[axis] - 1, -1, -1):
        if np.isfinite(log_demand) and not log_levels[level] < log_demand:
            continue
        child = base[:axis] + (level,) + base[axis + 1:]
        if child not in taken:
            return child
    return None


def limit_step(data: LimitSteps, taken: set[Index] | frozenset[Index], rng: np.random.Generator) -> Index | None:
    """Of the children (module doc) of the infeasible bases next to the found front whose limit does not bind,
    the one predicted feasible with the largest predicted hypervolume gain (whatever its sign), or None when
    none is predicted feasible; ties drawn with ``rng``. ``taken``: points finished, in flight or implied."""
    k = data.front.shape[1]
    met = np.all(data.violations <= 0, axis=1)
    front = {data.bases[i] for i in np.flatnonzero(met)}
    pairs: dict[Index, int] = {}
    for b, base in enumerate(data.bases):
        log_demand = data.log_demand.get(base, np.nan)
        if met[b] or not data.violations[b, data.slot] < -SLACK or not np.isfinite(log_demand) or not _next_to(base, front):
            continue  # a base: an infeasible one-axis neighbour of a found front point, its limit not binding, its demand known
        child = step_down(base, log_demand, data.axis, data.log_levels, taken)
        if child is not None and child not in pairs:
            pairs[child] = b
    if not pairs:
        return None
    children = list(pairs)
    chosen = np.array([pairs[c] for c in children])
    log_d = np.array([data.log_demand[data.bases[b]] for b in chosen])
    z_base = np.minimum(0.0, data.log_levels[[data.bases[b][data.axis] for b in chosen]] - log_d)
    z_child = np.minimum(0.0, data.log_levels[[c[data.axis] for c in children]] - log_d)
    step = (z_child - z_base)[:, None] * data.slopes[0] + (z_child ** 2 - z_base ** 2)[:, None] * data.slopes[1]
    violations = constraint_transform(data.violations[chosen]) + step[:, k:]
    violations[:, data.slot] = np.minimum(violations[:, data.slot], 0.0)  # the clamp meets its own limit
    feasible = np.all(violations <= 0, axis=1)
    if not feasible.any():
        return None
    keep = np.flatnonzero(feasible)
    predicted = predicted_children(data.values[chosen[keep]], step[keep, :k], data.logged)
    gains = predicted_gain(predicted, data.front, data.reference)
    best = int(np.lexsort((rng.random(len(keep)), gains))[-1])
    return children[int(keep[best])]


def _next_to(point: Index, front: set[Index]) -> bool:
    """Whether ``point`` is one step on one axis from a point of ``front``."""
    return any(point[:a] + (point[a] + s,) + point[a + 1:] in front for a in range(len(point)) for s in (-1, 1))
