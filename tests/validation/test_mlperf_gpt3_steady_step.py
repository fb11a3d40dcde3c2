"""MLPerf gpt3 rows compare with the training step between evaluations (issue 10; the step time of
data/validation/derive/mlperf_steady_step.py ``steady_step_tokens``, from the mllog eval markers)."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType

import pytest
from measured_runs import runs

from archsweep.validation.metrics import measured_of


def _rows() -> list[dict[str, str]]:
    return runs(lambda r: r["source_group"] == "mlperf" and r["run_id"].endswith("gpt3"))


def test_gpt3_rows_with_eval_markers_have_a_steady_step() -> None:
    rows = _rows()
    with_steady = [r for r in rows if r["steady_step_time_s"]]
    # NVIDIA, Azure, Oracle (NeMo) and Intel-Habana log eval_start / eval_stop; Google's logs do not.
    assert len(with_steady) == 20
    assert all("Google" in r["run_id"] for r in rows if not r["steady_step_time_s"])
    for r in with_steady:
        ratio = float(r["step_time_s"]) / float(r["steady_step_time_s"])
        assert 1.03 <= ratio <= 1.16, (r["run_id"], ratio)  # evaluations every 24,576 sequences
        assert measured_of(r) == ("step_time_s", float(r["steady_step_time_s"]))


def test_published_log_figure() -> None:
    """NVIDIA v4.0 eos_n64 result_0.txt: 119.9 s of training per 11 steps (GBS 2304) between evaluations."""
    row = next(r for r in _rows() if r["run_id"] == "mlperf_train_v4.0_NVIDIA_eos_n64_ngc24.04_nemo_gpt3")
    assert float(row["steady_step_time_s"]) == pytest.approx(10.9, rel=0.02)


def _log(events: list[tuple[int, str, dict]]) -> str:
    lines = [":::MLLOG " + json.dumps({"time_ms": t, "key": k, "value": v.pop("value", None), "metadata": v})
             for t, k, v in events]
    return "\n".join(lines)


def test_steady_step_tokens_on_a_synthetic_log(derive_script: Callable[[str], ModuleType]) -> None:
    gbs, seq = 4, 10
    per_block = 3 * gbs * seq  # three steps between evaluations
    events = [(0, "global_batch_size", {"value": gbs}), (0, "max_sequence_length", {"value": seq}),
              (0, "run_start", {})]
    t = 50_000  # first block: warm-up, left out
    for k in range(1, 5):
        events += [(t, "eval_start", {"epoch_num": k * per_block}), (t + 7_000, "eval_stop", {"epoch_num": k * per_block})]
        t += 7_000 + 6_000  # 6 s of training: 2 s a step
    text = _log(events)
    assert derive_script("mlperf_steady_step").steady_step_tokens(text) == pytest.approx(2.0)
    assert derive_script("mlperf_steady_step").steady_step_tokens(_log(events[:2])) is None  # no evaluations: no value
