"""DuckDB store: idempotent, key-safe ingest and the runs table."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from archsweep.results import store
from archsweep.results.provenance import make_run_record, run_id_for
from archsweep.spec.errors import InputError


def _rows(con, table: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def test_ingest_twice_gives_same_rows(tmp_path, write_shards):
    files = write_shards(count=30)
    con = store.connect(tmp_path / "db.duckdb")
    assert store.ingest_parquet(con, "evaluations", files, store.EVALUATION_KEYS) == 60
    first = _rows(con, "evaluations")
    store.ingest_parquet(con, "evaluations", files, store.EVALUATION_KEYS)
    assert _rows(con, "evaluations") == first
    assert len(first) == 60
    distinct = con.execute("SELECT count(DISTINCT (study, candidate_id, workload)) FROM evaluations").fetchone()[0]
    assert distinct == 60


def test_reingest_replaces_a_study_and_keeps_others(tmp_path, write_shards):
    con = store.connect(tmp_path / "db.duckdb")
    store.ingest_parquet(con, "evaluations", write_shards("a", count=30), store.EVALUATION_KEYS)
    store.ingest_parquet(con, "evaluations", write_shards("b", count=10), store.EVALUATION_KEYS)
    # study "a" shrinks to 5 candidates with new values: stale rows of "a" must go, "b" stays.
    store.ingest_parquet(con, "evaluations", write_shards("a", count=5, seed=7), store.EVALUATION_KEYS)
    counts = dict(con.execute("SELECT study, count(*) FROM evaluations GROUP BY study").fetchall())
    assert counts == {"a": 10, "b": 20}


def test_columns_come_from_the_files_and_new_ones_are_added(tmp_path, write_shards):
    con = store.connect(tmp_path / "db.duckdb")
    files = write_shards(count=4)
    store.ingest_parquet(con, "evaluations", files, store.EVALUATION_KEYS)
    columns = store.table_columns(con, "evaluations")
    assert set(columns) == set(pq.read_schema(files[0]).names)
    assert columns["recompute"] == "VARCHAR" and columns["feasible"] == "BOOLEAN"
    extra = pq.read_table(files[0]).append_column("energy_per_token_j", pa.array([1.5] * 4))
    pq.write_table(extra, tmp_path / "extra.parquet")
    store.ingest_parquet(con, "evaluations", [tmp_path / "extra.parquet"], store.EVALUATION_KEYS)
    assert "energy_per_token_j" in store.table_columns(con, "evaluations")
    assert con.execute("SELECT count(*) FROM evaluations").fetchone()[0] == 4  # the study was replaced


def test_primary_key_rejects_duplicates_within_the_files(tmp_path, write_shards):
    files = write_shards(count=3)
    con = store.connect(tmp_path / "db.duckdb")
    with pytest.raises(Exception, match="(?i)duplicate|constraint"):
        store.ingest_parquet(con, "evaluations", [files[0], files[0]], store.EVALUATION_KEYS)
    assert not store.table_exists(con, "evaluations")  # the failed transaction left nothing behind


def test_scope_value_clears_a_study_even_with_no_new_rows(tmp_path):
    con = store.connect(tmp_path / "db.duckdb")
    rows = pa.table({"study": ["s", "s"], "source": ["sweep", "sweep"], "workload": ["w", "w"], "candidate_id": ["x", "y"], "rank": [0, 1]})
    store.ingest_arrow(con, "pareto", rows, store.PARETO_KEYS, scope_value="s")
    store.ingest_arrow(con, "pareto", rows.slice(0, 0), store.PARETO_KEYS, scope_value="s")
    assert con.execute("SELECT count(*) FROM pareto").fetchone()[0] == 0


def test_runs_table_keeps_one_row_per_run_id(tmp_path):
    study_file = tmp_path / "s.yaml"
    study_file.write_text("name: s\n")
    con = store.connect(tmp_path / "db.duckdb")
    for _ in range(2):
        store.record_run(con, make_run_record(study="s", study_file=study_file, seed=3, sampling="sobol"))
    rows = con.execute("SELECT run_id, study, seed, sampling, package_versions FROM runs").fetchall()
    assert len(rows) == 1
    run_id, study, seed, sampling, versions = rows[0]
    assert (study, seed, sampling) == ("s", 3, "sobol")
    assert len(run_id) == 16 and '"duckdb"' in versions
    study_file.write_text("name: s2\n")
    store.record_run(con, make_run_record(study="s", study_file=study_file, seed=3, sampling="sobol"))
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
    assert run_id_for("a" * 64) == run_id_for("a" * 64) != run_id_for("b" * 64)


def test_bad_inputs_name_what_is_allowed(tmp_path, write_shards):
    con = store.connect(tmp_path / "db.duckdb")
    with pytest.raises(InputError, match="SQL identifier"):
        store.ingest_parquet(con, "evaluations; DROP TABLE x", write_shards(count=2), store.EVALUATION_KEYS)
    with pytest.raises(InputError, match="missing file"):
        store.ingest_parquet(con, "evaluations", [tmp_path / "nope.parquet"], store.EVALUATION_KEYS)
    with pytest.raises(InputError, match="key columns"):
        store.ingest_parquet(con, "trials", write_shards(count=2), ("study", "trial_number"))
    with pytest.raises(InputError, match="archsweep run"):
        store.connect(tmp_path / "missing.duckdb", read_only=True)
