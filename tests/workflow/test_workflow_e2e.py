"""The real workflow: `snakemake --lint`, and `archsweep run spaces/tiny.yaml` end to end
(real model), rerun as a no-op, and resume after losing an evaluated shard."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from archsweep import MODEL_VERSION
from archsweep.load.paths import repo_root
from archsweep.load.study import load_study
from archsweep.results.report import plot_names

ROOT = repo_root()
TINY = ROOT / "spaces" / "tiny.yaml"


def _archsweep(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archsweep.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_snakemake_lint_is_clean(tmp_path):
    study = tmp_path / "lint.yaml"
    study.write_text("name: lint\nworkloads: [llama3-8b]\nbase: H100-SXM\n"
                     "parameters: {clock_hz: {values: ['1.5 GHz', '1.98 GHz']}}\nsampling: {method: grid}\nshards: 2\n"
                     "objectives:\n  - {column: tokens_per_s, direction: maximize}\n"
                     "  - {column: power_w, direction: minimize}\n")
    done = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory",
                           str(tmp_path), "--configfile", str(study), "--lint"],
                          capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Lints for" not in output and "Congratulations" in output, output


def _snapshot(db: Path) -> dict[str, object]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "evaluations": con.sql("SELECT * FROM evaluations ORDER BY study, candidate_id, workload").to_arrow_table(),
            "pareto": con.sql("SELECT * FROM pareto ORDER BY study, workload, candidate_id").to_arrow_table(),
            "runs": con.execute("SELECT run_id, study, study_sha256 FROM runs").fetchall(),
        }
    finally:
        con.close()


@pytest.mark.slow
def test_tiny_study_end_to_end(tmp_path):
    study = load_study(TINY)
    done = _archsweep("run", "spaces/tiny.yaml", "--cores", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    results = tmp_path / "results" / study.name
    db = results / "archsweep.duckdb"
    assert f"database:     {db}" in done.stdout and "on the Pareto front" in done.stdout

    candidates = sum(pq.read_metadata(results / "space" / f"{k}.parquet").num_rows for k in range(study.shards))
    if sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION"):  # each job ran with keep_freed_memory
        logs = sorted((results / "logs" / "evaluate").glob("*.log"))
        assert len(logs) == study.shards
        for log in logs:
            assert "malloc settings of archsweep.workflow.allocator applied" in log.read_text(), log
    first = _snapshot(db)
    evaluations = first["evaluations"]
    assert evaluations.num_rows == candidates * len(study.workloads) > 0
    keys = set(zip(*(evaluations.column(c).to_pylist() for c in ("candidate_id", "workload"))))
    assert len(keys) == evaluations.num_rows
    for name in ("step_time_s", "tokens_per_s", "mfu", "power_w", "die_area_mm2", "memory_per_accelerator_bytes"):
        values = np.asarray(evaluations.column(name), dtype=np.float64)
        assert not np.isnan(values).any(), name
    assert set(evaluations.column("model_version").to_pylist()) == {MODEL_VERSION}
    feasible = np.asarray(evaluations.column("feasible"))
    assert feasible.any()
    violations = [c for c in evaluations.column_names if c.startswith("violation_")]
    assert "violation_power_w_max" in violations  # the study's constraint, next to the model's own
    worst = np.max(np.column_stack([np.asarray(evaluations.column(c), dtype=np.float64) for c in violations]), axis=1)
    np.testing.assert_array_equal(feasible, worst <= 0)  # feasible = no violation > 0
    pareto = first["pareto"]
    assert pareto.num_rows > 0 and 0 in pareto.column("rank").to_pylist()
    assert pq.read_table(results / "pareto" / "pareto.parquet").num_rows == pareto.num_rows
    assert len(first["runs"]) == 1 and first["runs"][0][1] == study.name
    report = results / "report" / "report.md"
    assert report.is_file() and "## Summary" in report.read_text()
    for name in plot_names(study):
        assert (results / "report" / name).stat().st_size > 0

    # A rerun has nothing to do and changes nothing.
    mtime = db.stat().st_mtime_ns
    again = _archsweep("run", str(TINY), "--cores", "2", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Nothing to be done" in again.stdout + again.stderr
    assert db.stat().st_mtime_ns == mtime

    # Losing one evaluated shard (a killed job) and rerunning gives the same database.
    (results / "evaluate" / "0.parquet").unlink()
    resumed = _archsweep("run", str(TINY), "--cores", "2", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    second = _snapshot(db)
    assert second["evaluations"].equals(first["evaluations"])
    assert second["pareto"].equals(first["pareto"])
    assert second["runs"] == first["runs"]
