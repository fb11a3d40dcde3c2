"""Measured evaluation rates of one evaluate job, for ``shards: auto`` (no I/O; loaded from
``data/sizing/throughput_rates.yaml`` by :mod:`archsweep.load.throughput`).

An evaluate job's time is modelled as two terms per workload (:mod:`archsweep.load.sharding`):
the best-mapping search, done once per distinct row of the fields the job's performance reads
(``search_rows_per_second``, which depends on the workload: a dense 70B model has ~5,000
mappings, an MoE model ~20,000-30,000), and the per-candidate work after it (re-evaluation at the
chosen mapping, power, area, cost, DVFS, writing: ``candidates_per_second``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["WORKLOAD_KINDS", "WorkloadKind", "ThroughputRates"]

WorkloadKind = Literal["dense", "moe", "serving"]
#: The kinds a rate file gives a fallback search rate for (a workload without its own measurement).
WORKLOAD_KINDS: tuple[WorkloadKind, ...] = ("dense", "moe", "serving")


@dataclass(frozen=True, eq=False)
class ThroughputRates:
    """Rates of one evaluate job (one core), per second.

    Attributes:
        file: the rate file (for messages).
        search_by_workload: distinct performance rows whose best mapping the pruned search finds
            per second, per measured workload name (> 0).
        search_by_kind: the same per :data:`WORKLOAD_KINDS`, for workloads not measured (> 0).
        exhaustive_by_workload / exhaustive_by_kind: the same for ``mapping: {exhaustive: true}``.
        candidates_per_second: per-candidate work after the search (> 0).
    """

    file: str
    search_by_workload: Mapping[str, float]
    search_by_kind: Mapping[str, float]
    exhaustive_by_workload: Mapping[str, float]
    exhaustive_by_kind: Mapping[str, float]
    candidates_per_second: float

    def search_rate(self, workload: str, kind: WorkloadKind, *, exhaustive: bool = False) -> float:
        """Rows/s of the mapping search for ``workload`` (its own measurement, else its kind's)."""
        by_workload, by_kind = ((self.exhaustive_by_workload, self.exhaustive_by_kind) if exhaustive
                                else (self.search_by_workload, self.search_by_kind))
        return by_workload[workload] if workload in by_workload else by_kind[kind]
