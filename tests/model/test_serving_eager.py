"""Iterations carrying a prompt run without CUDA graphs (model/inference/eager.py): the host floor and
the bench's batch cap per attention-DP rank, as properties of the serving model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.serving_calibration import load_serving_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.inference import ServingJob, enumerate_serving_configs, serving_performance
from archsweep.model.inference.eager import prompt_iteration_fraction, with_eager_floor
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
SCAL = load_serving_calibration()
DEP4 = {"width": 4.0, "attention_dp": 1.0, "pp": 1.0, "ep": 4.0, "disaggregated": 0.0}
TP1 = {"width": 1.0, "attention_dp": 0.0, "pp": 1.0, "ep": 1.0, "disaggregated": 0.0}


def _hw(name: str, n: int) -> HardwareArrays:
    return HardwareArrays.from_designs(get_accelerator(name).design.replace(accelerator_count=n))


def _job(eager: bool, isl: float = 1000.0, osl: float = 1000.0) -> ServingJob:
    return ServingJob(isl, osl, weight_precision="fp8", activation_precision="fp8", kv_precision="fp8",
                      num_requests=3000.0, eager_prompt_iterations=eager)


def test_prompt_fraction_is_a_fraction_growing_with_batch_and_ranks():
    batch = np.array([1.0, 64.0, 256.0, 1024.0, 4096.0])
    one = prompt_iteration_fraction(batch, 8192.0, 1.0, 1000.0, 1000.0)
    four = prompt_iteration_fraction(batch, 4 * 8192.0, 4.0, 1000.0, 1000.0)
    assert np.all((one >= 0) & (one <= 1)) and np.all((four >= 0) & (four <= 1))
    assert np.all(np.diff(one) >= 0)
    # The same sequences a rank on four ranks: some rank takes a prompt in more iterations.
    assert np.all(prompt_iteration_fraction(4 * batch, 4 * 8192.0, 4.0, 1000.0, 1000.0) >= one)
    # A rank needing a prompt every iteration (B / OSL >= whole prompts that fit) is always eager.
    assert prompt_iteration_fraction(2000.0, 2048.0, 1.0, 1000.0, 1000.0) == 1.0


def test_eager_floor_never_speeds_an_iteration():
    step = np.array([0.010, 0.050, 0.200])
    stage = step - 0.002  # per-round overhead 2 ms, one stage
    for frac in (0.0, 0.3, 1.0):
        for host in (0.0, 0.02, 0.1):
            t = with_eager_floor(step, stage, host, 1.0, np.full(3, frac))
            assert np.all(t >= step - 1e-15)
    assert np.allclose(with_eager_floor(step, stage, 0.1, 1.0, np.zeros(3)), step)
    assert np.allclose(with_eager_floor(step, stage, 0.001, 1.0, np.ones(3)), step)  # host below the device time


@pytest.mark.parametrize(("model", "part", "n", "fixed"), [
    ("qwen3-235b-a22b", "B200", 4, DEP4), ("deepseek-v3", "B200", 4, DEP4), ("llama3-70b", "H200", 1, TP1),
    ("mixtral-8x7b", "H100", 1, TP1)])
def test_eager_prompt_iterations_never_raise_throughput(model, part, n, fixed):
    wl = load_workload(model)
    hw = _hw(part, n)
    for isl, osl in ((1000.0, 1000.0), (1024.0, 8192.0), (8192.0, 1024.0)):
        graph, eager = (_job(e, isl, osl) for e in (False, True))
        cfg = enumerate_serving_configs(wl, graph, n, disaggregation=False, fixed=fixed)
        base = serving_performance(hw, wl, cfg, graph, SCAL, CAL)
        slow = serving_performance(hw, wl, cfg, eager, SCAL, CAL)
        assert np.all(slow.output_tokens_per_s <= base.output_tokens_per_s * (1 + 1e-12))
        assert np.all(slow.tpot_s >= base.tpot_s * (1 - 1e-12))
        # No host time per layer: the flag changes nothing.
        zero = serving_performance(hw, wl, cfg, eager, dataclasses.replace(SCAL, eager_host_s_per_layer=0.0), CAL)
        assert np.allclose(zero.output_tokens_per_s, base.output_tokens_per_s, rtol=1e-12)


def test_disaggregated_decode_pool_has_no_prompt_iterations():
    wl = load_workload("llama3-70b")
    hw = _hw("H200", 8)
    graph, eager = _job(False), _job(True)
    cfg = enumerate_serving_configs(wl, graph, 8, disaggregation=True, fixed={"disaggregated": 1.0})
    assert len(cfg) > 0
    a = serving_performance(hw, wl, cfg, graph, SCAL, CAL)
    b = serving_performance(hw, wl, cfg, eager, SCAL, CAL)
    assert np.allclose(a.tpot_s, b.tpot_s, rtol=1e-12)


def test_batch_cap_holds_per_attention_dp_rank_and_a_larger_ladder_buys_nothing():
    # trtllm-bench's max_batch_size applies per rank under attention DP (the executor's scheduler
    # per rank; TensorRT-LLM bench/tuning/heuristics.py: "each TP rank independently manages its own KV
    # cache and batch"). In flight per rank never exceeds it, and offering more sequences than
    # cap x ranks gives the same throughput.
    wl = load_workload("qwen3-235b-a22b")
    hw = _hw("B200", 4)
    job = _job(True)
    scal = dataclasses.replace(SCAL, max_batch_size=128.0)
    rates = []
    for ladder in (512, 1024, 4096):
        cfg = enumerate_serving_configs(wl, job, 4, concurrency_ladder=(ladder,), disaggregation=False, fixed=DEP4)
        r = serving_performance(hw, wl, cfg, job, scal, CAL)
        assert np.all(r.concurrency / 4.0 <= 128.0)
        rates.append(float(np.max(r.output_tokens_per_s)))
    assert rates[0] == pytest.approx(rates[1], rel=1e-12) and rates[1] == pytest.approx(rates[2], rel=1e-12)
