"""Issue 12: the malformed-input corpus. Every case is refused with exit status 2, one message
naming the culprit (file, key path or argument), no traceback, quickly, and nothing written:
no new or changed file under the project directory, ``$HOME`` or the temporary folder, and
for the SQL cases every table of every study database byte-identical.

Study and workload cases are fixture files (``studies/*.yaml``, ``models/*.yaml``), each
starting with ``# expect: <fragment of the message>``. The CLI runs in-process
(``archsweep.cli.app.main``); a few cases also run as a subprocess.
"""

from __future__ import annotations

import copy
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from archsweep.cli.app import main
from archsweep.load.paths import repo_root

HERE = Path(__file__).parent
STUDIES = sorted((HERE / "studies").glob("*.yaml"))
MODELS = sorted((HERE / "models").glob("*.yaml"))
ROOT = repo_root()
#: Seconds one refusal may take in-process (the limits must refuse in well under a second;
#: the margin covers a loaded shared machine and first imports).
MAX_SECONDS = 10.0


def _expected(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), path
    return first.removeprefix("# expect: ").strip()


def _tree(*folders: Path) -> dict[str, str]:
    """Every file under ``folders`` -> sha256 of its bytes."""
    out = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A project directory (cwd), ``$HOME`` and temp folder of its own, all empty."""
    project, home, temp = (tmp_path / n for n in ("project", "home", "tmp"))
    for folder in (project, home, temp):
        folder.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return project, home, temp


def data_with(tmp_path: Path, folder: str, name: str, document: object) -> Path:
    """A data directory ``tmp_path/data`` linking to the checkout's ``data/``, except ``folder/name``,
    written as YAML from ``document``."""
    data = tmp_path / "data"
    (data / folder).mkdir(parents=True)
    for entry in (ROOT / "data").iterdir():
        if entry.name != folder:
            (data / entry.name).symlink_to(entry)
    for entry in (ROOT / "data" / folder).iterdir():
        if entry.name != name:
            (data / folder / entry.name).symlink_to(entry)
    (data / folder / name).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return data


def _refused(argv: list[str], fragment: str, capsys, watched: tuple[Path, ...]) -> str:
    """Run ``archsweep argv``; assert exit 2, one message with ``fragment``, no traceback,
    nothing written under ``watched`` (nor the checkout), within :data:`MAX_SECONDS`."""
    before = _tree(*watched)
    checkout = _tree(ROOT / "data", ROOT / "models", ROOT / "spaces")
    start = time.perf_counter()
    status = main(argv)
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert status == 2, (argv, err)
    assert err.startswith("archsweep: error:") and "Traceback" not in err, err
    assert fragment in err, (fragment, err)
    assert elapsed < MAX_SECONDS, (argv, elapsed)
    assert _tree(*watched) == before
    assert _tree(ROOT / "data", ROOT / "models", ROOT / "spaces") == checkout
    return err


# --- studies -----------------------------------------------------------------------------

@pytest.mark.parametrize("study", STUDIES, ids=[p.stem for p in STUDIES])
def test_bad_study_is_refused(study, sandbox, capsys, monkeypatch):
    if study.stem == "broken_workload_file":
        monkeypatch.setenv("ARCHSWEEP_MODELS_DIR", str(HERE / "models"))
    _refused(["run", str(study), "--dry-run"], _expected(study), capsys, sandbox)


def test_broken_workload_file_names_the_workload_file(sandbox, capsys, monkeypatch):
    monkeypatch.setenv("ARCHSWEEP_MODELS_DIR", str(HERE / "models"))
    err = _refused(["run", str(HERE / "studies" / "broken_workload_file.yaml")], "workloads[0]", capsys, sandbox)
    assert "models/broken.yaml: architecture.heads: got 'many'" in err


# --- workloads ---------------------------------------------------------------------------

@pytest.mark.parametrize("model", MODELS, ids=[p.stem for p in MODELS])
def test_bad_workload_is_refused(model, sandbox, capsys):
    err = _refused(["eval", "--model", str(model), "--accelerator", "H100-SXM", "--count", "8"],
                   _expected(model), capsys, sandbox)
    assert model.name in err


# --- catalog entries ---------------------------------------------------------------------

_CATALOG_CASES = {
    "domain_over_count": (lambda e: e["parameters"]["scaleup_domain_size"].update(value=64), "scaleup_domain_size"),
    "count_not_node_multiple": (lambda e: e["parameters"]["accelerator_count"].update(value=12), "accelerator_count"),
    "negative_clock": (lambda e: e["parameters"]["clock_hz"].update(value="-1 GHz"), "clock_hz"),
    "unknown_parameter": (lambda e: e["parameters"].update(warp_drive={"value": 1, "source": "x", "locator": "y",
                                                                      "confidence": "low"}), "warp_drive"),
    "missing_parameter": (lambda e: e["parameters"].pop("tdp_w"), "tdp_w"),
    "bad_hbm_generation": (lambda e: e["parameters"]["hbm_generation"].update(value="HBM9"), "hbm_generation"),
    "unit_typo": (lambda e: e["parameters"]["hbm_bw_per_stack_bytes_per_s"].update(value="670 GBs"),
                  "hbm_bw_per_stack_bytes_per_s"),
    "missing_source": (lambda e: e["parameters"]["compute_units"].pop("source"), "compute_units"),
}


@pytest.fixture(scope="module")
def catalog_document():
    return yaml.safe_load((ROOT / "data" / "hardware" / "catalog.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", sorted(_CATALOG_CASES))
def test_bad_catalog_entry_is_refused(case, catalog_document, sandbox, capsys, monkeypatch, tmp_path):
    mutate, fragment = _CATALOG_CASES[case]
    document = copy.deepcopy(catalog_document)
    mutate(document["H100-SXM"])
    data = data_with(tmp_path, "hardware", "catalog.yaml", document)
    monkeypatch.setenv("ARCHSWEEP_DATA_DIR", str(data))
    err = _refused(["eval", "--model", "llama3-8b", "--accelerator", "H100-SXM", "--count", "8"], fragment, capsys,
                   sandbox)
    assert "catalog.yaml" in err and "H100-SXM" in err


# --- CLI arguments -----------------------------------------------------------------------

_EVAL = ["eval", "--model", "llama3-8b", "--accelerator", "H100-SXM"]
_ARGUMENT_CASES = {
    "strategy_duplicate_key": ([*_EVAL, "--count", "8", "--strategy", "tp=8,tp=4"], "each key at most once"),
    "strategy_alias_duplicate": ([*_EVAL, "--count", "8", "--strategy", "mb=1,micro_batch=2"], "micro_batch given twice"),
    "strategy_tp3": ([*_EVAL, "--count", "8", "--strategy", "tp=3"], "tp=3"),
    "strategy_tp0": ([*_EVAL, "--count", "8", "--strategy", "tp=0"], "tp: got '0'"),
    "strategy_not_pairs": ([*_EVAL, "--count", "8", "--strategy", "tp8"], "key=value"),
    "strategy_huge_degree": ([*_EVAL, "--count", "8", "--strategy", "tp=99999999999"], "--strategy: tp"),
    "count_1e21": ([*_EVAL, "--count", str(10**21)], "--count"),
    "count_zero": ([*_EVAL, "--count", "0"], "--count"),
    "count_negative": ([*_EVAL, "--count", "-8"], "--count"),
    "unknown_model": (["eval", "--model", "no-such-model", "--accelerator", "H100-SXM"], "no-such-model"),
    "unknown_accelerator": (["eval", "--model", "llama3-8b", "--accelerator", "XPU-9000"], "XPU-9000"),
    "unknown_objective": ([*_EVAL, "--count", "8", "--objective", "speed"], "speed"),
    "unknown_software": ([*_EVAL, "--count", "8", "--software", "nope"], "nope"),
    "bad_precision": ([*_EVAL, "--count", "8", "--precision", "fp3"], "precision"),
    "zero_global_batch": ([*_EVAL, "--count", "8", "--global-batch", "0"], "global-batch"),
    "query_missing_study": (["query", "no-such-study", "SELECT 1"], "no-such-study"),
    "query_missing_database": (["query", str(ROOT / "spaces" / "tiny.yaml"), "SELECT 1"], "archsweep.duckdb"),
    "run_missing_study": (["run", "no-such-study.yaml"], "no-such-study"),
}


@pytest.mark.parametrize("case", sorted(_ARGUMENT_CASES))
def test_bad_argument_is_refused(case, sandbox, capsys):
    argv, fragment = _ARGUMENT_CASES[case]
    _refused(argv, fragment, capsys, sandbox)


# --- hostile SQL -------------------------------------------------------------------------

def _make_db(path: Path, study: str) -> None:
    path.parent.mkdir(parents=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE evaluations AS SELECT ? AS study, 'c' || i AS candidate_id, 'llama3-8b' AS workload, "
                "i * 1.5 AS power_w, i % 2 = 0 AS feasible FROM range(50) t(i)", [study])
    con.execute("CREATE TABLE pareto AS SELECT study, candidate_id, workload, 0 AS rank FROM evaluations")
    con.execute("CREATE TABLE runs AS SELECT 'r1' AS run_id, ? AS study", [study])
    con.close()


def _db_state(path: Path) -> tuple[str, dict[str, list]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        content = {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in tables}
    finally:
        con.close()
    return hashlib.sha256(path.read_bytes()).hexdigest(), content


@pytest.fixture
def two_studies(sandbox):
    project, home, temp = sandbox
    dbs = [project / "results" / name / "archsweep.duckdb" for name in ("alpha", "beta")]
    for db, name in zip(dbs, ("alpha", "beta")):
        _make_db(db, name)
    return project, home, temp, dbs


def _sql_cases(project: Path, home: Path, temp: Path) -> dict[str, tuple[str, str]]:
    beta = project / "results" / "beta" / "archsweep.duckdb"
    out = project.parent / "outside"
    return {
        "copy_to_file": (f"COPY evaluations TO '{out}.csv'", "COPY statement"),
        "copy_to_home": (f"COPY (SELECT 1) TO '{home}/x.parquet' (FORMAT parquet)", "COPY statement"),
        "export_database": (f"EXPORT DATABASE '{out}'", "EXPORT statement"),
        "attach_new_db": (f"ATTACH '{project}/new.duckdb' AS n", "ATTACH statement"),
        "attach_other_study_and_drop": (f"ATTACH '{beta}' AS b; DROP TABLE b.evaluations", "2 statements"),
        "attach_then_create": (f"ATTACH '{temp}/t.db' AS t; CREATE TABLE t.x (a INT)", "2 statements"),
        "drop_table": ("DROP TABLE evaluations", "DROP statement"),
        "delete_rows": ("DELETE FROM evaluations", "DELETE statement"),
        "update_rows": ("UPDATE evaluations SET power_w = 0", "UPDATE statement"),
        "insert_rows": ("INSERT INTO runs VALUES ('x', 'y')", "INSERT statement"),
        "create_table": ("CREATE TABLE t AS SELECT 1", "CREATE statement"),
        "create_temp_table": ("CREATE TEMP TABLE t AS SELECT 1", "CREATE statement"),
        "install_extension": ("INSTALL httpfs", "LOAD statement"),
        "load_extension": ("LOAD httpfs", "LOAD statement"),
        "set_then_copy": (f"SET enable_external_access = true; COPY evaluations TO '{out}.csv'", "2 statements"),
        "set_alone": ("SET enable_external_access = true", "SET statement"),
        "second_statement_after_select": ("SELECT 1; DROP TABLE evaluations", "2 statements"),
        "select_then_select": ("SELECT 1; SELECT 2", "2 statements"),
        "pragma_write": ("PRAGMA enable_profiling='json'", "statement: PRAGMA enable_profiling"),
        "call_function": ("CALL pragma_version()", "CALL statement"),
        "checkpoint": ("CHECKPOINT", "statement"),
        "vacuum": ("VACUUM", "statement"),
        "read_csv_arbitrary": ("SELECT * FROM read_csv('/etc/passwd')", "query failed"),
        "read_parquet_other_study": (f"SELECT * FROM '{beta}'", "query failed"),
        "read_text_file": ("SELECT * FROM read_text('/etc/hostname')", "query failed"),
        "explain_analyze_copy": (f"EXPLAIN ANALYZE COPY evaluations TO '{out}.csv'", "EXPLAIN ANALYZE"),
        "explain_copy": (f"EXPLAIN COPY evaluations TO '{out}.csv'", "COPY statement"),
        "empty_sql": ("", "<empty>"),
        "whitespace_sql": ("  ;  ", "<empty>"),
        "unparsable_sql": ("SELEKT 1", "SQL that DuckDB can parse"),
        "begin_transaction": ("BEGIN TRANSACTION", "TRANSACTION statement"),
        "detach": ("DETACH alpha", "DETACH statement"),
        "use_other": ("USE memory", "statement"),
    }


_SQL_NAMES = sorted(_sql_cases(Path("/p"), Path("/h"), Path("/t")))


@pytest.mark.parametrize("case", _SQL_NAMES)
def test_hostile_sql_is_refused_and_changes_nothing(case, two_studies, capsys):
    project, home, temp, dbs = two_studies
    sql, fragment = _sql_cases(project, home, temp)[case]
    states = [_db_state(db) for db in dbs]
    outside = project.parent
    listing = sorted(str(p) for p in outside.rglob("*"))
    _refused(["query", "alpha", sql], fragment, capsys, (project, home, temp))
    assert [_db_state(db) for db in dbs] == states
    assert sorted(str(p) for p in outside.rglob("*")) == listing


@pytest.mark.parametrize("sql", ["SELECT count(*) FROM evaluations", "FROM evaluations LIMIT 2",
                                 "WITH a AS (SELECT 1 AS x) SELECT * FROM a", "DESCRIBE evaluations", "SHOW TABLES",
                                 "SUMMARIZE evaluations", "EXPLAIN SELECT * FROM pareto", "VALUES (1, 2)",
                                 "SELECT 1;"])
def test_read_statements_still_work(sql, two_studies, capsys):
    project, home, temp, dbs = two_studies
    states = [_db_state(db) for db in dbs]
    assert main(["query", "alpha", sql, "--csv"]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out
    assert [_db_state(db) for db in dbs] == states


# --- validation files --------------------------------------------------------------------

def _public_header_and_row() -> tuple[str, str]:
    lines = (ROOT / "data" / "validation" / "training_runs.csv").read_text(encoding="utf-8").splitlines()
    return lines[0], lines[1]


def _validation_cases(folder: Path) -> dict[str, tuple[list[str], str]]:
    header, row = _public_header_and_row()
    columns = header.split(",")
    tp = columns.index("tp")

    def with_cell(index: int, value: str) -> str:
        import csv
        import io

        cells = next(csv.reader([row]))
        cells[index] = value
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(cells)
        return buffer.getvalue()

    files = {
        "no_required_columns": "a,b\n1,2\n",
        "no_metric_column": "run_id,model,accelerator\nr1,GPT,H100\n",
        "no_accelerator_column": "run_id,model,step_time_s\nr1,GPT,3\n",
        "header_no_rows": header + "\n",
        "empty_file": "",
        "garbage_number": header + "\n" + with_cell(tp, "eight") + "\n",
        "negative_number": header + "\n" + with_cell(columns.index("num_accels"), "-32") + "\n",
        "infinite_number": header + "\n" + with_cell(columns.index("step_time_s"), "inf") + "\n",
        "repeated_column": "run_id,run_id,accelerator,step_time_s\nr1,r1,H100,3\n",
        "too_many_cells": "run_id,accelerator,step_time_s\nr1,H100,3,4,5\n",
    }
    expected = {
        "no_required_columns": "missing column(s) run_id, accelerator, a metric column", "no_metric_column": "a metric column",
        "no_accelerator_column": "accelerator", "header_no_rows": "header and no data row",
        "empty_file": "<empty file>", "garbage_number": "column tp: got 'eight'",
        "negative_number": "column num_accels: got '-32'", "infinite_number": "column step_time_s: got 'inf'",
        "repeated_column": "repeated", "too_many_cells": "line 2",
    }
    out = {}
    for name, text in files.items():
        path = folder / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        out[name] = (["validate", "--measurements", str(path)], expected[name])
    out["missing_file"] = (["validate", "--measurements", str(folder / "nope.csv")], "nope.csv")
    out["measurements_is_directory"] = (["validate", "--measurements", str(folder)], "a directory")
    good = folder / "good.csv"
    good.write_text(header + "\n" + row + "\n", encoding="utf-8")
    out["output_is_directory"] = (["validate", "--measurements", str(good), "--output", str(folder)], "--output")
    out["output_in_missing_folder"] = (["validate", "--measurements", str(good), "--output",
                                        str(folder / "no" / "such" / "out.csv")], "does not exist")
    out["output_is_input"] = (["validate", "--measurements", str(good), "--output", str(good)], "--measurements")
    return out


with tempfile.TemporaryDirectory(prefix="archsweep-hostile-") as _folder:
    _VALIDATION_NAMES = sorted(_validation_cases(Path(_folder)))


@pytest.mark.parametrize("case", _VALIDATION_NAMES)
def test_bad_validation_file_is_refused(case, sandbox, capsys, tmp_path):
    folder = tmp_path / "inputs"
    folder.mkdir()
    argv, fragment = _validation_cases(folder)[case]
    err = _refused(argv, fragment, capsys, (*sandbox, folder))
    if case not in {"output_is_directory", "output_in_missing_folder", "output_is_input", "missing_file",
                     "measurements_is_directory"}:
        assert f"{case}.csv" in err  # the file is named


# --- a few through a real process --------------------------------------------------------

@pytest.mark.parametrize("argv, fragment", [
    (["run", str(HERE / "studies" / "yaml_alias_bomb.yaml")], "MAX_EXPANDED_NODES"),
    (["eval", "--model", "llama3-8b", "--accelerator", "H100-SXM", "--count", str(10**21)], "--count"),
    (["query", "alpha", "COPY evaluations TO 'leak.csv'"], "COPY statement"),
])
def test_refusal_in_a_subprocess(argv, fragment, two_studies):
    project, home, temp, dbs = two_studies
    before = _tree(project, home, temp)
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(temp), "PYTHONPATH": str(ROOT / "src")}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "archsweep.cli", *argv], cwd=project, env=env, capture_output=True,
                          text=True, timeout=60)
    assert time.perf_counter() - start < 30
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and fragment in done.stderr, done.stderr
    assert _tree(project, home, temp) == before
