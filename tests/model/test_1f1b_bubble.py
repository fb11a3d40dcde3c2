"""The non-interleaved 1F1B bubble is the other stages' work of one micro-batch (issue 10, s11-pp1).

Megatron-Core's ``forward_backward_pipelining_without_interleaving`` (NVIDIA/Megatron-LM @b0cc2706dd
megatron/core/pipeline_parallel/schedules.py L2145-2298): each stage waits on ``recv_forward`` before its first
forward and on the next stage's gradient before each backward, so the slowest stage runs its ``m`` passes back
to back once micro-batch 0 has crossed the stages before it, and the last gradient then crosses them back. The
compute + bubble of a step is ``(m - 1) T_slowest + sum of all stages' T``: the output layer, which only the last
stage runs, is on the critical path ``m`` times, not ``m + p - 1``. Interleaved schedules: the first p - 1
model chunks' work (tests/model/test_interleaved_bubble.py, s12-correct); pp = 1 has no bubble."""

from __future__ import annotations

import numpy as np
import pytest
from random_hardware import h100_stage

from archsweep.model.training.schedule import pipeline_bubble_slots
from archsweep.model.training.step import _bubble


@pytest.mark.parametrize(("name", "count", "split"), [("qwen3-235b-a22b", 256, True), ("qwen3-235b-a22b", 256, False),
                                                      ("llama3-405b", 1024, False)])
def test_1f1b_bubble_is_the_other_stages_work(name, count, split):
    wl, mp, sc = h100_stage(name, count, split)
    pp, vpp = np.ravel(mp.pp), np.maximum(np.ravel(mp.vpp), 1.0)
    ones = np.ones_like(pp)
    valid = np.ravel(sc.valid)
    m = np.ravel(sc.microbatches) * ones
    layer = np.ravel(sc.t_layer_f + sc.t_layer_b + sc.t_layer_rc) * ones
    logits = np.ravel(sc.lc.logits_fwd_s + sc.lc.logits_bwd_s) * ones
    slowest = np.ravel((sc.compute + sc.recompute) / sc.microbatches)
    bubble = np.ravel(sc.bubble)
    one_f_one_b = valid & (pp > 1) & (vpp == 1)
    assert one_f_one_b.any() and (valid & (vpp > 1)).any()
    # compute + bubble = (m - 1) T_slowest + all L layers and the output layer of one micro-batch
    np.testing.assert_allclose((m * slowest + bubble)[one_f_one_b],
                               ((m - 1) * slowest + wl.layers * layer + logits)[one_f_one_b], rtol=1e-9)
    # below the (p - 1) slots of the slowest stage, by at least the output layer's p - 1 extra passes when
    # the layers split evenly (no split: every stage ceil(L / pp) layers, the last one also the output layer)
    slots = np.ravel(pipeline_bubble_slots(m, pp, vpp))
    assert np.all(bubble[one_f_one_b] <= (slots * slowest)[one_f_one_b] * (1 + 1e-12))
    even = one_f_one_b & (np.mod(wl.layers, pp) == 0)
    if not split:
        assert even.any()
        np.testing.assert_allclose(bubble[even], ((pp - 1) * (slowest - logits))[even], rtol=1e-9)
    # interleaved (tests/model/test_interleaved_bubble.py): never above the slots of the slowest stage; no
    # pipeline: no bubble
    inter = valid & (vpp > 1)
    assert np.all(bubble[inter] <= (slots * slowest)[inter] * (1 + 1e-12))
    assert np.all(bubble[valid & (pp == 1)] == 0)
    # m < p (Megatron-Core refuses it, so no valid mapping has it; review s12 finding 7): _bubble itself, on the
    # interleaved mappings with m forced below p, gives exactly the slots of the slowest stage
    few_m = np.maximum(pp - 1.0, 1.0)
    t_slowest = slowest * ones
    got = np.ravel(_bubble(wl, mp, sc.lc, few_m, layer, t_slowest))
    assert inter.any()
    np.testing.assert_allclose(got[inter], (np.ravel(pipeline_bubble_slots(few_m, pp, vpp)) * t_slowest)[inter],
                               rtol=1e-12)
