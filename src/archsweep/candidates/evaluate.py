"""The evaluation of a shard: every candidate of a batch on every workload of the study, as tidy rows.

One row per (candidate, workload): the hardware parameters (design values, hashed into the
candidate id), the chosen mapping and the model's metrics, the study's constraint violations,
``feasible``, ``model_version`` and ``run_id``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from archsweep import MODEL_VERSION
from archsweep.candidates.progress import Progress
from archsweep.candidates.space import read_shard
from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.job_software import job_software
from archsweep.load.serving_calibration import load_serving_calibration
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_architecture, load_workload
from archsweep.model.driver import PPA_OBJECTIVES, evaluate_design_batch, performance_order
from archsweep.model.inference import evaluate_serving_batch
from archsweep.model.inference.job_kind import serving_performance_fields
from archsweep.model.training.job_kind import training_performance_fields
from archsweep.spec.columns import OUTPUT_COLUMNS, SCENARIO_COLUMN
from archsweep.spec.hardware import HARDWARE_PARAMETERS, HardwareArrays
from archsweep.spec.roadmap import Scenario, limit_violations, scenario_technology
from archsweep.spec.serving import ServingWorkload
from archsweep.spec.study import Study
from archsweep.spec.technology import Technology
from archsweep.spec.workload import Workload

__all__ = ["PROGRESS_CHUNK", "evaluate_shard", "evaluation_columns", "study_workload"]


def _hardware_columns(hw: HardwareArrays) -> dict[str, np.ndarray]:
    """Hardware parameter columns with their declared kinds (ints back to int64)."""
    out: dict[str, np.ndarray] = {}
    for info in HARDWARE_PARAMETERS:
        col = np.asarray(getattr(hw, info.name))
        out[info.name] = col.astype(np.int64) if info.kind == "int" else col
    return out


def evaluation_columns(study: Study, hw: HardwareArrays, candidate_ids: np.ndarray,
                       workload: Workload | ServingWorkload, *, tech: Technology, run_id: str,
                       scenario: Scenario | None = None) -> dict[str, np.ndarray]:
    """Tidy result columns of one workload (:func:`study_workload`) on a batch: one row per candidate.

    Columns: ``study``, ``candidate_id``, ``workload``, every hardware parameter (design
    values: the candidate id hashes them), the model's mapping and metric columns (a model
    output named like a hardware parameter, e.g. ``clock_hz`` after the DVFS cap, is stored as
    ``effective_<name>``), derived hardware quantities named in
    :data:`archsweep.load.study.OUTPUT_COLUMNS` that the model does not return (e.g.
    ``hbm_bw_bytes_per_s``), ``feasible`` (the model's own feasibility: a mapping fits and the
    design's physical limits hold), ``model_version`` and ``run_id``. The study's constraints are
    NOT applied here (:func:`archsweep.results.objectives.apply_constraints` does it after
    evaluation, so editing a constraint re-runs no model). A training workload runs with the study
    base part's measured rates, host link and the job's low-precision recipe
    (:func:`archsweep.load.part_physics.job_calibration`), so a candidate equal to the base part
    gives what ``archsweep eval`` and ``archsweep validate`` give for that part.

    With a ``scenario`` (``tech`` is then its technology): column ``scenario`` after
    ``candidate_id``, and the scenario's packaging limits as ``violation_scenario_<column>_max``
    (> 0 violated), ANDed into ``feasible`` (a limit of the technology, like the reticle).
    """
    n = len(candidate_ids)
    if isinstance(workload, ServingWorkload):  # best SLO-feasible configuration + power/area/cost
        serving = workload
        metrics = evaluate_serving_batch(hw, load_architecture(serving.model), serving.job, tech=tech,
                                         calibration=load_calibration(stack=study.mapping.software),
                                         serving_calibration=load_serving_calibration(),
                                         fp4_supported=serving.fp4_native, disaggregation=serving.disaggregation)
    else:
        strategy = None if study.mapping.search else study.mapping.strategy
        # The base part's measured rates and host link, and the job's recipe (as eval and validate).
        calibration, parallelism = job_software(study.mapping.software, get_accelerator(study.base), workload.training,
                                                designs=hw)
        metrics = evaluate_design_batch(hw, workload, tech=tech, strategy=strategy, objective=study.mapping.objective,
                                        calibration=calibration, exhaustive=study.mapping.exhaustive,
                                        parallelism=parallelism)
    hardware = _hardware_columns(hw)
    columns: dict[str, np.ndarray] = {
        "study": np.full(n, study.name, dtype=object),
        "candidate_id": np.asarray(candidate_ids, dtype=object),
        **({SCENARIO_COLUMN: np.full(n, scenario.name, dtype=object)} if scenario is not None else {}),
        "workload": np.full(n, workload.name, dtype=object),
        **hardware,
    }
    for name, values in metrics.items():  # a model output named like a parameter is its effective value
        columns[f"effective_{name}" if name in hardware else name] = np.broadcast_to(np.asarray(values), (n,))
    for name in OUTPUT_COLUMNS:
        if name not in columns and isinstance(getattr(type(hw), name, None), property):
            columns[name] = np.broadcast_to(np.asarray(getattr(hw, name), dtype=np.float64), (n,))
    limits = limit_violations(scenario, columns)
    if limits:
        columns.update(limits)
        columns["feasible"] = np.asarray(columns["feasible"], dtype=bool) & np.all([v <= 0 for v in limits.values()], axis=0)
    columns["model_version"] = np.full(n, MODEL_VERSION, dtype=object)
    columns["run_id"] = np.full(n, run_id, dtype=object)
    return columns


def study_workload(study: Study, name: str) -> Workload | ServingWorkload:
    """The workload of the study entry labelled ``name``.

    A plain stem: the model file's architecture under its default job. A ``{model, training}``
    entry: the model's architecture under the study's job, named after the entry. A serving
    entry: the :class:`ServingWorkload` itself (the model's architecture is loaded when evaluated).
    """
    training = study.training_workload(name)
    if training is not None:
        return Workload(name=name, architecture=load_architecture(training.model), training=training.job)
    serving = study.serving_workload(name)
    return load_workload(name) if serving is None else serving


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
