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
    return _round_up_tiered(raw_bs, 64, _BATCH_TIERS), _round_up_tiered(raw_token, 2048, _TOKEN_TIERS)


#: (bound, step): trtllm-bench rounds a raw batch size below 256 up to a multiple of 32, below 1024 of
#: 128, else of 256 (``finetune_setting``, tuning.py); a raw token count below 4096 / 8192 / else to 256 / 512 / 1024.
_BATCH_TIERS: tuple[tuple[float, int], ...] = ((256.0, 32), (1024.0, 128), (math.inf, 256))
_TOKEN_TIERS: tuple[tuple[float, int], ...] = ((4096.0, 256), (8192.0, 512), (math.inf, 1024))


def _round_up_tiered(raw: float, floor: int, tiers: tuple[tuple[float, int], ...]) -> int:
    """``raw`` rounded up to a multiple of the step of the first tier whose bound it is below, at least
    ``floor`` (a count: sequences or tokens). The last tier's bound is infinite."""
    for bound, step in tiers:
        if raw < bound:
            return max(floor, step * math.ceil(raw / step))
    raise ValueError(f"_round_up_tiered: got {raw}; allowed: a number below the last tier's bound {tiers[-1][0]}")


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
