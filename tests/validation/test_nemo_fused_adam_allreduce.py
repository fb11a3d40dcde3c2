"""Issue 10 (s21-D): NeMo 1.x without the distributed optimizer (the MLPerf v4.0 / v4.1 llama2_70b_lora rows whose
``fsdp_zero`` cell states ``optim fused_adam``) all-reduces the gradients after the whole backward when SP or PP > 1
(NVIDIA/NeMo v2.0.0.rc0.beta megatron_base_model.py ``configure_optimizers``: async_grad_allreduce only with pp 1 and
no sequence_parallel; megatron_gpt_model.py ``training_step``: ``allreduce_main_grads`` after ``fwd_bwd_step``), so
those rows run with ``dp_overlap`` off; the graphed v4.1 rows (``mcore_distributed_optim``, overlap_grad_sync) and the
fused_adam rows without SP keep it on."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from measured_runs import runs_by_id

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import load_catalog
from archsweep.load.technology import load_technology
from archsweep.validation.cells import states_fused_adam
from archsweep.validation.rows import calibration_stack, row_calibration
from archsweep.validation.run import evaluate_plan, plan_row

_LORA = "_llama2_70b_lora"
EOS_V40_N8 = "mlperf_train_v4.0_NVIDIA_eos_n8_ngc24.04_nemo" + _LORA


@pytest.mark.parametrize(("cell", "stated"), [
    ("ZeRO-0 (optim fused_adam, not the distributed optimizer)", True),
    ("none (DDP, distributed optimizer)", False),
    ("ZeRO-0 (DeepSpeed zero_optimization.stage 0, run_gpt.sh ZERO_STAGE=0)", False),
    ("", False),
])
def test_states_fused_adam(cell, stated):
    assert states_fused_adam({"fsdp_zero": cell}) is stated


@pytest.mark.parametrize(("run_id", "overlap"), [
    (EOS_V40_N8, "off"),  # fused_adam, SP: synchronous after the backward
    ("mlperf_train_v4.0_NVIDIA_eos_n128_ngc24.04_nemo" + _LORA, "off"),
    ("mlperf_train_v4.1_GigaComputing_G593-ZD1_pytorch" + _LORA, "off"),  # the v4.0 stack in v4.1
    ("mlperf_train_v4.1_NVIDIA_eos_n8_ngc24.09_nemo" + _LORA, "on"),  # mcore_distributed_optim, overlap_grad_sync
    ("mlperf_train_v5.0_AMD_MI300X_EPYC_9575F_pytorch" + _LORA, "on"),  # fused_adam, tp 1 (no SP), pp 1: async
])
def test_row_dp_overlap(run_id, overlap):
    plan = plan_row(runs_by_id()[run_id], load_catalog())
    assert all(f"dp_overlap={overlap}" in s for s in plan.strategies)


def test_synchronous_allreduce_is_the_whole_reduce():
    """With the overlap off the step carries the whole FP32 adapter all-reduce (DP 8 x CP 2 over eight DGX H100):
    1-3 ms more exposed than the overlapped form, the compute unchanged."""
    row = runs_by_id()[EOS_V40_N8]
    plan = plan_row(row, load_catalog())
    cal = row_calibration(row, load_calibration(stack=calibration_stack(row)), plan.workload.architecture)
    tech = load_technology()
    off = evaluate_plan(plan, plan.strategies[0], {}, tech, cal)
    on_text = plan.strategies[0].replace("dp_overlap=off", "dp_overlap=on")
    on = evaluate_plan(dataclasses.replace(plan, strategies=(on_text,)), on_text, {}, tech, cal)
    value = lambda r, k: float(np.ravel(r[k])[0])  # noqa: E731
    extra = value(off, "dp_comm_exposed_s") - value(on, "dp_comm_exposed_s")
    assert 1e-3 < extra < 3e-3
    assert value(off, "compute_time_s") == pytest.approx(value(on, "compute_time_s"), rel=1e-12)
    assert value(off, "step_time_s") - value(on, "step_time_s") == pytest.approx(extra, rel=1e-6)
