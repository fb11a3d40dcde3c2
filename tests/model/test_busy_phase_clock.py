"""The TDP cap holds the busy phase's power, not the step's average (issue 10, s16-phaseclock): a GPU's power controller
reacts within milliseconds, a training step's forward / backward stretch lasts seconds, so its clock is set by that
stretch's own power (``power_busy_w``: the busiest stage's dynamic energy over its busy phase, plus leakage) while the
bubble, the exposed data-parallel sync and the optimizer are phases of their own (model/driver.py ``_dvfs``)."""

from __future__ import annotations

import numpy as np
import pytest
from model_helpers import first, part_batch, tp8_sp_mapping

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.training.job_kind import busy_phase_s
from archsweep.model.training.step import training_step
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
TECH = load_technology()
LLAMA = load_workload("llama3-70b")
COUNT = 1024
#: pp 4 with exposed DP sync and a bubble: a step whose average power sits well below its busy phase's
STRATEGY = "tp=8,pp=4,cp=1,ep=1,vpp=1,mb=1,recompute=none,zero=1,sp=on,fa=on,dp_overlap=off"


def _run(tdp_w: float, part: str = "H100-SXM", strategy: str = STRATEGY) -> dict[str, np.ndarray]:
    design = get_accelerator(part).design.replace(accelerator_count=COUNT, tdp_w=tdp_w)
    return evaluate_design_batch(HardwareArrays.from_designs([design]), LLAMA, tech=TECH, strategy=strategy,
                                 calibration=CAL)


@pytest.fixture(scope="module")
def free() -> dict[str, np.ndarray]:
    return _run(1e6)


def test_the_busy_phase_is_part_of_the_step_and_draws_at_least_its_average(free):
    """Busy phase: compute, recompute and the per-layer waits; the bubble, the exposed DP sync and the optimizer are
    outside it, so it is shorter than the step and its power above the step's average."""
    assert first(free["bubble_time_s"]) > 0 and first(free["dp_comm_exposed_s"]) > 0
    busy = (first(free["compute_time_s"]) + first(free["recompute_time_s"]) + first(free["tp_comm_exposed_s"])
            + first(free["cp_comm_exposed_s"]) + first(free["ep_comm_exposed_s"]) + first(free["offload_exposed_s"]))
    assert 0 < busy < first(free["step_time_s"])
    assert first(free["power_busy_w"]) > first(free["power_busiest_w"]) >= first(free["power_w"]) > 0
    static = first(free["power_static_w"])
    # the same dynamic energy over the shorter phase
    ratio = (first(free["power_busy_w"]) - static) / (first(free["power_busiest_w"]) - static)
    assert ratio == pytest.approx(first(free["step_time_s"]) / busy, rel=1e-9)


def test_the_busy_phase_and_the_phases_outside_it_partition_the_step():
    """Every term of the step is in the busy phase or in one of the phases the controller sees apart (bubble,
    pipeline sends, exposed DP sync, optimizer): a step term added to neither would break the sum (s17-E: the test
    restated busy_phase_s's own sum before)."""
    result = training_step(part_batch("H100-SXM", 32), LLAMA, tp8_sp_mapping(4), CAL)
    outside = result.bubble_time_s + result.pp_comm_exposed_s + result.dp_comm_exposed_s + result.optimizer_time_s
    assert result.valid.all() and np.all(result.bubble_time_s > 0) and np.all(result.optimizer_time_s > 0)
    np.testing.assert_allclose(busy_phase_s(result) + outside, result.step_time_s, rtol=1e-12, atol=0)
    assert np.all(busy_phase_s(result) < result.step_time_s)


def test_a_cap_between_the_average_and_the_busy_power_lowers_the_clock(free):
    """The new rule: a TDP the step's average meets but the busy phase does not is binding (on the step-average rule
    it was not): the clock falls, the busy phase fits the TDP, the step lengthens; nothing NaN."""
    tdp = 0.5 * (first(free["power_busy_w"]) + first(free["power_busiest_w"]))
    capped = _run(tdp)
    assert first(capped["clock_hz"]) < first(free["clock_hz"])
    assert first(capped["power_busy_w"]) <= tdp * (1 + 1e-9)
    assert first(capped["power_busiest_w"]) <= first(capped["power_busy_w"])
    assert first(capped["power_w"]) <= tdp
    assert first(capped["step_time_s"]) > first(free["step_time_s"])
    assert all(np.all(np.isfinite(np.asarray(v, dtype=float))) for k, v in capped.items()
               if k.startswith(("power", "energy", "step", "clock")))


def test_uncapped_parts_are_unchanged(free):
    """A TDP above the busy phase's power: the nominal clock, and every column equal to a far larger TDP's but the
    TDP's own and the violation against it."""
    at_limit = _run(1.001 * first(free["power_busy_w"]))
    assert first(at_limit["clock_hz"]) == first(free["clock_hz"])
    for name, value in free.items():
        if name in ("tdp_w", "violation_tdp", "feasible"):
            continue
        np.testing.assert_array_equal(np.asarray(at_limit[name]), np.asarray(value), err_msg=name)


@pytest.mark.parametrize("part", ["H100-SXM", "B200"])
def test_step_time_falls_monotonically_as_the_tdp_rises(free, part):
    """A larger power budget never makes the step slower; at every TDP the busy phase fits it."""
    top = first(_run(1e6, part)["power_busy_w"])
    steps = []
    for share in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1):
        out = _run(share * top, part)
        assert first(out["power_busy_w"]) <= share * top * (1 + 1e-9)
        steps.append(first(out["step_time_s"]))
    assert all(np.isfinite(steps))
    assert all(a >= b for a, b in zip(steps, steps[1:]))
    assert steps[0] > steps[-1]
