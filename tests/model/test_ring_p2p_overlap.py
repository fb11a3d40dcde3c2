"""Issue 10 (s21-G): ring attention's K/V transfers hide behind one ring step each, not behind the whole layer.

TransformerEngine's ``AttnFuncWithCPAndKVP2P`` (context_parallel.py @d0067d0da) waits for step i's K/V at the
start of step i (forward, L1697-1716) and for the K/V + dK/dV buffer right after step i's flash backward
(L2460-2497, L2717-2719): a transfer overlaps only that step's attention kernels and merges, never the QKV or
output projections around the attention call.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.workloads import load_workload
from archsweep.model import collectives as coll
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.ring_attention import context_parallel_exposed_s, context_parallel_send_bytes
from archsweep.model.transformer import layer_costs
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
HW = HardwareArrays.from_designs(get_accelerator("H100-SXM").design.replace(accelerator_count=64))
WL = load_workload("llama3-70b")


def _mapping(tp: float, cp: float) -> MappingArrays:
    one = np.ones(1)
    return MappingArrays(tp=tp * one, pp=one, cp=cp * one, ep=one, vpp=one, micro_batch=one, recompute=0 * one,
                         zero_stage=one, sequence_parallel=one, flash_attention=one, tp_overlap=one, dp_overlap=one)


def _exposed(mp: MappingArrays, core_f: float, core_b: float) -> float:
    tokens = mp.micro_batch * WL.seq_len / mp.cp
    return float(context_parallel_exposed_s(HW, WL, mp, CAL, tokens, np.ones(1), np.ones(1), np.asarray([core_f]),
                                            np.asarray([core_b]))[0])


def _hop(mp: MappingArrays, factor: float = 1.0) -> float:
    tokens = mp.micro_batch * WL.seq_len / mp.cp
    kv = factor * context_parallel_send_bytes(WL, mp, tokens)
    return float(coll.p2p_time_s(HW, kv, mp.tp * mp.cp > HW.scaleup_domain_size, CAL.collective_bw_efficiency)[0])


def test_no_ring_no_exposure():
    assert _exposed(_mapping(8, 1), 0.0, 0.0) == 0.0


def test_steps_longer_than_a_hop_hide_it():
    mp = _mapping(2, 4)
    assert _exposed(mp, 4 * 2 * _hop(mp, 2.0), 4 * 2 * _hop(mp, 2.0)) == 0.0


@pytest.mark.parametrize("cp", [2, 4, 8])
def test_per_step_formula(cp):
    """Forward: cp - 1 hops of K/V; backward: step 0 K/V, step cp - 1 dK/dV, the cp - 2 others both at once."""
    mp = _mapping(1, cp)
    step_f, step_b = 0.25 * _hop(mp), 0.5 * _hop(mp)
    got = _exposed(mp, cp * step_f, cp * step_b)
    want = (cp - 1) * (_hop(mp) - step_f) + 2 * (_hop(mp) - step_b) + (cp - 2) * (_hop(mp, 2.0) - step_b)
    assert got == pytest.approx(want, rel=1e-12)


def test_projections_do_not_hide_the_ring():
    """A layer whose attention (with its projections) outlasts all cp - 1 hops still exposes the hops its ring
    steps cannot hide (the earlier rule compared the hops' sum with the whole attention forward)."""
    mp = _mapping(1, 8)
    hop = _hop(mp)
    assert _exposed(mp, 8 * 0.5 * hop, 8 * 4 * hop) == pytest.approx(7 * 0.5 * hop, rel=1e-12)


def test_layer_costs_carry_the_backward_core():
    wl = replace(WL, training=replace(WL.training, seq_len=16384))
    lc = layer_costs(HW, wl, _mapping(2, 4), CAL, HW.peak_matrix_flops_bf16)
    core_b = np.ravel(lc.attn_core_bwd_s)[0]
    assert core_b > np.ravel(lc.attn_core_fwd_s)[0] > 0.0   # 2.5x the FLOPs at 0.86 of the rate, plus merges
    assert core_b < np.ravel(lc.dense_bwd_s)[0]
