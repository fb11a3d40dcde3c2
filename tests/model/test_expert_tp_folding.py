"""EP folded over TP (Megatron-Core MoE parallel folding, ETP = 1): a mapping with EP > DP x CP is
valid when EP divides TP x DP x CP, and conserves the expert work (issue 10, the EP=32 rows)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays

TECH, CAL = load_technology(), load_calibration()


def _run(strategy: str, count: int = 64):
    wl = load_workload("mixtral-8x7b")
    wl = replace(wl, training=replace(wl.training, global_batch_seqs=256))
    hw = HardwareArrays.from_designs([get_accelerator("H100-SXM").design.replace(accelerator_count=count)])
    return evaluate_design_batch(hw, wl, tech=TECH, calibration=CAL, strategy=strategy, infeasible="least_violating")


def test_ep_beyond_dp_folds_over_tp_and_keeps_the_flops():
    # 64 GPUs, TP 4 x PP 4 -> DP 4: EP 8 > DP only valid folded over TP (ETP = 1).
    folded = _run("tp=4,pp=4,cp=1,ep=8,vpp=1,mb=1,recompute=none,zero=1")
    assert folded["violation_mapping"][0] <= 0
    split = _run("tp=4,pp=4,cp=1,ep=4,vpp=1,mb=1,recompute=none,zero=1")
    # Matrix FLOPs per step (hfu x step time x peak): the same expert work, differently laid out.
    assert np.isclose(folded["hfu"][0] * folded["step_time_s"][0], split["hfu"][0] * split["step_time_s"][0], rtol=1e-6)
    # EP 32 does not divide TP x DP x CP = 16: invalid.
    assert _run("tp=4,pp=4,cp=1,ep=32,vpp=1,mb=1,recompute=none,zero=1")["violation_mapping"][0] > 0


def test_folded_experts_hold_unsplit_weights():
    """ETP = 1: each rank holds E/EP whole experts; with ETP = tp it holds E/EP experts split by tp."""
    folded = _run("tp=4,pp=4,cp=1,ep=8,vpp=1,mb=1,recompute=none,zero=1")
    split = _run("tp=4,pp=4,cp=1,ep=4,vpp=1,mb=1,recompute=none,zero=1")
    # E/8 whole experts (folded) vs E/4 experts / 4 (split): folded holds 2x the expert weights.
    assert folded["memory_weights_bytes"][0] > split["memory_weights_bytes"][0]
