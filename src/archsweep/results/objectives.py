"""Study constraints applied to result columns (Optuna's convention: > 0 violated)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from archsweep.spec.errors import InputError
from archsweep.spec.study import Study

__all__ = ["constraint_violations"]


def constraint_violations(study: Study, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Violation columns of every constraint of ``study``: > 0 violated (Optuna convention).

    Returns:
        ``{"violation_<column>_max": ..., "violation_<column>_min": ...}`` for each bound given.

    Raises:
        InputError: a constrained column is missing from ``columns``.
    """
    out: dict[str, np.ndarray] = {}
    for i, constraint in enumerate(study.constraints):
        if constraint.column not in columns:
            raise InputError(study.file, f"constraints[{i}].column", constraint.column,
                             f"a column of the results: {', '.join(sorted(columns))}")
        values = np.asarray(columns[constraint.column], dtype=np.float64)
        upper, lower = constraint.violation_max(values), constraint.violation_min(values)
        if upper is not None:
            out[f"violation_{constraint.column}_max"] = upper
        if lower is not None:
            out[f"violation_{constraint.column}_min"] = lower
    return out
