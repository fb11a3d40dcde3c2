"""ZeRO-3 under Megatron-FSDP keeps the stage's modules outside its TransformerLayer units (embedding, output layer)
gathered from their first forward to the step's parameter sync (``zero3_nonunit_unsharded`` of the megatron-core
stacks; :func:`archsweep.model.training.sharded_buffers.zero3_nonunit_bytes`; issue 10, s19-C: the 25.11 H100
Qwen3-235B FP8-CS row's searched TP 1 PP 1 EP 8 micro-batch 8 ZeRO-3 mapping fitted at 0.979 of HBM without them)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from model_helpers import enumerated_with

from archsweep.load.calibration import load_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.training.mapping import RECOMPUTE, MappingArrays
from archsweep.model.training.memory import memory_per_accelerator
from archsweep.model.training.sharded_buffers import NONUNIT_BYTES_PER_PARAM, zero3_nonunit_bytes

CAL = load_calibration(stack="megatron-core")
OFF = replace(CAL, zero3_nonunit_unsharded=0.0)


def _weights(wl, mp: MappingArrays, dp: float, cal) -> np.ndarray:
    n = len(mp)
    return memory_per_accelerator(wl, mp, np.full(n, dp), np.full(n, 4.0), cal).weights_bytes


def test_qwen3_235b_tp1_pp1_holds_both_vocabulary_matrices_in_bf16():
    """Hand-computed: Qwen3-235B-A22B (untied, vocabulary 151,936, hidden 4096) at tp 1 pp 1 ep 8 over 256 GPUs
    holds its embedding and output layer un-sharded: 2 x 151,936 x 4096 x 2 B = 2.489 GB beside the shards, also
    with FP8 parameters (1 B weights: the two are not TransformerEngine modules)."""
    wl = load_workload("qwen3-235b-a22b")
    mp = enumerated_with(wl, tp=1, pp=1, ep=8, zero_stage=3, micro_batch=8, recompute=RECOMPUTE.index("full"))
    expected = 2 * 151936 * 4096 * 2.0
    for cal in (CAL, replace(CAL, weight_bytes_per_param=1.0)):
        added = _weights(wl, mp, 256.0, cal) - _weights(wl, mp, 256.0, replace(cal, zero3_nonunit_unsharded=0.0))
        np.testing.assert_allclose(added, expected, rtol=1e-12)
    assert expected == pytest.approx(2.489e9, rel=1e-3)


@pytest.mark.parametrize("zero", [0, 1, 2])
def test_nothing_below_zero3(zero):
    wl = load_workload("llama3-70b")
    mp = enumerated_with(wl, zero_stage=zero)
    np.testing.assert_array_equal(_weights(wl, mp, 16.0, CAL), _weights(wl, mp, 16.0, OFF))


def test_nothing_without_a_data_parallel_shard_group():
    """dp 1, no context parallelism: nothing is sharded, the matrices are the weights already counted."""
    wl = load_workload("llama3-70b")
    mp = enumerated_with(wl, zero_stage=3, cp=1)
    np.testing.assert_array_equal(zero3_nonunit_bytes(wl, mp, np.ones(len(mp)), CAL, "first"), 0.0)


def test_one_matrix_per_end_stage_at_pp2_none_in_the_middle_and_over_tp():
    wl = load_workload("llama3-70b")
    group = np.full(1, 64.0)
    one = wl.vocab * wl.hidden * NONUNIT_BYTES_PER_PARAM

    def at(**fields: float) -> MappingArrays:
        return enumerated_with(wl, zero_stage=3, **fields).take(np.array([0]))

    assert zero3_nonunit_bytes(wl, at(pp=1, tp=1), group, CAL, "first")[0] == pytest.approx(2 * one)
    assert zero3_nonunit_bytes(wl, at(pp=2, tp=1), group, CAL, "first")[0] == pytest.approx(one)
    assert zero3_nonunit_bytes(wl, at(pp=2, tp=1), group, CAL, "last")[0] == pytest.approx(one)
    assert zero3_nonunit_bytes(wl, at(pp=4, tp=1), group, CAL, "middle")[0] == 0.0
    assert zero3_nonunit_bytes(wl, at(pp=1, tp=4), group, CAL, "first")[0] == pytest.approx(2 * one / 4)
    tied = replace(wl, architecture=replace(wl.architecture, tied_embeddings=True))
    assert zero3_nonunit_bytes(tied, at(pp=1, tp=1), group, CAL, "first")[0] == pytest.approx(one)


def test_grows_with_the_vocabulary_and_never_shrinks_with_dp():
    wl = load_workload("llama3-8b")
    mp = enumerated_with(wl, zero_stage=3, pp=1, tp=1)
    big = replace(wl, architecture=replace(wl.architecture, vocab=2 * wl.vocab))
    group = np.full(len(mp), 8.0)
    small_b, big_b = zero3_nonunit_bytes(wl, mp, group, CAL, "first"), zero3_nonunit_bytes(big, mp, group, CAL, "first")
    np.testing.assert_allclose(big_b, 2.0 * small_b)
    wide = zero3_nonunit_bytes(wl, mp, np.full(len(mp), 1024.0), CAL, "first")
    np.testing.assert_array_equal(wide, small_b)


@pytest.mark.parametrize(("stack", "on"), [("megatron-core", 1.0), ("megatron-core-flex", 1.0),
                                           ("megatron-core-fa2", 1.0), ("pytorch-fsdp", 0.0),
                                           ("deepspeed-zero3", 0.0), ("xla-tpu", 0.0)])
def test_only_megatron_fsdp_stacks_keep_them(stack, on):
    assert load_calibration(stack=stack).zero3_nonunit_unsharded == on
