"""Bounded memory of the store and the report (issue 14): the DuckDB memory limit, and the report's
sampled rows equal to the window-function formulation they replaced."""

from __future__ import annotations

import os

import pytest

from archsweep.results import html_report, store
from archsweep.spec.errors import InputError


def test_memory_limit_is_a_fraction_of_physical_memory_or_the_override(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(store.MEMORY_LIMIT_ENV, raising=False)
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    mib = int(store.memory_limit().removesuffix("MiB"))
    assert mib == max(int(physical * store.MEMORY_FRACTION), 1 << 30) >> 20
    con = store.connect(tmp_path / "a.duckdb")
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit  # DuckDB reports the limit back in its own units
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0] is False
    assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0].endswith("a.duckdb.tmp")
    con.close()
    monkeypatch.setenv(store.MEMORY_LIMIT_ENV, "512MiB")
    assert store.memory_limit() == "512MiB"
    con = store.connect(tmp_path / "b.duckdb")
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "512.0 MiB"
    con.close()
    monkeypatch.setenv(store.MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(InputError, match=store.MEMORY_LIMIT_ENV):
        store.memory_limit()


def test_report_rows_are_the_front_and_a_hash_top_n_per_workload(collected_db, monkeypatch) -> None:
    study, db = collected_db
    monkeypatch.setattr(html_report, "MAX_BACKGROUND_ROWS", 7)
    con = store.connect(db, read_only=True)
    data = html_report.report_data(study, con)
    # the formulation replaced (a window over every feasible row): same rows, same order, same flags
    reference = con.execute(
        "SELECT workload, candidate_id, front FROM (SELECT *, candidate_id IN (SELECT candidate_id FROM pareto p "
        "WHERE p.study = e.study AND p.workload = e.workload AND p.rank = 0 AND p.source = 'sweep') AS front, "
        "row_number() OVER (PARTITION BY workload ORDER BY hash(candidate_id)) AS k FROM evaluations e "
        "WHERE study = ? AND feasible) WHERE front OR k <= 7 ORDER BY workload, candidate_id", [study.name]).fetchall()
    con.close()
    rows = list(zip(data["rows"]["workload"], data["rows"]["candidate_id"], data["rows"]["front"], strict=True))
    assert rows == [(w, c, int(f)) for w, c, f in reference]
    assert sum(1 for r in rows if not r[2]) <= 7 * len(study.workloads)
    assert any(not r[2] for r in rows) and any(r[2] for r in rows)
