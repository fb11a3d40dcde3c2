"""The Megatron-Bridge derive scripts reproduce data/validation/training_runs.csv byte for byte from the clone at the
commits pinned in pinned_mirrors.py (issue 10, s21-L): each script run alone on a copy of the CSV, and the forward
rows rebuilt from scratch by mbridge_archive_rows.py followed by the scripts that fill what it writes back (in the
order the committed ``derived`` notes stand in). pipeline_layout.py has its own such test
(tests/validation/test_pipeline_layout_rows.py); the scripts that read no clone, test_derive_idempotent.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from derive_rerun import rerun_on_a_copy

from archsweep.load.paths import data_dir

CLONE = Path("/work/.mirror/NVIDIA-NeMo+Megatron-Bridge/repo")
CSV = data_dir() / "validation" / "training_runs.csv"
#: The derive scripts whose one argument is the Megatron-Bridge clone (pipeline_layout.py: its own test), but
#: mbridge_archive_rows.py (:data:`REBUILD`).
SCRIPTS = ("mbridge_2509_rows.py", "mbridge_2511_gptoss_ep.py", "mbridge_2511_layout.py", "mbridge_carried_layout.py",
           "mbridge_fp8_params.py", "mbridge_grad_reduce.py", "mbridge_known_issues.py", "mbridge_param_gather.py",
           "mbridge_preset_vpp.py", "mbridge_unfit_table_layouts.py")
#: mbridge_archive_rows.py writes the table's cells back over the forward rows (vpp "n/a"; the 26.02 row's
#: fp8_params, none where no 26.02 row of the model, system and precision; the table layout of the two unfit
#: 26.02.01 rows) and drops the later scripts' notes; these put them back (s21-L: the note order is the committed
#: one only with mbridge_unfit_table_layouts.py after mbridge_grad_reduce.py; s21-K's mbridge_carried_layout.py
#: restates the preset layout of the 26.02.01 line that carries the 26.02 cells, right after the archive).
REBUILD = ("mbridge_archive_rows.py", "mbridge_carried_layout.py", "mbridge_preset_vpp.py", "mbridge_fp8_params.py",
           "mbridge_grad_reduce.py", "mbridge_unfit_table_layouts.py")
_CLONE = pytest.mark.skipif(not CLONE.exists() or shutil.which("git") is None, reason="needs the Megatron-Bridge clone")


def _run_on_a_copy(tmp_path: Path, scripts: tuple[str, ...]) -> bytes:
    """The CSV after ``scripts`` ran in order (each with the clone) on a copy of data/validation."""
    return rerun_on_a_copy(tmp_path, [(script, [CLONE]) for script in scripts])


@_CLONE
@pytest.mark.parametrize("script", SCRIPTS)
def test_each_script_alone_leaves_the_csv_byte_identical(tmp_path: Path, script: str) -> None:
    assert _run_on_a_copy(tmp_path, (script,)) == CSV.read_bytes()


@_CLONE
@pytest.mark.slow
def test_the_forward_rows_rebuilt_in_order_are_the_committed_ones(tmp_path: Path) -> None:
    assert _run_on_a_copy(tmp_path, REBUILD) == CSV.read_bytes()
