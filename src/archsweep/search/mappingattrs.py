"""Each workload's chosen mapping as a trial attribute, and its numeric features (``surrogate_mapping``).

The worker evaluates a trial's hardware on every workload with the mapping search inside; which mapping
won (tensor, pipeline and data parallel degrees, micro-batch, recompute) is told with the objectives as
the user attribute :data:`MAPPING_ATTR`: ``{workload: {"tp": int, "pp": int, "dp": int, "micro_batch": int,
"recompute": str}}`` (a workload with no mapping found: ``None``). ``trials.parquet`` holds the same columns
per (trial, workload) from its re-evaluation.

Why a sampler wants it (issue 14, ``docs/search-quality-history.md`` s19-T, s20-E): the objectives are
discontinuous in the hardware parameters where a workload's best mapping switches (grid 1: Llama-3 70B's
tp 1 / dp 256 -> tp 4 / dp 64 at 1,200-1,500 GB/s scale-up, a 1.6 % energy step), which a stationary
Gaussian process smooths over; given the mapping as inputs, it can model the step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["MAPPING_ATTR", "MAPPING_KEYS", "RECOMPUTE_LEVELS", "mapping_attrs", "mapping_features"]

#: The trial user attribute holding each workload's chosen mapping.
MAPPING_ATTR = "mapping"
#: The integer mapping columns kept (``archsweep.candidates.evaluate`` column names), then ``recompute``.
MAPPING_KEYS: tuple[str, ...] = ("tp", "pp", "dp", "micro_batch")
#: ``recompute`` levels in order of how much is recomputed (the feature is the position).
RECOMPUTE_LEVELS: tuple[str, ...] = ("none", "selective", "full")


def mapping_attrs(workloads: Sequence[str], per_workload: Sequence[Mapping[str, np.ndarray]]
                  ) -> list[dict[str, dict[str, Any] | None]]:
    """One :data:`MAPPING_ATTR` value per row of the worker's per-workload columns (JSON-ready)."""
    n = len(per_workload[0]["candidate_id"]) if per_workload else 0
    out: list[dict[str, dict[str, Any] | None]] = [{} for _ in range(n)]
    for name, cols in zip(workloads, per_workload):
        found = np.asarray(cols.get("mapping_found", np.ones(n, dtype=bool)), dtype=bool)
        numbers = [np.asarray(cols[k], dtype=np.float64) for k in MAPPING_KEYS]
        recompute = np.asarray(cols["recompute"]).astype(str)
        for i in range(n):
            ok = bool(found[i]) and all(np.isfinite(c[i]) for c in numbers)
            out[i][name] = ({**{k: int(c[i]) for k, c in zip(MAPPING_KEYS, numbers)}, "recompute": str(recompute[i])}
                            if ok else None)
    return out


def mapping_features(attr: Any, workloads: Sequence[str]) -> np.ndarray | None:
    """Numeric features of one :data:`MAPPING_ATTR` value, per workload in ``workloads`` order: log2 of each
    of :data:`MAPPING_KEYS`, then the recompute level's position in :data:`RECOMPUTE_LEVELS`; None when the
    attribute is missing or a workload has no mapping (the caller then leaves the mapping out)."""
    if not isinstance(attr, Mapping):
        return None
    out: list[float] = []
    for name in workloads:
        m = attr.get(name)
        if not isinstance(m, Mapping) or any(not isinstance(m.get(k), (int, float)) or m[k] <= 0 for k in MAPPING_KEYS):
            return None
        level = m.get("recompute")
        out.extend(float(np.log2(m[k])) for k in MAPPING_KEYS)
        out.append(float(RECOMPUTE_LEVELS.index(level)) if level in RECOMPUTE_LEVELS else float(len(RECOMPUTE_LEVELS)))
    return np.asarray(out, dtype=np.float64)
