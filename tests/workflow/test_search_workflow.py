"""The search study end to end through `archsweep run` (Snakemake, DuckDB, Pareto, report, CLI):
budget exactly once, hypervolume history, the search's front, rerun no-op, resume after
`kill -9` of the whole run, and bad search specs rejected before any trial runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import optuna
import pytest
from search_study import write_search_study

from archsweep import cli
from archsweep.load.study import load_study
from archsweep.search.storage import search_storage

pytestmark = pytest.mark.slow
optuna.logging.set_verbosity(optuna.logging.WARNING)

ARCHSWEEP = [sys.executable, "-m", "archsweep.cli"]


def _study(folder: Path, trials: int, batch: int) -> Path:
    return write_search_study(folder, "searchwf", power_max="650 W", clock_max="2.2 GHz",
                              description="Tiny search for the workflow test.",
                              sampler="{name: nsga2, options: {population_size: 10}}",
                              trials=trials, batch_size=batch, seed=1, workers=2)


def _run(folder: Path, study: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARCHSWEEP, "run", str(study), "--cores", "2"], cwd=folder, capture_output=True,
                          text=True, timeout=120, check=False)


def _check_database(folder: Path, budget: int) -> None:
    db = folder / "results" / "searchwf" / "archsweep.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    try:
        n, unique, missing_id = con.execute(
            "SELECT count(*), count(DISTINCT trial_number), count(*) FILTER (WHERE candidate_id IS NULL) "
            "FROM trials WHERE study = 'searchwf'").fetchone()
        assert (n, unique, missing_id) == (budget, budget, 0)
        numbers = [r[0] for r in con.execute("SELECT trial_number FROM trials ORDER BY trial_number").fetchall()]
        assert len(set(numbers)) == budget
        hv = np.asarray([r[0] for r in con.execute(
            "SELECT hypervolume FROM hypervolume_history ORDER BY trial_number").fetchall()])
        assert len(hv) > 0 and np.all(np.diff(hv) >= 0) and hv[-1] > 0
        # every history row is a trial; every search front row joins its trial (nothing missing)
        assert con.execute("SELECT count(*) FROM hypervolume_history h ANTI JOIN trials t "
                           "USING (study, trial_number)").fetchone()[0] == 0
        front = con.execute("SELECT p.candidate_id, p.tokens_per_s, p.power_w, t.candidate_id, t.tokens_per_s, "
                            "t.power_w, t.feasible, t.state FROM pareto p LEFT JOIN trials t "
                            "USING (study, trial_number) WHERE p.source = 'search' AND p.rank = 0").fetchall()
        assert front
        for row in front:
            assert row[0] == row[3] and row[1] == pytest.approx(row[4]) and row[2] == pytest.approx(row[5])
            assert row[6] and row[7] == "COMPLETE"
        feasible = np.asarray(con.execute("SELECT tokens_per_s, power_w FROM trials WHERE feasible "
                                          "AND state = 'COMPLETE'").fetchall(), dtype=np.float64)
        infeasible = con.execute("SELECT count(*) FROM trials WHERE NOT feasible").fetchone()[0]
        assert 0 < len(feasible) < budget and infeasible > 0  # the 650 W constraint binds
        points = np.asarray([(r[1], r[2]) for r in front])
        for tps, power in points:  # no feasible trial dominates a front row
            dominates = ((feasible[:, 0] >= tps) & (feasible[:, 1] <= power)
                         & ((feasible[:, 0] > tps) | (feasible[:, 1] < power)))
            assert not dominates.any()
        for tps, power in feasible:  # every feasible trial is on the front or dominated by it
            on_front = np.any((points[:, 0] == tps) & (points[:, 1] == power))
            dominated = np.any((points[:, 0] >= tps) & (points[:, 1] <= power))
            assert on_front or dominated
    finally:
        con.close()
    report = folder / "results" / "searchwf" / "report"
    text = (report / "report.md").read_text()
    assert "## Search" in text and f"Trials done: {budget} of {budget}" in text and "reference point" in text
    for name in ("search_pareto_tokens_per_s__power_w.png", "search_hypervolume.png"):
        assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({name})" in text


def test_search_study_runs_end_to_end_and_rerun_is_a_no_op(tmp_path: Path) -> None:
    study = _study(tmp_path, trials=30, batch=5)
    first = _run(tmp_path, study)
    assert first.returncode == 0, first.stderr[-3000:]
    _check_database(tmp_path, 30)
    assert "search: 30/30 trials done" in first.stdout and "search Pareto front of searchwf" in first.stdout
    assert (tmp_path / "results" / "searchwf" / "pareto" / "pareto.parquet").exists()
    db = tmp_path / "results" / "searchwf" / "archsweep.duckdb"
    stamp = db.stat().st_mtime_ns
    again = _run(tmp_path, study)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Nothing to be done" in again.stdout + again.stderr
    assert db.stat().st_mtime_ns == stamp


def _complete_trials(study: Path, folder: Path) -> int:
    journal = folder / "results" / "searchwf" / "search" / "journal.log"
    if not journal.exists() or journal.stat().st_size == 0:
        return 0
    spec = load_study(study)
    try:
        trials = optuna.load_study(study_name=spec.name, storage=search_storage(spec, folder / "results")).get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    except KeyError:  # the study is not created yet
        return 0
    return len(trials)


def test_kill_9_of_the_whole_run_then_rerun_finishes_the_budget_once(tmp_path: Path) -> None:
    budget = 120
    study = _study(tmp_path, trials=budget, batch=2)
    proc = subprocess.Popen([*ARCHSWEEP, "run", str(study), "--cores", "2"], cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    done = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            done = _complete_trials(study, tmp_path)
            if done >= 4:
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # archsweep, snakemake and its jobs: one process group
        proc.wait()
    assert 4 <= done < budget, f"the run was killed after {done} trial(s); expected mid-search"
    assert not (tmp_path / "results" / "searchwf" / "search" / "trials.parquet").exists()
    again = _run(tmp_path, study)
    assert again.returncode == 0, again.stderr[-3000:]
    _check_database(tmp_path, budget)


@pytest.mark.parametrize(("old", "new", "key"), [
    ("range: [66, 198]", "range: [198, 66]", "search.parameters.compute_units.range"),
    ("name: nsga2", "name: cmaes", "search.sampler.name"),
    ("column: power_w, direction", "column: watts, direction", "objectives[1].column"),
    ("column: power_w, max", "column: no_such_column, max", "constraints[0].column"),
])
def test_bad_search_spec_is_one_error_before_any_trial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str], old: str, new: str,
                                                       key: str) -> None:
    study = _study(tmp_path, trials=10, batch=5)
    text = study.read_text()
    assert old in text
    study.write_text(text.replace(old, new, 1))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", str(study), "--cores", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("archsweep: error:") and f"{study}: {key}: got" in err
    assert not (tmp_path / "results").exists() and not (tmp_path / ".snakemake").exists()


def test_search_example_study_is_the_documented_small_search() -> None:
    spec = load_study("search-example")  # a stem of spaces/
    search = spec.search
    assert (search.sampler.name, search.trials, search.batch_size, search.workers) == ("nsga2", 200, 20, 2)
    assert 4 <= len(search.parameters) <= 6 and spec.base == "H100-SXM" and spec.sampling_method is None
