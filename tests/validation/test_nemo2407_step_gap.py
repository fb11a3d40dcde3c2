"""benchmarks/nemo2407_step_gap.py (s11-nemo2407, docs/model-accuracy.md): the step time from batch, sequence,
GPUs and tokens/s/GPU, the line fitted through the per-step gaps, and the clear errors on a cell it cannot use
(review of s11: an empty batch / sequence / GPU count was read as 1, a metric other than tokens/s/GPU as one)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import load_benchmark

_RUN_COLUMNS = ("run_id", "global_batch_seqs", "seq_len", "num_accels", "tp", "pp", "cp", "micro_batch")
_ROW_COLUMNS = ("run_id", "metric", "measured", "predicted", "status", "source_group")


@pytest.fixture(scope="module")
def gap():
    return load_benchmark("nemo2407_step_gap")


def _write(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _files(tmp_path: Path, model_steps: list[float], gap_s: float, run: dict[str, str] | None = None,
           metric: str = "tokens_per_s_per_gpu") -> tuple[Path, Path]:
    """Three pre-training rows of 8 GPUs, 64 x 4096 tokens (32,768 per GPU a step), tp 2 / pp and cp empty
    (1), micro-batch 1: 16 micro-batches; measured step = model step + ``gap_s``."""
    runs, rows = [], []
    for i, model in enumerate(model_steps):
        run_id = f"nemo2407_M{i}_8gpu"
        runs.append({"run_id": run_id, "global_batch_seqs": "64", "seq_len": "4096", "num_accels": "8", "tp": "2",
                     "pp": "", "cp": "", "micro_batch": "1"} | (run or {}))
        rows.append({"run_id": run_id, "metric": metric, "measured": repr(32768 / (model + gap_s)),
                     "predicted": repr(32768 / model), "status": "ok", "source_group": "nemo"})
    return (_write(tmp_path / "rows.csv", _ROW_COLUMNS, rows), _write(tmp_path / "runs.csv", _RUN_COLUMNS, runs))


def test_a_constant_gap_fits_with_slope_zero(gap, tmp_path: Path) -> None:
    rows, runs = _files(tmp_path, [1.0, 2.0, 4.0], 0.25)
    gaps = gap.step_gaps(rows, runs)
    assert [g[1] for g in gaps] == [16.0, 16.0, 16.0] and all(g[4] for g in gaps)
    assert [g[2] - g[3] for g in gaps] == pytest.approx([0.25] * 3)
    intercept, slope, mean_gap, k, resid_const, _ = gap.fit(gaps)
    assert (intercept, slope, mean_gap, resid_const) == pytest.approx((0.25, 0.0, 0.25, 0.0), abs=1e-12)
    assert k == pytest.approx(0.25 * 7 / 21)  # sum(x g) / sum(x^2) = 0.25 (1 + 2 + 4) / (1 + 4 + 16)


@pytest.mark.parametrize("column", ["global_batch_seqs", "seq_len", "num_accels"])
def test_an_empty_batch_sequence_or_gpu_count_stops(gap, tmp_path: Path, column: str) -> None:
    rows, runs = _files(tmp_path, [1.0, 2.0, 4.0], 0.25, run={column: ""})
    with pytest.raises(SystemExit, match=rf"runs\.csv: run_id 'nemo2407_M0_8gpu', column '{column}': ''; "
                                         r"allowed: a positive number$"):
        gap.step_gaps(rows, runs)


def test_a_metric_other_than_tokens_per_gpu_stops(gap, tmp_path: Path) -> None:
    rows, runs = _files(tmp_path, [1.0, 2.0, 4.0], 0.25, metric="step_time_s")
    with pytest.raises(SystemExit, match=r"rows\.csv: run_id 'nemo2407_M0_8gpu', column 'metric': 'step_time_s'; "
                                         "allowed: tokens_per_s_per_gpu"):
        gap.step_gaps(rows, runs)
