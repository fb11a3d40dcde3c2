"""Per-chunk pipeline costs (issue 10): the interleaved schedule's warm-up / cool-down sends are
exposed, every send pays its launch + link latency, and the exposed P2P time never falls with vpp."""

from __future__ import annotations

from functools import partial

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from model_helpers import mapping_arrays

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.model.training.communication import pipeline_p2p
from archsweep.model.training.schedule import unpaired_chunk_passes
from archsweep.spec.hardware import HardwareArrays

M = st.integers(1, 512)
P = st.sampled_from([1, 2, 4, 8, 16, 35, 64])
V = st.sampled_from([1, 2, 3, 4, 6, 8, 12, 24])


def _warmup_megatron(m: int, p: int, v: int) -> int:
    """Megatron-Core schedules.py get_pp_rank_microbatches at rank 0 (group size N = p where p divides m, else N = m:
    the default N = p leaves a remainder in (0, p), which the schedule refuses; s12-m2)."""
    if p == 1:
        return 0
    if v == 1:
        return p - 1
    return min(m * v, (p - 1) * 2 + (v - 1) * (p if m % p == 0 else m))


@settings(max_examples=300, deadline=None)
@given(M, P, V)
def test_unpaired_passes_match_megatron_warmup(m, p, v):
    assert unpaired_chunk_passes(m, p, v) == _warmup_megatron(m, p, v)


@settings(max_examples=300, deadline=None)
@given(M, P, V, st.sampled_from([2, 3, 4, 6, 8, 12, 24, 48]))
def test_unpaired_passes_non_decreasing_in_v(m, p, v, v2):
    if v2 < v:
        v, v2 = v2, v
    if v2 > 1 and m < p:  # interleaving needs m >= p (schedule.interleaving_allowed); v <= v2
        return
    assert unpaired_chunk_passes(m, p, v) <= unpaired_chunk_passes(m, p, v2)


#: The mappings of these tests: PP 2 unless a test says otherwise.
_mapping = partial(mapping_arrays, pp=2.0)


def test_exposed_p2p_non_decreasing_in_vpp_and_pays_fixed_costs():
    """Qwen3-30B-A3B's pipeline on 16 H100 (pp2, mb2, m 32: 25.11 preset) over vpp 1..24, and a
    zero-byte send (only the fixed costs: link latency + one NCCL launch per chunk pass)."""
    cal = load_calibration()
    hw = HardwareArrays.from_designs(get_accelerator("H100-SXM").design.replace(accelerator_count=16))
    v = np.array([1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0])
    mp = _mapping(v.size, vpp=v, micro_batch=2.0)
    m, dp = np.full(v.size, 32.0), np.full(v.size, 8.0)
    exposed = pipeline_p2p(hw, mp, cal, 2.0 * 2 * 4096 * 2048, dp, m).exposed_s
    assert np.all(np.diff(exposed) >= 0.0), exposed
    zero = pipeline_p2p(hw, mp, cal, np.zeros(v.size), dp, m)
    fixed = np.where(zero.crosses_scaleout, hw.scaleout_latency_s, hw.scaleup_latency_s) + cal.kernel_overhead_s
    hidden = np.where(v > 1, cal.pipeline_p2p_overlap, 0.0)  # 1F1B waits on every send
    sends = v * 32.0 * (1 - hidden) + unpaired_chunk_passes(m, 2.0, v)
    np.testing.assert_allclose(zero.exposed_s, 2.0 * fixed * sends, rtol=1e-12)
    # no pipeline, no P2P
    assert np.all(pipeline_p2p(hw, _mapping(1, pp=1.0), cal, np.ones(1), np.ones(1), np.ones(1)).exposed_s == 0.0)
