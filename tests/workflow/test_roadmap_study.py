"""Roadmap scenarios end to end through Snakemake (a tiny variant of spaces/roadmap.yaml): every
row records its scenario, fronts are per (workload, scenario), the report compares the scenarios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from archsweep.load.paths import repo_root
from archsweep.load.study import load_study
from archsweep.results.report import plot_names

TINY_ROADMAP = """\
name: roadmap-tiny
workloads: [llama3-8b]
base: B200
scenarios: [2025, 2027, 2029]
parameters:
  compute_units: {values: [148, 222]}
  process_node: {values: [N4, N3, N2, A16]}
  accelerator_count: {values: [256]}   # at least every scenario's scale-up domain (2029: 144)
sampling: {method: grid}
shards: 2
objectives:
  - {column: usd_per_million_tokens, direction: minimize}
  - {column: energy_per_token_j, direction: minimize}
"""


def test_shipped_roadmap_study_loads_with_three_generations() -> None:
    study = load_study(repo_root() / "spaces" / "roadmap.yaml")
    assert [s.year for s in study.scenarios] == [2025, 2027, 2029]
    assert set(study.workloads) == {"llama3-405b", "deepseek-v3"}


@pytest.mark.slow
def test_tiny_roadmap_study_end_to_end(tmp_path: Path) -> None:
    file = tmp_path / "roadmap-tiny.yaml"
    file.write_text(TINY_ROADMAP)
    done = subprocess.run([sys.executable, "-m", "archsweep.cli", "run", str(file), "--cores", "2"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    study = load_study(file)
    results = tmp_path / "results" / study.name
    con = duckdb.connect(str(results / "archsweep.duckdb"), read_only=True)
    try:
        per_scenario = dict(con.execute("SELECT scenario, count(*) FROM evaluations GROUP BY scenario").fetchall())
        assert per_scenario == {"2025": 4, "2027": 4, "2029": 4}
        nodes = set(con.execute("SELECT scenario, process_node FROM evaluations").fetchall())
        assert nodes == {("2025", "N4"), ("2025", "N3"), ("2027", "N3"), ("2027", "N2"), ("2029", "N2"), ("2029", "A16")}
        fronts = dict(con.execute("SELECT scenario, count(*) FROM pareto WHERE rank = 0 GROUP BY scenario").fetchall())
        assert set(fronts) == {"2025", "2027", "2029"} and all(n >= 1 for n in fronts.values())
        mixed = con.execute("SELECT count(*) FROM pareto p JOIN evaluations e USING (study, workload, candidate_id) "
                            "WHERE p.scenario <> e.scenario").fetchone()
        assert mixed == (0,)
    finally:
        con.close()
    report = (results / "report" / "report.md").read_text()
    assert "## Roadmap scenarios" in report and "best design per scenario" in report
    assert "| minimize usd_per_million_tokens | 2029 |" in report
    for name in plot_names(study):
        assert (results / "report" / name).stat().st_size > 0, name
    assert any(n.startswith("roadmap_") for n in plot_names(study))
