"""How many evaluation jobs (shards) a study is split into: ``shards: auto``.

A scheduler wants jobs of minutes, not one per design point: a 10-million-candidate study must
not create 10 million jobs (Snakemake builds its DAG at ~0.4 ms per job, and a SLURM job costs
seconds to schedule and start). With ``shards: auto`` (or ``shards: {target_seconds_per_job,
evaluations_per_second}``) the number of shards follows from the work per shard:

    shards = ceil(candidates * workloads / (evaluations_per_second * target_seconds_per_job))

clamped to ``[1, MAX_AUTO_SHARDS]`` and raised so no shard holds more than
``MAX_CANDIDATES_PER_SHARD`` candidates (memory of one job). The result depends on the study
file only (never on a measurement at run time), so the DAG, the shard files and a rerun stay
the same.

Default rate: :data:`DEFAULT_EVALUATIONS_PER_SECOND` (candidate x workload) evaluations per
second per job, re-measured with the exact pruned mapping search (issue 14) on this project's
2-core development machine (shared with other jobs): ``benchmarks/study_scale.py`` (1M Llama-3
70B candidates, 4 shards, 2 jobs at a time, load average ~4.5) ran ~510/s per evaluate job;
``benchmarks/mapping_search.py`` on one core: Llama-3 405B 771/s, DeepSeek-V3 498/s. The
default stays at the slowest of these (the MoE rate), so an MoE study's jobs stay near the
target time and a dense study's are shorter. A fixed ``mapping.strategy`` is faster. Measure on
your nodes: the evaluate logs print the candidates, rows and seconds of every shard.
"""

from __future__ import annotations

import math

from archsweep.spec.study import (
    DEFAULT_EVALUATIONS_PER_SECOND,
    DEFAULT_TARGET_SECONDS_PER_JOB,
    ShardSizing,
)

__all__ = [
    "DEFAULT_TARGET_SECONDS_PER_JOB", "DEFAULT_EVALUATIONS_PER_SECOND", "MAX_AUTO_SHARDS",
    "MAX_CANDIDATES_PER_SHARD", "ShardSizing", "auto_shard_count",
]

#: Most shards ``auto`` makes (also the DAG size limit: ~4 s of Snakemake planning).
MAX_AUTO_SHARDS = 10_000
#: Most candidates in one shard (a job holds its shard's columns and the model's temporaries).
MAX_CANDIDATES_PER_SHARD = 1_000_000


def auto_shard_count(candidates: int, workloads: int, sizing: ShardSizing) -> int:
    """Number of shards for ``candidates`` designs evaluated on ``workloads`` workloads.

    Args:
        candidates: designs in the space (before duplicate removal; >= 0).
        workloads: workloads each design is evaluated on (>= 1).
        sizing: target time per job and evaluation rate.

    Returns:
        ceil(work / work per job), at least enough shards for
        :data:`MAX_CANDIDATES_PER_SHARD`, clamped to ``[1, MAX_AUTO_SHARDS]``.

    Raises:
        ValueError: a negative count or a non-positive rate or target (programming error:
        the study schema rejects these before this is called).
    """
    if candidates < 0 or workloads < 1:
        raise ValueError(f"candidates must be >= 0 and workloads >= 1, got {candidates} and {workloads}")
    if not (sizing.target_seconds_per_job > 0 and sizing.evaluations_per_second > 0):
        raise ValueError(f"target_seconds_per_job and evaluations_per_second must be > 0, got {sizing}")
    per_job = sizing.evaluations_per_second * sizing.target_seconds_per_job
    by_time = math.ceil(candidates * workloads / per_job)
    by_memory = math.ceil(candidates / MAX_CANDIDATES_PER_SHARD)
    return max(1, min(MAX_AUTO_SHARDS, max(by_time, by_memory)))
