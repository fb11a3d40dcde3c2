"""Issue 10 (s22-P): ring attention under FP8 attention, as TransformerEngine's ``AttnFuncWithCPAndKVP2P`` runs it
(context_parallel.py @d0067d0da): per-tensor-scaled FP8 attention hands the ring 1-byte K/V (L1693-1695; MXFP8 keeps
BF16), and its backward sends K/V only in steps 0 .. cp - 2 and every step's dK/dV (1 byte) in one all-to-all at
step cp - 1 (L2467-2485), not the BF16 path's [K/V, dK/dV] buffer per step."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.workloads import load_workload
from archsweep.model import collectives as coll
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.ring_attention import (
    context_parallel_bytes_per_layer,
    context_parallel_exposed_s,
    context_parallel_send_bytes,
    fp8_ring,
)
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

CAL = load_calibration()
DESIGN = get_accelerator("H100-SXM").design.replace(accelerator_count=64)
BF16 = load_workload("llama3-70b")
FP8 = replace(BF16, training=replace(BF16.training, precision="fp8", fp8_dot_product_attention=True))
MX = replace(FP8, training=replace(FP8.training, low_precision_recipe="mxfp8"))
FP8_LINEAR_ONLY = replace(FP8, training=replace(FP8.training, fp8_dot_product_attention=False))


def _mapping(tp: float, cp: float) -> MappingArrays:
    one = np.ones(1)
    return MappingArrays(tp=tp * one, pp=one, cp=cp * one, ep=one, vpp=one, micro_batch=one, recompute=0 * one,
                         zero_stage=one, sequence_parallel=one, flash_attention=one, tp_overlap=one, dp_overlap=one)


def _tokens(wl: Workload, mp: MappingArrays) -> np.ndarray:
    return mp.micro_batch * wl.seq_len / mp.cp


def _exposed(wl: Workload, mp: MappingArrays, core_f: float, core_b: float, hw: HardwareArrays | None = None) -> float:
    hw = hw if hw is not None else HardwareArrays.from_designs(DESIGN)
    return float(context_parallel_exposed_s(hw, wl, mp, CAL, _tokens(wl, mp), np.ones(1), np.ones(1),
                                            np.asarray([core_f]), np.asarray([core_b]))[0])


def test_which_jobs_take_the_fp8_ring_and_what_a_hop_carries():
    assert (fp8_ring(BF16), fp8_ring(FP8), fp8_ring(MX), fp8_ring(FP8_LINEAR_ONLY)) == (False, True, True, False)
    mp = _mapping(2, 4)
    bf16 = context_parallel_send_bytes(BF16, mp, _tokens(BF16, mp))
    assert context_parallel_send_bytes(FP8, mp, _tokens(FP8, mp)) == pytest.approx(bf16 / 2)  # 1-byte K/V
    assert context_parallel_send_bytes(MX, mp, _tokens(MX, mp)) == pytest.approx(bf16)  # MXFP8: BF16 K/V
    assert context_parallel_send_bytes(FP8_LINEAR_ONLY, mp, _tokens(BF16, mp)) == pytest.approx(bf16)


@pytest.mark.parametrize("cp", [1, 2, 4, 8])
@pytest.mark.parametrize("tp", [1, 2, 8])
def test_the_fp8_path_never_sends_more_bytes_than_the_bf16_one(tp, cp):
    mp = _mapping(tp, cp)
    bf16 = float(context_parallel_bytes_per_layer(BF16, mp, _tokens(BF16, mp))[0])
    for wl in (FP8, MX):
        fp8 = float(context_parallel_bytes_per_layer(wl, mp, _tokens(wl, mp))[0])
        assert 0.0 <= fp8 <= bf16
        assert (fp8 == 0.0) == (cp == 1)
    # per-tensor: (cp - 1) x (2 K/V hops of 1 B + 1 B dK/dV) = half the BF16 path's 3 (cp - 1) BF16 hops
    assert float(context_parallel_bytes_per_layer(FP8, mp, _tokens(FP8, mp))[0]) == pytest.approx(bf16 / 2)


@pytest.mark.parametrize("cp", [2, 4, 8])
def test_fp8_per_step_formula(cp):
    """Forward and backward: cp - 1 K/V hops, each behind one step; the backward's dK/dV all-to-all behind the last."""
    hw = HardwareArrays.from_designs(DESIGN)
    mp = _mapping(1, cp)
    tokens = _tokens(FP8, mp)
    hop = float(coll.p2p_time_s(hw, context_parallel_send_bytes(FP8, mp, tokens), np.asarray(False),
                                CAL.collective_bw_efficiency)[0])
    grads = cp * 2.0 * tokens * FP8.kv_heads * FP8.head_dim  # 1 B per dK / dV element, own share included
    a2a = float(coll.alltoall_time_s(hw, grads, np.asarray(float(cp)), np.asarray(1.0), CAL.collective_bw_efficiency)[0])
    step_f, step_b = 0.25 * hop, 0.5 * hop
    want = (cp - 1) * (hop - step_f) + (cp - 1) * (hop - step_b) + max(a2a - step_b, 0.0)
    assert _exposed(FP8, mp, cp * step_f, cp * step_b) == pytest.approx(want, rel=1e-12)
    assert _exposed(FP8, mp, cp * 10 * a2a, cp * 10 * a2a) == 0.0  # long steps hide every transfer


@pytest.mark.parametrize("wl", [BF16, FP8, MX], ids=["bf16", "fp8", "mxfp8"])
@pytest.mark.parametrize(("tp", "cp", "field"), [(1, 4, "scaleup_bw_bytes_per_s"), (2, 8, "scaleout_bw_bytes_per_s")])
def test_exposed_time_is_continuous_and_non_increasing_in_link_bandwidth(wl, tp, cp, field):
    """Over the link the ring runs on (TP1 CP4 inside the 8-GPU domain, TP2 CP8 across it), on a log grid: never
    rises, falls over the grid, and a bandwidth change of one part in 10^7 moves it by no more than twice that
    share of the slowest-link exposure (the transfer times bound it: no jump)."""
    mp, base = _mapping(tp, cp), getattr(DESIGN, field)

    def at(scale: float) -> float:
        return _exposed(wl, mp, 1e-4, 3e-4, HardwareArrays.from_designs(DESIGN.replace(**{field: scale * base})))

    scales = np.geomspace(0.02, 8.0, 120)
    got = np.array([at(s) for s in scales])
    assert np.all(np.diff(got) <= 1e-15) and got[0] > got[-1] >= 0.0
    for s, g in zip(scales, got):
        assert abs(at(s * (1.0 + 1e-7)) - g) <= 2e-7 * got[0], s
