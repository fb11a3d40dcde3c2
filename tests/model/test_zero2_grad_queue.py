"""ZeRO-2 under Megatron-FSDP (``optim_grads``) produces each gradient bucket un-sharded and frees a queued bucket
only once the queued ones exceed the queue capacity (1e9 elements at least): a backward holds min(capacity, the
stage's gradients) of them (``zero2_grad_queue_params`` of the megatron-core stacks;
:func:`archsweep.model.training.sharded_buffers.zero2_grad_queue_bytes`; issue 10, s19-C)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from model_helpers import enumerated_with

from archsweep.load.calibration import load_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.memory import memory_per_accelerator
from archsweep.model.training.sharded_buffers import zero2_grad_queue_bytes

CAL = load_calibration(stack="megatron-core")
OFF = replace(CAL, zero2_grad_queue_params=0.0)


def _grads(wl, mp: MappingArrays, dp: float, cal) -> np.ndarray:
    n = len(mp)
    return memory_per_accelerator(wl, mp, np.full(n, dp), np.full(n, 4.0), cal).gradients_bytes


def test_a_large_stage_holds_the_queue_capacity():
    """Qwen3-235B at tp 1 pp 1 ep 8: ~30 G parameters per GPU, far above the 1e9 queue: exactly 1e9 x 2 B more."""
    wl = load_workload("qwen3-235b-a22b")
    mp = enumerated_with(wl, tp=1, pp=1, ep=8, zero_stage=2)
    added = _grads(wl, mp, 256.0, CAL) - _grads(wl, mp, 256.0, OFF)
    np.testing.assert_allclose(added, 1.0e9 * CAL.zero3_unsharded_grad_bytes_per_param, rtol=1e-12)


def test_a_small_stage_holds_all_its_gradients_unsharded():
    """Llama 3 8B at tp 8 pp 4 (~0.25 G parameters per GPU < 1e9): the whole stage's gradients, as ZeRO-1 holds."""
    wl = load_workload("llama3-8b")
    z1, z2 = enumerated_with(wl, tp=8, pp=4, cp=1, zero_stage=1), enumerated_with(wl, tp=8, pp=4, cp=1, zero_stage=2)
    g1, g2, g2_off = _grads(wl, z1, 8.0, CAL), _grads(wl, z2, 8.0, CAL), _grads(wl, z2, 8.0, OFF)
    # ZeRO-1 holds the stage's gradients at dp_grad_bytes_per_param; the queue at the un-sharded bucket's bytes.
    ratio = CAL.zero3_unsharded_grad_bytes_per_param / CAL.dp_grad_bytes_per_param
    np.testing.assert_allclose(g2 - g2_off, g1 * ratio, rtol=1e-9)


def test_grows_with_the_capacity_until_the_stage_is_held():
    wl = load_workload("llama3-70b")
    mp = enumerated_with(wl, tp=1, pp=1, zero_stage=2)
    stage = np.full(len(mp), 70.0e9)
    held = [zero2_grad_queue_bytes(mp, stage, replace(CAL, zero2_grad_queue_params=c)) for c in (5e8, 1e9, 4e9, 1e12)]
    for a, b in zip(held, held[1:]):
        assert np.all(b >= a)
    np.testing.assert_allclose(held[-1], 70.0e9 * CAL.zero3_unsharded_grad_bytes_per_param)


@pytest.mark.parametrize("zero", [0, 1, 3])
def test_only_zero2(zero):
    wl = load_workload("llama3-70b")
    mp = enumerated_with(wl, zero_stage=zero)
    np.testing.assert_array_equal(_grads(wl, mp, 16.0, CAL), _grads(wl, mp, 16.0, OFF))


def test_nothing_without_a_shard_group():
    wl = load_workload("llama3-8b")
    mp = enumerated_with(wl, zero_stage=2, cp=1, ep=1)
    np.testing.assert_array_equal(_grads(wl, mp, 1.0, CAL), _grads(wl, mp, 1.0, OFF))


@pytest.mark.parametrize(("stack", "capacity"), [("megatron-core", 1.0e9), ("megatron-core-fa2", 1.0e9),
                                                 ("megatron-core-flex", 1.0e9), ("pytorch-fsdp", 0.0),
                                                 ("deepspeed-zero3", 0.0), ("xla-tpu", 0.0)])
def test_only_megatron_fsdp_stacks(stack, capacity):
    assert load_calibration(stack=stack).zero2_grad_queue_params == capacity
