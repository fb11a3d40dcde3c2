"""``training_step(..., work_counts=False)`` (the pruned search's exact scores): every time, memory and feasibility
array equal, element for element, to the full step's; the work counts NaN (s15-speed)."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.workloads import load_workload
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.step import training_step
from archsweep.model.training.work_counts import DeviceWork
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
WORK = ("matrix_flops", "hbm_bytes", "scaleup_bytes", "scaleout_bytes", "busiest")


@pytest.mark.parametrize("name", ["llama3-70b", "deepseek-v3"])
def test_the_step_without_work_counts_is_the_same_step(name):
    wl = load_workload(name)
    kind = TrainingJobKind(wl, CAL, None)
    mp = kind.mappings()
    hw = HardwareArrays.from_designs([get_accelerator("H100-SXM").design.replace(accelerator_count=c) for c in (256, 4096)])
    hw = HardwareArrays(**{k: np.asarray(v).reshape(-1, 1) if np.ndim(v) else v for k, v in hw.columns().items()})
    mp2 = mp.reshape((1, len(mp)))
    with np.errstate(all="ignore"):
        full = training_step(hw, wl, mp2, CAL, kind.fixed_dp)
        lean = training_step(hw, wl, mp2, CAL, kind.fixed_dp, work_counts=False)
    assert bool(np.any(full.valid))
    for f in fields(full):
        a, b = getattr(full, f.name), getattr(lean, f.name)
        if f.name in WORK:
            parts = [getattr(b, g.name) for g in fields(DeviceWork)] if f.name == "busiest" else [b]
            assert all(np.shape(p) == np.shape(full.step_time_s) and np.isnan(p).all() for p in parts), f.name
        elif f.name == "memory":
            for g in fields(a):
                np.testing.assert_array_equal(getattr(b, g.name), getattr(a, g.name), err_msg=g.name)
        else:
            np.testing.assert_array_equal(b, a, err_msg=f.name)
