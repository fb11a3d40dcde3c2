"""Optuna search end to end on the real model: budget, resume after a kill, reproducibility, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pyarrow.parquet as pq
import pytest
from search_study import write_search_study

from archsweep.load.study import load_study
from archsweep.search.export import export_search
from archsweep.search.storage import create_search_study, search_storage, worker_quota
from archsweep.search.worker import counted, reference_point, run_search_worker

optuna.logging.set_verbosity(optuna.logging.WARNING)

def _study_file(folder: Path, trials: int = 20, workers: int = 1) -> Path:
    return write_search_study(folder, "searchtest", power_max="1000 W", clock_max="2.0 GHz",
                              trials=trials, batch_size=8, seed=3, workers=workers)


def _trials(path: Path, results: Path) -> list[optuna.trial.FrozenTrial]:
    study = load_study(path)
    return optuna.load_study(study_name=study.name, storage=search_storage(study, results)).get_trials()


def test_worker_quota_splits_budget_exactly() -> None:
    for trials in (1, 7, 100):
        for workers in (1, 3, 8):
            assert sum(worker_quota(trials, workers, w) for w in range(workers)) == trials
    with pytest.raises(ValueError, match="worker"):
        worker_quota(10, 2, 2)


def test_two_workers_finish_budget_and_export(tmp_path: Path) -> None:
    path = _study_file(tmp_path, trials=21, workers=2)
    results = tmp_path / "results"
    create_search_study(load_study(path), results=results)
    reports = [run_search_worker(path, w, results=results, progress=False) for w in (0, 1)]
    assert [r.told for r in reports] == [11, 10]
    trials = _trials(path, results)
    assert len(trials) == 21 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert {t.user_attrs["worker"] for t in trials} == {0, 1}
    # constraints stored the Optuna 5 way, > 0 violated, consistent with feasibility
    for t in trials:
        violation = t.system_attrs["constraints:violation_power_w_max"]
        assert not (t.user_attrs["feasible"] and violation > 0)
    trials_out, hv_out = tmp_path / "trials.parquet", tmp_path / "hv.parquet"
    export_search(path, trials_out, hv_out, results=results)
    table = pq.read_table(trials_out).to_pandas()
    assert len(table) == 21 and table["trial_number"].is_unique
    for column in ("worker", "state", "candidate_id", "workload", "tokens_per_s", "power_w", "feasible",
                   "violation_power_w_max", "compute_units", "clock_hz"):
        assert column in table.columns
    by_number = {t.number: t for t in trials}
    for row in table.itertuples():
        assert row.candidate_id == by_number[row.trial_number].user_attrs["candidate_id"]
        assert row.tokens_per_s == pytest.approx(by_number[row.trial_number].values[0])
    hv = pq.read_table(hv_out).to_pandas()
    assert len(hv) == 21 and np.all(np.diff(hv["hypervolume"]) >= 0) and hv["hypervolume"].iloc[-1] > 0
    assert {"study", "reference_tokens_per_s", "reference_power_w"} <= set(hv.columns)


def test_resume_after_kill_marks_stale_and_finishes_budget(tmp_path: Path) -> None:
    path = _study_file(tmp_path, trials=20)
    results = tmp_path / "results"
    study = load_study(path)
    ostudy = create_search_study(study, results=results)
    # a killed worker: 8 told trials, then 3 asked and left RUNNING
    from archsweep.search.storage import distributions as _distributions
    first = run_search_worker(_study_file(tmp_path, trials=8), 0, results=results, progress=False)
    assert first.told == 8
    path = _study_file(tmp_path, trials=20)
    for _ in range(3):
        trial = ostudy.ask(_distributions(study.search))
        trial.set_user_attr("worker", 0)
    report = run_search_worker(path, 0, results=results, progress=False)
    assert (report.already_done, report.failed_stale, report.told) == (8, 3, 12)
    trials = _trials(path, results)
    evaluated = [t.state for t in trials if "duplicate_of" not in t.user_attrs]  # duplicates: not counted
    assert evaluated.count(optuna.trial.TrialState.COMPLETE) == 20
    assert evaluated.count(optuna.trial.TrialState.FAIL) == 3
    assert sum(counted(t) for t in trials) == 20
    again = run_search_worker(path, 0, results=results, progress=False)
    assert again.told == 0 and len(_trials(path, results)) == len(trials)


def test_same_seed_same_trials_with_one_worker(tmp_path: Path) -> None:
    params = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        path = _study_file(folder, trials=24)
        create_search_study(load_study(path), results=folder / "results")
        run_search_worker(path, 0, results=folder / "results", progress=False)
        params.append([(t.params, t.values) for t in _trials(path, folder / "results")])
    assert params[0] == params[1]


def test_reference_point_is_beyond_every_point() -> None:
    values = np.array([[1.0, 5.0], [3.0, 5.0]])
    ref = reference_point(values)
    np.testing.assert_allclose(ref, [3.2, 5.5])
    assert np.all(values < ref)
