"""The serving model's decode laws against decode kernels measured on one H200 (data/validation/h200_decode_kernels.csv,
benchmarks/h200_decode.py; s34, docs/model-accuracy.md).

What the measurements confirm is asserted with a tolerance (weight streaming of whole-GPU layers at
``weight_stream_bw_efficiency``); what they contradict is pinned as the state of the law (the decode attention's
efficiency and the per-call latency of short decode kernels), so a change of the serving constants that moves it
re-pins it here with the serving validation figures that justify it.
"""

from __future__ import annotations

from types import ModuleType

import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("h200_decode")


def test_measurements_are_physical(bench: ModuleType) -> None:
    """No case failed; every case moves its bytes below the H200's HBM peak (4.8 TB/s) and runs below the dense peak
    of its datatype (BF16 989.4, FP8 1978.9 TFLOP/s)."""
    peak_flops = {"bf16": 989.4e12, "fp8_e4m3": 1978.9e12}
    rows = bench.validation_rows(bench.DECODE)
    assert len(rows) == 321
    for r in rows:
        assert not r["error"], r
        seconds = float(r["median_s"])
        assert float(r["bytes"]) / seconds < bench.peak_hbm_bytes_per_s(), r
        assert float(r["flop"]) / seconds < peak_flops[r["dtype"]], r


@pytest.mark.parametrize("backend, dtype", [("cublas", "bf16"), ("cublaslt", "fp8_e4m3")])
def test_dense_decode_gemms_follow_a_latency_bandwidth_law(bench: ModuleType, backend: str, dtype: str) -> None:
    """At <= 64 tokens the four projections of a Llama 3 8B / 70B layer shard (TP 1-8) take 4.1-4.4 us per GEMM plus
    their weights at 0.85-0.88 of the HBM peak (rms 3 %), in BF16 and FP8 alike: weight-read bound."""
    law = bench.fit_law(bench.cases("decode_gemm", backend, dtype, bench.MEMORY_BOUND_TOKENS))
    assert law.cases == 32
    assert 3.5e-6 < law.per_call_s < 5.0e-6
    assert 0.83 < law.bw_efficiency < 0.90
    assert law.rms_rel < 0.05


def test_weight_streaming_of_whole_gpu_layers_holds(bench: ModuleType) -> None:
    """The serving model's ``weight_stream_bw_efficiency`` (0.80) with ``kernel_overhead_s`` per GEMM prices the
    Llama 3 70B layer at TP 1 within 5 % of the measured (1.03 BF16, 1.05 FP8: its 1.7 GB of BF16 weights a layer
    read at 0.81-0.82 of peak); narrower shards are priced faster than measured (TP 8: 0.91 / 0.81), as the per-GEMM
    latency of short GEMMs (4.1-4.4 us) exceeds the model's 2 us. Pinned: a change of either constant re-pins it."""
    for backend, dtype in (("cublas", "bf16"), ("cublaslt", "fp8_e4m3")):
        measured = [c for c in bench.cases("decode_gemm", backend, dtype, bench.MEMORY_BOUND_TOKENS)
                    if c.row["layer"] == "llama3_70b"]
        scal_eff = bench.load_serving_calibration().weight_stream_bw_efficiency
        ratios = bench.model_over_measured(measured, scal_eff, "tp")
        assert 0.97 < ratios["tp=1"] < 1.07
        assert 0.75 < ratios["tp=8"] < 0.95
        assert ratios["tp=1"] > ratios["tp=2"] > ratios["tp=4"] > ratios["tp=8"]


def test_decode_attention_state(bench: ModuleType) -> None:
    """cuDNN's decode attention (grouped-query heads, contiguous BF16 KV cache) reads the cache at 0.92 of the HBM peak
    after 7.6 us per call: above the serving model's ``kv_read_bw_efficiency`` 0.70, whose caches of >= 512 MB a layer
    are priced 1.2-1.3x the kernel, and under its 2 us ``kernel_overhead_s``, whose caches of < 32 MB are priced at
    0.3-0.5x. Kept (serving validation 12.0 % -> 11.8-12.4 % with the measured law and a refit, docs s34); pinned."""
    law = bench.fit_law(bench.cases("decode_attention", "cudnn"))
    assert law.cases == 55
    assert 0.88 < law.bw_efficiency < 0.95
    assert 5e-6 < law.per_call_s < 10e-6
    ratios = bench.model_over_measured(bench.cases("decode_attention", "cudnn"),
                                       bench.load_serving_calibration().kv_read_bw_efficiency, "kv_bucket")
    assert 1.15 < ratios["KV >= 512 MB"] < 1.35
    assert 0.30 < ratios["KV < 32 MB"] < 0.50


def test_cudnn_is_the_fastest_decode_attention_at_large_batch(bench: ModuleType) -> None:
    """At 64-256 sequences FlashAttention-2 through SDPA (no grouped-query packing of the single query) and two batched
    matmuls stay near half the HBM peak, where cuDNN reaches 0.74-0.92: the law above is cuDNN's."""
    rate = {backend: {(c.row["tp"], c.row["m"], c.row["seq"]): c.nbytes / c.seconds
                      for c in bench.cases("decode_attention", backend)} for backend in ("cudnn", "flash", "bmm_gqa")}
    large = [key for key in rate["cudnn"] if int(key[1]) >= 64]
    assert large
    for key in large:
        assert rate["cudnn"][key] > max(rate["flash"][key], rate["bmm_gqa"][key]), key
