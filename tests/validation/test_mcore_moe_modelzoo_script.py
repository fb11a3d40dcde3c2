"""data/validation/derive/mcore_moe_modelzoo_rows.py (review B finding 8): importing it writes nothing (its
work is in main(), run under the ``__main__`` guard), and it adds the moe_* columns its rows fill itself, so
it does not depend on moe_recipes.py having added them to the CSV first."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from archsweep.load.paths import data_dir

DERIVE = data_dir() / "validation" / "derive"
CSV = data_dir() / "validation" / "training_runs.csv"


def test_import_writes_nothing(derive_script: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(header: list[str], rows: list[dict[str, str]]) -> None:
        raise AssertionError("importing the script wrote the CSV")

    monkeypatch.setattr(derive_script("runs_table"), "write_runs", refuse)
    monkeypatch.delitem(sys.modules, "mcore_moe_modelzoo_rows", raising=False)  # imported afresh, after the patch
    assert callable(derive_script("mcore_moe_modelzoo_rows").main)


def test_run_on_a_csv_without_the_moe_columns_adds_them(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "validation"
    shutil.copytree(DERIVE, folder / "derive")
    with CSV.open(newline="") as handle:
        reader = csv.DictReader(handle)
        kept = [c for c in reader.fieldnames or [] if not c.startswith("moe_")]
        rows = [{c: r[c] for c in kept} for r in reader]
    with (folder / "training_runs.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=kept, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    subprocess.run([sys.executable, str(folder / "derive" / "mcore_moe_modelzoo_rows.py")], check=True,
                   capture_output=True, cwd=tmp_path)
    with (folder / "training_runs.csv").open(newline="") as handle:
        written = [r for r in csv.DictReader(handle) if r["source_group"] == "mcore-moe"]
    assert written and all(r["moe_a2a_overlap"] in ("yes", "no") and r["moe_token_dispatcher"] for r in written)
