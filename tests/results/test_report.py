"""Pareto table and report on a synthetic database (no model run)."""

from __future__ import annotations

import numpy as np
from conftest import make_study

from archsweep.results import store
from archsweep.results.fronts import pareto_table
from archsweep.results.report import breakdown_columns, plot_names, write_report


def _database(tmp_path, write_shards):
    study = make_study()
    db = tmp_path / "archsweep.duckdb"
    con = store.connect(db)
    store.ingest_parquet(con, "evaluations", write_shards(count=60), store.EVALUATION_KEYS)
    table = pareto_table(study, con)
    store.ingest_arrow(con, "pareto", table, store.PARETO_KEYS, scope_value=study.name)
    return study, db, con, table


def test_pareto_table_ranks_feasible_rows_and_front_is_non_dominated(tmp_path, write_shards):
    study, _, con, table = _database(tmp_path, write_shards)
    feasible = con.execute("SELECT count(*) FROM evaluations WHERE feasible").fetchone()[0]
    assert table.num_rows == feasible
    assert table.column_names == ["study", "source", "workload", "candidate_id", "rank", "tokens_per_s", "power_w",
                                  "trial_number"]
    for workload in study.workloads:
        rows = table.filter(np.asarray(table.column("workload")) == workload)
        tps, power = np.asarray(rows.column("tokens_per_s")), np.asarray(rows.column("power_w"))
        rank = np.asarray(rows.column("rank"))
        front = rank == 0
        assert front.any()
        for i in np.flatnonzero(front):  # nobody dominates a front member
            dominated = (tps >= tps[i]) & (power <= power[i]) & ((tps > tps[i]) | (power < power[i]))
            assert not dominated.any()
        for i in np.flatnonzero(~front):  # every other row is dominated by someone
            dominated = (tps >= tps[i]) & (power <= power[i]) & ((tps > tps[i]) | (power < power[i]))
            assert dominated.any()


def test_report_writes_markdown_and_every_declared_plot(tmp_path, write_shards):
    study, db, con, table = _database(tmp_path, write_shards)
    con.close()
    out = tmp_path / "report" / "report.md"
    written = write_report(study, db, out)
    names = plot_names(study)
    assert names == ["pareto_wl-a_tokens_per_s__power_w.png", "breakdown_wl-a.png",
                     "pareto_wl-b_tokens_per_s__power_w.png", "breakdown_wl-b.png"]
    assert [p.name for p in written] == ["report.md", *names, "report.html"]
    for path in written[1:-1]:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000
    text = out.read_text()
    front_a = int(np.sum((np.asarray(table.column("rank")) == 0) & (np.asarray(table.column("workload")) == "wl-a")))
    assert "| wl-a | 60 |" in text and f"| {front_a} |" in text
    assert "maximize tokens_per_s" in text and "minimize power_w" in text
    assert "tp=" in text and "recompute=" in text  # mapping of the best designs
    for name in names:
        assert f"]({name})" in text


def test_breakdown_columns_are_the_parts_of_the_step_time():
    columns = ["step_time_s", "compute_time_s", "time_to_train_s", "dp_comm_exposed_s", "bubble_time_s", "power_w"]
    assert breakdown_columns(columns) == ["compute_time_s", "dp_comm_exposed_s", "bubble_time_s"]
