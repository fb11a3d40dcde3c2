"""Issue 12: the crash-safety properties as tests. A sweep killed with SIGKILL in the middle of
its evaluate jobs and run again gives the same tables as a clean run; two runs with the same
seed give identical tables (tiny random-sampled study, real workflow)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

STUDY = """\
name: crashy
workloads: [llama3-8b]
base: H100-SXM
parameters:
  compute_units: {range: [66, 198], step: 2}
  clock_hz: {range: ["1.2 GHz", "2.0 GHz"]}
  accelerator_count: {values: [64]}
  scaleup_domain_size: {values: [8]}
sampling: {method: random, samples: 48, seed: 11}
shards: 6
mapping: {search: best, objective: step_time_s}
objectives:
  - {column: tokens_per_s, direction: maximize}
  - {column: power_w, direction: minimize}
"""
#: Columns that say when or by which run a row was written, not what it is.
_RUN_COLUMNS = {"run_id"}


def _command(study: Path) -> list[str]:
    return [sys.executable, "-m", "archsweep.cli", "run", str(study), "--cores", "1"]


def _tables(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table in ("evaluations", "pareto"):
            columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in _RUN_COLUMNS]
            listing = ", ".join(f'"{c}"' for c in columns)
            out[table] = con.execute(f"SELECT {listing} FROM {table} ORDER BY ALL").fetchall()
        return out
    finally:
        con.close()


@pytest.mark.slow
def test_killed_sweep_resumed_equals_clean_run_with_same_seed(tmp_path):
    study = tmp_path / "crashy.yaml"
    study.write_text(STUDY, encoding="utf-8")
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    clean.mkdir()
    killed.mkdir()
    done = subprocess.run(_command(study), cwd=clean, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]

    evaluate = killed / "results" / "crashy" / "evaluate"
    db = killed / "results" / "crashy" / "archsweep.duckdb"
    process = subprocess.Popen(_command(study), cwd=killed, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        if evaluate.is_dir() and any(evaluate.glob("*.parquet")):
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before any evaluate shard could be interrupted"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    written = len(list(evaluate.glob("*.parquet")))
    assert written < 6 and not db.exists()  # killed mid-evaluate, before collect

    resumed = subprocess.run(_command(study), cwd=killed, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    first, second = _tables(clean / "results" / "crashy" / "archsweep.duckdb"), _tables(db)
    assert len(first["evaluations"]) == 48 and first["pareto"]
    assert second == first
