"""trtllm-bench's engine limits (model/inference/engine_limits.py): the heuristic's own arithmetic."""

from __future__ import annotations

from archsweep.load.workloads import load_workload
from archsweep.model.inference.engine_limits import trtllm_bench_limits

GIB = 1024**3


def test_small_dense_model_hits_the_4096_cap():
    # Llama 3.1 8B FP8 on one 80 GB GPU at 1k/1k: ~500 requests of 2k tokens fit the KV cache...
    bs, tokens = trtllm_bench_limits(load_workload("llama3-8b"), weight_bytes_per_element=1.0, kv_bytes_per_element=1.0,
                                     tp=1, pp=1, device_memory_bytes=80 * GIB, input_tokens=128, output_tokens=128)
    # 2 x 32 layers x 8 heads x 128 x 1 B = 64 KiB/token; (80 - 7.5) GiB x 0.95 / (256 x 64 KiB) ~ 4400 -> 4096.
    assert bs == 4096 and tokens == 8192


def test_mla_model_is_estimated_from_the_uncompressed_hf_heads():
    # DeepSeek-R1 FP4 on 4 x 180 GB (B200 DEP4), 1k/1k: the HF config's 128 KV heads x 56 make the
    # estimate ~25x the real MLA cache, so the bench caps the batch near 224 per rank.
    bs, tokens = trtllm_bench_limits(load_workload("deepseek-v3"), weight_bytes_per_element=0.5, kv_bytes_per_element=1.0,
                                     tp=4, pp=1, device_memory_bytes=179.1 * GIB, input_tokens=1000, output_tokens=1000)
    assert 128 <= bs <= 256 and bs % 32 == 0
    assert tokens == 2048  # raw tokens < 2048 round up to the floor of 2048


def test_limits_fall_with_longer_sequences():
    wl = load_workload("llama3-70b")
    kw = {"weight_bytes_per_element": 1.0, "kv_bytes_per_element": 1.0, "tp": 2, "pp": 1, "device_memory_bytes": 141 * GIB}
    short = trtllm_bench_limits(wl, input_tokens=1024, output_tokens=1024, **kw)
    long = trtllm_bench_limits(wl, input_tokens=32768, output_tokens=1024, **kw)
    assert long[0] <= short[0]
