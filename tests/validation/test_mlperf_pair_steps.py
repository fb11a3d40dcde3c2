"""The MLPerf steady-step reader behind the GB200 / B200 same-configuration pairs (s8-gb200,
data/validation/derive/mlperf_pair_steps.py): median of one file's ``tracked_stats`` step times, markers kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType

import pytest


def _line(key: str, value: object) -> str:
    return ":::MLLOG " + json.dumps({"namespace": "", "time_ms": 0, "event_type": "POINT_IN_TIME", "key": key,
                                     "value": value, "metadata": {}})


def test_file_step_is_the_median_of_the_tracked_step_times(derive_script: Callable[[str], ModuleType]) -> None:
    text = "\n".join([
        _line("global_batch_size", 16), _line("gradient_accumulation_steps", 1.0),
        _line("submission_platform", "2xNVIDIA GB200"),
        _line("tracked_stats", {"train_step_time": 0.41, "throughput": 1.0}),
        "garbage line", ":::MLLOG {not json",
        _line("tracked_stats", {"train_step_time": 0.40}),
        _line("tracked_stats", {"train_step_time": 0.52}),  # one slow step (an evaluation boundary) does not move it
        _line("tracked_stats", {"throughput": 2.0}),  # no step time: ignored
    ])
    step, markers = derive_script("mlperf_pair_steps").file_step(text)
    assert step == pytest.approx(0.41)
    assert markers == {"global_batch_size": 16, "gradient_accumulation_steps": 1.0,
                       "submission_platform": "2xNVIDIA GB200"}


def test_file_without_tracked_steps_gives_none(derive_script: Callable[[str], ModuleType]) -> None:
    step, _ = derive_script("mlperf_pair_steps").file_step(_line("global_batch_size", 8))
    assert step is None
