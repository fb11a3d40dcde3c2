"""Full recompute re-runs a MoE layer's forward dispatch and combine (s9-a2a, issue 10): Megatron-Core's
full recompute checkpoints whole transformer layers (NVIDIA/Megatron-LM @d98e8a64dd
megatron/core/recompute.py ``checkpointed_forward``), so a recomputed MoE layer sends its two forward
all-to-alls again: 6 per layer and micro-batch instead of 4, exposed (no overlap under full recompute)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.training.communication import ep_alltoalls_per_layer
from archsweep.model.training.mapping import RECOMPUTE, enumerate_mappings
from archsweep.spec.hardware import HardwareArrays

TECH = load_technology()
H100 = get_accelerator("H100-SXM").design.replace(accelerator_count=256)
BASE = "tp=1,pp=1,cp=1,ep=16,vpp=1,mb=8,zero=3"


def _run(strategy: str, cal) -> dict[str, float]:
    wl = load_workload("deepseek-v3")
    wl = replace(wl, training=replace(wl.training, seq_len=4096, global_batch_seqs=8192, precision="fp8"))
    out = evaluate_design_batch(HardwareArrays.from_designs([H100]), wl, tech=TECH, calibration=cal,
                                strategy=strategy, infeasible="least_violating")
    return {k: float(np.ravel(out[k])[0]) for k in ("step_time_s", "ep_comm_exposed_s", "recompute_time_s")}


def test_count_is_six_exactly_under_full_recompute():
    mappings, _ = enumerate_mappings(load_workload("mixtral-8x7b"))
    count = ep_alltoalls_per_layer(mappings)
    full = mappings.recompute == RECOMPUTE.index("full")
    assert np.any(full) and np.any(~full)
    assert np.all(count[full] == 6.0) and np.all(count[~full] == 4.0)


def test_full_recompute_exposes_half_as_much_again_of_the_all_to_all():
    """At pp = 1 (no overlap either way) the full-recompute mapping's exposed EP time is 1.5x the
    same mapping's without recompute, on both dispatchers (the per-domain rule and the all-to-all)."""
    for per_domain in (0.0, 1.0):
        cal = replace(load_calibration(stack="megatron-core-flex"), moe_dispatch_per_domain=per_domain)
        none, full = _run(BASE + ",recompute=none", cal), _run(BASE + ",recompute=full", cal)
        assert none["ep_comm_exposed_s"] > 0.0
        assert np.isclose(full["ep_comm_exposed_s"], 1.5 * none["ep_comm_exposed_s"], rtol=1e-9)
        assert full["step_time_s"] > none["step_time_s"] - none["ep_comm_exposed_s"]


def test_selective_recompute_keeps_four():
    cal = load_calibration(stack="megatron-core-flex")
    none, sel = _run(BASE + ",recompute=none", cal), _run(BASE + ",recompute=selective", cal)
    assert np.isclose(sel["ep_comm_exposed_s"], none["ep_comm_exposed_s"], rtol=1e-12)
