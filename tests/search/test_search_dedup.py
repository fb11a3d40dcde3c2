"""Deduplication in the search worker: a repeated point is told the stored values, never
re-evaluated, and not counted; the scrambled-Sobol start (``qmc_startup_trials``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
from search_study import write_search_study

import archsweep.search.worker as worker_module
from archsweep.load.study import load_study
from archsweep.search.dedup import point_key, space_size
from archsweep.search.storage import create_search_study, distributions, make_sampler, search_storage
from archsweep.search.worker import counted, run_search_worker
from archsweep.spec.errors import InputError

optuna.logging.set_verbosity(optuna.logging.WARNING)

#: The eight points of the deduplication tests' search.
_EIGHT_POINTS = {"compute_units": "{values: [66, 132]}", "clock_hz": '{range: ["1.2 GHz", "1.8 GHz"], step: "0.6 GHz"}',
                 "hbm_generation": "{values: [HBM3, HBM3e]}"}


def _study(folder: Path, *, trials: int, batch_size: int = 4, workers: int = 1, sampler: str = "{name: random}",
           name: str = "deduptest") -> Path:
    return write_search_study(folder, name, power_max="800 W", parameters=_EIGHT_POINTS,
                              description="Eight-point search for the deduplication tests.", sampler=sampler,
                              trials=trials, batch_size=batch_size, workers=workers, seed=1)


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every point the worker hands to the model."""
    seen: list[dict[str, Any]] = []
    real = worker_module.evaluate_batch

    def spy(ctx: Any, params: Any) -> Any:
        seen.extend(dict(p) for p in params)
        return real(ctx, params)

    monkeypatch.setattr(worker_module, "evaluate_batch", spy)
    return seen


def _trials(path: Path, results: Path) -> list[optuna.trial.FrozenTrial]:
    study = load_study(path)
    return optuna.load_study(study_name=study.name, storage=search_storage(study, results)).get_trials()


def test_repeats_are_told_stored_values_and_never_evaluated(tmp_path: Path, evaluations: list[dict[str, Any]]) -> None:
    path = _study(tmp_path, trials=6)
    results = tmp_path / "results"
    create_search_study(load_study(path), results=results)
    report = run_search_worker(path, 0, results=results, progress=False)
    trials = _trials(path, results)
    keys = [point_key(p) for p in evaluations]
    assert len(keys) == len(set(keys)) == 6 == report.told  # never the same point twice; budget = distinct points
    assert report.duplicates == len(trials) - 6 > 0  # random sampling over 8 points repeats (seed 1)
    by_number = {t.number: t for t in trials}
    originals = [t for t in trials if counted(t)]
    assert len(originals) == 6 and len({point_key(t.params) for t in originals}) == 6
    for t in trials:
        if "duplicate_of" not in t.user_attrs:
            continue
        first = by_number[t.user_attrs["duplicate_of"]]
        assert point_key(t.params) == point_key(first.params) and first.number < t.number
        assert t.state == first.state and t.values == first.values  # identical told values
        assert {k: v for k, v in t.system_attrs.items() if k.startswith("constraints:")} == \
            {k: v for k, v in first.system_attrs.items() if k.startswith("constraints:")}
        assert t.user_attrs["feasible"] == first.user_attrs["feasible"]
        assert t.user_attrs["candidate_id"] == first.user_attrs["candidate_id"]
        assert t.user_attrs["evaluated"] is False


def test_second_worker_reuses_first_workers_points(tmp_path: Path, evaluations: list[dict[str, Any]]) -> None:
    path = _study(tmp_path, trials=8, workers=2)
    results = tmp_path / "results"
    create_search_study(load_study(path), results=results)
    reports = [run_search_worker(path, w, results=results, progress=False) for w in (0, 1)]
    assert [r.told for r in reports] == [4, 4]
    keys = [point_key(p) for p in evaluations]
    assert len(keys) == len(set(keys)) == 8  # the whole grid, each point once over both workers


def test_budget_beyond_the_grid_stops_when_every_point_is_evaluated(tmp_path: Path,
                                                                    evaluations: list[dict[str, Any]]) -> None:
    path = _study(tmp_path, trials=20)
    results = tmp_path / "results"
    create_search_study(load_study(path), results=results)
    report = run_search_worker(path, 0, results=results, progress=False)
    assert report.told == 8 == len({point_key(p) for p in evaluations}) == len(evaluations)
    assert space_size(distributions(load_study(path).search)) == 8  # type: ignore[arg-type]


def test_without_deduplicate_every_trial_is_evaluated(tmp_path: Path, evaluations: list[dict[str, Any]]) -> None:
    path = _study(tmp_path, trials=6)
    path.write_text(path.read_text() + "  deduplicate: false\n")
    results = tmp_path / "results"
    create_search_study(load_study(path), results=results)
    report = run_search_worker(path, 0, results=results, progress=False)
    assert report.told == 6 == len(evaluations) == len(_trials(path, results)) and report.duplicates == 0


def test_sobol_start_gives_the_study_one_scrambled_sequence(tmp_path: Path) -> None:
    path = _study(tmp_path, trials=8, sampler="{name: tpe, options: {qmc_startup_trials: 4, multivariate: true}}")
    spec = load_study(path).search
    assert spec is not None
    points = []
    for worker in (0, 1):  # every worker draws the same sequence, indexed by trial number
        sampler = make_sampler(spec, worker)
        ostudy = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
        trials = [ostudy.ask(distributions(spec)) for _ in range(4)]
        points.append([point_key(t.params) for t in trials])
    assert points[0] == points[1]
    # 4 scrambled-Sobol points in the 2 x 2 x 2 grid: balanced, each value of each parameter twice
    for name in spec.names:
        counts: dict[Any, int] = {}
        for key in points[0]:
            value = dict(key)[name]
            counts[value] = counts.get(value, 0) + 1
        assert sorted(counts.values()) == [2, 2], (name, counts)


def test_qmc_startup_trials_rejected_where_not_an_option(tmp_path: Path) -> None:
    path = _study(tmp_path, trials=4, sampler="{name: random, options: {qmc_startup_trials: 4}}")
    with pytest.raises(InputError, match=r"search\.sampler\.options\.qmc_startup_trials"):
        load_study(path)
