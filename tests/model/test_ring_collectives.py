"""Reduce-scatter / all-gather across scale-up domains as NCCL's one pipelined ring (issue 10, s9-ring).

NCCL prices a ring as one bus bandwidth, nChannels x the per-channel ring speed (the slowest link the
graph search found), and adds per-step latencies, (nsteps - nInterSteps) intra + nInterSteps inter
(NVIDIA/nccl@b6475625fbcaa2c3c0e50eed2fa1255d7514d4a2 src/graph/tuning.cc): the chunks cross NVLink and
the NICs at once, so the slower tier sets the time, not the sum of an in-domain and a cross-domain phase.
"""

from __future__ import annotations

import numpy as np
import pytest

from archsweep.load.catalog import get_accelerator
from archsweep.model import collectives as coll
from archsweep.spec.hardware import HardwareArrays

H100 = get_accelerator("H100-SXM").design
EFF = 1.0


def _hw(scaleup: float | None = None, scaleout: float | None = None, latency: bool = False) -> HardwareArrays:
    design = H100.replace(accelerator_count=64)
    if scaleup is not None:
        design = design.replace(scaleup_bw_bytes_per_s=scaleup)
    if scaleout is not None:
        design = design.replace(scaleout_bw_bytes_per_s=scaleout)
    if not latency:
        design = design.replace(scaleup_latency_s=0.0, scaleout_latency_s=0.0)
    return HardwareArrays.from_designs([design])


def _t(hw: HardwareArrays, size: float, n: float) -> float:
    return float(coll.all_gather_time_s(hw, np.array([size]), np.array([n]), np.array([1.0]), EFF)[0])


def test_one_domain_is_the_plain_ring():
    hw = _hw(latency=True)
    size, n = 1e9, 8.0
    expected = (n - 1) / n * size / hw.scaleup_bw_bytes_per_s[0] + (n - 1) * hw.scaleup_latency_s[0]
    assert _t(hw, size, n) == pytest.approx(expected, rel=1e-12)


def test_across_domains_the_slower_tier_sets_the_time():
    """64 ranks, 8 per domain: NIC share (n-1)/n / 8 per rank, NVLink share (n-1)/n x (n - 8)/n."""
    size, n = 1e9, 64.0
    moved = (n - 1) / n * size
    slow_nic = _hw(scaleup=1e15, scaleout=1e9)
    assert _t(slow_nic, size, n) == pytest.approx(moved / 8 / 1e9, rel=1e-9)
    slow_up = _hw(scaleup=1e9, scaleout=1e15)
    assert _t(slow_up, size, n) == pytest.approx(moved * (n - 8) / n / 1e9, rel=1e-9)
    both = _hw(scaleup=450e9, scaleout=50e9)
    assert _t(both, size, n) == pytest.approx(max(moved * (n - 8) / n / 450e9, moved / 8 / 50e9), rel=1e-12)


def test_hops_follow_nccl_latency_model():
    """Ring reduce-scatter / all-gather: nNodes - 1 inter-node steps, the other n - nNodes intra."""
    hw = _hw(scaleup=1e30, scaleout=1e30, latency=True)
    n = 64.0
    expected = (n - 8) * hw.scaleup_latency_s[0] + 7 * hw.scaleout_latency_s[0]
    assert _t(hw, 1.0, n) == pytest.approx(expected, rel=1e-9)


def test_reduce_scatter_costs_the_same_as_all_gather():
    hw = _hw(latency=True)
    args = (hw, np.array([3e8]), np.array([32.0]), np.array([1.0]), 0.8)
    assert coll.reduce_scatter_time_s(*args)[0] == coll.all_gather_time_s(*args)[0]
