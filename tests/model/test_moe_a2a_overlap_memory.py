"""Memory of the MoE all-to-all overlap without a pipeline (review B finding 2): Megatron-Core's
``combined_1f1b_schedule_for_no_pipelining`` runs micro-batch i + 1's forward beside micro-batch i's
backward, so a pp = 1 mapping that pairs holds two micro-batches' activations; nothing else moves."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.training.communication import a2a_unpaired_share
from archsweep.model.training.mapping import RECOMPUTE, enumerate_mappings
from archsweep.model.training.memory import a2a_paired_in_flight, memory_per_accelerator

CAL = load_calibration()
STATED = replace(CAL, moe_a2a_overlap_without_pipeline=1.0)


def _acts(wl, mappings, mb, cal):
    return memory_per_accelerator(wl, mappings, np.full(len(mappings), 8.0), mb, cal).activations_bytes


def test_paired_pp1_mappings_hold_two_micro_batches():
    wl = load_workload("mixtral-8x7b")
    mappings, _ = enumerate_mappings(wl)
    mb = np.full(len(mappings), 64.0)
    base, stated = _acts(wl, mappings, mb, CAL), _acts(wl, mappings, mb, STATED)
    plain = (mappings.pp == 1) & (mappings.recompute != RECOMPUTE.index("full"))
    assert np.any(plain) and np.any(~plain)
    logits = 6.0 * mappings.micro_batch * wl.seq_len / mappings.cp * wl.vocab / mappings.tp  # pp = 1: not per layer
    np.testing.assert_allclose(stated[plain] - logits[plain], 2.0 * (base[plain] - logits[plain]), rtol=1e-12)
    assert np.array_equal(stated[~plain], base[~plain])
    # One micro-batch: nothing to pair with; the stack's overlap off: no pairing at all.
    assert np.array_equal(_acts(wl, mappings, np.ones(len(mappings)), STATED), _acts(wl, mappings, np.ones(len(mappings)), CAL))
    off = replace(STATED, moe_a2a_overlap=0.0)
    assert np.array_equal(_acts(wl, mappings, mb, off), base)


def test_memory_pairs_exactly_where_the_all_to_all_pairs_at_pp1():
    """The memory rule and a2a_unpaired_share agree: at pp = 1 (m >= 2) two micro-batches are held
    exactly where some all-to-all hides under another micro-batch's compute."""
    wl = load_workload("mixtral-8x7b")
    mappings, _ = enumerate_mappings(wl)
    pp1 = mappings.pp == 1
    for cal in (CAL, STATED, replace(STATED, moe_a2a_overlap=0.0)):
        for m in (2.0, 64.0):
            mb = np.full(len(mappings), m)
            paired = a2a_paired_in_flight(wl, mappings, mb, cal) == 2.0
            hides = a2a_unpaired_share(mappings, cal, mb) < 1.0
            assert np.array_equal(paired[pp1], hides[pp1])
            assert not np.any(paired[~pp1])


def test_a_dense_workload_never_pairs():
    wl = load_workload("llama3-8b")
    mappings, _ = enumerate_mappings(wl)
    assert np.all(a2a_paired_in_flight(wl, mappings, np.full(len(mappings), 64.0), STATED) == 1.0)
