"""PyTorch FSDP's per-micro-batch HBM passes beside its collectives (issue 10, s19-J; model.training.fsdp_passes):
the split-backward concatenation and pre-divide over the un-sharded BF16 gradient, the post-divide and FP32 up-cast
of the reduced shard, its FP32 accumulation from the second micro-batch on, and the two FP32 -> BF16 shard casts
before the all-gathers (pytorch/pytorch _runtime_utils.py / default_hooks.py; data/calibration/software_stacks.yaml
``pytorch-fsdp``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration, software_stacks
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.hbm_pass import hbm_pass_s
from archsweep.model.training.fsdp_passes import fsdp_pass_bytes
from archsweep.spec.hardware import HardwareArrays

TECH = load_technology()
KEYS = ("fsdp_unsharded_grad_pass_bytes_per_param", "fsdp_shard_grad_pass_bytes_per_param",
        "fsdp_shard_accumulate_bytes_per_param", "fsdp_param_cast_bytes_per_param")
ZERO3 = "tp=1,pp=1,cp=1,ep=1,vpp=1,mb=2,recompute=none,zero=3,sp=off,fa=on,dp_overlap=on"


def _off(cal):
    return replace(cal, **{k: 0.0 for k in KEYS})


def test_fsdp_stack_states_the_counted_bytes_and_no_other_stack_prices_them():
    cal = load_calibration(stack="pytorch-fsdp")
    assert [getattr(cal, k) for k in KEYS] == [8.0, 10.0, 12.0, 6.0]  # 2+2 + 2+2; 2+2 + 2+4; 4+4+4; 4+2 per cast
    for stack in software_stacks():
        if stack != "pytorch-fsdp":
            assert all(getattr(load_calibration(stack=stack), k) == 0.0 for k in KEYS), stack


def test_hand_computed_bytes():
    """1e9 stage parameters sharded over 8, 4 micro-batches, FULL_SHARD: per micro-batch 1e9 x 8 + 1.25e8 x (10 + 2 x 6)
    B, and three accumulations of 1.25e8 x 12 B: 4 x 10.75e9 + 4.5e9 = 47.5e9 B; SHARD_GRAD_OP one cast fewer a
    micro-batch: 47.5e9 - 4 x 1.25e8 x 6 = 44.5e9 B."""
    cal = load_calibration(stack="pytorch-fsdp")
    got = fsdp_pass_bytes(cal, np.array([1e9]), np.array([8.0]), np.array([4.0]), 1.0, np.array([3]))
    assert got[0] == pytest.approx(47.5e9, rel=1e-12)
    zero2 = fsdp_pass_bytes(cal, np.array([1e9]), np.array([8.0]), np.array([4.0]), 1.0, np.array([2]))
    assert zero2[0] == pytest.approx(44.5e9, rel=1e-12)
    # frozen parameters (LoRA, trainable share 0) are only cast: 4 x 1.25e8 x 12 B
    frozen = fsdp_pass_bytes(cal, np.array([1e9]), np.array([8.0]), np.array([4.0]), 0.0, np.array([3]))
    assert frozen[0] == pytest.approx(6.0e9, rel=1e-12)
    hw = HardwareArrays.from_designs([get_accelerator("A100-SXM4").design])
    t = hbm_pass_s(hw, cal, got)
    assert t[0] == pytest.approx(47.5e9 / (float(hw.hbm_bw_bytes_per_s[0]) * cal.hbm_bw_efficiency), rel=1e-12)


def test_properties_of_the_bytes():
    cal = load_calibration(stack="pytorch-fsdp")
    p, m = np.full(4, 2e9), np.array([1.0, 2.0, 4.0, 8.0])
    by_m = fsdp_pass_bytes(cal, p, np.full(4, 8.0), m, 1.0, np.full(4, 3))
    assert np.all(np.diff(by_m) > 0)  # more micro-batches, more passes
    by_group = fsdp_pass_bytes(cal, p, np.array([2.0, 4.0, 8.0, 64.0]), np.full(4, 4.0), 1.0, np.full(4, 3))
    assert np.all(np.diff(by_group) < 0)  # a larger shard group, smaller shards
    assert by_group[-1] > 4 * 2e9 * 8  # the un-sharded gradient passes stay
    zero = fsdp_pass_bytes(cal, p, np.array([1.0, 8.0, 8.0, 8.0]), np.full(4, 4.0), 1.0, np.array([3, 0, 1, 1]))
    assert np.all(zero == 0.0)  # no shard group, or not sharding gradients (ZeRO 0-1): nothing
    assert np.all(fsdp_pass_bytes(_off(cal), p, np.full(4, 8.0), m, 1.0, np.full(4, 3)) == 0.0)


def test_the_step_pays_exactly_the_pass_time():
    """MPT-13B, 8 H100, 32 sequences at micro-batch 2 (2 micro-batches per rank), ZeRO-3: the step with the
    passes minus the step without is the passes' HBM time over the model's 12.84e9 parameters."""
    cal = load_calibration(stack="pytorch-fsdp")
    wl = load_workload("mpt-13b")
    wl = replace(wl, training=replace(wl.training, global_batch_seqs=32, seq_len=2048))
    hw = HardwareArrays.from_designs([get_accelerator("H100-SXM").design.replace(accelerator_count=8, tdp_w=5000.0)])
    on, off = (float(evaluate_design_batch(hw, wl, tech=TECH, strategy=ZERO3, calibration=c)["step_time_s"][0])
               for c in (cal, _off(cal)))
    p = wl.total_params
    expected = (2 * (p * 8 + p / 8 * (10 + 12)) + p / 8 * 12) / (float(hw.hbm_bw_bytes_per_s[0]) * cal.hbm_bw_efficiency)
    assert on - off == pytest.approx(expected, rel=1e-9)
    assert 0.05 < expected < 0.2  # ~0.1 s of a 1.6 s step
