"""How many evaluation jobs (shards) a study is split into: ``shards: auto``.

A scheduler wants jobs of minutes, not one per design point: a 10-million-candidate study must
not create 10 million jobs (Snakemake builds its DAG at ~0.4 ms per job, and a SLURM job costs
seconds to schedule and start). With ``shards: auto`` (or ``shards: {target_seconds_per_job,
evaluations_per_second}``) the number of shards follows from the estimated work:

    seconds = sum over workloads (and scenarios) of
              performance_rows / search_rate(workload) + candidates / candidates_per_second
    shards  = ceil(seconds / target_seconds_per_job)

The driver searches the best mapping once per distinct row of the fields a job's performance
reads, and the space deals shards by those groups (``candidates/shard_groups.py``), so a grid whose
power/cost axes (TDP, process node, SRAM, vector rate) multiply the candidates adds only the cheap
per-candidate term. ``performance_rows`` is, for a grid, the product of the sizes of the axes the
performance reads (:data:`POWER_COST_ONLY_PARAMETERS` excluded); for random or Sobol sampling the
sample count (at most that product when every performance axis is discrete); every candidate when
the mapping objective reads power or cost (:data:`PPA_MAPPING_OBJECTIVES`: no deduplication).
The rates are measured data (``data/sizing/throughput_rates.yaml``, per workload or per
kind: dense, MoE, serving; :mod:`archsweep.load.throughput`); ``evaluations_per_second`` in the
study replaces the whole estimate with one flat (candidate x workload) rate. A fixed
``mapping.strategy`` is sized as a search (conservative: shorter jobs).

The count is clamped to ``[1, MAX_AUTO_SHARDS]``, raised so no shard holds more than
``MAX_CANDIDATES_PER_SHARD`` candidates (memory of one job), and never exceeds the performance
groups (a shard without a group would be empty). It depends on the study and data files only
(never on a measurement at run time), so the DAG, the shard files and a rerun stay the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from archsweep.spec.parameters import ParameterSpace
from archsweep.spec.study import (
    DEFAULT_TARGET_SECONDS_PER_JOB,
    MAX_AUTO_SHARDS,
    MAX_CANDIDATES_PER_SHARD,
    ShardSizing,
)
from archsweep.spec.throughput import ThroughputRates, WorkloadKind

__all__ = [
    "DEFAULT_TARGET_SECONDS_PER_JOB", "MAX_AUTO_SHARDS", "MAX_CANDIDATES_PER_SHARD", "POWER_COST_ONLY_PARAMETERS",
    "PPA_MAPPING_OBJECTIVES", "ShardSizing", "SizedWorkload", "auto_shard_count", "estimated_seconds",
    "performance_rows",
]

#: Hardware parameters no job kind's performance reads (they enter power, area, cost and DVFS only):
#: the complement of ``candidates.shard_groups.SHARD_GROUP_FIELDS`` and ``hbm_generation`` (whose
#: per-stack bandwidth and capacity the performance reads); a test checks it against the model.
POWER_COST_ONLY_PARAMETERS = frozenset({"tdp_w", "process_node", "sram_bytes", "vector_flops_per_cycle_per_unit",
                                        "die_reference_clock_hz"})
#: Mapping objectives that read power or cost, so the driver searches every candidate
#: (``model.driver.PPA_OBJECTIVES``; a test checks they agree).
PPA_MAPPING_OBJECTIVES = frozenset({"energy_per_token_j", "usd_per_million_tokens"})


@dataclass(frozen=True)
class SizedWorkload:
    """One workload of a study as the sizing sees it: its name and kind."""

    name: str
    kind: WorkloadKind


def performance_rows(parameters: Sequence[ParameterSpace], candidates: int, *,
                     mapping_objective: str = "step_time_s") -> int:
    """Distinct rows of performance fields among ``candidates`` (the mapping searches of a study).

    Args:
        parameters: the varied parameters.
        candidates: designs in the space (a grid: every combination; random / Sobol: the samples,
            with at most one row per combination of discrete performance axes).
        mapping_objective: the study's mapping objective (a power/cost one searches every row).
    """
    if mapping_objective in PPA_MAPPING_OBJECTIVES:
        return candidates
    axes = [p for p in parameters if p.name not in POWER_COST_ONLY_PARAMETERS]
    if any(p.is_continuous for p in axes):
        return candidates
    return min(candidates, math.prod(p.size for p in axes))


def estimated_seconds(candidates: int, rows: int, workloads: Sequence[SizedWorkload], rates: ThroughputRates, *,
                      exhaustive: bool = False) -> float:
    """Estimated one-core seconds to evaluate the space on ``workloads`` (see the module doc)."""
    return sum(rows / rates.search_rate(w.name, w.kind, exhaustive=exhaustive)
               + candidates / rates.candidates_per_second for w in workloads)


def auto_shard_count(candidates: int, seconds: float, sizing: ShardSizing, *, groups: int | None = None) -> int:
    """Number of shards for ``candidates`` designs whose evaluation takes ``seconds`` on one core.

    Args:
        candidates: designs in the space (before duplicate removal; >= 0).
        seconds: estimated evaluation time of the whole space (:func:`estimated_seconds`; >= 0).
        sizing: the target time per job.
        groups: performance groups the space deals to shards (default ``candidates``).

    Returns:
        ceil(seconds / target), at least enough shards for :data:`MAX_CANDIDATES_PER_SHARD`,
        clamped to ``[1, min(MAX_AUTO_SHARDS, groups)]``.

    Raises:
        ValueError: a negative count or time, or a non-positive target (programming error: the
        study schema rejects these before this is called).
    """
    groups = candidates if groups is None else groups
    if candidates < 0 or groups < 0 or not seconds >= 0:
        raise ValueError(f"candidates, groups and seconds must be >= 0, got {candidates}, {groups}, {seconds}")
    if not sizing.target_seconds_per_job > 0:
        raise ValueError(f"target_seconds_per_job must be > 0, got {sizing}")
    by_time = math.ceil(seconds / sizing.target_seconds_per_job)
    by_memory = math.ceil(candidates / MAX_CANDIDATES_PER_SHARD)
    return max(1, min(MAX_AUTO_SHARDS, groups, max(by_time, by_memory)))
