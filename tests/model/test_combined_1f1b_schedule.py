"""The interleaved schedule with and without Megatron-Core's combined-1F1B EP overlap (benchmarks/
combined_1f1b_schedule.py, an event simulation of schedules.py / combined_1f1b.py @b0cc2706dd), and the pipeline
transfer time the model charges for it (s10-h100moe): the merged forward + backward call sends both outputs at its
end, so one transfer per steady-state step is on the critical path, which is what
``pipeline_p2p_exposed_sends`` charges with Megatron-Core's ``pipeline_p2p_overlap`` (0.5 each way)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_benchmark

from archsweep.load.calibration import load_calibration
from archsweep.model.training.communication import pipeline_p2p_exposed_sends
from archsweep.model.training.mapping import MappingArrays

LAYOUTS = [(2, 12, 128), (2, 24, 32), (4, 4, 64), (8, 4, 128)]  # (pp, vpp, micro-batches): the H100 Qwen3 rows' and two more


@pytest.fixture(scope="module")
def sched():
    return load_benchmark("combined_1f1b_schedule")


@pytest.mark.parametrize(("pp", "vpp", "m"), LAYOUTS)
def test_without_transfers_both_schedules_keep_the_devices_busy(sched, pp, vpp, m):
    """No transfer time: the makespan is the busiest rank's compute plus the interleaved fill (< 3 %); the
    combined schedule's extra warm-up forward does not serialise the stages, not even at pp = 2."""
    compute = 3.0 * m * vpp  # forward 1 + backward 2 per chunk
    for combined in (False, True):
        assert compute <= sched.makespan(pp, vpp, m, combined, 0.0) <= 1.03 * compute


@pytest.mark.parametrize(("pp", "vpp", "m"), LAYOUTS)
def test_the_combined_call_exposes_one_transfer_per_step_as_the_model_charges(sched, pp, vpp, m):
    p = 0.1
    steady = m * vpp - ((vpp - 1) * pp + 1)
    exposed = {c: (sched.makespan(pp, vpp, m, c, p) - sched.makespan(pp, vpp, m, c, 0.0)) / p for c in (False, True)}
    assert exposed[False] < 0.2 * steady  # the plain schedule hides its sends under the other direction's chunk
    assert 0.95 * steady <= exposed[True] <= 1.2 * steady
    # The model's steady-state charge (both directions, warm-up and cool-down passes apart): vpp m sends.
    cal = load_calibration()
    assert cal.pipeline_p2p_overlap == 0.5
    one = np.ones(1)
    mp = MappingArrays(tp=one, pp=pp * one, cp=one, ep=one, vpp=vpp * one, micro_batch=one, recompute=0 * one,
                       zero_stage=one, sequence_parallel=0 * one, flash_attention=one, tp_overlap=0 * one,
                       dp_overlap=one)
    charged = 2.0 * float(pipeline_p2p_exposed_sends(mp, cal, m * one)[0])
    unpaired = 2.0 * (2.0 * (pp - 1) + (vpp - 1) * pp)
    assert charged - unpaired == pytest.approx(m * vpp)
    assert exposed[True] == pytest.approx(charged - unpaired, rel=0.2)
