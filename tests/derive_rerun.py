"""Re-running data/validation/derive scripts on a copy of data/validation: the reproducibility tests' common step."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from archsweep.load.paths import data_dir


def rerun_on_a_copy(tmp_path: Path, runs: Sequence[tuple[str, Sequence[Path | str]]]) -> bytes:
    """The bytes of training_runs.csv after each (script, arguments) of ``runs`` ran, in order, on a copy of
    data/validation/derive and training_runs.csv under ``tmp_path`` (working directory ``tmp_path``); every run
    must exit 0 (else the test fails with the script's name and stderr)."""
    folder = tmp_path / "data" / "validation"
    shutil.copytree(data_dir() / "validation" / "derive", folder / "derive")
    shutil.copyfile(data_dir() / "validation" / "training_runs.csv", folder / "training_runs.csv")
    for script, arguments in runs:
        done = subprocess.run([sys.executable, str(folder / "derive" / script), *map(str, arguments)],
                              capture_output=True, text=True, cwd=tmp_path, check=False)
        assert done.returncode == 0, f"{script}: {done.stderr}"
    return (folder / "training_runs.csv").read_bytes()
