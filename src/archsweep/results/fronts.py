"""Pareto ranks of a study's results: the sweep's front per workload, the search's front over trials.

Non-dominated sorting (:func:`archsweep.results.pareto.pareto_ranks`, rank 0 = front) of the
feasible rows, on the study's objectives; the search's objectives are combined over workloads
as the search workers combined them for Optuna (``aggregate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from archsweep.results import store
from archsweep.results.pareto import pareto_ranks
from archsweep.spec.columns import SCENARIO_COLUMN
from archsweep.spec.errors import ArchsweepError
from archsweep.spec.study import Study

__all__ = ["PARETO_RANK_DEPTH", "pareto_table", "search_front_label", "SearchObjectives", "search_objectives", "search_pareto_table"]

#: Non-dominated sorting stops after this rank: rows of ranks 0..PARETO_RANK_DEPTH get their rank,
#: deeper feasible rows are stored with rank NULL. The report reads rank 0 only; the next ranks
#: are near-optimal designs for database queries. Peeling every rank of a 10M-row table would
#: take thousands of front extractions (one per rank).
PARETO_RANK_DEPTH = 3


def _front_table(study: Study, workload: str, data: Mapping[str, np.ndarray]) -> pa.Table:
    """Columns study, workload, candidate_id, rank, objectives (+ trial_number when ``data`` has it)."""
    objectives = [o.column for o in study.objectives]
    values = np.column_stack([np.asarray(data[c], dtype=np.float64) for c in objectives]) if len(data["candidate_id"]) \
        else np.empty((0, len(objectives)))
    ranks = pareto_ranks(values, [o.direction for o in study.objectives], max_rank=PARETO_RANK_DEPTH)
    keep = ranks >= 0
    n = int(keep.sum())
    kept = ranks[keep]
    columns = {"study": pa.array([study.name] * n, pa.string()), "workload": pa.array([workload] * n, pa.string()),
               "candidate_id": pa.array(np.asarray(data["candidate_id"], dtype=object)[keep], pa.string()),
               "rank": pa.array(kept, pa.int64(), mask=kept > PARETO_RANK_DEPTH)}
    columns.update({c: pa.array(values[keep, i], pa.float64()) for i, c in enumerate(objectives)})
    if "trial_number" in data:
        columns["trial_number"] = pa.array(np.asarray(data["trial_number"], dtype=np.int64)[keep], pa.int64())
    return pa.table(columns)


def _with_source(table: pa.Table, source: str) -> pa.Table:
    """``table`` with column ``source`` (after ``study``) and a ``trial_number`` column (null for sweeps)."""
    table = table.add_column(1, "source", pa.repeat(pa.scalar(source, pa.string()), table.num_rows))
    if "trial_number" not in table.column_names:
        table = table.append_column("trial_number", pa.nulls(table.num_rows, pa.int64()))
    return table


def pareto_table(study: Study, con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Ranks of the feasible sweep evaluations of ``study`` in ``con``, per workload (rank 0 = front).

    Columns: study, source (``"sweep"``), workload, candidate_id, rank (int64), one float64
    column per objective, trial_number (null). A study with ``scenarios`` ranks each (workload,
    scenario) on its own (a roadmap review compares the best designs each generation allows; a
    front over all scenarios would hold only the latest generation's designs) and has a column
    ``scenario`` after ``workload``. Rows whose objectives hold NaN are left out
    (never ranked). Empty when the study has no sweep (no table ``evaluations``).
    """
    tables = []
    scenarios: list[str | None] = [s.name for s in study.scenarios] or [None]  # one front per (workload, scenario)
    for workload in study.workloads if store.table_exists(con, "evaluations") else ():
        for scenario in scenarios:
            tables.append(_scenario_column(_sweep_front(study, con, workload, scenario), scenario))
    if not tables:
        tables.append(_scenario_column(_front_table(study, "", {"candidate_id": np.empty(0, dtype=object)}),
                                       "" if study.scenarios else None))
    return _with_source(pa.concat_tables(tables), "sweep")


def _sweep_front(study: Study, con: duckdb.DuckDBPyConnection, workload: str, scenario: str | None) -> pa.Table:
    """:func:`_front_table` of one (workload, scenario) of the sweep, without Python strings per row.

    The objectives come to numpy in ``candidate_id`` order; the ranks go back to DuckDB as
    (position, rank) and are joined to the rows there, so candidate ids never become Python
    objects (10M of them would take gigabytes and minutes).
    """
    objectives = [o.column for o in study.objectives]
    quoted = ", ".join(f'"{c}"' for c in objectives)
    where = "study = ? AND workload = ? AND feasible" + ("" if scenario is None else f" AND {SCENARIO_COLUMN} = ?")
    params = [study.name, workload, *([scenario] if scenario is not None else [])]
    data = con.execute(f"SELECT {quoted} FROM evaluations WHERE {where} ORDER BY candidate_id", params).fetchnumpy()
    values = np.column_stack([np.asarray(data[c], dtype=np.float64) for c in objectives])
    ranks = pareto_ranks(values, [o.direction for o in study.objectives], max_rank=PARETO_RANK_DEPTH)
    kept = np.flatnonzero(ranks >= 0)
    positions = pa.table({"pos": pa.array(kept, pa.int64()),
                          "rank": pa.array(ranks[kept], pa.int64(), mask=ranks[kept] > PARETO_RANK_DEPTH)})
    con.register("_archsweep_front_ranks", positions)
    try:
        table = con.sql(
            f"SELECT ?::VARCHAR AS study, ?::VARCHAR AS workload, e.candidate_id, r.rank, "
            f"{', '.join('e.' + q for q in quoted.split(', '))} "
            f"FROM (SELECT row_number() OVER (ORDER BY candidate_id) - 1 AS pos, candidate_id, {quoted} "
            f"FROM evaluations WHERE {where}) e JOIN _archsweep_front_ranks r USING (pos) ORDER BY pos",
            params=[study.name, workload, *params]).to_arrow_table()
    finally:
        con.unregister("_archsweep_front_ranks")
    return table.cast(_front_table(study, workload, {"candidate_id": np.empty(0, dtype=object)}).schema)


def _scenario_column(table: pa.Table, scenario: str | None) -> pa.Table:
    """``table`` with column ``scenario`` after ``workload`` (unchanged when ``scenario`` is None)."""
    if scenario is None:
        return table
    return table.add_column(2, SCENARIO_COLUMN, pa.repeat(pa.scalar(scenario, pa.string()), table.num_rows))


def search_front_label(study: Study) -> str:
    """The ``workload`` value of the search's rows in ``pareto``: the workload, or the
    aggregate over several (``"mean(llama3-8b,llama3-70b)"``, see :mod:`archsweep.load.searchspec`)."""
    if len(study.workloads) == 1:
        return study.workloads[0]
    aggregate = getattr(study.search, "aggregate", "mean")
    return f"{aggregate}({','.join(study.workloads)})"


@dataclass(frozen=True)
class SearchObjectives:
    """Objective values of the search's trials as the sampler saw them, one row per trial.

    Attributes:
        trial_number: Optuna trial numbers, ascending (int64).
        candidate_id: candidate id per trial.
        values: (n, k) objectives in their natural directions, combined over workloads with
            the search's ``aggregate`` (mean, worst or sum; the value itself for one workload).
        feasible: COMPLETE and feasible on every workload.
    """

    trial_number: np.ndarray
    candidate_id: np.ndarray
    values: np.ndarray
    feasible: np.ndarray


def search_objectives(study: Study, con: duckdb.DuckDBPyConnection) -> SearchObjectives:
    """Read table ``trials`` of ``study`` and combine its objectives over workloads.

    The combination repeats the one the search workers hand to Optuna
    (:mod:`archsweep.load.searchspec`, ``aggregate``), so the front below is Optuna's front.
    """
    k = len(study.objectives)
    if not store.table_exists(con, "trials"):
        return SearchObjectives(np.zeros(0, np.int64), np.zeros(0, object), np.zeros((0, k)), np.zeros(0, bool))
    objectives = ", ".join(f'"{o.column}"' for o in study.objectives)
    data = con.execute(
        f"SELECT trial_number, workload, candidate_id, state, feasible, {objectives} FROM trials WHERE study = ? "
        "ORDER BY trial_number, workload", [study.name]).fetchnumpy()
    numbers, first = np.unique(np.asarray(data["trial_number"], dtype=np.int64), return_index=True)
    n_workloads = len(data["trial_number"]) // max(len(numbers), 1)
    if len(numbers) * n_workloads != len(data["trial_number"]):
        raise ArchsweepError(f"table trials of study {study.name!r}: {len(data['trial_number'])} row(s) for "
                             f"{len(numbers)} trial(s); expected one row per (trial, workload)")
    aggregate = getattr(study.search, "aggregate", "mean")
    columns = []
    for o in study.objectives:
        per_workload = np.asarray(data[o.column], dtype=np.float64).reshape(len(numbers), n_workloads)
        if aggregate == "sum":
            columns.append(per_workload.sum(axis=1))
        elif aggregate == "worst":
            columns.append(per_workload.min(axis=1) if o.direction == "maximize" else per_workload.max(axis=1))
        else:
            columns.append(per_workload.mean(axis=1))
    feasible = (np.asarray(data["feasible"], dtype=bool).reshape(len(numbers), n_workloads).all(axis=1)
                & (np.asarray(data["state"], dtype=object)[first] == "COMPLETE"))
    values = np.stack(columns, axis=1) if columns else np.zeros((len(numbers), 0))
    return SearchObjectives(numbers, np.asarray(data["candidate_id"], dtype=object)[first], values, feasible)


def search_pareto_table(study: Study, con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Ranks of the feasible search trials (rank 0 = the search's Pareto front).

    Columns: study, source (``"search"``), workload (:func:`search_front_label`),
    candidate_id, rank, the objectives (combined over workloads), trial_number. A candidate asked twice keeps its first
    trial (same parameters, same objective values).
    """
    trials = search_objectives(study, con)
    feasible = np.flatnonzero(trials.feasible)
    _, first = np.unique(trials.candidate_id[feasible].astype(str), return_index=True)
    rows = feasible[np.sort(first)]
    data = {"candidate_id": trials.candidate_id[rows], "trial_number": trials.trial_number[rows],
            **{o.column: trials.values[rows, i] for i, o in enumerate(study.objectives)}}
    return _with_source(_front_table(study, search_front_label(study), data), "search")
