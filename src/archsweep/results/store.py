"""The DuckDB store of a study: ``results/<study>/archsweep.duckdb``.

Tables (one row per ...):

- ``evaluations``: (study, candidate, workload); primary key (study, candidate_id, workload);
  columns are those of the evaluate shards (hardware parameters, mapping, metrics,
  ``violation_*``, ``feasible``, ``model_version``, ``run_id``).
- ``pareto``: (study, workload, feasible candidate): its non-dominated-sorting ``rank``
  (0 = on the Pareto front) and the objective columns; primary key (study, workload, candidate_id).
- ``runs``: one :class:`archsweep.results.provenance.RunRecord`; primary key run_id.
- ``trials`` and ``hypervolume_history``: the Optuna search exports, when the study has a search.

Ingest is idempotent: :func:`ingest_parquet` deletes, inside one transaction, every row of
the studies present in the new files (and every row with a key present in them), then inserts
the files' rows. Columns are derived from the Parquet files (DuckDB ``read_parquet``), never
from a hand-kept list; columns new in the files are added to the table.

DuckDB allows one read-write process per database file: only the collect and pareto steps
of the workflow open it for writing, one after the other.

Memory: :func:`connect` bounds DuckDB's buffer manager to :func:`memory_limit` (a fraction
:data:`MEMORY_FRACTION` of the machine's physical memory, or ``$ARCHSWEEP_DUCKDB_MEMORY_LIMIT``;
DuckDB's own default is 80 %), spills to ``<db>.tmp`` beyond it, and lets a write connection
insert rows out of file order (``preserve_insertion_order = false``), so the collector streams
10M rows from the shards in bounded memory. Every reader orders explicitly (``ORDER BY``), so the
physical row order is no part of a result.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from archsweep.results.provenance import RunRecord
from archsweep.spec.errors import InputError

__all__ = ["EVALUATION_KEYS", "PARETO_KEYS", "RUN_KEYS", "QUERY_CONFIG", "MEMORY_FRACTION", "MEMORY_LIMIT_ENV",
           "memory_limit", "connect", "connect_query", "ingest_parquet", "ingest_arrow",
           "record_run", "table_exists", "table_columns"]

EVALUATION_KEYS: tuple[str, ...] = ("study", "candidate_id", "workload")
PARETO_KEYS: tuple[str, ...] = ("study", "source", "workload", "candidate_id")
RUN_KEYS: tuple[str, ...] = ("run_id",)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _quote(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise InputError("<store>", "table/column", name, "an SQL identifier [A-Za-z_][A-Za-z0-9_]*")
    return f'"{name}"'


#: Fraction of the machine's physical memory that one workflow connection's DuckDB buffer manager
#: may hold (DuckDB's default is 0.8): 3 GiB on the 24 GiB development machine. The collect, Pareto
#: and report jobs of a study run one after the other, each with one connection; DuckDB spills
#: sorts, joins and aggregates beyond the limit. The limit cannot be made arbitrarily small: the
#: primary-key index of ``evaluations`` is checkpointed at the ingest's commit (1M rows: 200 MB
#: passed with insertion order free, failed with it preserved; README "Scale" gives the 10M figures).
MEMORY_FRACTION = 0.125
#: Environment variable that overrides :func:`memory_limit` with a DuckDB size (``4GB``, ``3GiB``).
MEMORY_LIMIT_ENV = "ARCHSWEEP_DUCKDB_MEMORY_LIMIT"
_MIN_MEMORY_BYTES = 1 << 30
_SIZE = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


def memory_limit() -> str:
    """DuckDB ``memory_limit`` of :func:`connect`: ``$ARCHSWEEP_DUCKDB_MEMORY_LIMIT`` when set, else
    :data:`MEMORY_FRACTION` of the physical memory (at least 1 GiB), in MiB.

    Raises:
        InputError: the environment variable is not a DuckDB size.
    """
    override = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if override:
        if not _SIZE.match(override):
            raise InputError(f"${MEMORY_LIMIT_ENV}", "", override, "a DuckDB memory size such as '4GB' or '3GiB'")
        return override
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(int(physical * MEMORY_FRACTION), _MIN_MEMORY_BYTES) >> 20}MiB"


def connect(db: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the study database (created when missing, unless ``read_only``).

    DuckDB's buffer manager is bounded by :func:`memory_limit` and spills to ``<db>.tmp``; a
    write connection does not preserve insertion order (see the module docstring).
    """
    db = Path(db)
    if read_only and not db.exists():
        raise InputError(str(db), "", "<missing file>", "an existing archsweep DuckDB database (run `archsweep run` first)")
    if not read_only:
        db.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": memory_limit(), "temp_directory": f"{db}.tmp"}
    if not read_only:
        config["preserve_insertion_order"] = False
    return duckdb.connect(str(db), read_only=read_only, config=config)


#: DuckDB settings of a query connection (:func:`connect_query`), fixed when it opens: no file
#: outside the database can be read or written (COPY TO, EXPORT, ATTACH, read_csv, INSTALL),
#: no extension is installed or loaded, nothing spills to a temporary directory, and
#: ``lock_configuration`` keeps a ``SET`` from changing any of it.
QUERY_CONFIG: dict[str, str | bool] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "temp_directory": "",
    "lock_configuration": True,
}


def connect_query(db: str | Path) -> duckdb.DuckDBPyConnection:
    """Open the study database for an analyst's query: read-only, with :data:`QUERY_CONFIG`.

    Raises:
        InputError: the database does not exist (nothing is created).
    """
    db = Path(db)
    if not db.is_file():
        raise InputError(str(db), "", "<missing file>", "an existing archsweep DuckDB database (run `archsweep run` first)")
    try:
        return duckdb.connect(str(db), read_only=True, config=dict(QUERY_CONFIG))
    except duckdb.Error as exc:
        raise InputError(str(db), "", "<unreadable database>",
                         f"an archsweep DuckDB database ({str(exc).splitlines()[0]})") from None


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``table`` exists in the main schema."""
    rows = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()
    return bool(rows and rows[0])


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of ``table`` (empty if it does not exist)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table]).fetchall()
    return {name: dtype for name, dtype in rows}


def _ingest_source(con: duckdb.DuckDBPyConnection, table: str, source: str, key_columns: Sequence[str],
                   scope_column: str | None, scope_value: str | None) -> int:
    """Replace rows of ``table`` by the rows of the SQL relation ``source``; returns rows inserted."""
    qtable = _quote(table)
    keys = [_quote(k) for k in key_columns]
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    source_types = {row[0]: row[1] for row in described}
    missing = [k for k in key_columns if k not in source_types]
    if missing:
        raise InputError(source, "columns", missing, f"files holding the key columns {list(key_columns)}")
    con.begin()
    try:
        existing = table_columns(con, table)
        if not existing:
            # The key is added after the first insert: DuckDB builds the index of a filled table in one pass,
            # about half the time of maintaining it row by row (9.7M rows: 21-28 s against 38-43 s). At a 3 GiB limit it
            # peaks about 1 GB higher (10M rows: 4.25 against 3.28 GB); at the 1 GiB floor it is the one that fits
            # (10M rows: 33 s, 2.35 GB; the key at creation ran out of memory). README "The 10M-candidate study". A key
            # added in a transaction is checked when it commits: duplicates fail the COMMIT, which rolls back.
            cols = ", ".join(f"{_quote(c)} {t}" for c, t in source_types.items())
            con.execute(f"CREATE TABLE {qtable} ({cols})")
        else:
            for col, dtype in source_types.items():
                if col not in existing:
                    con.execute(f"ALTER TABLE {qtable} ADD COLUMN {_quote(col)} {dtype}")
        if scope_column is not None and scope_column in source_types:
            qscope = _quote(scope_column)
            con.execute(f"DELETE FROM {qtable} WHERE {qscope} IN (SELECT DISTINCT {qscope} FROM {source})")
        if scope_column is not None and scope_value is not None:
            con.execute(f"DELETE FROM {qtable} WHERE {_quote(scope_column)} = ?", [scope_value])
        if scope_column is None or scope_column not in key_columns or scope_column not in source_types:
            # (else every row a key of the source matches shares its scope value, deleted just above: 2 s at 10M
            # rows into an emptied table, minutes into a full one)
            match = " AND ".join(f"{qtable}.{k} = s.{k}" for k in keys)
            con.execute(f"DELETE FROM {qtable} USING (SELECT DISTINCT {', '.join(keys)} FROM {source}) AS s "
                        f"WHERE {match}")
        con.execute(f"INSERT INTO {qtable} BY NAME SELECT * FROM {source}")
        if not existing:
            con.execute(f"ALTER TABLE {qtable} ADD PRIMARY KEY ({', '.join(keys)})")
        inserted = con.execute(f"SELECT count(*) FROM {source}").fetchone()
        con.commit()
    except BaseException:
        try:
            con.rollback()
        except duckdb.TransactionException:  # a failed COMMIT (the new key's duplicates) has rolled back already
            pass
        raise
    return int(inserted[0]) if inserted else 0


def ingest_parquet(con: duckdb.DuckDBPyConnection, table: str, files: Sequence[str | Path],
                   key_columns: Sequence[str], *, scope_column: str | None = "study",
                   scope_value: str | None = None) -> int:
    """Load Parquet ``files`` into ``table`` idempotently; returns the number of rows inserted.

    The table is created from the files' schema with primary key ``key_columns``. In one
    transaction, rows whose ``scope_column`` value (default ``study``; skipped when None or
    absent from the files) appears in the files are deleted, rows with a key present in the
    files are deleted (and, with ``scope_value``, every row whose ``scope_column`` equals it,
    so an empty input still clears the scope), then all rows of the files are inserted: ingesting the same files twice
    leaves the same rows. Used for ``evaluations``, ``pareto``, ``trials`` and
    ``hypervolume_history``.
    """
    paths = [Path(f) for f in files]
    if not paths:
        return 0
    for p in paths:
        if not p.is_file():
            raise InputError(str(p), "", "<missing file>", f"an existing Parquet file to ingest into table {table!r}")
    listing = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    return _ingest_source(con, table, f"read_parquet([{listing}])", key_columns, scope_column, scope_value)


def ingest_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table, key_columns: Sequence[str],
                 *, scope_column: str | None = "study", scope_value: str | None = None) -> int:
    """Same as :func:`ingest_parquet` for an in-memory Arrow table."""
    view = f"_archsweep_ingest_{table}"
    con.register(view, data)
    try:
        return _ingest_source(con, table, _quote(view), key_columns, scope_column, scope_value)
    finally:
        con.unregister(view)


def record_run(con: duckdb.DuckDBPyConnection, record: RunRecord) -> None:
    """Insert or replace ``record`` in the ``runs`` table."""
    data = pa.Table.from_pylist([record.as_dict()], schema=RunRecord.arrow_schema())
    ingest_arrow(con, "runs", data, RUN_KEYS, scope_column=None)
