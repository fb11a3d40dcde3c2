"""Engine limits a benchmark harness sets: trtllm-bench's max batch size and max num tokens.

``trtllm-bench throughput`` (TensorRT-LLM, the tool behind the published tables in
``data/validation/inference_runs.csv``) picks ``max_batch_size`` and ``max_num_tokens`` itself
when the options file leaves them out (the perf-overview's option files do, for every model):
``calc_engine_setting`` and ``finetune_setting`` in ``tensorrt_llm/bench/build/tuning.py``
(NVIDIA/TensorRT-LLM). From the Hugging Face config it estimates

* KV bytes per token = 2 x layers x max(tp, num_key_value_heads) x head_size x KV bytes per
  element (every layer at full length: no MLA compression, no sliding window; for MLA models the
  HF config's ``num_key_value_heads`` = heads and ``head_size`` = hidden / heads);
* engine size = the checkpoint's stored element count (``param_count``: the safetensors header's
  elements summed over every dtype) x ``BYTES_PER_ELEM`` of the checkpoint's quantisation
  algorithm (FP8 1, NVFP4 0.5, anything else 2): :func:`trtllm_bench_engine_gib`;
* requests that fit = (device memory x tp x pp - engine size) x KV fraction / (KV per token x
  (ISL + OSL));
* ``raw_bs = min(requests, 4096) / pp``, ``raw_token = min(raw_bs (1 + ISL / OSL), 32768)``,
  rounded up to multiples of 32 (at least 64) / 128 / 256 and 256 (at least 2048) / 512 / 1024.

Only for checkpoints whose quantisation algorithm is in the bench's ``TUNED_QUANTS``
(:data:`TUNED_CHECKPOINTS`); any other runs at the build defaults (:data:`TRTLLM_BENCH_DEFAULT_LIMITS`).
On the PyTorch-backend path without chunked prefill, ``max_num_tokens`` is then raised to at least the
longest prompt plus ``max_batch_size`` (``get_settings``, bench/benchmark/utils/general.py).

The result is the engine's batch limit (sequences in flight per engine) and its tokens per
iteration, which bound the in-flight batch below what the real KV cache would hold. Scalars in,
scalars out.
"""

from __future__ import annotations

import math

from archsweep.spec.workload import Workload

__all__ = ["trtllm_bench_limits", "trtllm_bench_engine_gib", "trtllm_bench_num_requests", "TRTLLM_BENCH_NUM_REQUESTS",
           "CHECKPOINT_STORAGE", "TUNED_CHECKPOINTS", "TRTLLM_BENCH_DEFAULT_LIMITS"]

_GIB = float(1024**3)

#: Checkpoint format -> (stored safetensors elements per quantised weight, bytes per element that
#: trtllm-bench multiplies the element count by). ``param_count`` is
#: ``sum(get_safetensors_metadata(model).parameter_count.values())`` (tensorrt_llm/bench/build/
#: dataclasses.py ``ModelConfig.get_param_count``): elements of every dtype, so a 4-bit format counts
#: its packed U8 bytes (two weights each) plus its block scales. ``BYTES_PER_ELEM`` in tuning.py maps
#: NO_QUANT 2, FP8 / FP8_BLOCK_SCALES 1, NVFP4 0.5, and any other algorithm to 2.
#: NVFP4 (ModelOpt): U8 pairs + one FP8 E4M3 scale per 16 weights, x 0.5. MXFP4 (the openai gpt-oss
#: checkpoints, ``quantization_config.quant_method: mxfp4``): U8 pairs + one U8 E8M0 scale per 32
#: weights; TensorRT-LLM reads it as W4A16_MXFP4 (Hopper) or W4A8_MXFP4_MXFP8 (Blackwell)
#: (``_torch/model_config.py`` ``get_mxfp4_quant_algo``), absent from ``BYTES_PER_ELEM``: x 2.
#: Weight-only INT4 (W4A16_AWQ / W4A16_GPTQ, absent from ``BYTES_PER_ELEM``: x 2) in two layouts:
#: ``int4``: ModelOpt's INT4-AWQ export (the nvidia/ checkpoint family the tables run), ``pack_int4_in_uint8``
#: in modelopt/torch/export/quant_utils.py: U8 (out / 2, in), two signed weights a byte, plus ``weight_scale``
#: (out, in / 128), symmetric, no zero point; ``int4_i32``: AutoAWQ ``WQLinear_GEMM`` (qweight I32 (in, out / 8),
#: qzeros I32 (in / 128, out / 8), FP16 scales (in / 128, out)), AutoGPTQ ``QuantLinear`` (qweight I32
#: (in / 8, out), the same qzeros and scales) and compressed-tensors ``pack_quantized`` (``weight_packed`` I32,
#: eight weights each): 1/8 + 1/128 + 1/1024 elements a weight. Per-input-channel vectors (ModelOpt's
#: ``pre_quant_scale``, GPTQ's ``g_idx``: 1 / out elements a weight, under 0.01 %) are not counted.
#: TensorRT-LLM PR #13498 (merged 2026-04-27, after the table's tree) names the element-count bug and
#: replaces it with per-dtype bytes (DeepSeek-V3.2-NVFP4: estimate 183.70 GB before, 386.54 GB after).
CHECKPOINT_STORAGE: dict[str, tuple[float, float]] = {
    "bf16": (1.0, 2.0), "fp8": (1.0, 1.0), "nvfp4": (0.5 + 1.0 / 16.0, 0.5), "mxfp4": (0.5 + 1.0 / 32.0, 2.0),
    "int4": (0.5 + 1.0 / 128.0, 2.0), "int4_i32": (1.0 / 8.0 + 1.0 / 128.0 + 1.0 / 1024.0, 2.0),
}


def trtllm_bench_engine_gib(wl: Workload, checkpoint: str) -> float:
    """trtllm-bench's estimate of the engine size, GiB: stored elements x its bytes per element.

    Quantised weights: the routed experts for ``mxfp4`` (the gpt-oss checkpoints keep attention,
    router, embeddings and LM head in BF16: model card Sec. 2.1; TensorRT-LLM's MXFP4 default
    ``exclude_modules``), every weight but the embedding tables otherwise (ModelOpt leaves the LM
    head unquantised; the embedding is a lookup). The rest is stored one element per weight.
    Table and sources: :data:`CHECKPOINT_STORAGE`.
    """
    if checkpoint not in CHECKPOINT_STORAGE:
        raise ValueError(f"trtllm_bench_engine_gib: checkpoint {checkpoint!r}; allowed: {sorted(CHECKPOINT_STORAGE)}")
    per_weight, bench_bytes = CHECKPOINT_STORAGE[checkpoint]
    total = wl.total_params
    if checkpoint == "mxfp4":
        quantised = wl.moe_layers * wl.moe.num_experts * wl.expert_params if wl.moe is not None else 0.0
    else:
        quantised = total - wl.embedding_params
    return (quantised * per_weight + (total - quantised)) * bench_bytes / _GIB


#: Checkpoint formats whose TensorRT-LLM quantisation algorithm is in trtllm-bench's ``TUNED_QUANTS``
#: ({NVFP4, FP8, FP8_BLOCK_SCALES, NO_QUANT, None}: ``get_benchmark_engine_settings``,
#: tensorrt_llm/bench/build/build.py, and the same gate in the later bench/tuning/ copy): only these
#: get the heuristic; any other (MXFP4 -> W4A16_MXFP4 / W4A8_MXFP4_MXFP8 by ``_torch/model_config.py``
#: ``get_mxfp4_quant_algo``, which the bench's ``get_settings`` reads through
#: ``ModelConfig.from_pretrained``; INT4-AWQ / GPTQ -> W4A16_AWQ / W4A16_GPTQ) gets the build defaults.
TUNED_CHECKPOINTS: frozenset[str] = frozenset({"bf16", "fp8", "nvfp4"})
#: ``BuildConfig.max_batch_size`` / ``BuildConfig.max_num_tokens`` defaults (``DEFAULT_MAX_BATCH_SIZE`` /
#: ``DEFAULT_MAX_NUM_TOKENS`` of build.py) that trtllm-bench falls back to outside :data:`TUNED_CHECKPOINTS`.
TRTLLM_BENCH_DEFAULT_LIMITS: tuple[int, int] = (2048, 8192)


def trtllm_bench_limits(wl: Workload, *, checkpoint: str, kv_bytes_per_element: float,
                        tp: int, pp: int, device_memory_bytes: float, input_tokens: float,
                        output_tokens: float, kv_cache_fraction: float = 0.95,
                        whole_prompts: bool = False) -> tuple[int, int]:
    """(max_batch_size, max_num_tokens) of ``trtllm-bench throughput`` (module docstring).

    Outside :data:`TUNED_CHECKPOINTS` the bench's build defaults (:data:`TRTLLM_BENCH_DEFAULT_LIMITS`).

    Args:
        checkpoint: the checkpoint's format, a key of :data:`CHECKPOINT_STORAGE` (the engine estimate).
        tp: the bench's ``--tp`` (the attention-DP width for DEP mappings); ``pp``: ``--pp``.
        device_memory_bytes: memory of one accelerator.
        whole_prompts: the PyTorch-backend path without chunked prefill, where ``get_settings``
            (tensorrt_llm/bench/benchmark/utils/general.py) raises ``max_num_tokens`` to at least
            the longest prompt plus ``max_batch_size`` (ISL + max_batch_size, uniform prompts).
            False: the TensorRT-engine path (``trtllm-bench build``), which keeps its figure.
    """
    if checkpoint in TUNED_CHECKPOINTS:
        max_bs, max_tokens = _heuristic_limits(wl, checkpoint, kv_bytes_per_element, tp, pp, device_memory_bytes,
                                               input_tokens, output_tokens, kv_cache_fraction)
    else:
        trtllm_bench_engine_gib(wl, checkpoint)  # checks the format's name
        max_bs, max_tokens = TRTLLM_BENCH_DEFAULT_LIMITS
    return max_bs, (max(max_tokens, int(math.ceil(input_tokens)) + max_bs) if whole_prompts else max_tokens)


def _heuristic_limits(wl: Workload, checkpoint: str, kv_bytes_per_element: float, tp: int, pp: int,
                      device_memory_bytes: float, input_tokens: float, output_tokens: float,
                      kv_cache_fraction: float) -> tuple[int, int]:
    """``calc_engine_setting`` / ``finetune_setting`` of tuning.py (module docstring); arguments as
    :func:`trtllm_bench_limits`."""
    if wl.mla is not None:  # HF config of DeepSeek-V3: num_key_value_heads = heads, no head_dim
        kv_heads, head_size = wl.heads, wl.hidden // wl.heads
    else:
        kv_heads, head_size = wl.kv_heads, wl.head_dim
    per_token_gib = 2.0 * wl.layers * max(tp, kv_heads) * head_size * kv_bytes_per_element / _GIB
    engine_gib = trtllm_bench_engine_gib(wl, checkpoint)
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
