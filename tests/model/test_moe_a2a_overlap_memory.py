"""Memory of the MoE all-to-all overlap (a job asking for it, ``moe_a2a_overlap``). Without a pipeline (review B
finding 2, corrected by s10-h100moe): Megatron-Core's ``combined_1f1b_schedule_for_no_pipelining`` runs micro-batch
i + 1's forward beside micro-batch i's backward layer by layer (forward layer j with backward layer n - 1 - j,
``TransformerModelChunkSchedulePlan.run``), so a pp = 1 mapping that pairs holds one micro-batch's layers and one
layer more, not two micro-batches. Wherever it pairs,
the delayed weight gradients (``delay_wgrad_compute``) hold one MoE layer's expert output gradients
(:func:`~archsweep.model.training.moe_overlap_memory.delayed_wgrad_bytes`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.training.communication import a2a_unpaired_share
from archsweep.model.training.mapping import RECOMPUTE, enumerate_mappings, expert_tensor_parallel
from archsweep.model.training.memory import memory_per_accelerator
from archsweep.model.training.moe_overlap_memory import a2a_paired_in_flight, delayed_wgrad_bytes

CAL = load_calibration()


def _asking(name: str):
    wl = load_workload(name)
    return replace(wl, training=replace(wl.training, moe_a2a_overlap=True))


def _acts(wl, mappings, mb, cal):
    return memory_per_accelerator(wl, mappings, np.full(len(mappings), 8.0), mb, cal).activations_bytes


def test_paired_pp1_mappings_hold_one_micro_batch_and_one_layer():
    wl = _asking("mixtral-8x7b")
    unasked = load_workload("mixtral-8x7b")
    mappings, _ = enumerate_mappings(wl)
    mb = np.full(len(mappings), 64.0)
    base, asked = _acts(unasked, mappings, mb, CAL), _acts(wl, mappings, mb, CAL)
    plain = (mappings.pp == 1) & (mappings.ep > 1) & (mappings.recompute != RECOMPUTE.index("full"))
    assert np.any(plain) and np.any(~plain)
    logits = 6.0 * mappings.micro_batch * wl.seq_len / mappings.cp * wl.vocab / mappings.tp  # pp = 1: not per layer
    # Mixtral 8x7B: 32 layers, so the pairing holds 33 / 32 of one micro-batch's layer activations.
    assert wl.layers == 32
    np.testing.assert_allclose(asked[plain] - logits[plain], (33.0 / 32.0) * (base[plain] - logits[plain]), rtol=1e-12)
    assert np.all(asked[plain] > base[plain])
    assert np.array_equal(asked[~plain], base[~plain])
    # One micro-batch: nothing to pair with; the stack's overlap off: no pairing at all.
    one = np.ones(len(mappings))
    assert np.array_equal(_acts(wl, mappings, one, CAL), _acts(unasked, mappings, one, CAL))
    off = replace(CAL, moe_a2a_overlap=0.0)
    assert np.array_equal(_acts(wl, mappings, mb, off), base)


def test_memory_pairs_exactly_where_the_all_to_all_pairs_at_pp1():
    """The memory rule and a2a_unpaired_share agree: at pp = 1 (m >= 2) the pair's extra layer is held
    exactly where some all-to-all hides under another micro-batch's compute."""
    wl = _asking("mixtral-8x7b")
    mappings, _ = enumerate_mappings(wl)
    pp1 = mappings.pp == 1
    for cal in (CAL, replace(CAL, moe_a2a_overlap=0.0)):
        for m in (2.0, 64.0):
            mb = np.full(len(mappings), m)
            paired = a2a_paired_in_flight(wl, mappings, mb, cal) > 1.0
            hides = a2a_unpaired_share(wl, mappings, cal, mb) < 1.0
            assert np.array_equal(paired[pp1], hides[pp1])
            assert not np.any(paired[~pp1])


def test_a_dense_workload_never_pairs():
    wl = _asking("llama3-8b")
    mappings, _ = enumerate_mappings(wl)
    assert np.all(a2a_paired_in_flight(wl, mappings, np.full(len(mappings), 64.0), CAL) == 1.0)


def test_delayed_weight_gradients_are_one_layer_of_expert_output_gradients():
    """Where the overlap pairs (pp = 1 or interleaved, ep > 1, not full recompute), the memory holds
    FC2's (h) and FC1's (2 x expert FFN, SwiGLU) output gradients of every routed copy of one micro-batch,
    2 B each, split over tp; nowhere else, and not for a job that does not ask for the overlap.

    Mixtral 8x7B as data/workloads states it (hidden 4096, expert FFN 14336 SwiGLU, top-2, capacity 1.0,
    sequence 32768), one micro-batch of one sequence, tp = cp = etp = 1: FC2's output gradient is
    [2 x 32768 routed copies, 4096], FC1's [2 x 32768, 2 x 14336] = 65536 x 32768 elements x 2 B = 4 GiB.
    tp 2 or cp 2 halves it, two sequences double it; etp 2 gathers FC1's input tokens: FC2's output
    gradient doubles, 65536 x (8192 + 28672) x 2 B."""
    wl = _asking("mixtral-8x7b")
    mappings, _ = enumerate_mappings(wl)
    held = delayed_wgrad_bytes(wl, mappings, CAL, 1.0)
    pairs = a2a_unpaired_share(wl, mappings, CAL, np.full(len(mappings), 64.0)) < 1.0
    assert np.any(pairs) and np.any(~pairs)
    gib = 2.0**30
    for (tp, cp, mb), expected in (((1, 1, 1), 4 * gib), ((2, 1, 1), 2 * gib), ((1, 2, 1), 2 * gib),
                                   ((1, 1, 2), 8 * gib)):
        at = pairs & (mappings.tp == tp) & (mappings.cp == cp) & (mappings.micro_batch == mb)
        assert np.any(at) and np.all(held[at] == expected), (tp, cp, mb)
    one = pairs & (mappings.tp == 1) & (mappings.cp == 1) & (mappings.micro_batch == 1)
    assert np.all(delayed_wgrad_bytes(wl, mappings, CAL, 2.0)[one] == 65536 * (8192 + 28672) * 2)
    assert np.all(held[~pairs] == 0.0)
    unasked = load_workload("mixtral-8x7b")
    assert np.all(delayed_wgrad_bytes(unasked, mappings, CAL, 1.0) == 0.0)
    # it lands in its own part: the memory with the overlap asked exceeds the unasked by exactly this (plus
    # the pair's extra layer of a paired pp = 1 mapping, a2a_paired_in_flight, which lands in the activations)
    dp, mb = np.full(len(mappings), 8.0), np.full(len(mappings), 64.0)
    on = memory_per_accelerator(wl, mappings, dp, mb, CAL)
    off = memory_per_accelerator(unasked, mappings, dp, mb, CAL)
    etp = expert_tensor_parallel(mappings, dp)
    np.testing.assert_allclose(on.delayed_wgrad_bytes - off.delayed_wgrad_bytes,
                               delayed_wgrad_bytes(wl, mappings, CAL, etp), rtol=1e-12)
    # its own part, not recompute memory: a mapping that does not recompute reports no recompute working set
    assert np.array_equal(on.recompute_working_bytes, off.recompute_working_bytes)
    assert np.all(on.recompute_working_bytes[mappings.recompute != RECOMPUTE.index("full")] == 0.0)
    deep = pairs & (mappings.pp > 1)
    assert np.any(deep)
    np.testing.assert_allclose(on.total_bytes[deep] - off.total_bytes[deep],
                               delayed_wgrad_bytes(wl, mappings, CAL, etp)[deep], rtol=1e-12)
    assert np.array_equal(on.total_bytes[~pairs], off.total_bytes[~pairs])
    assert np.all(on.total_bytes >= off.total_bytes)
