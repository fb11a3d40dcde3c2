"""The expert-parallel bytes a step reports for energy (``StepResult.scaleup_bytes`` / ``scaleout_bytes``,
read by ``power.step_energy``) are the per-tier bytes its time prices
(:func:`archsweep.model.collectives.ep_dispatch_bytes`), not the flat all-to-all volume split 50/50:
an EP group inside one scale-up domain sends nothing over the scale-out network (review of s9-a2a)."""

from __future__ import annotations

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.workloads import load_workload
from archsweep.model import collectives as coll
from archsweep.model.training.communication import ep_alltoalls_per_layer, expert_parallel
from archsweep.model.training.mapping import MappingArrays
from archsweep.spec.hardware import HardwareArrays

WL = load_workload("mixtral-8x7b")
HW = HardwareArrays.from_designs([get_accelerator("H100-SXM").design])  # 8 GPUs per NVLink domain
ONES = np.ones(3)
# EP 8 on consecutive ranks (one domain), EP 8 at stride TP 2 (two domains), no EP
MP = MappingArrays(tp=np.array([1.0, 2.0, 1.0]), pp=ONES, cp=ONES, ep=np.array([8.0, 8.0, 1.0]), vpp=ONES,
                   micro_batch=ONES, recompute=np.zeros(3), zero_stage=ONES, sequence_parallel=np.zeros(3),
                   flash_attention=ONES, tp_overlap=np.zeros(3), dp_overlap=ONES)
TOKENS = float(WL.seq_len) * ONES
MICRO, LAYERS = np.full(3, 4.0), np.full(3, 32.0)


def _cost(stack: str):
    cal = load_calibration(stack=stack)
    return cal, expert_parallel(HW, WL, MP, cal, TOKENS, MP.tp, np.full(3, 32.0), MICRO, LAYERS, 1.0)


def _size_and_passes():
    size = 2.0 * TOKENS * WL.moe.top_k * WL.moe.capacity_factor * WL.hidden / MP.tp
    return size, MICRO * LAYERS * ep_alltoalls_per_layer(MP)


def test_all_to_all_bytes_by_tier():
    """megatron-core (all-to-all dispatcher): the same total as before, (ep - 1)/ep of the routed bytes,
    now on the tier each share crosses: all scale-up inside one domain, half the group's ranks remote at TP 2."""
    _, ep = _cost("megatron-core")
    size, passes = _size_and_passes()
    np.testing.assert_allclose(ep.scaleup_bytes + ep.scaleout_bytes, passes * size * (MP.ep - 1) / MP.ep)
    assert ep.scaleout_bytes[0] == 0.0 and ep.scaleup_bytes[0] > 0.0
    assert ep.scaleout_bytes[1] == pytest.approx(passes[1] * size[1] * 4 / 8)
    assert ep.scaleup_bytes[2] == 0.0 and ep.scaleout_bytes[2] == 0.0


def test_per_domain_bytes_are_the_priced_ones():
    """megatron-core-flex (DeepEP / HybridEP): ep_dispatch_bytes at the EP group's own domain split."""
    cal, ep = _cost("megatron-core-flex")
    size, passes = _size_and_passes()
    n_in = coll.group_split(MP.ep, MP.tp * MP.cp, HW.scaleup_domain_size)[0]
    b_in, b_out = coll.ep_dispatch_bytes(size, MP.ep, n_in, 1.0, float(WL.moe.num_experts), WL.moe.top_k)
    np.testing.assert_array_equal(ep.scaleup_bytes, passes * b_in)
    np.testing.assert_array_equal(ep.scaleout_bytes, passes * b_out)
    assert ep.scaleout_bytes[0] == 0.0
    assert 0.0 < ep.scaleout_bytes[1] <= passes[1] * size[1] * 4 / 8
