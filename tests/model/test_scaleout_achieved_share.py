"""The scale-out line rate and the share of it a part's system achieves (s10-m1): ``scaleout_bw_bytes_per_s``
is the NIC line rate, which sizes NICs and switch ports (cost, power, area); the performance model runs
at ``scaleout_bw_bytes_per_s x scaleout_achieved_share`` (:func:`archsweep.model.collectives.scaleout_rate`).
B300: 100 GB/s line rate (8 x 800 Gb/s per DGX B300), 0.5 achieved (the Megatron-Bridge DGX-B300 benchmark
cluster, data/hardware/catalog.yaml); every other part achieves its line rate (1)."""

from __future__ import annotations

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator, load_catalog
from archsweep.load.part_physics import part_columns
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model import collectives as coll
from archsweep.model.cost import network_cost_per_accelerator_usd, network_ports_per_accelerator
from archsweep.model.training.comm_bound import features
from archsweep.model.training.mapping import enumerate_mappings
from archsweep.model.training.step import training_step
from archsweep.spec.catalog import SourcedValue
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays

TECH = load_technology()
CAL = load_calibration(stack="megatron-core")
B300 = get_accelerator("B300").design.replace(accelerator_count=64)
# the same part at its achieved rate as a line rate: what the catalog held before (s10-gptoss)
B300_AT_50 = B300.replace(scaleout_bw_bytes_per_s=50e9, scaleout_achieved_share=1.0)


def test_b300_line_rate_and_achieved_share_and_the_other_parts_at_their_line_rate():
    assert (B300.scaleout_bw_bytes_per_s, B300.scaleout_achieved_share) == (100e9, 0.5)
    for name, entry in load_catalog().items():
        if name != "B300":
            assert entry.design.scaleout_achieved_share == 1.0, name


def test_cost_sizes_nics_and_ports_at_the_line_rate():
    """8 x 800 Gb/s per node: NIC ports of 100 GB/s per GPU, twice those of a 50 GB/s part; the achieved
    share changes no port and no dollar."""
    hw = HardwareArrays.from_designs([B300, B300.replace(scaleout_achieved_share=1.0), B300_AT_50])
    nic, switch = network_ports_per_accelerator(hw, TECH)
    port = TECH.economics.nic_port_bw_bytes_per_s
    assert nic[0] == nic[1] == np.ceil(100e9 / port - 1e-9)
    assert nic[2] == np.ceil(50e9 / port - 1e-9) and nic[0] > nic[2] and switch[0] > switch[2]
    usd = network_cost_per_accelerator_usd(hw, TECH)
    assert usd[0] == usd[1] and usd[0] > usd[2]


def test_performance_runs_at_the_achieved_rate():
    """The scale-out rate the model uses is 50 GB/s; a MoE step with EP across nodes and the pruned
    search's rate features are those of a 50 GB/s line rate at share 1, bit for bit."""
    hw = HardwareArrays.from_designs([B300, B300_AT_50])
    assert np.all(coll.scaleout_rate(hw) == 50e9)
    np.testing.assert_array_equal(features(hw, CAL)[0], features(hw, CAL)[1])
    wl = load_workload("qwen3-30b-a3b")
    mp, _ = enumerate_mappings(wl, fixed={"tp": 1, "pp": 1, "cp": 1, "ep": 16, "vpp": 1, "micro_batch": 1,
                                          "recompute": 0, "zero_stage": 1, "sequence_parallel": 0,
                                          "tp_overlap": 0})
    a = training_step(HardwareArrays.from_designs([B300]), wl, mp, CAL)
    b = training_step(HardwareArrays.from_designs([B300_AT_50]), wl, mp, CAL)
    line = training_step(HardwareArrays.from_designs([B300.replace(scaleout_achieved_share=1.0)]), wl, mp, CAL)
    assert np.all(a.ep_comm_exposed_s > 0)
    np.testing.assert_array_equal(a.step_time_s, b.step_time_s)
    np.testing.assert_array_equal(a.ep_comm_exposed_s, b.ep_comm_exposed_s)
    assert np.all(line.ep_comm_exposed_s < a.ep_comm_exposed_s)


def test_a_published_share_above_the_line_rate_is_refused():
    over = SourcedValue(1.5, "s", "l", "low")
    with pytest.raises(InputError, match=r"B300\.published\.scaleout_achieved_share\.value"):
        part_columns("B300", B300, {"scaleout_achieved_share": over})


def test_a_published_share_of_zero_is_refused():
    """A share of 0 would price every scale-out transfer at an infinite time: refused with its key path."""
    with pytest.raises(InputError, match=r"B300\.published\.scaleout_achieved_share\.value"):
        part_columns("B300", B300, {"scaleout_achieved_share": SourcedValue(0.0, "s", "l", "low")})
