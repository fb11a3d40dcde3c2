"""Study constraints applied to result columns (Optuna's convention: > 0 violated).

pyarrow is imported by :func:`apply_constraints_table` only: a search worker applies constraints to numpy
columns and reads no Arrow table (issue 14, a job's fixed overhead).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

import numpy as np

from archsweep.spec.errors import InputError
from archsweep.spec.study import Study

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["DOMAIN_VIOLATION", "domain_over_system", "constraint_violations", "apply_constraints",
           "apply_constraints_table"]

#: A candidate whose scale-up domain is larger than its system cannot be built. A study grid over
#: both ``scaleup_domain_size`` and ``accelerator_count`` mixes such combinations with valid ones
#: (a domain larger than the LARGEST system is refused when the study is read), so each one is
#: flagged here, after evaluation, as infeasible: (domain - count) / count > 0.
DOMAIN_VIOLATION = "violation_domain_over_system"


def domain_over_system(domain: np.ndarray, count: np.ndarray) -> np.ndarray:
    """(scale-up domain - accelerator count) / accelerator count: > 0 violated."""
    count = np.asarray(count, dtype=np.float64)
    return (np.asarray(domain, dtype=np.float64) - count) / count


def _check_constraint_columns(study: Study, available: Collection[str]) -> None:
    """Raise InputError for the first constraint whose column is not among ``available``."""
    for i, constraint in enumerate(study.constraints):
        if constraint.column not in available:
            raise InputError(study.file, f"constraints[{i}].column", constraint.column,
                             f"a column of the results: {', '.join(sorted(available))}")


def constraint_violations(study: Study, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Violation columns of every constraint of ``study``: > 0 violated (Optuna convention).

    Returns:
        ``{"violation_<column>_max": ..., "violation_<column>_min": ...}`` for each bound given,
        and :data:`DOMAIN_VIOLATION` when the columns hold both scale-up domain and system size.

    Raises:
        InputError: a constrained column is missing from ``columns``.
    """
    _check_constraint_columns(study, columns.keys())
    out: dict[str, np.ndarray] = {}
    if {"scaleup_domain_size", "accelerator_count"} <= columns.keys():
        out[DOMAIN_VIOLATION] = domain_over_system(columns["scaleup_domain_size"], columns["accelerator_count"])
    for constraint in study.constraints:
        values = np.asarray(columns[constraint.column], dtype=np.float64)
        upper, lower = constraint.violation_max(values), constraint.violation_min(values)
        if upper is not None:
            out[f"violation_{constraint.column}_max"] = upper
        if lower is not None:
            out[f"violation_{constraint.column}_min"] = lower
    return out


def _feasible_under(columns: Mapping[str, np.ndarray], violations: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """``feasible`` (all True when absent) ANDed with every violation <= 0 (NaN counts as violated)."""
    feasible = np.asarray(columns.get("feasible", np.ones(n, dtype=bool)), dtype=bool).copy()
    for values in violations.values():
        feasible &= np.asarray(values) <= 0.0
    return feasible


def apply_constraints(study: Study, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``columns`` (one evaluation batch) with the study's ``violation_<column>_<max|min>`` columns
    inserted before ``model_version`` and ``feasible`` ANDed with every constraint (a NaN
    violation counts as violated)."""
    violations = constraint_violations(study, columns)
    n = len(next(iter(columns.values()))) if columns else 0
    feasible = _feasible_under(columns, violations, n)
    out: dict[str, np.ndarray] = {}
    for name, values in columns.items():
        if name == "model_version":
            out.update(violations)
        out[name] = feasible if name == "feasible" else values
    out.update({k: v for k, v in violations.items() if k not in out})
    return out


def apply_constraints_table(study: Study, table: pa.Table) -> pa.Table:
    """:func:`apply_constraints` on an Arrow table (one evaluate shard), same columns in the same
    order. Only the columns the constraints read become numpy arrays; every other column (the
    string columns above all) stays an Arrow column, never a Python object per row."""
    import pyarrow as pa

    _check_constraint_columns(study, table.column_names)
    needed = {"scaleup_domain_size", "accelerator_count", "feasible"} | {c.column for c in study.constraints}
    columns = {name: table.column(name).to_numpy(zero_copy_only=False)
               for name in table.column_names if name in needed}
    violations = constraint_violations(study, columns)
    feasible = _feasible_under(columns, violations, table.num_rows)
    out: dict[str, pa.ChunkedArray | pa.Array | np.ndarray] = {}
    for name in table.column_names:
        if name == "model_version":
            out.update(violations)
        out[name] = feasible if name == "feasible" else table.column(name)
    out.update({k: v for k, v in violations.items() if k not in out})
    return pa.table(out)
