"""s19-M2: a KV cache that holds every layer at full length (TensorRT-LLM's one pool when the options
give no ``max_attention_window``) against per-window pools (local layers hold at most their window)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.serving_calibration import load_serving_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.inference import ServingJob, enumerate_serving_configs, serving_performance
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
SCAL = load_serving_calibration()
DEP4 = {"width": 4.0, "attention_dp": 1.0, "pp": 1.0, "ep": 4.0, "disaggregated": 0.0}
TP1 = {"width": 1.0, "attention_dp": 0.0, "pp": 1.0, "ep": 1.0, "disaggregated": 0.0}


def _run(model: str, part: str, n: int, fixed: dict[str, float], full: bool, isl: float, osl: float):
    wl = load_workload(model)
    job = ServingJob(isl, osl, weight_precision="fp8", activation_precision="fp8", kv_precision="fp8",
                     num_requests=1000.0, full_length_kv_pool=full)
    hw = HardwareArrays.from_designs(get_accelerator(part).design.replace(accelerator_count=n))
    cfg = enumerate_serving_configs(wl, job, n, disaggregation=False, fixed=fixed)
    return serving_performance(hw, wl, cfg, job, SCAL, CAL)


@pytest.mark.parametrize(("model", "part", "n", "fixed"), [
    ("gpt-oss-120b", "H100", 4, DEP4), ("gpt-oss-20b", "H200", 1, TP1), ("llama4-maverick-17b-128e", "B200", 4, DEP4)])
def test_full_length_pool_holds_fewer_sequences_of_a_local_attention_model(model, part, n, fixed):
    for isl, osl in ((1024.0, 1024.0), (1024.0, 32768.0)):
        pools = _run(model, part, n, fixed, False, isl, osl)
        full = _run(model, part, n, fixed, True, isl, osl)
        assert np.all(full.kv_capacity_sequences <= pools.kv_capacity_sequences)
        assert np.all(full.concurrency <= pools.concurrency)
        if isl + osl > 8192:  # longer than every model's window / chunk here: the pool is strictly smaller
            assert np.all(full.kv_capacity_sequences < pools.kv_capacity_sequences)


@pytest.mark.parametrize(("model", "part", "n", "fixed"), [("llama3-70b", "H200", 1, TP1), ("deepseek-v3", "B200", 4, DEP4)])
def test_full_length_pool_changes_nothing_without_local_layers(model, part, n, fixed):
    pools = _run(model, part, n, fixed, False, 1024.0, 8192.0)
    full = _run(model, part, n, fixed, True, 1024.0, 8192.0)
    for f in dataclasses.fields(pools):
        assert np.array_equal(getattr(pools, f.name), getattr(full, f.name), equal_nan=True), f.name
