"""Reliability: Llama 3 calibration, goodput bounds and monotonicity, scale changes the winner."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_area import TECH, arrays, design

from archsweep.model import reliability as rel


def test_llama3_interruption_rate_reproduced() -> None:
    hw = arrays(design("H100-SXM").replace(accelerator_count=16384))
    per_day = rel.job_failure_rate_per_s(hw, TECH) * 86400
    np.testing.assert_allclose(per_day, 419 / 54, rtol=1e-6)  # one interruption every ~3.1 h


def test_llama3_405b_goodput_about_90_percent() -> None:
    hw = arrays(design("H100-SXM").replace(accelerator_count=16384))
    ckpt = rel.checkpoint_size_bytes(405e9, TECH)
    g = rel.goodput(rel.checkpoint_write_s(hw, TECH, ckpt), rel.restart_s(hw, TECH, ckpt),
                    1 / rel.job_failure_rate_per_s(hw, TECH))
    assert 0.85 < float(g[0]) < 0.95  # paper: "higher than 90% effective training time"


@settings(max_examples=50, deadline=None)
@given(delta=st.floats(0.1, 1e4), restart=st.floats(0, 1e4), mtbf=st.floats(10, 1e8))
def test_goodput_bounded_and_falls_with_failure_rate(delta: float, restart: float, mtbf: float) -> None:
    g = rel.goodput(np.array([delta, delta]), np.array([restart, restart]), np.array([mtbf, mtbf / 2]))
    assert np.all((g > 0) & (g <= 1))
    assert g[1] <= g[0]


def test_goodput_falls_with_scale() -> None:
    counts = [1024, 4096, 16384, 65536]
    hw = arrays(*(design("H100-SXM").replace(accelerator_count=n) for n in counts))
    ckpt = np.full(4, 70e9 * 14)
    g = rel.goodput(rel.checkpoint_write_s(hw, TECH, ckpt), rel.restart_s(hw, TECH, ckpt),
                    1 / rel.job_failure_rate_per_s(hw, TECH))
    assert np.all(np.diff(g) < 0)


def test_reliability_changes_the_winner_at_scale() -> None:
    # Design X: 32K small accelerators, 3% more raw throughput than design Y: 8K accelerators
    # with 4x the throughput each. Without failures X trains faster; with failures Y wins.
    h = design("H100-SXM")
    hw = arrays(h.replace(accelerator_count=32768), h.replace(accelerator_count=8192))
    tokens_per_s = np.array([1.03e7, 1.0e7])
    ckpt = np.full(2, 405e9 * 14)
    g = rel.goodput(rel.checkpoint_write_s(hw, TECH, ckpt), rel.restart_s(hw, TECH, ckpt),
                    1 / rel.job_failure_rate_per_s(hw, TECH))
    ideal = rel.time_to_train_s(15e12, tokens_per_s, np.ones(2))
    real = rel.time_to_train_s(15e12, tokens_per_s, g)
    assert ideal[0] < ideal[1] and real[0] > real[1]


def test_daly_interval_close_to_young_for_small_delta() -> None:
    tau = rel.daly_interval_s(np.array([10.0]), np.array([1e5]))
    np.testing.assert_allclose(tau, np.sqrt(2 * 10 * 1e5), rtol=0.02)
