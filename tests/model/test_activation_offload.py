"""Activation offloading to host memory (issue 10, NeMo FSDP rows with ``cpu_offloading_num_layers``):
offloading never increases HBM memory, the step time is non-decreasing in the offloaded layers at fixed
everything else, zero offloaded layers is bit-identical to no offload field at all, and a part without a
known host link cannot offload (infeasible, not an error)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.training import TrainingJob

TECH, CAL = load_technology(), load_calibration()
GB200 = get_accelerator("GB200")
WL = load_workload("gpt3-175b")
HOST = float(GB200.published["host_link_bw_bytes_per_s"].value)
STRATEGY = "tp=8,pp=1,cp=1,mb=1,recompute=none,zero=3"


def _run(offload: int, host: float = HOST, strategy: str = STRATEGY, seq: int = 2048) -> dict[str, np.ndarray]:
    """GB200 with host link ``host`` (hardware column ``host_link_bw_bytes_per_s``; 0 = unknown)."""
    wl = replace(WL, training=replace(WL.training, seq_len=seq, global_batch_seqs=64, activation_offload_layers=offload))
    hw = HardwareArrays.from_designs([GB200.design.replace(accelerator_count=64, host_link_bw_bytes_per_s=host)])
    return evaluate_design_batch(hw, wl, tech=TECH, calibration=CAL, strategy=strategy, infeasible="least_violating")


def test_catalog_host_links_are_sourced_per_direction():
    # min(NVLink-C2C 900 GB/s bidirectional / 2 = 450, Grace LPDDR5X 546 GB/s / 2 GPUs = 273): the host memory bounds it.
    assert HOST == pytest.approx(273e9)
    assert float(get_accelerator("GB300").published["host_link_bw_bytes_per_s"].value) == pytest.approx(273e9)
    assert float(get_accelerator("H100-SXM").published["host_link_bw_bytes_per_s"].value) == pytest.approx(55e9)


def test_zero_offload_is_bit_identical_to_today():
    plain = _run(0, host=0.0)
    with_link = _run(0)
    for key in ("step_time_s", "memory_per_accelerator_bytes", "memory_activations_bytes"):
        assert np.array_equal(plain[key], with_link[key]), key
    assert float(plain["offload_exposed_s"][0]) == 0.0


def test_offload_never_increases_hbm_memory_and_time_is_non_decreasing():
    mems, steps = [], []
    for n in (0, 12, 48, 95, 96, 200):  # 96 layers: at least one stays resident
        out = _run(n)
        mems.append(float(out["memory_activations_bytes"][0]))
        steps.append(float(out["step_time_s"][0]))
    assert all(b <= a for a, b in zip(mems, mems[1:]))
    assert all(b >= a for a, b in zip(steps, steps[1:]))
    # Linear in the offloaded layers (each takes one layer's activations out of HBM), capped at 95 of 96.
    assert (mems[0] - mems[3]) / (mems[0] - mems[2]) == pytest.approx(95 / 48)
    assert mems[4] == mems[3] and mems[5] == mems[3]


def test_copy_shows_only_where_it_is_longer_than_the_layer():
    fast = _run(48)  # C2C: a layer's activations copy in less than its compute at seq 2048
    assert float(fast["offload_exposed_s"][0]) == 0.0
    slow = _run(48, host=1e9)  # 1 GB/s: copy-bound
    assert float(slow["offload_exposed_s"][0]) > 0.0
    assert float(slow["step_time_s"][0]) > float(fast["step_time_s"][0])


def test_no_host_link_makes_offload_infeasible():
    out = _run(10, host=0.0)  # host_link_bw_bytes_per_s 0: unknown
    assert float(out["violation_mapping"][0]) > 0 or not bool(out["mapping_found"][0])


def test_negative_offload_is_an_input_error():
    with pytest.raises(InputError, match="activation_offload_layers"):
        TrainingJob(global_batch_seqs=1, seq_len=1, activation_offload_layers=-1)
