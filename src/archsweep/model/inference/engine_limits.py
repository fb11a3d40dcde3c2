"""Engine limits a benchmark harness sets: trtllm-bench's max batch size and max num tokens.

``trtllm-bench throughput`` (TensorRT-LLM, the tool behind the published tables in
``data/validation/inference_runs.csv``) picks ``max_batch_size`` and ``max_num_tokens`` itself
when the options file leaves them out (the perf-overview's option files do, for every model):
``calc_engine_setting`` and ``finetune_setting`` in ``tensorrt_llm/bench/build/tuning.py``
(NVIDIA/TensorRT-LLM). From the Hugging Face config it estimates

* KV bytes per token = 2 x layers x max(tp, num_key_value_heads) x head_size x KV bytes per
  element (every layer at full length: no MLA compression, no sliding window; for MLA models the
  HF config's ``num_key_value_heads`` = heads and ``head_size`` = hidden / heads);
* engine size = parameters x weight bytes per element (FP4 0.5, FP8 1, BF16 2);
* requests that fit = (device memory x tp x pp - engine size) x KV fraction / (KV per token x
  (ISL + OSL));
* ``raw_bs = min(requests, 4096) / pp``, ``raw_token = min(raw_bs (1 + ISL / OSL), 32768)``,
  rounded up to multiples of 32 (at least 64) / 128 / 256 and 256 (at least 2048) / 512 / 1024.

The result is the engine's batch limit (sequences in flight per engine) and its tokens per
iteration, which bound the in-flight batch below what the real KV cache would hold. Scalars in,
scalars out.
"""

from __future__ import annotations

import math

from archsweep.spec.workload import Workload

__all__ = ["trtllm_bench_limits", "trtllm_bench_num_requests", "TRTLLM_BENCH_NUM_REQUESTS"]

_GIB = float(1024**3)


def trtllm_bench_limits(wl: Workload, *, weight_bytes_per_element: float, kv_bytes_per_element: float,
                        tp: int, pp: int, device_memory_bytes: float, input_tokens: float,
                        output_tokens: float, kv_cache_fraction: float = 0.95) -> tuple[int, int]:
    """(max_batch_size, max_num_tokens) of ``trtllm-bench throughput`` (module docstring).

    Args:
        tp: the bench's ``--tp`` (the attention-DP width for DEP mappings); ``pp``: ``--pp``.
        device_memory_bytes: memory of one accelerator.
    """
    if wl.mla is not None:  # HF config of DeepSeek-V3: num_key_value_heads = heads, no head_dim
        kv_heads, head_size = wl.heads, wl.hidden // wl.heads
    else:
        kv_heads, head_size = wl.kv_heads, wl.head_dim
    per_token_gib = 2.0 * wl.layers * max(tp, kv_heads) * head_size * kv_bytes_per_element / _GIB
    engine_gib = wl.total_params * weight_bytes_per_element / _GIB
    available = device_memory_bytes / _GIB * tp * pp - engine_gib
    requests = max(available, 0.0) * kv_cache_fraction / (per_token_gib * (input_tokens + output_tokens))
    raw_bs = min(requests, 4096.0) / pp
    raw_token = min(raw_bs * (1.0 + input_tokens / output_tokens), 32768.0)
    if raw_bs < 256:
        max_bs = max(64, 32 * math.ceil(raw_bs / 32))
    elif raw_bs < 1024:
        max_bs = 128 * math.ceil(raw_bs / 128)
    else:
        max_bs = 256 * math.ceil(raw_bs / 256)
    if raw_token < 4096:
        max_token = max(2048, 256 * math.ceil(raw_token / 256))
    elif raw_token < 8192:
        max_token = 512 * math.ceil(raw_token / 512)
    else:
        max_token = 1024 * math.ceil(raw_token / 1024)
    return int(max_bs), int(max_token)


#: Requests in the synthetic dataset of each published (ISL, OSL) point: TensorRT-LLM
#: docs/source/performance/perf-overview.md @258c7540 (v0.17, "$num_requests" table) and
#: docs/source/developer-guide/perf-overview.md @585c7565 (PyTorch-backend table, "Number of Requests").
TRTLLM_BENCH_NUM_REQUESTS: dict[tuple[int, int], int] = {
    (128, 128): 30000, (128, 2048): 3000, (128, 4096): 1500, (1000, 2000): 1500, (2048, 128): 3000,
    (2048, 2048): 1500, (5000, 500): 1500, (1000, 1000): 3000, (500, 2000): 3000, (20000, 2000): 1000,
    (1024, 1024): 3000, (8192, 1024): 1500, (1024, 8192): 1500, (32768, 1024): 1000, (1024, 32768): 1000,
}


def trtllm_bench_num_requests(input_tokens: float, output_tokens: float) -> float:
    """Requests the published benchmark ran at (ISL, OSL) (:data:`TRTLLM_BENCH_NUM_REQUESTS`), inf if unknown.

    A finite run of ``N`` requests never has more than ``N`` sequences in flight, however large the
    engine's batch limit.
    """
    return float(TRTLLM_BENCH_NUM_REQUESTS.get((int(input_tokens), int(output_tokens)), math.inf))
