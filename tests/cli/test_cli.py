"""The ``archsweep`` command line: help, query formats, one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archsweep.cli.app import build_parser, main
from archsweep.results import store


@pytest.fixture
def study_db(tmp_path, monkeypatch, write_shards):
    """A database at ./results/synthetic/archsweep.duckdb (cwd = tmp_path)."""
    db = tmp_path / "results" / "synthetic" / "archsweep.duckdb"
    con = store.connect(db)
    store.ingest_parquet(con, "evaluations", write_shards(count=5), store.EVALUATION_KEYS)
    con.close()
    monkeypatch.chdir(tmp_path)
    return db


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archsweep.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_help_of_every_subcommand(capsys):
    parser = build_parser()
    assert {"run", "query"} <= set(parser._subparsers._group_actions[0].choices)
    for argv in (["--help"], ["run", "--help"], ["query", "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--cores" in out and "--csv" in out and "--json" in out


def test_query_csv(study_db, capsys):
    sql = "SELECT workload, count(*) AS n FROM evaluations GROUP BY workload ORDER BY workload"
    assert main(["query", "synthetic", sql, "--csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["workload,n", "wl-a,5", "wl-b,5"]


def test_query_json_lines(study_db, capsys):
    sql = "SELECT candidate_id, tokens_per_s, feasible FROM evaluations WHERE workload = 'wl-a' ORDER BY candidate_id"
    assert main(["query", "synthetic", sql, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 5
    assert rows[0]["candidate_id"] == "0000000000000000"
    assert isinstance(rows[0]["tokens_per_s"], float) and isinstance(rows[0]["feasible"], bool)


def test_query_table(study_db, capsys):
    assert main(["query", "synthetic", "SELECT count(*) AS rows FROM evaluations"]) == 0
    out = capsys.readouterr().out
    assert "rows" in out and "10" in out


def test_query_bad_sql_is_one_line_exit_2(study_db, capsys):
    assert main(["query", "synthetic", "SELECT nope FROM evaluations"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("archsweep: error: query failed:") and "nope" in err
    assert len(err.strip().splitlines()) == 1


def test_query_missing_database_is_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "ghost").mkdir(parents=True)
    assert main(["query", str(tmp_path / "nostudy.yaml"), "SELECT 1"]) == 2
    assert "archsweep: error:" in capsys.readouterr().err


def test_bad_study_is_one_line_error_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nworkloads: [llama3-8b]\nbase: H100-SXM\nobjectives:\n"
                   "  - {column: tokens_per_s, direction: maximize}\n"
                   "parameters: {clock_hz: {values: [1.5e9]}}\nsampling: {method: grid}\nfrobnicate: 1\n")
    done = _cli("run", str(bad), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archsweep: error:")
    assert "frobnicate" in lines[0] and str(bad) in lines[0]
    assert not (tmp_path / "results").exists()  # nothing ran


def test_malformed_study_yaml_is_exit_2(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: [unclosed\n")
    done = _cli("run", str(bad), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "well-formed YAML" in done.stderr


def test_unknown_option_of_query_is_a_usage_error(study_db, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["query", "synthetic", "SELECT 1", "--bogus"])
    assert exc.value.code == 2


def test_stage_command_line_reports_input_errors_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "archsweep.workflow", "pareto", "--study", str(tmp_path / "none.yaml"),
                           "--db", str(tmp_path / "x.duckdb"), "--out", str(tmp_path / "p.parquet")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("archsweep: error:") and "missing file" in done.stderr


def test_closed_pipe_ends_quietly(tmp_path):
    """`archsweep validate ... | head -1`: the reader closes early; no traceback on stderr. The serving table's
    every 12th row, 40 of its groups and models (s15-review: the whole table cost ~4 CPU-s more; the summary
    printed is as long, 20 lines against 22, all written at exit, so ``head`` closes the pipe at the same point)."""
    lines = (Path(__file__).parents[2] / "data" / "validation" / "inference_runs.csv").read_text().splitlines(keepends=True)
    subset = tmp_path / "inference_runs.csv"
    subset.write_text(lines[0] + "".join(lines[1::12]))
    command = f"{sys.executable} -m archsweep.cli validate --measurements {subset} | head -1"
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=Path(__file__).parents[2],
                          timeout=300)
    assert done.stdout.startswith("rows:")
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr


def test_validate_optimism_prints_best_over_measured_per_group(tmp_path, capsys):
    """`archsweep validate --optimism`: the validation summary, then search optimism per source group."""
    source = Path(__file__).parents[2] / "data" / "validation" / "training_runs.csv"
    lines = source.read_text().splitlines(keepends=True)
    subset = tmp_path / "runs.csv"
    subset.write_text(lines[0] + "".join(line for line in lines[1:] if line.startswith("korthikanti_")))
    assert main(["validate", "--measurements", str(subset), "--summary-only", "--optimism"]) == 0
    out = capsys.readouterr().out
    assert "search optimism" in out
    megatron = next(line for line in out.splitlines() if line.startswith("megatron "))
    assert "median best/measured=" in megatron and "rows>1.25=" in megatron
    assert "baseline of korthikanti_175B_seqsel" in out  # the full-recompute row is its job's baseline


def test_validate_optimism_output_has_best_over_measured_per_row(tmp_path, capsys):
    """`archsweep validate --optimism --output`: every row the search covers gets its best / measured (and its
    factors, the ceiling figure, the searched mapping) beside its error; the figures are the printed ones."""
    import csv
    import math

    from archsweep.validation.cells import read_measurements
    from archsweep.validation.optimism import search_optimism

    source = Path(__file__).parents[2] / "data" / "validation" / "training_runs.csv"
    lines = source.read_text().splitlines(keepends=True)
    subset = tmp_path / "runs.csv"
    subset.write_text(lines[0] + "".join(line for line in lines[1:] if line.startswith("korthikanti_")))
    out = tmp_path / "out.csv"
    assert main(["validate", "--measurements", str(subset), "--summary-only", "--optimism", "--output", str(out)]) == 0
    assert "with the search-optimism columns" in capsys.readouterr().out
    with out.open(newline="") as handle:
        rows = {r["run_id"]: r for r in csv.DictReader(handle)}
    header = next(iter(rows.values())).keys()
    assert list(header)[:5] == ["run_id", "metric", "measured", "predicted", "error_pct"]
    assert {"best_over_measured", "given_over_measured", "best_over_given", "best_over_ceiling", "best_mapping",
            "optimism_note"} <= set(header)
    expected = {r.run_id: r for r in search_optimism(read_measurements(subset))}
    assert expected and set(expected) < set(rows)  # layer-time rows are validated but not searched
    for run_id, r in rows.items():
        if run_id not in expected:
            assert r["best_over_measured"] == r["best_mapping"] == ""
            continue
        e = expected[run_id]
        assert float(r["best_over_measured"]) == pytest.approx(e.best_over_measured, rel=1e-5)
        assert float(r["best_over_measured"]) == pytest.approx(
            float(r["given_over_measured"]) * float(r["best_over_given"]), rel=1e-4)
        assert math.isfinite(float(r["best_over_ceiling"])) and r["best_mapping"] == e.best_mapping
    assert rows["korthikanti_175B_full"]["optimism_note"].startswith("baseline of korthikanti_175B_seqsel")
    # Without --optimism the file keeps its columns.
    plain = tmp_path / "plain.csv"
    assert main(["validate", "--measurements", str(subset), "--summary-only", "--output", str(plain)]) == 0
    assert "best_over_measured" not in plain.read_text().splitlines()[0]


def test_validate_optimism_refuses_hold_out_and_serving(capsys):
    runs = Path(__file__).parents[2] / "data" / "validation"
    assert main(["validate", "--measurements", str(runs / "training_runs.csv"), "--hold-out", "mpt",
                 "--optimism"]) == 2
    assert "--optimism" in capsys.readouterr().err
    assert main(["validate", "--measurements", str(runs / "inference_runs.csv"), "--optimism"]) == 2
    assert "training runs only" in capsys.readouterr().err
