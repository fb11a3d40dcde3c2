"""Progress of evaluate shards (done, rate, ETA in the log) and the search journal as optuna-dashboard opens it."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

import archsweep.candidates.shard_evaluation as evaluate_module
from archsweep.candidates.progress import Progress, format_progress
from archsweep.candidates.shard_evaluation import evaluate_shard
from archsweep.candidates.space import write_space_shards
from archsweep.load.study import load_study
from archsweep.search.storage import create_search_study, search_dir
from archsweep.search.worker import run_search_worker


def test_format_progress_rate_and_eta() -> None:
    assert format_progress(250, 1000, 10.0) == "250/1000 evaluation(s) (25.0 %), 25.0/s, ETA 30 s"


def test_progress_logs_at_most_every_interval_and_at_the_end() -> None:
    now = [0.0]
    lines: list[str] = []
    meter = Progress(100, lines.append, every_s=10.0, clock=lambda: now[0])
    for _ in range(9):
        now[0] += 2.0
        meter.update(10)
    assert len(lines) == 1 and lines[0].startswith("evaluate: 50/100")   # at t = 10 s
    now[0] += 2.0
    meter.update(10)
    assert len(lines) == 2 and "100/100" in lines[-1] and "ETA 0 s" in lines[-1]


def test_evaluate_shard_reports_progress_and_gives_the_same_rows(tmp_path: Path, monkeypatch) -> None:
    study = load_study("tiny")
    shard = write_space_shards(study, tmp_path)[0]
    plain = evaluate_shard(study, shard, "run")
    monkeypatch.setattr(evaluate_module, "PROGRESS_CHUNK", 5)
    lines: list[str] = []
    chunked = evaluate_shard(study, shard, "run", progress=lines.append)
    assert chunked.equals(plain)
    assert lines and lines[-1].startswith(f"evaluate: {plain.num_rows}/{plain.num_rows} evaluation(s) (100.0 %)")
    assert "/s, ETA" in lines[-1]


STUDY = """name: dashboardtest
workloads: [llama3-8b]
base: H100-SXM
objectives:
  - {column: tokens_per_s, direction: maximize}
  - {column: power_w, direction: minimize}
search:
  parameters:
    compute_units: {range: [66, 198], step: 2}
  trials: 6
  batch_size: 3
"""


def test_search_journal_opens_the_way_optuna_dashboard_opens_it(tmp_path: Path) -> None:
    """optuna-dashboard on a ``*.log`` path builds ``JournalStorage(JournalFileBackend(path))`` and lists
    ``get_all_studies()``; the search's journal must read back that way, with every trial."""
    path = tmp_path / "study.yaml"
    path.write_text(STUDY)
    study = load_study(path)
    results = tmp_path / "results"
    create_search_study(study, results=results)
    run_search_worker(path, 0, results=results, progress=False)
    journal = search_dir(study, results) / "journal.log"
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    storage = JournalStorage(JournalFileBackend(str(journal)))
    studies = storage.get_all_studies()
    assert [s.study_name for s in studies] == ["dashboardtest"]
    assert [d.name for d in studies[0].directions] == ["MAXIMIZE", "MINIMIZE"]
    trials = storage.get_all_trials(studies[0]._study_id)
    # the budget counts distinct points; a repeated point is a trial told the stored values (duplicate_of)
    assert sum("duplicate_of" not in t.user_attrs for t in trials) == 6
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert all(t.values[0] == pytest.approx(t.user_attrs.get("tokens_per_s", t.values[0])) for t in trials)
