"""The surrogate's acquisition: which candidate a proposal takes (:class:`~archsweep.search.surrogate.SurrogateSampler`).

Each candidate has an optimistic point (the objective GPs' mean minus ``beta`` standard deviations, objectives
minimised, in their units) and a probability of feasibility. The candidate proposed is the one with the largest
hypervolume improvement of its optimistic point over the found front (exact, moocore; reference: the found
front's nadir plus 10 % of its range, :func:`~archsweep.results.hypervolume.reference_point`) times its
probability of feasibility (Emmerich et al., IEEE TEVC 10(4), 2006, use the expected improvement; the
optimistic point is its cheap stand-in). The exact improvement is computed for the :data:`SHORTLIST`
candidates whose optimistic point reaches farthest beyond the front
(:func:`~archsweep.search.stepmodel.front_margin`), among those with a probability of feasibility of at least
``threshold`` when there are any.
"""

from __future__ import annotations

import numpy as np

from archsweep.results.hypervolume import hypervolume, reference_point
from archsweep.search.stepmodel import front_margin

__all__ = ["SHORTLIST", "best_candidate"]

#: Candidates whose exact hypervolume improvement is computed at each ask (~40 us each, 3 objectives).
SHORTLIST = 128


def best_candidate(found: np.ndarray, front: np.ndarray, optimistic: np.ndarray, feasible: np.ndarray,
                   free: np.ndarray, threshold: float, widen: float = 0.0) -> int | None:
    """The row of the candidate to propose, or None when no free candidate gains hypervolume.

    Args:
        found: the found feasible non-dominated points (p, k), minimised, objective units: they set the
            reference point and the margins' scale.
        front: the front the gain is measured against (found, plus in-flight trials believed at their mean).
        optimistic: the candidates' optimistic points (m, k), minimised, objective units.
        feasible: the candidates' probability of feasibility (m,).
        free: which candidates may be proposed (m,).
        threshold: the probability of feasibility a candidate needs to enter the shortlist (when any free
            candidate inside the reference has it; 0: every one, each weighted by its probability).
        widen: the reference point moved this many of the found front's ranges farther out (0: the nadir plus
            10 % of each range; ``surrogate_wide_share``'s trials, :mod:`archsweep.search.widereference`).
    """
    span = found.max(axis=0) - found.min(axis=0)
    reference = reference_point(found) + widen * span
    inside = free & np.all(optimistic < reference, axis=1)
    likely = inside & (feasible >= threshold)
    candidates = np.flatnonzero(likely if likely.any() else inside)
    if len(candidates) == 0:
        return None
    margin = front_margin(optimistic[candidates], front, np.where(span > 0, span, 1.0))
    order = np.argsort(-margin, kind="stable")[:SHORTLIST]
    shortlist = candidates[order[margin[order] > 0]]
    if len(shortlist) == 0:
        return None
    base = hypervolume(front, reference)
    gains = np.array([hypervolume(np.vstack([front, optimistic[c]]), reference) - base for c in shortlist])
    score = gains * feasible[shortlist]
    best = int(np.argmax(score))
    return int(shortlist[best]) if score[best] > 0 else None
