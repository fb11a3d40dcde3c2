"""Editing a constraint re-runs collect, pareto and report but no model evaluation (issue 9):
space and evaluate jobs depend on a fingerprint of what they read (``params:``), not on the
study file's modification time; a parameter edit still re-runs them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

STUDY = """\
name: rerun
description: constraint edits re-run no model
workloads: [llama3-8b]
base: H100-SXM
parameters:
  compute_units: {{values: [66, 132]}}
  clock_hz: {{values: ["1.4 GHz", "1.83 GHz"]}}
  accelerator_count: {{values: [64]}}
sampling: {{method: grid}}
shards: 2
mapping: {{search: best, objective: step_time_s}}
objectives:
  - {{column: tokens_per_s, direction: maximize}}
  - {{column: power_w, direction: minimize}}
constraints:
  - {{column: power_w, max: "{power_max}"}}
"""


def _run(study: Path, cwd: Path, *extra: str) -> str:
    done = subprocess.run([sys.executable, "-m", "archsweep.cli", "run", str(study), "--cores", "2", *extra],
                          cwd=cwd, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    return output


def _evaluations(db: Path) -> dict[str, np.ndarray]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        table = con.sql("SELECT * FROM evaluations ORDER BY candidate_id, workload").to_arrow_table()
        runs = con.execute("SELECT run_id FROM runs ORDER BY timestamp_utc").fetchall()
    finally:
        con.close()
    columns = {name: np.asarray(table.column(name).to_pylist()) for name in table.column_names}
    columns["runs"] = np.asarray([r[0] for r in runs])
    return columns


@pytest.mark.slow
def test_editing_a_constraint_reruns_no_evaluate_job(tmp_path):
    study = tmp_path / "rerun.yaml"
    study.write_text(STUDY.format(power_max="1200 W"))
    _run(study, tmp_path)
    results = tmp_path / "results" / "rerun"
    model_outputs = sorted((results / "space").glob("*.parquet")) + sorted((results / "evaluate").glob("*.parquet"))
    assert len(model_outputs) == 4
    stamps = {p: p.stat().st_mtime_ns for p in model_outputs}
    for name in ("space.tsv", "evaluate/0.tsv", "evaluate/1.tsv", "collect.tsv", "pareto.tsv", "report.tsv"):
        assert (results / "benchmarks" / name).stat().st_size > 0, name
    first = _evaluations(results / "archsweep.duckdb")
    feasible_power = np.sort(first["power_w"][first["feasible"]])
    assert len(feasible_power) >= 2 and feasible_power[0] < feasible_power[-1]

    # Tighten the power bound between the feasible designs' powers: some become infeasible.
    bound = float(feasible_power[0] + feasible_power[-1]) / 2
    study.write_text(STUDY.format(power_max=f"{bound:.3f} W"))
    output = _run(study, tmp_path)
    assert not re.search(r"\brule (space|evaluate):", output), output[-5000:]
    assert re.search(r"\b(local)?rule collect:", output), output[-5000:]
    assert {p: p.stat().st_mtime_ns for p in model_outputs} == stamps  # no model output rewritten
    second = _evaluations(results / "archsweep.duckdb")
    np.testing.assert_array_equal(second["candidate_id"], first["candidate_id"])
    np.testing.assert_array_equal(second["power_w"], first["power_w"])  # the model's numbers, unchanged
    np.testing.assert_array_equal(second["step_time_s"], first["step_time_s"])
    assert not np.array_equal(second["feasible"], first["feasible"])
    np.testing.assert_array_equal(second["feasible"], first["feasible"] & (first["power_w"] <= bound))
    # The run is recorded with the edited study's id, and the kept rows point to it.
    assert set(second["runs"]) != set(first["runs"]) and set(second["run_id"]) == {second["runs"][-1]}

    # Editing a varied parameter does re-run space and every evaluate job (dry run).
    study.write_text(STUDY.format(power_max=f"{bound:.3f} W").replace("[66, 132]", "[66, 198]"))
    planned = _run(study, tmp_path, "-n")
    assert re.search(r"^space\s+1$", planned, re.M) and re.search(r"^evaluate\s+2$", planned, re.M), planned[-3000:]
