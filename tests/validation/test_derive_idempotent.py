"""The derive scripts of data/validation/derive/ re-run alone change nothing they did not derive: rows are
written over the row of the same run_id in place (other scripts' columns kept), fill scripts leave the
rows they do not own alone, and a script's ``derived`` note keeps its place (runs_table.py)."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from archsweep.load.paths import data_dir

DERIVE = data_dir() / "validation" / "derive"
CSV = data_dir() / "validation" / "training_runs.csv"
#: The scripts that read nothing but the CSV (the others read a mirror of a source repository).
OFFLINE = ("activation_offload.py", "lora_recipes.py", "mbridge_tp_overlap.py", "megatron_rows.py",
           "moe_recipes.py", "mcore_moe_modelzoo_rows.py", "nemo2407_stated_settings.py",
           "nemo2407_optimizer_dtypes.py")


@pytest.fixture()
def runs_table(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(DERIVE))
    return importlib.import_module("runs_table")


@pytest.mark.parametrize("script", OFFLINE)
def test_script_run_twice_on_a_copy_leaves_the_csv_byte_identical(tmp_path: Path, script: str) -> None:
    """The CSV holds what the scripts derive: running one of them twice on a copy changes no byte."""
    folder = tmp_path / "data" / "validation"
    shutil.copytree(DERIVE, folder / "derive")
    shutil.copyfile(CSV, folder / "training_runs.csv")
    for _ in range(2):
        subprocess.run([sys.executable, str(folder / "derive" / script)], check=True, capture_output=True,
                       cwd=tmp_path)
    assert (folder / "training_runs.csv").read_bytes() == CSV.read_bytes()


def test_upsert_replaces_in_place_keeps_other_columns_and_appends_new(runs_table: ModuleType) -> None:
    header = ["run_id", "a", "b", "derived"]
    rows = [{"run_id": "x", "a": "1", "b": "kept", "derived": "base; note"},
            {"run_id": "y", "a": "2", "b": "", "derived": ""}]
    new = [{"run_id": "x", "a": "10", "derived": "base"}, {"run_id": "z", "a": "3", "derived": "base"}]
    out = runs_table.upsert_rows(header, rows, new, first_write_only=("derived",))
    assert [r["run_id"] for r in out] == ["x", "y", "z"]
    assert out[0] == {"run_id": "x", "a": "10", "b": "kept", "derived": "base; note"}
    assert out[2] == {"run_id": "z", "a": "3", "b": "", "derived": "base"}
    assert rows[0]["a"] == "1"  # the input rows are not changed
    assert runs_table.upsert_rows(header, out, new, first_write_only=("derived",)) == out
    with pytest.raises(SystemExit, match=r"columns \['c'\] are not in the header"):
        runs_table.upsert_rows(header, rows, [{"run_id": "x", "c": "1"}])


def test_fill_columns_leaves_rows_it_does_not_own(runs_table: ModuleType) -> None:
    rows = [{"run_id": "mine", "k": "old"}, {"run_id": "mine_unlisted", "k": "old"}, {"run_id": "other", "k": "theirs"}]
    matched = runs_table.fill_columns(rows, ["k"], lambda r: ("new",) if r["run_id"] == "mine" else None,
                                      lambda r: r["run_id"].startswith("mine"))
    assert matched == 1
    assert [r["k"] for r in rows] == ["new", "", "theirs"]


def test_set_note_replaces_the_earlier_note_where_it_stands(runs_table: ModuleType) -> None:
    set_note = runs_table.set_note
    assert set_note("", r"x .*?s\.py", "x 1 s.py") == "x 1 s.py"
    assert set_note("base", r"x .*?s\.py", "x 1 s.py") == "base; x 1 s.py"
    assert set_note("base; x 0 s.py; y t.py", r"x .*?s\.py", "x 1 s.py") == "base; x 1 s.py; y t.py"
    assert set_note("x 0 s.py; y t.py", r"x .*?s\.py", "x 1 s.py") == "x 1 s.py; y t.py"
    assert set_note("base with x 0 s.py inside", r"x .*?s\.py", "x 1 s.py") == "base with x 0 s.py inside; x 1 s.py"
