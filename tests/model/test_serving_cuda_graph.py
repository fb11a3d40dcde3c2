"""s20-D: CUDA-graph padding of generation-only iterations (TensorRT-LLM ``_filter_cuda_graph_batch_sizes`` and
``CUDAGraphRunner.pad_batch``; model.inference.cuda_graph)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.serving_calibration import load_serving_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.inference import ServingJob, enumerate_serving_configs, serving_performance
from archsweep.model.inference.cuda_graph import captured_batch_sizes, padded_batch
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.serving import PERF_OVERVIEW_BATCH_SIZES

CAL = load_calibration()
SCAL = load_serving_calibration()
TP1 = {"width": 1.0, "attention_dp": 0.0, "pp": 1.0, "ep": 1.0, "disaggregated": 0.0}
DEP4 = {"width": 4.0, "attention_dp": 1.0, "pp": 1.0, "ep": 4.0, "disaggregated": 0.0}


def test_captured_sizes_follow_the_engine_filter():
    # up to min(max_batch_size, max_num_tokens); the cap itself is added where the list goes beyond it
    assert captured_batch_sizes(PERF_OVERVIEW_BATCH_SIZES, 2048, 8192)[-3:] == (512, 1024, 2048)
    assert captured_batch_sizes(PERF_OVERVIEW_BATCH_SIZES, 384, 8192)[-2:] == (256, 384)
    assert captured_batch_sizes(PERF_OVERVIEW_BATCH_SIZES, 375, 8192)[-2:] == (256, 375)
    assert captured_batch_sizes(PERF_OVERVIEW_BATCH_SIZES, 2048, 1000)[-2:] == (512, 1000)
    assert captured_batch_sizes((1, 2, 4), 8, 8192) == (1, 2, 4)  # nothing listed beyond the cap: no extra size


def test_a_batch_runs_at_the_next_captured_size():
    sizes = captured_batch_sizes(PERF_OVERVIEW_BATCH_SIZES, 2048, 8192)
    got = padded_batch(np.array([1.0, 3.0, 384.0, 400.0, 543.0, 2048.0, 3000.0]), sizes)
    assert got.tolist() == [1.0, 4.0, 384.0, 512.0, 1024.0, 2048.0, 3000.0]
    assert padded_batch(np.array([543.0]), ()).tolist() == [543.0]


def _run(model: str, part: str, n: int, fixed: dict[str, float], sizes: tuple[int, ...], isl: float, osl: float,
         weight: str = "fp8"):
    wl = load_workload(model)
    job = ServingJob(isl, osl, weight_precision=weight, activation_precision="fp8" if weight != "int4" else "bf16",  # type: ignore[arg-type]
                     kv_precision="fp8", num_requests=3000.0, eager_prompt_iterations=True, cuda_graph_batch_sizes=sizes)
    hw = HardwareArrays.from_designs(get_accelerator(part).design.replace(accelerator_count=n))
    cfg = enumerate_serving_configs(wl, job, n, concurrency_ladder=(3000,), disaggregation=False, fixed=fixed)
    return serving_performance(hw, wl, cfg, job, SCAL, CAL)


@pytest.mark.parametrize(("model", "part", "n", "fixed", "weight"), [
    ("gpt-oss-120b", "H200", 1, TP1, "int4"), ("gpt-oss-20b", "H100", 1, TP1, "int4"),
    ("qwen3-235b-a22b", "H200", 4, DEP4, "fp8"), ("llama3-70b", "H200", 1, TP1, "fp8")])
@pytest.mark.parametrize(("isl", "osl"), [(1000.0, 1000.0), (1024.0, 8192.0), (8192.0, 1024.0)])
def test_padding_never_speeds_serving(model, part, n, fixed, weight, isl, osl):
    sizes = captured_batch_sizes(PERF_OVERVIEW_BATCH_SIZES, 2048, 8192)
    plain = _run(model, part, n, fixed, (), isl, osl, weight)
    padded = _run(model, part, n, fixed, sizes, isl, osl, weight)
    assert plain.output_tokens_per_s.size > 0
    assert np.all(padded.output_tokens_per_s <= plain.output_tokens_per_s * (1 + 1e-12))
    assert np.all(padded.tpot_s >= plain.tpot_s * (1 - 1e-12))
    assert np.array_equal(padded.concurrency, plain.concurrency)  # dummies hold no sequence slot


def test_no_padding_when_every_size_is_captured():
    every = tuple(range(1, 4097))  # every batch is a captured size: nothing to pad
    plain = _run("gpt-oss-120b", "H200", 1, TP1, (), 1000.0, 1000.0, "int4")
    full = _run("gpt-oss-120b", "H200", 1, TP1, every, 1000.0, 1000.0, "int4")
    for f in dataclasses.fields(plain):
        assert np.array_equal(getattr(plain, f.name), getattr(full, f.name), equal_nan=True), f.name


def test_a_batch_above_the_largest_captured_size_runs_eager_and_unpadded():
    # CUDAGraphRunner: no padding above max_supported_batch_size and no graph for an uncaptured size, so the
    # iteration runs eager (s20-H): never faster than with graphs, and no dummy request is added
    small = (1, 2, 4)  # every batch of this job is above 4
    plain = _run("llama3-70b", "H200", 1, TP1, (), 1000.0, 1000.0)
    capped = _run("llama3-70b", "H200", 1, TP1, small, 1000.0, 1000.0)
    assert np.all(plain.concurrency > 4)
    assert np.all(capped.tpot_s >= plain.tpot_s * (1 - 1e-12))
    huge = _run("llama3-70b", "H200", 1, TP1, (*small, 8192), 1000.0, 1000.0)  # the same batch padded to 8192
    assert np.all(capped.tpot_s < huge.tpot_s)  # above the largest size nothing is padded


def test_batch_sizes_are_checked():
    with pytest.raises(InputError, match="cuda_graph_batch_sizes"):
        ServingJob(1024.0, 1024.0, cuda_graph_batch_sizes=(8, 4))
    with pytest.raises(InputError, match="cuda_graph_batch_sizes"):
        ServingJob(1024.0, 1024.0, cuda_graph_batch_sizes=(0, 4))


def test_dummy_requests_run_the_gemms_but_read_no_cache():
    from archsweep.model.gemm import scalar_part_physics
    from archsweep.model.inference.decode import decode_step_time_s
    from archsweep.model.inference.step import matrix_peak_flops

    wl = load_workload("gpt-oss-120b")
    job = ServingJob(1000.0, 1000.0, weight_precision="int4", kv_precision="bf16")
    hw = HardwareArrays.from_designs(get_accelerator("H200").design.replace(accelerator_count=1))
    cfg = enumerate_serving_configs(wl, job, 1, concurrency_ladder=(543,), disaggregation=False, fixed=TP1)
    part = scalar_part_physics(hw)
    peak = matrix_peak_flops(hw, "bf16", False)
    b = np.array([543.0])
    _, plain = decode_step_time_s(part, wl, cfg, job, SCAL, CAL, peak, b, b)
    _, padded = decode_step_time_s(part, wl, cfg, job, SCAL, CAL, peak, b, b, np.array([481.0]))
    assert np.array_equal(plain.attention_s, padded.attention_s)
    assert np.all(padded.linear_s > plain.linear_s)
    assert np.all(padded.matrix_flops > plain.matrix_flops)
