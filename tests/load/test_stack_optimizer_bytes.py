"""The 2021 Megatron-LM FP16 step's HBM passes (software_stacks.yaml megatron-2021 ``optimizer_bytes_per_param``,
counted from NVIDIA/Megatron-LM @83c4d95): 64 B per local parameter, not model.yaml's generic 36-B Adam pass; it
moves only the optimizer term of SC21's rows, by exactly the bytes over the HBM rate."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from measured_runs import runs_by_id

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import load_catalog
from archsweep.load.part_physics import job_calibration
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.load.yamlio import load_yaml
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import plan_row


def test_the_2021_stack_states_its_counted_value():
    entry = load_yaml(data_dir() / "calibration" / "software_stacks.yaml")["megatron-2021"]["optimizer_bytes_per_param"]
    assert entry["value"] == 64 and "@83c4d95" in entry["source"] and entry["confidence"]
    # 12 (flatten, divide, copy back) + 6 (FP32 copy) + 8 (unscale) + 4 (norm) + 28 (FusedAdam) + 6 (to FP16)
    assert 12 + 6 + 8 + 4 + 28 + 6 == entry["value"]
    assert load_calibration(stack="megatron-2021").optimizer_bytes_per_param == 64
    assert load_calibration(stack="megatron-core").optimizer_bytes_per_param == 36


def test_only_the_optimizer_term_of_an_sc21_row_moves():
    row = runs_by_id()["megatron21_t1_1.7B"]
    assert calibration_stack(row) == "megatron-2021"
    plan = plan_row(row, load_catalog())
    cal = job_calibration(load_calibration(stack="megatron-2021"), plan.entry, plan.workload.training)
    hw = HardwareArrays.from_designs(plan.entry.design.replace(accelerator_count=plan.count))
    out = [evaluate_design_batch(hw, plan.workload, tech=load_technology(), strategy=plan.strategies[0],
                                 calibration=c, infeasible="least_violating")
           for c in (cal, replace(cal, optimizer_bytes_per_param=36.0))]
    opt = [float(np.ravel(r["optimizer_time_s"])[0]) for r in out]
    step = [float(np.ravel(r["step_time_s"])[0]) for r in out]
    assert opt[0] == pytest.approx(opt[1] * 64 / 36, rel=1e-9)
    assert step[0] - step[1] == pytest.approx(opt[0] - opt[1], rel=1e-6)
