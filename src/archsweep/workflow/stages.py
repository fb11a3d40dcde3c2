"""The workflow stages: one function per Snakemake rule, plus a command line.

Each rule of ``rules/*.smk`` runs one stage as ``python -m archsweep.workflow <stage> --study FILE ...``
(see :mod:`archsweep.workflow.__main__` and :func:`main`), a shell job: no Snakefile re-read per job.

Data flow (paths relative to the working directory, ``<s>`` the study name):
``space`` -> ``results/<s>/space/<k>.parquet`` -> ``evaluate`` (one job per shard) ->
``results/<s>/evaluate/<k>.parquet`` -> ``collect`` -> ``results/<s>/archsweep.duckdb`` ->
``pareto`` -> ``results/<s>/pareto/pareto.parquet`` (+ table ``pareto``) -> ``report``.
Every file is written atomically (temporary file, then ``os.replace``), so a killed job never
leaves a truncated output behind.

Each stage imports what it needs when it runs (the model for evaluate, DuckDB for collect,
matplotlib for report): a job pays only for its own stage. These function-level imports hide
no cycle: nothing in the package imports ``archsweep.workflow``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from archsweep.load.study import load_study
from archsweep.spec.errors import ArchsweepError, InputError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["SEARCH_EXPORTS", "space", "evaluate", "collect", "pareto", "report", "main"]

#: Search exports ingested by :func:`collect`: file name -> (table, key columns).
SEARCH_EXPORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "trials.parquet": ("trials", ("study", "trial_number", "workload")),
    "hypervolume.parquet": ("hypervolume_history", ("study", "trial_number")),
}


def _log(log: str | Path | None, message: str) -> None:
    """Append one line to the job's log file (the rule's ``log:``), or to stderr."""
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n"
    if log is None:
        sys.stderr.write(line)
        return
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(line)


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

def evaluate(study_file: str | Path, shard: str | Path, out: str | Path, *, log: str | Path | None = None) -> Path:
    """Evaluate every candidate of ``shard`` on every workload of the study; write ``out`` (Parquet)."""
    from archsweep.candidates.shard_evaluation import evaluate_shard
    from archsweep.results.parquet import write_parquet_atomic
    from archsweep.results.provenance import file_sha256, run_id_for
    from archsweep.workflow.allocator import apply_freed_memory_settings

    malloc = apply_freed_memory_settings()  # fewer page faults in the mapping search; same numbers
    study = load_study(study_file)
    _log(log, f"evaluate: malloc settings of archsweep.workflow.allocator {malloc}")
    started = time.perf_counter()
    table = evaluate_shard(study, shard, run_id_for(file_sha256(study.file)), progress=lambda text: _log(log, text))
    elapsed = time.perf_counter() - started
    write_parquet_atomic(table, out)
    _log(log, f"evaluate: {table.num_rows // max(len(study.workloads), 1)} candidate(s) x {len(study.workloads)} "
              f"workload(s) = {table.num_rows} row(s) in {elapsed:.2f} s -> {out}")
    return Path(out)


# ---------------------------------------------------------------------------------------
# collect
# ---------------------------------------------------------------------------------------

def collect(study_file: str | Path, evaluations: Sequence[str | Path], db: str | Path, *,
            search: Sequence[str | Path] = (), log: str | Path | None = None) -> Path:
    """Ingest evaluate shards (and search exports) into ``db``; record the run.

    The study's constraints are applied here, shard by shard (bounded memory), not in the
    evaluate jobs: editing a constraint re-runs no model evaluation. The rows' ``run_id`` is
    set to this run's record (an evaluate shard kept from before a constraint edit carries the
    id of the study file it was evaluated with).

    Idempotent: rerunning replaces the study's rows (see :func:`archsweep.results.store.ingest_parquet`).
    """
    import pyarrow.parquet as pq

    from archsweep.results import store
    from archsweep.results.objectives import apply_constraints_table
    from archsweep.results.parquet import write_parquet_atomic
    from archsweep.results.provenance import make_run_record

    study = load_study(study_file)
    record = make_run_record(study=study.name, study_file=study.file, seed=study.seed,
                             sampling=study.sampling_method or "search")
    con = store.connect(db)
    try:
        with tempfile.TemporaryDirectory(prefix="constrained-", dir=Path(db).parent) as scratch:
            constrained = [write_parquet_atomic(_with_run_id(apply_constraints_table(study, pq.read_table(shard)),
                                                             record.run_id),
                                                Path(scratch) / f"{k}.parquet")
                           for k, shard in enumerate(evaluations)]
            rows = store.ingest_parquet(con, "evaluations", constrained, store.EVALUATION_KEYS)
        _log(log, f"collect: {rows} evaluation row(s) from {len(evaluations)} shard(s) into {db}, "
                  f"{len(study.constraints)} study constraint(s) applied")
        for path in map(Path, search):
            if path.name not in SEARCH_EXPORTS:
                raise InputError(str(path), "", path.name, f"a search export named one of {sorted(SEARCH_EXPORTS)}")
            table, keys = SEARCH_EXPORTS[path.name]
            rows = store.ingest_parquet(con, table, [path], keys)
            _log(log, f"collect: {rows} row(s) from {path} into table {table}")
        store.record_run(con, record)
    finally:
        con.close()
    return Path(db)


def _with_run_id(table: pa.Table, run_id: str) -> pa.Table:
    """``table`` with its ``run_id`` column (added when absent) set to ``run_id``."""
    import pyarrow as pa

    column = pa.repeat(pa.scalar(run_id, pa.string()), table.num_rows)
    if "run_id" in table.column_names:
        return table.set_column(table.column_names.index("run_id"), "run_id", column)
    return table.append_column("run_id", column)


# ---------------------------------------------------------------------------------------
# pareto
# ---------------------------------------------------------------------------------------

def pareto(study_file: str | Path, db: str | Path, out: str | Path, *, log: str | Path | None = None) -> Path:
    """Rank the feasible sweep evaluations of each workload and the feasible search trials by
    non-dominated sorting (rank 0 = front), the two apart (column ``source``).

    Writes the ranks and objective values to ``out`` (Parquet) and to table ``pareto``
    (primary key ``archsweep.results.store.PARETO_KEYS``: a candidate may be on the sweep's and
    the search's front). ``out`` is touched after the database is
    updated, so it stays newer than ``db``.
    """
    import numpy as np
    import pyarrow as pa

    from archsweep.results import store
    from archsweep.results.fronts import pareto_table, search_pareto_table
    from archsweep.results.parquet import write_parquet_atomic

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
        store.ingest_arrow(con, "pareto", table, store.PARETO_KEYS, scope_value=study.name)
    finally:
        con.close()
    os.utime(out)
    ranks = table.column("rank").to_numpy(zero_copy_only=False)  # float, NaN for null (deeper than the depth)
    sources = table.column("source").combine_chunks().dictionary_encode()
    codes = sources.indices.to_numpy(zero_copy_only=False)
    names = sources.dictionary.to_pylist()
    counts = ", ".join(f"{source}: {int(np.sum(codes == names.index(source)) if source in names else 0)} ranked, "
                       f"{int(np.sum((codes == names.index(source)) & (ranks == 0)) if source in names else 0)} on the front"
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
    parser = argparse.ArgumentParser(prog="python -m archsweep.workflow", description=__doc__.splitlines()[0])
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
    """``python -m archsweep.workflow <stage> ...``; input errors -> one line on stderr, exit 2."""
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
