"""A search with 2 workers on PostgreSQL storage (issue 6), against a real server.

Needs a PostgreSQL URL in ``ARCHSWEEP_TEST_POSTGRES_URL`` (``.ci/run`` starts a private
cluster with ``ci/postgres-up.sh`` and exports it) and the ``psycopg2`` driver (the ``hpc``
extra). Without them the test is skipped with the reason, or fails where
``ARCHSWEEP_REQUIRE_SERVICES`` names ``postgres``.

The workflow runs the two workers as concurrent Snakemake jobs (local executor, 2 cores:
two processes sharing the server). Checked: every trial of the budget lands once, each worker
did its share, the ``trials`` table has no duplicate, and the Pareto front equals that of a
single worker running the same trials (enqueued into a fresh study on a journal file).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import numpy as np
import optuna
import pyarrow.parquet as pq
import pytest
from search_study import write_search_study

from archsweep.load.paths import repo_root
from archsweep.load.study import load_study
from archsweep.results.pareto import pareto_ranks
from archsweep.search.dedup import counted as counts_toward_budget
from archsweep.search.dedup import point_key
from archsweep.search.export import export_search
from archsweep.search.storage import create_search_study
from archsweep.search.worker import run_search_worker

ROOT = repo_root()
TRIALS = 40


def _study_file(folder: Path, name: str, workers: int, storage: str, trials: int = TRIALS) -> Path:
    return write_search_study(folder, name, power_max="1000 W", clock_max="2.2 GHz",
                              mapping="{search: best, objective: step_time_s}",
                              sampler="{name: nsga2, options: {population_size: 10}}", trials=trials, batch_size=5,
                              seed=0, workers=workers, storage=f'"{storage}"')


def _postgres_problem() -> tuple[str | None, str]:
    """(why the test cannot run, or None; the URL)."""
    url = os.environ.get("ARCHSWEEP_TEST_POSTGRES_URL", "")
    if not url:
        return "ARCHSWEEP_TEST_POSTGRES_URL is not set (start a server with ci/postgres-up.sh as root)", url
    if importlib.util.find_spec("psycopg2") is None:
        return "the psycopg2 driver is not installed (pip install -e '.[hpc]')", url
    import psycopg2

    try:
        psycopg2.connect(url, connect_timeout=5).close()
    except psycopg2.Error as exc:
        return f"cannot connect to {url}: {str(exc).strip()}", url
    return None, url


@pytest.fixture(scope="module")
def postgres_url() -> str:
    problem, url = _postgres_problem()
    if problem is None:
        return url
    if "postgres" in os.environ.get("ARCHSWEEP_REQUIRE_SERVICES", ""):
        pytest.fail(f"ARCHSWEEP_REQUIRE_SERVICES names postgres, but: {problem}")
    pytest.skip(f"PostgreSQL test skipped: {problem}")


def _front(trials_file: Path, study_file: Path) -> dict[str, tuple[float, ...]]:
    """Rank-0 feasible rows of a trials export: candidate_id -> objective values."""
    study = load_study(study_file)
    table = pq.read_table(trials_file).to_pandas()
    feasible = table[table["feasible"].astype(bool)]
    columns = [o.column for o in study.objectives]
    values = feasible[columns].to_numpy(dtype=np.float64)
    ranks = pareto_ranks(values, [o.direction for o in study.objectives])
    front = feasible[ranks == 0]
    return {cid: tuple(row) for cid, row in zip(front["candidate_id"], front[columns].to_numpy(dtype=np.float64))}


@pytest.mark.services
@pytest.mark.slow
def test_two_workers_on_postgres_land_every_trial_once(postgres_url, tmp_path):
    name = f"hpcpg-{uuid.uuid4().hex[:8]}"  # a fresh Optuna study on a possibly reused server
    study_file = _study_file(tmp_path, name, workers=2, storage=postgres_url)
    done = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory",
                           str(tmp_path), "--configfile", str(study_file), "--profile", str(ROOT / "profiles" / "default"),
                           "--cores", "2"], capture_output=True, text=True, timeout=420)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]

    # Every trial of the budget is in the storage once, and each worker did its share.
    ostudy = optuna.load_study(study_name=name, storage=postgres_url)
    trials = ostudy.get_trials(deepcopy=False)
    counted = [t for t in trials if counts_toward_budget(t)]  # told repeats (duplicate_of) are not
    assert len(counted) == TRIALS
    assert len({t.number for t in trials}) == len(trials)
    assert sorted(int(t.user_attrs["worker"]) for t in counted) == [0] * (TRIALS // 2) + [1] * (TRIALS // 2)

    # The database's trials table: one row per trial (one workload), none twice.
    con = duckdb.connect(str(tmp_path / "results" / name / "archsweep.duckdb"), read_only=True)
    try:
        rows, distinct = con.execute("SELECT count(*), count(DISTINCT trial_number) FROM trials WHERE study = ?",
                                     [name]).fetchall()[0]
    finally:
        con.close()
    assert rows == distinct == TRIALS

    # The same points run by one worker (enqueued, journal storage) give the same Pareto front.
    # Two workers that ask the same point before either tells it both evaluate it, and both
    # count (search/dedup.py); one worker evaluates it once, so the replay's budget is the
    # number of distinct points, enqueued in trial order.
    distinct_params: dict[tuple, dict] = {}
    for trial in sorted(counted, key=lambda t: t.number):
        distinct_params.setdefault(point_key(trial.params), trial.params)
    single = f"{name}-single"
    single_file = _study_file(tmp_path, single, workers=1, storage="journal", trials=len(distinct_params))
    results = tmp_path / "single-results"
    reference = create_search_study(load_study(single_file), results=results)
    for params in distinct_params.values():
        reference.enqueue_trial(params)
    run_search_worker(single_file, 0, results=results, progress=False)
    trials_single, _ = export_search(single_file, tmp_path / "single_trials.parquet",
                                     tmp_path / "single_hv.parquet", results=results)
    trials_multi = tmp_path / "results" / name / "search" / "trials.parquet"
    multi_ids = set(pq.read_table(trials_multi).column("candidate_id").to_pylist())
    single_ids = pq.read_table(trials_single).column("candidate_id").to_pylist()
    assert len(single_ids) == len(distinct_params) and set(single_ids) == multi_ids
    front = _front(trials_multi, study_file)
    assert front and front == _front(trials_single, single_file)
