"""MoE activation memory (issue 10, MoE search optimism): the router's FP32 scores and, with expert
tensor parallelism, the FC1 input gathered over the expert-TP group (Megatron-Core
token_dispatcher.py dispatch_postprocess); monotone in micro-batch and top-k; dense layers untouched."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np
import pytest
from model_helpers import mapping_arrays

from archsweep.load.calibration import load_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.training.activation_memory import activation_bytes_per_layer
from archsweep.model.training.memory import memory_per_accelerator

CAL = load_calibration()


#: The mappings of these tests: PP 2, EP 8 unless a test says otherwise.
_mapping = partial(mapping_arrays, pp=2.0, ep=8.0)


def _with_moe(wl, **kw):
    return replace(wl, architecture=replace(wl.architecture, moe=replace(wl.moe, **kw)))


def _moe(top_k: int | None = None):
    wl = load_workload("qwen3-30b-a3b")
    return wl if top_k is None else _with_moe(wl, top_k=top_k)


@pytest.mark.parametrize("recompute", [0.0, 2.0])
def test_moe_memory_non_decreasing_in_micro_batch_and_top_k(recompute):
    dp, m = np.array(4.0), np.array(16.0)
    by_mb = [float(memory_per_accelerator(_moe(), _mapping(micro_batch=b, recompute=recompute), dp, m, CAL).total_bytes[0])
             for b in (1, 2, 4, 8)]
    assert all(b >= a for a, b in zip(by_mb, by_mb[1:])) and by_mb[-1] > by_mb[0]
    by_k = [float(memory_per_accelerator(_moe(k), _mapping(recompute=recompute), dp, m, CAL).activations_bytes[0])
            + float(memory_per_accelerator(_moe(k), _mapping(recompute=recompute), dp, m, CAL).recompute_working_bytes[0])
            for k in (1, 2, 4, 8)]
    assert all(b >= a for a, b in zip(by_k, by_k[1:])) and by_k[-1] > by_k[0]


def test_router_scores_are_fp32_tokens_times_experts():
    wl = _moe()
    mp = _mapping()
    with_router = float(activation_bytes_per_layer(wl, mp, True, 1.0)[0])
    no_experts = _with_moe(wl, num_experts=wl.moe.num_experts * 2)
    doubled = float(activation_bytes_per_layer(no_experts, mp, True, 1.0)[0])
    tokens = wl.seq_len  # micro-batch 1, cp 1, tp 1
    assert doubled - with_router == pytest.approx(4.0 * tokens * wl.moe.num_experts)


def test_expert_tp_keeps_gathered_fc1_input():
    """etp = tp = 2 with SP: each rank keeps the FC1 input of all routed copies of the TP group's tokens
    (T k 2h), against T k 2h / 2 when EP folds over TP (etp 1)."""
    wl = _moe()
    mp = _mapping(tp=2.0, sequence_parallel=1.0)
    folded = float(activation_bytes_per_layer(wl, mp, True, 1.0)[0])
    split = float(activation_bytes_per_layer(wl, mp, True, 2.0)[0])
    tokens, routed = wl.seq_len, wl.moe.top_k * wl.moe.capacity_factor
    assert split - folded == pytest.approx(routed * tokens * 2.0 * wl.hidden / 2.0)


def test_dense_layers_do_not_depend_on_expert_tp():
    wl = load_workload("llama3-8b")
    for mp in (_mapping(ep=1.0), _mapping(ep=1.0, tp=4.0, sequence_parallel=1.0, recompute=2.0)):
        ref = memory_per_accelerator(wl, mp, np.array(8.0), np.array(8.0), CAL)
        assert np.array_equal(activation_bytes_per_layer(wl, mp, False, 4.0), activation_bytes_per_layer(wl, mp, False))
        assert np.all(np.isfinite(ref.total_bytes))
