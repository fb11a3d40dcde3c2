"""Design studies and what-ifs search only the mappings their software stack can run."""

from __future__ import annotations

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.stack_parallelism import load_stack_parallelism
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.mapping import RECOMPUTE, enumerate_mappings, restrict_to_stack
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays


def test_restriction_keeps_exactly_the_allowed_values():
    wl = load_workload("llama3-8b")
    mappings, _ = enumerate_mappings(wl)
    fsdp = load_stack_parallelism("pytorch-fsdp")
    kept = restrict_to_stack(mappings, fsdp)
    assert 0 < len(kept) < len(mappings)
    for key, field in (("tp", "tp"), ("pp", "pp"), ("cp", "cp"), ("ep", "ep"), ("vpp", "vpp"), ("zero", "zero_stage")):
        allowed = fsdp.values(key)
        if allowed is not None:
            assert set(np.unique(getattr(kept, field))) <= {float(v) for v in allowed}
    assert {RECOMPUTE[int(r)] for r in np.unique(kept.recompute)} <= set(fsdp.values("recompute") or RECOMPUTE)
    # every mapping of the full set that the stack allows is kept (a filter, nothing invented or lost)
    allowed_rows = sum(all(fsdp.allows(k, RECOMPUTE[int(getattr(m, f)[0])] if k == "recompute" else int(getattr(m, f)[0]))
                           for k, f in (("tp", "tp"), ("pp", "pp"), ("cp", "cp"), ("ep", "ep"), ("vpp", "vpp"),
                                        ("zero", "zero_stage"), ("recompute", "recompute")))
                       for m in (mappings.take(np.array([i])) for i in range(len(mappings))))
    assert len(kept) == allowed_rows


def test_unrestricted_stack_is_the_same_batch():
    wl = load_workload("llama3-8b")
    mappings, _ = enumerate_mappings(wl)
    assert restrict_to_stack(mappings, load_stack_parallelism("megatron-core")) is mappings


def test_fsdp_study_never_gets_tp_or_pipeline_and_is_not_faster():
    wl = load_workload("llama3-8b")
    hw = HardwareArrays.from_designs(get_accelerator("H100-SXM").design.replace(accelerator_count=64))
    cal, tech = load_calibration(stack="pytorch-fsdp"), load_technology()
    free = evaluate_design_batch(hw, wl, tech=tech, calibration=cal)
    fsdp = evaluate_design_batch(hw, wl, tech=tech, calibration=cal, parallelism=load_stack_parallelism("pytorch-fsdp"))
    assert fsdp["tp"][0] == 1 and fsdp["pp"][0] == 1 and fsdp["cp"][0] == 1
    assert fsdp["step_time_s"][0] >= free["step_time_s"][0]  # a subset of mappings: never faster


def test_strategy_the_stack_cannot_run_is_an_input_error():
    kind = TrainingJobKind(load_workload("llama3-8b"), load_calibration(), "tp=2",
                           load_stack_parallelism("pytorch-fsdp"))
    with pytest.raises(InputError) as info:
        kind.mappings()
    assert "pytorch-fsdp" in str(info.value) and "tp in [1]" in str(info.value)
