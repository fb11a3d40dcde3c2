"""The evaluation of a shard file: every candidate of the shard on every workload of the study, one
Arrow table (the evaluate rule's work; the columns are :func:`archsweep.candidates.evaluate.evaluation_columns`').

Apart from :mod:`archsweep.candidates.evaluate` so that a search worker, which evaluates batches but
reads and writes no shard, does not import pyarrow (issue 14, a job's fixed overhead).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from archsweep.candidates.evaluate import evaluation_columns, study_workload
from archsweep.candidates.progress import Progress
from archsweep.candidates.space import read_shard
from archsweep.load.technology import load_technology
from archsweep.model.driver import PPA_OBJECTIVES, performance_order
from archsweep.model.inference.job_kind import serving_performance_fields
from archsweep.model.training.job_kind import training_performance_fields
from archsweep.spec.columns import SCENARIO_COLUMN
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.roadmap import Scenario, scenario_technology
from archsweep.spec.serving import ServingWorkload
from archsweep.spec.study import Study
from archsweep.spec.workload import Workload

__all__ = ["PROGRESS_CHUNK", "evaluate_shard"]


#: Candidates evaluated per call of the model when progress is reported (bounded memory; the log
#: is throttled by Progress). 1,024 rather than 128: the per-call overhead of the model and of the
#: pruned mapping search halved the shard's rate at 128; 8,192 rather than 1,024 since the driver
#: searches once per distinct performance row: a ten-parameter grid with three power/cost axes has
#: 64 variants per row, so 1,024 candidates left 16 searches per call (13,300 vs 32,000
#: candidates/CPU-s on benchmarks/spaces/scale-1m.yaml; issue 14, commit 5291457).
PROGRESS_CHUNK = 8192


def evaluate_shard(study: Study, shard: str | Path, run_id: str, *,
                   progress: Callable[[str], None] | None = None) -> pa.Table:
    """Every candidate of the shard file ``shard`` on every workload of ``study``, one table.

    With ``progress`` (a log function), candidates are evaluated in chunks of
    :data:`PROGRESS_CHUNK` and the (candidate, workload) evaluations done, the rate and the ETA
    are logged (:class:`archsweep.candidates.progress.Progress`); the rows are the same. The chunks
    follow :func:`_search_order` (candidates that share a mapping search together) and the table
    comes back in the shard's row order.
    """
    tech = load_technology()
    hw, candidate_ids = read_shard(shard)
    ids = np.asarray(candidate_ids)
    n = len(ids)
    chunk = PROGRESS_CHUNK if progress is not None else max(n, 1)
    meter = Progress(n * len(study.workloads), progress) if progress is not None else None
    tables = []
    for name in study.workloads:
        workload = study_workload(study, name)
        for scenario, index in _scenario_groups(study, shard):
            group_hw, group_ids = (hw, ids) if index is None else (hw.rows(index), ids[index])
            group_tech, m = scenario_technology(tech, scenario), len(group_ids)
            order = _search_order(study, workload, group_hw) if chunk < m else None
            parts = []
            for start in range(0, m, chunk):
                part = slice(start, min(m, start + chunk)) if order is None else order[start:start + chunk]
                rows = group_hw.rows(part) if chunk < m else group_hw
                parts.append(pa.table(evaluation_columns(study, rows, group_ids[part], workload, tech=group_tech,
                                                         run_id=run_id, scenario=scenario)))
                if meter is not None:
                    meter.update(len(group_ids[part]))
            group = pa.concat_tables(parts, promote_options="default")
            tables.append(group if order is None else group.take(np.argsort(order)))  # the shard's row order
    return pa.concat_tables(tables, promote_options="default")


def _search_order(study: Study, workload: Workload | ServingWorkload, hw: HardwareArrays) -> np.ndarray | None:
    """The order in which the chunks of a shard are evaluated: candidates equal in the fields the
    job's performance reads (they differ only in TDP, process node, ...) next to each other, so the
    driver searches their mapping once (:func:`archsweep.model.driver.performance_order`); ``None``
    (the shard's order) where the mapping objective reads power or cost. Rows are the same either way."""
    if isinstance(workload, ServingWorkload):
        return performance_order(hw, serving_performance_fields(workload.job))
    if study.mapping.objective in PPA_OBJECTIVES:
        return None
    return performance_order(hw, training_performance_fields(workload))


def _scenario_groups(study: Study, shard: str | Path) -> list[tuple[Scenario | None, np.ndarray | None]]:
    """(scenario, row indices) of the shard's rows per scenario; ``[(None, None)]`` (all rows, the
    base technology) for a study without scenarios."""
    if not study.scenarios:
        return [(None, None)]
    names = pq.read_table(shard, columns=[SCENARIO_COLUMN]).column(SCENARIO_COLUMN).to_numpy(zero_copy_only=False)
    groups = [(s, np.flatnonzero(names == s.name)) for s in study.scenarios]
    return [(s, index) for s, index in groups if len(index)]
