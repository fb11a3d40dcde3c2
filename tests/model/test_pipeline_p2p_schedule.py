"""Pipeline point-to-point exposure from the schedules' own accounting (issue 10, s7-p2p):
1F1B waits on every send, Megatron-Core's overlapped interleaved steady state hides the gradient
sends, the 2021-22 code hides none; exposure falls monotonically with the overlap share."""

from __future__ import annotations

import dataclasses
from dataclasses import fields

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from archsweep.load.calibration import load_calibration
from archsweep.model.training.communication import pipeline_p2p_exposed_sends
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.schedule import unpaired_chunk_passes


def _mapping(**cols: object) -> MappingArrays:
    base = dict(tp=1.0, pp=4.0, cp=1.0, ep=1.0, vpp=1.0, micro_batch=1.0, recompute=0.0, zero_stage=1.0,
                sequence_parallel=0.0, flash_attention=1.0, tp_overlap=0.0, dp_overlap=1.0)
    base.update(cols)
    n = max(np.size(v) for v in base.values())
    return MappingArrays(**{f.name: np.broadcast_to(np.asarray(base[f.name], dtype=float), (n,)).copy()
                            for f in fields(MappingArrays)})


def test_stack_values_follow_the_code():
    """Megatron-Core @d98e8a6 (deallocate_pipeline_outputs): activation send waited at once, gradient
    send hidden -> 0.5; the 2021-22 code (@83c4d95 / @7fccd6a) synchronises every send -> 0."""
    assert load_calibration(stack="megatron-core").pipeline_p2p_overlap == 0.5
    assert load_calibration(stack="megatron-2021").pipeline_p2p_overlap == 0.0


@settings(max_examples=200, deadline=None)
@given(m=st.integers(1, 512), p=st.sampled_from([2, 4, 8, 16, 35]), v=st.sampled_from([2, 3, 4, 8, 12]))
def test_exposed_sends_per_schedule(m: int, p: int, v: int):
    """1F1B: m steady + (p - 1) fill, whatever the stack's overlap (Megatron forces overlap_p2p_comm
    off without interleaving). Interleaved: m v (1 - overlap) + warm-up passes."""
    core, old = load_calibration(stack="megatron-core"), load_calibration(stack="megatron-2021")
    mb = np.array([float(m)])
    one_f1b = _mapping(pp=float(p), vpp=1.0)
    fill = unpaired_chunk_passes(mb, np.array([float(p)]), np.ones(1))
    for cal in (core, old):
        np.testing.assert_allclose(pipeline_p2p_exposed_sends(one_f1b, cal, mb), m + fill)
    inter = _mapping(pp=float(p), vpp=float(v))
    warm = unpaired_chunk_passes(mb, np.array([float(p)]), np.array([float(v)]))
    np.testing.assert_allclose(pipeline_p2p_exposed_sends(inter, core, mb), m * v * 0.5 + warm)
    np.testing.assert_allclose(pipeline_p2p_exposed_sends(inter, old, mb), m * v + warm)


def test_exposure_monotone_in_overlap():
    """More overlap never exposes more sends; only interleaved mappings react to it."""
    cal = load_calibration()
    mb = np.full(3, 64.0)
    mp = _mapping(pp=8.0, vpp=np.array([1.0, 2.0, 6.0]))
    prev = None
    for share in np.linspace(0.0, 1.0, 6):
        sends = pipeline_p2p_exposed_sends(mp, dataclasses.replace(cal, pipeline_p2p_overlap=float(share)), mb)
        assert sends[0] == 64.0 + 7.0  # 1F1B untouched
        if prev is not None:
            assert np.all(sends <= prev + 1e-12) and np.all(sends[1:] < prev[1:])
        prev = sends
