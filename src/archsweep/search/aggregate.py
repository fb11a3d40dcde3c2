"""One objective's values over a study's workloads, aggregated as the search tells them (``search.aggregate``).

Shared by the worker (:func:`archsweep.search.worker.aggregate_objectives`) and the exact design objectives
(:mod:`archsweep.search.designobjectives`), so a design-only column the sampler computes equals, to the last bit,
the value the worker tells for it (a mean of three equal values is not always that value in floating point).
"""

from __future__ import annotations

import numpy as np

__all__ = ["aggregate_workloads"]


def aggregate_workloads(stack: np.ndarray, aggregate: str, direction: str) -> np.ndarray:
    """(points,): ``stack`` (workloads, points), one objective in its own units, reduced over the workloads: "sum"
    their sum, "worst" the least of a maximised objective and the most of a minimised one, else ("mean") the mean."""
    if aggregate == "sum":
        return stack.sum(axis=0)
    if aggregate == "worst":
        return stack.min(axis=0) if direction == "maximize" else stack.max(axis=0)
    return stack.mean(axis=0)
