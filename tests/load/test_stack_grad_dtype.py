"""The gradient buffer and the data-parallel reduce in the dtype each software stack really uses (issue 10, s19-A):
the stack defaults of data/calibration/software_stacks.yaml (``dp_grad_bytes_per_param``,
``dp_grad_reduce_bytes_per_param``; the megatron-core value in data/calibration/model.yaml), a row's stated
``grad_sync_dtype`` winning over them, and a job's memory falling by exactly the buffer's difference."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from measured_runs import runs_by_id

from archsweep.load.calibration import load_calibration, software_stacks
from archsweep.load.catalog import get_accelerator, load_catalog
from archsweep.load.part_physics import job_calibration
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.load.yamlio import load_yaml
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import plan_row

#: stack -> (gradient buffer, data-parallel reduce) bytes per parameter, as the stacks' sources state them:
#: Megatron-LM's BF16 runs force FP32 (arguments.py), the 2021 code's FP16 runs keep FP16, DeepSpeed ZeRO-3 the model
#: dtype, llm-foundry's FSDP reduces in BF16 and up-casts the shard to FP32, MaxText keeps FP32 parameters.
_EXPECTED = {"megatron-core": (4.0, 4.0), "megatron-core-flex": (4.0, 4.0), "megatron-2021": (2.0, 2.0),
             "megatron-deepspeed": (4.0, 4.0), "megatron-core-fa2": (4.0, 4.0), "megatron-core-fa2-fp8": (4.0, 4.0),
             "pytorch-fsdp": (4.0, 2.0), "deepspeed-zero3": (2.0, 2.0), "hf-deepspeed-zero3": (2.0, 2.0),
             "hf-deepspeed-zero3-gaudi": (2.0, 2.0), "xla-tpu": (4.0, 4.0)}
#: The stacks that state their own value in software_stacks.yaml (the others inherit model.yaml's or their base's).
_STATED = ("megatron-2021", "deepspeed-zero3", "pytorch-fsdp", "xla-tpu", "megatron-core-fa2")


def test_every_stack_has_an_expected_gradient_dtype():
    assert set(software_stacks()) == set(_EXPECTED)


@pytest.mark.parametrize("stack", sorted(_EXPECTED))
def test_each_stack_default_resolves(stack):
    cal = load_calibration(stack=stack)
    assert (cal.dp_grad_bytes_per_param, cal.dp_reduce_bytes_per_param()) == _EXPECTED[stack]


@pytest.mark.parametrize("stack", _STATED)
def test_the_stated_stack_defaults_carry_their_sources(stack):
    entry = load_yaml(data_dir() / "calibration" / "software_stacks.yaml")[stack]
    for key in ("dp_grad_bytes_per_param", "dp_grad_reduce_bytes_per_param"):
        if key in entry:
            assert {"value", "source", "locator", "confidence"} <= set(entry[key])
            assert entry[key]["source"] and entry[key]["locator"]
    assert "dp_grad_bytes_per_param" in entry
    model = load_yaml(data_dir() / "calibration" / "model.yaml")["dp_grad_bytes_per_param"]
    assert "arguments.py" in model["source"] and "store_true" in model["source"]  # the flag is off by default


@pytest.mark.parametrize(("stack", "stated", "expected"), [
    ("pytorch-fsdp", "fp32", 4.0), ("pytorch-fsdp", "bf16", 2.0),
    ("megatron-2021", "fp32", 4.0), ("deepspeed-zero3", "fp32", 4.0), ("megatron-core", "bf16", 2.0)])
def test_a_stated_gradient_dtype_wins_over_the_stack_default(stack, stated, expected):
    """The column ``grad_sync_dtype`` (without ``optim_dtype``) sets the buffer and the reduce together."""
    plan = plan_row(runs_by_id()["mbridge_26.02_DGX-GB300_LLAMA3-70B_MXFP8_64"], load_catalog())
    job = replace(plan.workload.training, dfa_state_dtype="", dfa_grad_sync_dtype=stated)
    out = job_calibration(load_calibration(stack=stack), plan.entry, job)
    assert (out.dp_grad_bytes_per_param, out.dp_reduce_bytes_per_param()) == (expected, expected)
    unstated = job_calibration(load_calibration(stack=stack), plan.entry, replace(job, dfa_grad_sync_dtype=""))
    assert (unstated.dp_grad_bytes_per_param, unstated.dp_reduce_bytes_per_param()) == _EXPECTED[stack]


def _memory(run_id: str, grad_bytes: float) -> tuple[float, float]:
    """(total, gradient buffer) bytes of the row's first strategy with ``grad_bytes`` per parameter (the row's job
    calibration, as validation evaluates it)."""
    row = runs_by_id()[run_id]
    plan = plan_row(row, load_catalog())
    cal = replace(load_calibration(stack=calibration_stack(row)), dp_grad_bytes_per_param=grad_bytes)
    cal = job_calibration(cal, plan.entry, plan.workload.training)
    hw = HardwareArrays.from_designs(plan.entry.design.replace(accelerator_count=plan.count))
    r = evaluate_design_batch(hw, plan.workload, tech=load_technology(), strategy=plan.strategies[0], calibration=cal,
                              infeasible="least_violating")
    return float(np.ravel(r["memory_per_accelerator_bytes"])[0]), float(np.ravel(r["memory_gradients_bytes"])[0])


def test_the_2021_fp16_buffer_lowers_a_job_memory_by_exactly_the_buffer_difference():
    """SC21's 1.7B row (FP16, ZeRO 0): the 2021 code's 2-B FP16 buffer is half a 4-B FP32 one, and the
    accelerator's memory falls by exactly that difference (nothing else moves)."""
    run_id = "megatron21_t1_1.7B"
    row = runs_by_id()[run_id]
    assert calibration_stack(row) == "megatron-2021"
    assert load_calibration(stack="megatron-2021").dp_grad_bytes_per_param == 2.0
    total4, grads4 = _memory(run_id, 4.0)
    total2, grads2 = _memory(run_id, 2.0)
    assert grads2 == pytest.approx(grads4 / 2.0, rel=1e-12) and grads2 > 0.0
    assert total4 - total2 == pytest.approx(grads4 - grads2, rel=1e-12)


def test_the_fsdp_bf16_reduce_shortens_the_step_and_leaves_the_memory():
    """pytorch-fsdp: the reduce-scatter moves 2 B per parameter, the FP32 shard it up-casts into stays 4 B: against a
    4-B reduce the ZeRO-3 step is shorter (its collectives serial at the stack's interference 1.0) and the memory
    the same."""
    cal = load_calibration(stack="pytorch-fsdp")
    wl = load_workload("mpt-13b")
    wl = replace(wl, training=replace(wl.training, global_batch_seqs=256, seq_len=2048))
    hw = HardwareArrays.from_designs([get_accelerator("H100-SXM").design.replace(accelerator_count=64, tdp_w=5000.0)])
    zero3 = "tp=1,pp=1,cp=1,ep=1,vpp=1,mb=2,recompute=none,zero=3,sp=off,fa=on,dp_overlap=on"
    bf16, fp32 = (evaluate_design_batch(hw, wl, tech=load_technology(), strategy=zero3, calibration=c)
                  for c in (cal, replace(cal, dp_grad_reduce_bytes_per_param=4.0)))
    assert float(bf16["step_time_s"][0]) < float(fp32["step_time_s"][0])
    assert float(bf16["memory_per_accelerator_bytes"][0]) == float(fp32["memory_per_accelerator_bytes"][0])
