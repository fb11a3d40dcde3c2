"""The workflow stages: one function per Snakemake rule, plus a command line.

Each rule of ``rules/*.smk`` makes exactly one call into this module. The same stages run
from a shell as ``python -m archsweep.workflow.stages <stage> --study FILE ...`` (see :func:`main`).

Data flow (paths relative to the working directory, ``<s>`` the study name):
``space`` -> ``results/<s>/space/<k>.parquet`` -> ``evaluate`` (one job per shard) ->
``results/<s>/evaluate/<k>.parquet`` -> ``collect`` -> ``results/<s>/archsweep.duckdb`` ->
``pareto`` -> ``results/<s>/pareto/pareto.parquet`` (+ table ``pareto``) -> ``report``.
Every file is written atomically (temporary file, then ``os.replace``), so a killed job never
leaves a truncated output behind.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from archsweep.results.store import PARETO_KEYS
from archsweep import MODEL_VERSION
from archsweep.spec.errors import ArchsweepError, InputError
from archsweep.spec.hardware import HARDWARE_PARAMETERS, HardwareArrays
from archsweep.results.provenance import file_sha256, make_run_record, run_id_for
from archsweep.spec.columns import OUTPUT_COLUMNS
from archsweep.spec.study import Study
from archsweep.results.objectives import constraint_violations
from archsweep.load.study import load_study
from archsweep.spec.workload import Workload

__all__ = ["SEARCH_EXPORTS", "PARETO_TABLE_KEYS", "space", "evaluate", "evaluation_columns", "collect", "pareto_table",
           "search_front_label", "SearchObjectives", "search_objectives", "search_pareto_table", "pareto", "report",
           "write_parquet_atomic", "main"]

#: Search exports ingested by :func:`collect`: file name -> (table, key columns).
SEARCH_EXPORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "trials.parquet": ("trials", ("study", "trial_number", "workload")),
    "hypervolume.parquet": ("hypervolume_history", ("study", "trial_number")),
}
#: Primary key of table ``pareto``: a candidate may be on the sweep's and the search's front.
PARETO_TABLE_KEYS: tuple[str, ...] = PARETO_KEYS  # the store's key of the `pareto` table


def _log(log: str | Path | None, message: str) -> None:
    """Append one line to the job's log file (the rule's ``log:``), or to stderr."""
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n"
    if log is None:
        sys.stderr.write(line)
        return
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(line)


def write_parquet_atomic(table: pa.Table, out: str | Path) -> Path:
    """Write ``table`` to ``out`` via ``out.tmp`` + ``os.replace`` (readers never see a partial file)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, out)
    return out


# ---------------------------------------------------------------------------------------
# space
# ---------------------------------------------------------------------------------------

def space(study_file: str | Path, shards: Sequence[str | Path], *, log: str | Path | None = None) -> list[Path]:
    """Expand the study's hardware space into ``shards`` (``<dir>/<k>.parquet``, k = 0..n-1).

    Raises:
        ArchsweepError: the written shards differ from ``shards`` (study and workflow disagree).
    """
    from archsweep.candidates.space import write_space_shards

    study = load_study(study_file)
    expected = sorted(Path(s) for s in shards)
    out_dir = expected[0].parent
    started = time.perf_counter()
    written = sorted(Path(p) for p in write_space_shards(study, out_dir))
    if [p.resolve() for p in written] != [p.resolve() for p in expected]:
        raise ArchsweepError(f"space wrote {[str(p) for p in written]}, the workflow expects {[str(p) for p in expected]}")
    _log(log, f"space: {len(written)} shard(s) in {out_dir} in {time.perf_counter() - started:.2f} s")
    return written


# ---------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------

def _hardware_columns(hw: HardwareArrays) -> dict[str, np.ndarray]:
    """Hardware parameter columns with their declared kinds (ints back to int64)."""
    out: dict[str, np.ndarray] = {}
    for info in HARDWARE_PARAMETERS:
        col = np.asarray(getattr(hw, info.name))
        out[info.name] = col.astype(np.int64) if info.kind == "int" else col
    return out


def evaluation_columns(study: Study, hw: HardwareArrays, candidate_ids: np.ndarray, workload: Workload,
                       *, tech: object, run_id: str) -> dict[str, np.ndarray]:
    """Tidy result columns of one workload on a batch: one row per candidate.

    Columns: ``study``, ``candidate_id``, ``workload``, every hardware parameter (design
    values: the candidate id hashes them), the model's mapping and metric columns (a model
    output named like a hardware parameter, e.g. ``clock_hz`` after the DVFS cap, is stored as
    ``effective_<name>``), derived hardware quantities named in
    :data:`archsweep.load.study.OUTPUT_COLUMNS` that the model does not return (e.g.
    ``hbm_bw_bytes_per_s``), the study's ``violation_<column>_<max|min>`` columns,
    ``feasible`` (the model's feasibility AND every study constraint satisfied; a NaN
    violation counts as violated), ``model_version`` and ``run_id``.
    """
    from archsweep.model.driver import evaluate_design_batch

    n = len(candidate_ids)
    strategy = None if study.mapping.search else study.mapping.strategy
    from archsweep.load.calibration import load_calibration

    metrics = evaluate_design_batch(hw, workload, tech=tech, strategy=strategy, objective=study.mapping.objective,
                                    calibration=load_calibration(stack=study.mapping.software))
    hardware = _hardware_columns(hw)
    columns: dict[str, np.ndarray] = {
        "study": np.full(n, study.name, dtype=object),
        "candidate_id": np.asarray(candidate_ids, dtype=object),
        "workload": np.full(n, workload.name, dtype=object),
        **hardware,
    }
    for name, values in metrics.items():  # a model output named like a parameter is its effective value
        columns[f"effective_{name}" if name in hardware else name] = np.broadcast_to(np.asarray(values), (n,))
    for name in OUTPUT_COLUMNS:
        if name not in columns and isinstance(getattr(type(hw), name, None), property):
            columns[name] = np.broadcast_to(np.asarray(getattr(hw, name), dtype=np.float64), (n,))
    violations = constraint_violations(study, columns)
    feasible = np.asarray(columns.get("feasible", np.ones(n, dtype=bool)), dtype=bool).copy()
    for values in violations.values():
        feasible &= np.asarray(values) <= 0.0
    columns.update(violations)
    columns["feasible"] = feasible
    columns["model_version"] = np.full(n, MODEL_VERSION, dtype=object)
    columns["run_id"] = np.full(n, run_id, dtype=object)
    return columns


def evaluate(study_file: str | Path, shard: str | Path, out: str | Path, *, log: str | Path | None = None) -> Path:
    """Evaluate every candidate of ``shard`` on every workload of the study; write ``out`` (Parquet)."""
    from archsweep.candidates.space import read_shard
    from archsweep.load.technology import load_technology
    from archsweep.load.workloads import load_workload

    study = load_study(study_file)
    tech = load_technology()
    hw, candidate_ids = read_shard(shard)
    run_id = run_id_for(file_sha256(study.file))
    started = time.perf_counter()
    tables = [pa.table(evaluation_columns(study, hw, np.asarray(candidate_ids), load_workload(name),
                                          tech=tech, run_id=run_id))
              for name in study.workloads]
    table = pa.concat_tables(tables, promote_options="default")
    elapsed = time.perf_counter() - started
    write_parquet_atomic(table, out)
    _log(log, f"evaluate: {len(candidate_ids)} candidate(s) x {len(study.workloads)} workload(s) "
              f"= {table.num_rows} row(s) in {elapsed:.2f} s -> {out}")
    return Path(out)


# ---------------------------------------------------------------------------------------
# collect
# ---------------------------------------------------------------------------------------

def collect(study_file: str | Path, evaluations: Sequence[str | Path], db: str | Path, *,
            search: Sequence[str | Path] = (), log: str | Path | None = None) -> Path:
    """Ingest evaluate shards (and search exports) into ``db``; record the run.

    Idempotent: rerunning replaces the study's rows (see :func:`archsweep.results.store.ingest_parquet`).
    """
    from archsweep.results import store

    study = load_study(study_file)
    con = store.connect(db)
    try:
        rows = store.ingest_parquet(con, "evaluations", evaluations, store.EVALUATION_KEYS)
        _log(log, f"collect: {rows} evaluation row(s) from {len(evaluations)} shard(s) into {db}")
        for path in map(Path, search):
            if path.name not in SEARCH_EXPORTS:
                raise InputError(str(path), "", path.name, f"a search export named one of {sorted(SEARCH_EXPORTS)}")
            table, keys = SEARCH_EXPORTS[path.name]
            rows = store.ingest_parquet(con, table, [path], keys)
            _log(log, f"collect: {rows} row(s) from {path} into table {table}")
        store.record_run(con, make_run_record(study=study.name, study_file=study.file, seed=study.seed,
                                              sampling=study.sampling_method or "search"))
    finally:
        con.close()
    return Path(db)


# ---------------------------------------------------------------------------------------
# pareto
# ---------------------------------------------------------------------------------------

def _front_table(study: Study, workload: str, data: Mapping[str, np.ndarray]) -> pa.Table:
    """Columns study, workload, candidate_id, rank, objectives (+ trial_number when ``data`` has it)."""
    from archsweep.results.pareto import pareto_ranks

    objectives = [o.column for o in study.objectives]
    values = np.column_stack([np.asarray(data[c], dtype=np.float64) for c in objectives]) if len(data["candidate_id"]) \
        else np.empty((0, len(objectives)))
    ranks = pareto_ranks(values, [o.direction for o in study.objectives])
    keep = ranks >= 0
    n = int(keep.sum())
    columns = {"study": pa.array([study.name] * n, pa.string()), "workload": pa.array([workload] * n, pa.string()),
               "candidate_id": pa.array(np.asarray(data["candidate_id"], dtype=object)[keep], pa.string()),
               "rank": pa.array(ranks[keep], pa.int64())}
    columns.update({c: pa.array(values[keep, i], pa.float64()) for i, c in enumerate(objectives)})
    if "trial_number" in data:
        columns["trial_number"] = pa.array(np.asarray(data["trial_number"], dtype=np.int64)[keep], pa.int64())
    return pa.table(columns)


def _with_source(table: pa.Table, source: str) -> pa.Table:
    """``table`` with column ``source`` (after ``study``) and a ``trial_number`` column (null for sweeps)."""
    table = table.add_column(1, "source", pa.array([source] * table.num_rows, pa.string()))
    if "trial_number" not in table.column_names:
        table = table.append_column("trial_number", pa.nulls(table.num_rows, pa.int64()))
    return table


def pareto_table(study: Study, con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Ranks of the feasible sweep evaluations of ``study`` in ``con``, per workload (rank 0 = front).

    Columns: study, source (``"sweep"``), workload, candidate_id, rank (int64), one float64
    column per objective, trial_number (null). Rows whose objectives hold NaN are left out
    (never ranked). Empty when the study has no sweep (no table ``evaluations``).
    """
    from archsweep.results import store

    objectives = ", ".join(f'"{o.column}"' for o in study.objectives)
    tables = []
    for workload in study.workloads if store.table_exists(con, "evaluations") else ():
        data = con.execute(
            f"SELECT candidate_id, {objectives} FROM evaluations WHERE study = ? AND workload = ? AND feasible "
            "ORDER BY candidate_id", [study.name, workload]).fetchnumpy()
        tables.append(_front_table(study, workload, data))
    if not tables:
        tables.append(_front_table(study, "", {"candidate_id": np.empty(0, dtype=object)}))
    return _with_source(pa.concat_tables(tables), "sweep")


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
    from archsweep.results import store

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


def pareto(study_file: str | Path, db: str | Path, out: str | Path, *, log: str | Path | None = None) -> Path:
    """Rank the feasible sweep evaluations of each workload and the feasible search trials by
    non-dominated sorting (rank 0 = front), the two apart (column ``source``).

    Writes the ranks and objective values to ``out`` (Parquet) and to table ``pareto``
    (primary key :data:`PARETO_TABLE_KEYS`). ``out`` is touched after the database is
    updated, so it stays newer than ``db``.
    """
    from archsweep.results import store

    study = load_study(study_file)
    con = store.connect(db)
    try:
        tables = [pareto_table(study, con)]
        if study.search is not None:
            tables.append(search_pareto_table(study, con))
        table = pa.concat_tables(tables)
        write_parquet_atomic(table, out)
        existing = store.table_columns(con, "pareto")  # (fetchall: leaves no open result behind)
        if existing and "source" not in existing:
            con.execute("DROP TABLE pareto")  # made before sweep/search fronts shared it; derived data
        store.ingest_arrow(con, "pareto", table, PARETO_TABLE_KEYS, scope_value=study.name)
    finally:
        con.close()
    os.utime(out)
    ranks = np.asarray(table.column("rank"))
    sources = np.asarray(table.column("source").to_pylist(), dtype=object)
    counts = ", ".join(f"{source}: {int(np.sum(sources == source))} ranked, "
                       f"{int(np.sum((sources == source) & (ranks == 0)))} on the front"
                       for source in ("sweep", "search"))
    _log(log, f"pareto: {counts} -> {out}")
    return Path(out)


# ---------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------

def report(study_file: str | Path, db: str | Path, out: str | Path, *, log: str | Path | None = None) -> Path:
    """Write the Markdown report ``out`` and its plots (next to it)."""
    from archsweep.results.report import write_report

    study = load_study(study_file)
    written = write_report(study, db, Path(out))
    _log(log, f"report: {out} and {len(written) - 1} plot(s)")
    return Path(out)


# ---------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------

#: Stage -> (help, options besides --study and --log); "+"/"*" suffix = one-or-more/any files.
_STAGE_OPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "space": ("expand the study into shard files <dir>/<k>.parquet", ("--shards+",)),
    "evaluate": ("evaluate one shard on every workload", ("--shard", "--out")),
    "collect": ("ingest shards (and search exports) into the DuckDB database", ("--db", "--evaluations*", "--search*")),
    "pareto": ("rank feasible evaluations (rank 0 = Pareto front)", ("--db", "--out")),
    "report": ("write report.md and its plots", ("--db", "--out")),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m archsweep.workflow.stages", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="stage", required=True)
    for stage, (help_text, options) in _STAGE_OPTIONS.items():
        p = sub.add_parser(stage, help=help_text)
        p.add_argument("--study", required=True, help="study file")
        for option in options:
            name, nargs = option.rstrip("+*"), option[-1] if option[-1] in "+*" else None
            p.add_argument(name, nargs=nargs, required=nargs != "*", default=[] if nargs == "*" else None)
        p.add_argument("--log", default=None, help="append progress lines to this file (default stderr)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m archsweep.workflow.stages <stage> ...``; input errors -> one line on stderr, exit 2."""
    args = _parser().parse_args(argv)
    try:
        if args.stage == "space":
            space(args.study, args.shards, log=args.log)
        elif args.stage == "evaluate":
            evaluate(args.study, args.shard, args.out, log=args.log)
        elif args.stage == "collect":
            collect(args.study, args.evaluations, args.db, search=args.search, log=args.log)
        elif args.stage == "pareto":
            pareto(args.study, args.db, args.out, log=args.log)
        else:
            report(args.study, args.db, args.out, log=args.log)
    except ArchsweepError as exc:
        print(f"archsweep: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
