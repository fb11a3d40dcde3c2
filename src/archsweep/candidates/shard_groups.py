"""Which shard each candidate of a space goes to: candidates that share a mapping search together.

The driver searches the best mapping once per distinct row of the fields a job's performance reads
(:attr:`archsweep.model.job.JobKind.performance_fields`: not TDP, process node, SRAM size, ...), but
only within one evaluation job. Round-robin over rows (row ``i`` to shard ``i % shards``) scatters
the power/cost variants of one performance row over the shards (a 5^10 grid in 33 shards keeps ~4
of its 125 variants together), so shards are dealt by *group*: rows equal in
:data:`SHARD_GROUP_FIELDS` form a group, and group ``g`` (in order of first appearance) goes to
shard ``g % shards``. The rows, their ids and every column are the same as before; only which
shard file holds a row changes. The fields are those any job kind may read (training and serving,
FP8 included), so the grouping holds for every workload of a study.
"""

from __future__ import annotations

import numpy as np

from archsweep.model.inference.job_kind import SERVING_PERFORMANCE_FIELDS
from archsweep.model.training.job_kind import TRAINING_FP8_FIELDS, TRAINING_PERFORMANCE_FIELDS

__all__ = ["SHARD_GROUP_FIELDS", "shard_of_rows"]

#: Hardware fields some job kind's performance reads (the union over kinds and precisions).
SHARD_GROUP_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(
    (*TRAINING_PERFORMANCE_FIELDS, *SERVING_PERFORMANCE_FIELDS, *TRAINING_FP8_FIELDS)))

_MAX_KEY = 2**62


def shard_of_rows(codes: dict[str, tuple[np.ndarray | None, int]], n: int, shards: int) -> np.ndarray:
    """Shard (int64, ``[0, shards)``) of each of ``n`` rows.

    Args:
        codes: per field of :data:`SHARD_GROUP_FIELDS`, (row codes into its value table, or None for
            a constant; the table's length). Equal codes must mean equal values (unequal codes
            for one value only split a group).
        n: rows.
        shards: shard count (>= 1).
    """
    key = np.zeros(n, dtype=np.int64)
    radix = 1
    for name in SHARD_GROUP_FIELDS:
        row_codes, size = codes[name]
        if row_codes is None or size <= 1:
            continue
        if radix * size >= _MAX_KEY:  # compress the key to dense group numbers before it overflows
            _, key = np.unique(key, return_inverse=True)
            key = key.reshape(-1).astype(np.int64)
            radix = int(key.max()) + 1 if n else 1
        key = key * size + np.asarray(row_codes, dtype=np.int64)
        radix *= size
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))  # groups numbered by first appearance
    return rank[group.reshape(-1)] % shards
