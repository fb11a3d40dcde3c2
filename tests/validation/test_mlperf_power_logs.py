"""The MLPerf Training power-log reader behind s11-gbpower's node-power comparison
(data/validation/derive/mlperf_power_logs.py): the run window from a result file, and per analyser log the
in-run median, the lowest reading and the median more than 20 s after the run."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType

import pytest


def _line(key: str, value: object, time_ms: float = 0.0) -> str:
    return ":::MLLOG " + json.dumps({"namespace": "", "time_ms": time_ms, "event_type": "POINT_IN_TIME", "key": key,
                                     "value": value, "metadata": {}})


def test_run_window_reads_the_start_and_stop_markers(derive_script: Callable[[str], ModuleType]) -> None:
    text = "\n".join([_line("init_start", None, 1_000), _line("run_start", None, 5_000), "noise",
                      _line("run_stop", None, 65_000)])
    assert derive_script("mlperf_power_logs").run_window(text) == (5_000.0, 65_000.0)


def test_run_window_without_markers_stops(derive_script: Callable[[str], ModuleType]) -> None:
    with pytest.raises(SystemExit, match="run_start / run_stop"):
        derive_script("mlperf_power_logs").run_window(_line("run_start", None, 5_000))
    with pytest.raises(SystemExit, match=r"^m @0fdc28f0: A/results/s/llama2_70b_lora/result_3\.txt: result file without "
                                         r"run_start / run_stop markers \(found \['run_start'\]"):
        derive_script("mlperf_power_logs").run_window(_line("run_start", None, 5_000),
                                                      "m @0fdc28f0: A/results/s/llama2_70b_lora/result_3.txt")


def test_node_summary_splits_the_run_from_the_idle_tail(derive_script: Callable[[str], ModuleType]) -> None:
    readings = [(0, 2500.0), (10_000, 7000.0), (20_000, 7100.0), (30_000, 3000.0), (40_000, 7050.0),  # in the run
                (55_000, 2600.0),  # 5 s after the stop: ramp-down, not idle
                (80_000, 2200.0), (90_000, 2180.0), (100_000, 2220.0)]  # more than 20 s after the stop
    text = "\n".join([_line("conversion_eff", 0.94)] + [_line("power_reading", w, t) for t, w in readings]
                     + [_line("power_reading", "n/a", 45_000)])  # a reading that is not a number is ignored
    s = derive_script("mlperf_power_logs").node_summary(text, 10_000.0, 50_000.0)
    assert s.readings == len(readings)
    assert s.in_run_median_w == pytest.approx(7025.0)  # median of 7000, 7100, 3000, 7050: one evaluation dip
    assert s.lowest_w == pytest.approx(2180.0)
    assert s.after_run_median_w == pytest.approx(2200.0)
    assert s.conversion_eff == pytest.approx(0.94)


def test_log_without_an_in_run_reading_gives_none(derive_script: Callable[[str], ModuleType]) -> None:
    text = _line("power_reading", 500.0, 1_000)
    assert derive_script("mlperf_power_logs").node_summary(text, 10_000.0, 50_000.0) is None


def test_log_ending_with_the_run_has_no_after_run_figure(derive_script: Callable[[str], ModuleType]) -> None:
    text = "\n".join(_line("power_reading", w, t) for t, w in [(10_000, 9600.0), (20_000, 9650.0), (50_000, 9630.0)])
    s = derive_script("mlperf_power_logs").node_summary(text, 10_000.0, 50_000.0)
    assert s.after_run_median_w is None and s.conversion_eff is None
    assert s.in_run_median_w == pytest.approx(9630.0)
