"""benchmarks/row_breakdown.py prices the MoE layer's terms as the step does (s14-h100slow): the expert TP width and
the EP group's rank stride of MoE parallel folding (``expert_tensor_parallel``)."""

from __future__ import annotations

import re

import pytest
from conftest import load_benchmark

# Megatron-LM MoE model zoo, Qwen3-235B-A22B on 256 H100, alltoall dispatcher, TP 2 PP 32 EP 8, no EP overlap:
# DP = 256 / 64 = 4 < EP 8, so EP folds over TP (ETP 1) and the EP group is 8 consecutive ranks, one DGX node.
ZOO_EP8 = "mcore_moe_qwen3_235b_h100_256_alltoall_ep8_pp32"


def test_folded_ep_group_priced_inside_the_node_as_the_step() -> None:
    """The one all-to-all the tool prints, x 4 per layer x 3 layers of the busiest stage (ceil(94 / 32)) x 512
    micro-batches, is the step's exposed EP time (no overlap: every call exposed). Inside one NVLink node the 134 MB of
    routed copies per rank (4096 tokens / TP 2 x top-8 x hidden 4096 x 2 B) move 7/8 at 0.8 x 450 GB/s: 0.33 ms; the
    old stride (TP x CP = 2) put the group over 2 nodes at 1.68 ms."""
    text = load_benchmark("row_breakdown").breakdown(ZOO_EP8)
    a2a_ms = float(re.search(r"one all-to-all ([0-9.]+)", text).group(1))
    exposed_s = float(re.search(r"ep_comm_exposed ([0-9.]+)", text).group(1))
    assert "etp=1" in text
    assert a2a_ms == pytest.approx(7 / 8 * 2 * 2048 * 8 * 4096 / 360e9 * 1e3, rel=0.05)
    assert a2a_ms * 1e-3 * 4 * 3 * 512 == pytest.approx(exposed_s, rel=0.01)
