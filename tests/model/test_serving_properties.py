"""Property tests of the serving model (monotone, bounded, no NaN, scalar == batch)."""

from __future__ import annotations

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.serving_calibration import load_serving_calibration
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_job
from archsweep.model.inference import (
    ServingJob,
    ServingJobKind,
    enumerate_serving_configs,
    kv_bytes_per_token_per_accelerator,
    serving_performance,
    throughput_latency_curve,
)
from archsweep.model.inference.decode import decode_step_time_s
from archsweep.model.inference.prefill import prefill_time_s
from archsweep.model.inference.step import expected_distinct_experts
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
SCAL = load_serving_calibration()
TECH = load_technology()
MODELS = ("llama3-8b", "llama3-70b", "mixtral-8x7b", "deepseek-v3")

def _best(hw, wl, job, cfg, scal, cal, *, fp4_supported=False):
    """The driver's best configuration (serving job kind through :func:`evaluate_job`)."""
    kind = ServingJobKind(wl, job, cfg, scal, cal, fp4_supported=fp4_supported)
    return evaluate_job(hw, kind, tech=TECH, objective="output_tokens_per_s_per_accelerator")



def _hw(name="H100", n=8, **changes) -> HardwareArrays:
    return HardwareArrays.from_designs(get_accelerator(name).design.replace(accelerator_count=n, **changes))


def _cfg(wl, job, n=8, **fixed):
    return enumerate_serving_configs(wl, job, n, fixed=fixed or None)


@pytest.mark.parametrize("model", MODELS)
def test_more_hbm_bandwidth_never_slows_decode(model):
    wl = load_workload(model)
    job = ServingJob(1024, 256, weight_precision="fp8", activation_precision="fp8", kv_precision="fp8")
    cfg = _cfg(wl, job, disaggregated=0.0).reshape((1, -1))
    base = get_accelerator("H200").design
    bws = np.array([0.5, 1.0, 2.0, 4.0]) * base.hbm_bw_per_stack_bytes_per_s
    hw = HardwareArrays.from_designs([base.replace(hbm_bw_per_stack_bytes_per_s=b, accelerator_count=8) for b in bws])
    hw = HardwareArrays(**{k: v[:, None] for k, v in hw.columns().items()})
    peak = hw.peak_matrix_flops_fp8
    for b in (1.0, 64.0, 512.0):
        t, _ = decode_step_time_s(hw, wl, cfg, job, SCAL, CAL, peak, np.full((1, len(cfg.width[0])), b))
        assert np.all(np.diff(t, axis=0) <= 1e-15)


@pytest.mark.parametrize("model", MODELS)
def test_longer_prompt_never_lowers_ttft(model):
    wl = load_workload(model)
    hw = _hw()
    prev = None
    for isl in (128, 512, 2048, 8192, 32768):
        job = ServingJob(isl, 128, load="concurrency", concurrency=8)
        cfg = _cfg(wl, job, chunk_tokens=8192.0, disaggregated=0.0)
        r = serving_performance(hw, wl, cfg, job, SCAL, CAL)
        t, _ = prefill_time_s(hw, wl, cfg, job, SCAL, CAL, hw.peak_matrix_flops_bf16)
        if prev is not None:
            assert np.all(t >= prev[0] - 1e-12)
        prev = (t, r.ttft_s)


@pytest.mark.parametrize("model", MODELS)
def test_tpot_never_falls_as_batch_grows(model):
    wl = load_workload(model)
    job = ServingJob(2048, 512)
    cfg = _cfg(wl, job, disaggregated=0.0)
    hw = _hw()
    prev = None
    for b in (1, 2, 4, 16, 64, 256, 1024, 4096):
        t, _ = decode_step_time_s(hw, wl, cfg, job, SCAL, CAL, hw.peak_matrix_flops_bf16, np.full(len(cfg), float(b)),
                                  b * 2048 / 512)
        if prev is not None:
            assert np.all(t >= prev - 1e-12)
        prev = t


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("load", ["offline", "qps"])
def test_concurrency_never_exceeds_kv_capacity(model, load):
    wl = load_workload(model)
    job = ServingJob(8192, 1024, load=load, qps=50.0 if load == "qps" else None)
    cfg = _cfg(wl, job)
    r = serving_performance(_hw(), wl, cfg, job, SCAL, CAL)
    fits = r.kv_capacity_sequences >= 1
    per_replica = r.concurrency / np.maximum(cfg.replicas, 1)
    assert np.all(per_replica[fits] <= r.kv_capacity_sequences[fits] + 1e-9)
    assert np.all(r.memory_violation[~fits] > 0)
    assert np.all(r.memory_violation[fits & (r.valid)] <= 1e-9)


@pytest.mark.parametrize("model", MODELS)
def test_fp8_kv_holds_at_least_as_many_tokens_as_bf16(model):
    wl = load_workload(model)
    tp = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    pp = np.array([1.0, 1.0, 2.0, 4.0, 1.0])
    bf16 = kv_bytes_per_token_per_accelerator(wl, 2.0, tp, pp)
    fp8 = kv_bytes_per_token_per_accelerator(wl, 1.0, tp, pp)
    assert np.all(fp8 <= bf16)
    hw = _hw()
    cap = {}
    for kv in ("bf16", "fp8"):
        job = ServingJob(2048, 512, kv_precision=kv)
        cfg = _cfg(wl, job)
        cap[kv] = serving_performance(hw, wl, cfg, job, SCAL, CAL).kv_capacity_sequences
    assert np.all(cap["fp8"] >= cap["bf16"])


def test_kv_bytes_per_token_known_values():
    # Llama 3 70B: 80 layers x 2 x 8 KV heads x 128 x 2 B = 320 KiB per token (BF16).
    wl = load_workload("llama3-70b")
    assert kv_bytes_per_token_per_accelerator(wl, 2.0, np.array(1.0), np.array(1.0)) == 80 * 2 * 8 * 128 * 2
    # TP 16 > 8 KV heads: one head per rank (replicated).
    assert kv_bytes_per_token_per_accelerator(wl, 2.0, np.array(16.0), np.array(1.0)) == 80 * 2 * 1 * 128 * 2
    # DeepSeek-V3 MLA: (512 + 64) x 61 layers x 2 B = 70,272 B (DeepSeek-V2 Sec. 2.1.4 style accounting).
    ds = load_workload("deepseek-v3")
    assert kv_bytes_per_token_per_accelerator(ds, 2.0, np.array(8.0), np.array(1.0)) == 576 * 61 * 2


def test_expected_distinct_experts_bounds():
    t = np.array([0.0, 1.0, 8.0, 64.0, 1e6])
    d = expected_distinct_experts(256.0, 8.0, t)
    assert d[0] == 0 and abs(d[1] - 8.0) < 1e-9 and np.all(np.diff(d) >= 0) and d[-1] <= 256.0 + 1e-9


@pytest.mark.parametrize("model", MODELS)
def test_no_nan_and_scalar_equals_batch(model):
    wl = load_workload(model)
    job = ServingJob(1024, 256, load="qps", qps=4.0, ttft_max_s=2.0, tpot_max_s=0.05)
    cfg = _cfg(wl, job)
    names = ("H100", "H200", "B200", "GB200", "A100")
    hw = HardwareArrays.from_designs([get_accelerator(n).design.replace(accelerator_count=8) for n in names])
    hw2 = HardwareArrays(**{k: v[:, None] for k, v in hw.columns().items()})
    batch = serving_performance(hw2, wl, cfg.reshape((1, -1)), job, SCAL, CAL)
    for k, v in batch.columns().items():
        assert not np.isnan(np.asarray(v, dtype=float)).any(), k
    for i, n in enumerate(names):
        one = serving_performance(_hw(n), wl, cfg, job, SCAL, CAL)
        for k, v in one.columns().items():
            np.testing.assert_allclose(np.asarray(v, float), np.asarray(batch.columns()[k][i], float), rtol=1e-12)
    best = _best(hw, wl, job, cfg, SCAL, CAL)
    assert best["feasible"].dtype == bool and len(best["tp"]) == len(names)


def test_infeasible_candidate_is_flagged_not_raised():
    wl = load_workload("llama3-405b")
    job = ServingJob(2048, 256, tpot_max_s=0.001)
    hw = _hw("A100", 1)
    best = _best(hw, wl, job, enumerate_serving_configs(wl, job, 1), SCAL, CAL)
    assert not best["feasible"][0]


def test_curve_is_pareto():
    wl = load_workload("llama3-70b")
    job = ServingJob(1024, 256, weight_precision="fp8", activation_precision="fp8", kv_precision="fp8")
    cur = throughput_latency_curve(_hw(), wl, job, enumerate_serving_configs(wl, job, 8), SCAL, CAL)
    assert len(cur["tokens_per_s_per_user"]) >= 2
    assert np.all(np.diff(cur["tokens_per_s_per_user"]) > 0)
    assert np.all(np.diff(cur["output_tokens_per_s_per_accelerator"]) < 0)


def test_disaggregated_ttft_includes_kv_transfer():
    wl = load_workload("llama3-70b")
    job = ServingJob(4096, 256)
    cfg = enumerate_serving_configs(wl, job, 16, fixed={"disaggregated": 1.0})
    r = serving_performance(_hw("H100", 16), wl, cfg, job, SCAL, CAL)
    assert np.all(r.kv_transfer_s[r.valid] > 0)
    assert np.all(r.ttft_s[r.valid] >= r.prefill_time_s[r.valid] + r.kv_transfer_s[r.valid] - 1e-12)


@pytest.mark.parametrize("bad", [dict(speculative_decoding=True), dict(load="qps"), dict(load="concurrency"),
                                 dict(kv_precision="int4"), dict(ttft_max_s=0.0), dict(input_tokens=0)])
def test_job_refuses_bad_input(bad):
    kwargs = dict(input_tokens=128, output_tokens=128)
    kwargs.update(bad)
    with pytest.raises(InputError):
        ServingJob(**kwargs)


def test_fp4_peak_only_where_supported():
    from archsweep.model.inference.step import matrix_peak_flops
    hw = _hw("B200")
    assert matrix_peak_flops(hw, "fp4", True) == 2 * hw.peak_matrix_flops_fp8
    assert matrix_peak_flops(hw, "fp4", False) == hw.peak_matrix_flops_fp8
