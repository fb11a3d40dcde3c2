"""DeepSpeed ZeRO-3's release rule under full recompute (archsweep.model.training.zero3_regather): a module whose
later modules in the layer hold, twice over, at least ``stage3_max_reuse_distance`` parameters is gathered a third
time before its backward; the stack value is DeepSpeed's default, 1e9 (v0.3.13 constants.py), and no other stack
has the rule."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.zero3_regather import layer_module_params, zero3_regather_share


def _mapping(tp: float = 1.0, zero: float = 3.0, recompute: float = 2.0) -> MappingArrays:
    one = np.asarray([1.0])
    return MappingArrays(tp=np.asarray([tp]), pp=one, cp=one, ep=one, vpp=one,
                         micro_batch=one, zero_stage=np.asarray([zero]), recompute=np.asarray([recompute]),
                         sequence_parallel=one * 0, flash_attention=one * 0, tp_overlap=one * 0, dp_overlap=one)


def _gpt(hidden: int):
    """A GPT-3 style dense workload (12 h^2 per layer) at ``hidden``."""
    wl = load_workload("gpt3-175b")
    arch = replace(wl.architecture, hidden=hidden, ffn_hidden=4 * hidden, heads=hidden // 128, kv_heads=hidden // 128,
                   head_dim=128)
    return replace(wl, architecture=arch)


def test_stack_values():
    assert load_calibration(stack="deepspeed-zero3").zero3_max_reuse_distance_params == 1e9
    assert load_calibration(stack="hf-deepspeed-zero3").zero3_max_reuse_distance_params == 1e9
    for stack in ("megatron-core", "pytorch-fsdp", "megatron-2021"):
        assert load_calibration(stack=stack).zero3_max_reuse_distance_params == 0


def test_modules_sum_to_the_layer():
    wl = _gpt(12288)
    assert sum(layer_module_params(wl)) == pytest.approx(wl.attention_params_per_layer + wl.dense_ffn_params)


@pytest.mark.parametrize(("hidden", "share"), [(4096, 0.0), (7680, 3 / 12), (8192, 4 / 12), (12288, 8 / 12),
                                               (20480, 8 / 12)])
def test_share_follows_the_distance_thresholds(hidden, share):
    """qkv (3h^2) recurs after 18 h^2, the output projection (h^2) after 16 h^2, the first FFN matrix (4 h^2) after
    8 h^2, the last never: thresholds h = 7,454 / 7,906 / 11,180 at 1e9. SC21's 174.6B (12,288) and 529.6B (20,480)
    gather 8 of their 12 h^2 a third time."""
    cal = load_calibration(stack="deepspeed-zero3")
    assert zero3_regather_share(_gpt(hidden), _mapping(), cal)[0] == pytest.approx(share)


def test_share_is_zero_without_the_rule_recompute_or_zero3_and_falls_with_tp():
    wl, cal = _gpt(12288), load_calibration(stack="deepspeed-zero3")
    assert zero3_regather_share(wl, _mapping(recompute=0.0), cal)[0] == 0
    assert zero3_regather_share(wl, _mapping(zero=1.0), cal)[0] == 0
    assert zero3_regather_share(wl, _mapping(), load_calibration(stack="pytorch-fsdp"))[0] == 0
    shares = [zero3_regather_share(wl, _mapping(tp=t), cal)[0] for t in (1.0, 2.0, 4.0, 8.0)]
    assert all(a >= b for a, b in zip(shares, shares[1:])) and shares[-1] == 0
