"""The distributed optimizer's weight all-gather with ``overlap_param_gather`` off (Megatron-Bridge v0.2.0
``fp8_mx`` presets, issue 10, s8-presets): gathered after the step, exposed in full. Turning the overlap off
never shortens a step, adds at most the all-gather itself, and changes nothing for ZeRO-3 or DP = 1."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.training import TrainingJob

TECH = load_technology()
B200 = get_accelerator("B200").design


def _step(overlap: bool, count: int, zero: int, model: str = "llama3-405b", layout: str = "tp=4,pp=8,cp=2,vpp=8",
          gbs: int = 64) -> dict[str, float]:
    wl = load_workload(model)
    wl = replace(wl, training=replace(wl.training, global_batch_seqs=gbs, seq_len=8192, precision="fp8",
                                      param_gather_overlap=overlap))
    strategy = f"{layout},ep=1,mb=1,recompute=none,zero={zero},sp=on,fa=on,dp_overlap=on"
    out = evaluate_design_batch(HardwareArrays.from_designs([B200.replace(accelerator_count=count)]), wl, tech=TECH,
                                strategy=strategy, calibration=load_calibration())
    return {k: float(np.ravel(out[k])[0]) for k in ("step_time_s", "dp_comm_exposed_s", "compute_time_s")}


@pytest.mark.parametrize("count", [128, 256, 1024])
def test_exposed_gather_never_shortens_the_step(count):
    """The B200 405B MX layout (TP4 PP8 CP2 VP8, GBS = GPUs / 2): off is slower by more than nothing and
    by less than the stage's BF16 weights over a slow link would take (the compute may run at a higher
    power-limited clock beside the longer exposed all-gather, but never makes up for it)."""
    on, off = _step(True, count, 1, gbs=count // 2), _step(False, count, 1, gbs=count // 2)
    assert off["step_time_s"] > on["step_time_s"]
    assert off["dp_comm_exposed_s"] > on["dp_comm_exposed_s"]
    # 405e9 / (TP4 x PP8) parameters x 2 B gathered over DP x CP: the added time is at most that at 10 GB/s
    assert off["step_time_s"] - on["step_time_s"] < 405e9 / 32 * 2 / 10e9


def test_no_effect_without_a_sharded_optimizer_gather():
    """ZeRO-3 gathers on use (no all-gather after the update); with one DP x CP rank there is no group."""
    assert _step(False, 128, 3)["step_time_s"] == pytest.approx(_step(True, 128, 3)["step_time_s"], rel=1e-12)
    one = {"count": 8, "zero": 1, "model": "llama3-8b", "layout": "tp=8,pp=1,cp=1,vpp=1", "gbs": 8}  # DP x CP = 1
    assert _step(False, **one)["step_time_s"] == pytest.approx(_step(True, **one)["step_time_s"], rel=1e-12)


def test_the_field_is_a_bool():
    with pytest.raises(InputError, match="param_gather_overlap"):
        TrainingJob(global_batch_seqs=1, seq_len=1, param_gather_overlap="no")  # type: ignore[arg-type]
