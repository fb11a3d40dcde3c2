"""``archsweep query STUDY "SQL" [--csv | --json]``: read-only SQL on a study's database.

A query for analysts must be unable to change any file or database, whatever the SQL says.
Two independent locks, both from DuckDB itself:

1. The connection (:func:`archsweep.results.store.connect_query`) is read-only, with
   ``enable_external_access=false`` (no file outside the database can be read or written:
   no ``COPY ... TO``, ``EXPORT DATABASE``, ``ATTACH``, ``read_csv``/``read_parquet`` of an
   arbitrary file, no extension install under ``$HOME``), no extension auto-install or
   auto-load, no spilling to a temporary directory, and ``lock_configuration=true`` (a ``SET``
   cannot undo any of this).
2. Before anything runs, the text is split with DuckDB's own parser
   (``duckdb.extract_statements``): exactly one statement, of a read type (``SELECT`` with
   its forms ``WITH``, ``FROM t``, ``VALUES``, ``DESCRIBE``, ``SHOW``, ``SUMMARIZE``; and
   ``EXPLAIN`` of such a statement, not ``EXPLAIN ANALYZE``, which executes it). Anything else
   is refused with a message naming the statement and what is allowed (exit status 2).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from archsweep.cli.studies import database_path, resolve_study_path
from archsweep.load.study import load_study
from archsweep.results import store
from archsweep.spec.errors import ArchsweepError, InputError

__all__ = ["QueryError", "ALLOWED_STATEMENTS", "check_read_only_sql", "add_query_parser", "cmd_query"]

#: What ``archsweep query`` accepts, as said in its refusals.
ALLOWED_STATEMENTS = ("one read statement: SELECT, WITH ... SELECT, FROM t, VALUES, DESCRIBE, SHOW, SUMMARIZE, "
                      "or EXPLAIN of one of these")

_EXPLAIN_ANALYZE = re.compile(r"^\s*explain\s+analy[sz]e\b", re.IGNORECASE)
_EXPLAIN = re.compile(r"^\s*explain\s+", re.IGNORECASE)


class QueryError(ArchsweepError):
    """The SQL given to ``archsweep query`` failed."""


def _short_sql(text: str, limit: int = 80) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."


def check_read_only_sql(sql: str) -> None:
    """Refuse anything but one read statement (see the module doc).

    Raises:
        InputError: empty SQL, several statements, a statement that is not a read, or SQL
            that DuckDB cannot parse; the message names the statement and what is allowed.
    """
    if not sql.strip().strip(";").strip():
        raise InputError("<command line>", "SQL", "<empty>", ALLOWED_STATEMENTS)
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise InputError("<command line>", "SQL", _short_sql(sql),
                         f"SQL that DuckDB can parse ({str(exc).splitlines()[0]})") from None
    if len(statements) != 1:
        raise InputError("<command line>", "SQL", f"<{len(statements)} statements: {_short_sql(sql)}>",
                         ALLOWED_STATEMENTS + " (a single statement, no ';'-separated second one)")
    statement = statements[0]
    kind = statement.type
    if kind == duckdb.StatementType.EXPLAIN:
        if _EXPLAIN_ANALYZE.match(statement.query):
            raise InputError("<command line>", "SQL", "<EXPLAIN ANALYZE statement>",
                             ALLOWED_STATEMENTS + " (EXPLAIN ANALYZE runs the statement)")
        check_read_only_sql(_EXPLAIN.sub("", statement.query, count=1))
        return
    if kind != duckdb.StatementType.SELECT:
        raise InputError("<command line>", "SQL", f"<{kind.name} statement: {_short_sql(statement.query)}>",
                         ALLOWED_STATEMENTS)


def add_query_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "query", help="run read-only SQL on a study's DuckDB database",
        description="Run one read statement (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN) on "
                    "results/<study>/archsweep.duckdb. The database is opened read-only with DuckDB's external "
                    "access disabled: no statement can write a file or change a database. Tables: evaluations, "
                    "pareto, runs (and trials, hypervolume_history after a search; sensitivity after `archsweep "
                    "sensitivity`).")
    parser.add_argument("study", help="study file, stem of spaces/, or study name with results in ./results/")
    parser.add_argument("sql", help='SQL, e.g. "SELECT workload, count(*) FROM evaluations GROUP BY workload"')
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="print CSV (header line first)")
    fmt.add_argument("--json", action="store_true", help="print one JSON object per row")
    parser.set_defaults(handler=cmd_query, accepts_extra=False)


def _query_db(study: str) -> Path:
    """``./results/<study>/archsweep.duckdb`` for a study name, else that of the study file."""
    if study and "/" not in study and "\\" not in study and study not in {".", ".."}:
        by_name = Path.cwd() / "results" / study / "archsweep.duckdb"
        if by_name.exists():
            return by_name
    return database_path(load_study(resolve_study_path(study)), Path.cwd())


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return value


def cmd_query(args: argparse.Namespace) -> int:
    """``archsweep query``: check the SQL, run it read-only, print a table, CSV or JSON lines."""
    check_read_only_sql(args.sql)
    con = store.connect_query(_query_db(args.study))
    try:
        try:
            cursor = con.execute(args.sql)
            names = [d[0] for d in cursor.description or []]
            rows = cursor.fetchall() if names else []
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
    elif args.json:
        for row in rows:
            print(json.dumps({n: _jsonable(v) for n, v in zip(names, row)}, default=str))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*names, show_lines=False)
        for row in rows:
            table.add_row(*("NULL" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v) for v in row))
        Console().print(table)
        print(f"{len(rows)} row(s)", file=sys.stderr)
    return 0
