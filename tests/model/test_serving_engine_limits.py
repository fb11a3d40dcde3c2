"""trtllm-bench's engine limits (model/inference/engine_limits.py): the heuristic's own arithmetic."""

from __future__ import annotations

import pytest

from archsweep.load.schema import load_schema
from archsweep.load.workloads import load_workload
from archsweep.model.inference.engine_limits import (
    CHECKPOINT_STORAGE,
    TRTLLM_BENCH_DEFAULT_LIMITS,
    TUNED_CHECKPOINTS,
    trtllm_bench_engine_gib,
    trtllm_bench_limits,
)
from archsweep.validation.inference import _CHECKPOINT_OF_WEIGHT

GIB = 1024**3


def test_small_dense_model_hits_the_4096_cap():
    # Llama 3.1 8B FP8 on one 80 GB GPU at 1k/1k: ~500 requests of 2k tokens fit the KV cache...
    bs, tokens = trtllm_bench_limits(load_workload("llama3-8b"), checkpoint="fp8", kv_bytes_per_element=1.0,
                                     tp=1, pp=1, device_memory_bytes=80 * GIB, input_tokens=128, output_tokens=128)
    # 2 x 32 layers x 8 heads x 128 x 1 B = 64 KiB/token; (80 - 7.5) GiB x 0.95 / (256 x 64 KiB) ~ 4400 -> 4096.
    assert bs == 4096 and tokens == 8192


def test_mla_model_is_estimated_from_the_uncompressed_hf_heads():
    # DeepSeek-R1 FP4 on 4 x 180 GB (B200 DEP4), 1k/1k: the HF config's 128 KV heads x 56 make the
    # estimate ~25x the real MLA cache, so the bench caps the batch near 384 per rank (engine estimated
    # from the NVFP4 checkpoint's packed elements x 0.5: ~176 GiB of 716 GiB).
    bs, tokens = trtllm_bench_limits(load_workload("deepseek-v3"), checkpoint="nvfp4", kv_bytes_per_element=1.0,
                                     tp=4, pp=1, device_memory_bytes=179.1 * GIB, input_tokens=1000, output_tokens=1000)
    assert 256 < bs <= 512 and bs % 128 == 0
    assert tokens == 2048  # raw tokens < 2048 round up to the floor of 2048


def test_limits_fall_with_longer_sequences():
    wl = load_workload("llama3-70b")
    kw = {"checkpoint": "fp8", "kv_bytes_per_element": 1.0, "tp": 2, "pp": 1, "device_memory_bytes": 141 * GIB}
    short = trtllm_bench_limits(wl, input_tokens=1024, output_tokens=1024, **kw)
    long = trtllm_bench_limits(wl, input_tokens=32768, output_tokens=1024, **kw)
    assert long[0] <= short[0]


def test_engine_estimate_of_unquantised_and_fp8_checkpoints_is_parameters_times_bytes():
    # One stored element per weight: param_count x 2 (BF16) or x 1 (FP8), as before.
    wl = load_workload("llama3-70b")
    assert trtllm_bench_engine_gib(wl, "bf16") == pytest.approx(2.0 * wl.total_params / GIB)
    assert trtllm_bench_engine_gib(wl, "fp8") == pytest.approx(wl.total_params / GIB)


def test_nvfp4_estimate_counts_packed_elements_at_half_a_byte():
    # TensorRT-LLM PR #13498: the bench multiplied the safetensors element count (U8 pairs + FP8
    # scales + BF16 rest) by 0.5 and logged 183.70 GB for DeepSeek-V3.2-NVFP4 (386.54 GB on disk).
    # archsweep's DeepSeek-V3 is 671B without the 14B MTP module and V3.2's indexer: 176 GiB, 4 % under.
    est = trtllm_bench_engine_gib(load_workload("deepseek-v3"), "nvfp4")
    assert est == pytest.approx(183.70, rel=0.05)
    assert est < 0.5 * 386.54


def test_mxfp4_gpt_oss_checkpoint_is_estimated_at_two_bytes_per_stored_element():
    # openai/gpt-oss-120b: experts as U8 blocks (2 weights a byte) + U8 scales (1 per 32), the rest
    # BF16: ~63B stored elements; W4A16_MXFP4 / W4A8_MXFP4_MXFP8 are not in BYTES_PER_ELEM -> x 2.
    wl = load_workload("gpt-oss-120b")
    est = trtllm_bench_engine_gib(wl, "mxfp4")
    assert 60e9 <= est * GIB / 2.0 <= 66e9
    assert est > 2.0 * wl.total_params * 0.5 / GIB * 0.9  # ~2x the 4-bit size the model holds


def test_untuned_quant_algorithms_get_the_bench_build_defaults():
    """s19-M2: get_benchmark_engine_settings calls the heuristic only for TUNED_QUANTS (NVFP4, FP8,
    FP8_BLOCK_SCALES, NO_QUANT, None); the MXFP4 checkpoint loads as W4A16_MXFP4 / W4A8_MXFP4_MXFP8 and
    INT4-AWQ as W4A16_AWQ, so the bench runs BuildConfig's 2048 / 8192 (s18-G2's cap of 160 on one H200
    at 1k/1k was the heuristic's figure, a path these checkpoints never take)."""
    wl = load_workload("gpt-oss-120b")
    kw = {"kv_bytes_per_element": 2.0, "tp": 1, "pp": 1, "device_memory_bytes": 139.8 * GIB}
    for checkpoint in ("mxfp4", "int4", "int4_i32"):
        assert checkpoint not in TUNED_CHECKPOINTS
        assert trtllm_bench_limits(wl, checkpoint=checkpoint, input_tokens=1024, output_tokens=1024, **kw) \
            == TRTLLM_BENCH_DEFAULT_LIMITS == (2048, 8192)
    # The heuristic path still answers for a tuned format (the BF16 checkpoint's ~2x larger estimate).
    assert trtllm_bench_limits(wl, checkpoint="bf16", input_tokens=1024, output_tokens=1024, **kw)[0] < 2048


def test_pytorch_path_without_chunking_fits_a_whole_prompt_and_the_batch():
    """get_settings (bench/benchmark/utils/general.py): with chunked prefill off, max_num_tokens is raised
    to at least the longest prompt plus max_batch_size; the TensorRT-engine path keeps its figure."""
    wl = load_workload("gpt-oss-20b")
    kw = {"kv_bytes_per_element": 1.0, "tp": 1, "pp": 1, "device_memory_bytes": 80 * GIB, "output_tokens": 1024}
    for checkpoint in ("mxfp4", "fp8"):
        for isl in (1024, 8192, 32768):
            engine = trtllm_bench_limits(wl, checkpoint=checkpoint, input_tokens=isl, **kw)
            bs, tokens = trtllm_bench_limits(wl, checkpoint=checkpoint, input_tokens=isl, whole_prompts=True, **kw)
            assert bs == engine[0] and tokens == max(engine[1], isl + bs) and tokens >= isl + bs


def test_int4_estimate_counts_the_stored_elements_of_each_packing():
    """ModelOpt INT4-AWQ stores two weights a U8 plus one scale per 128 (0.5078 elements a weight);
    AutoAWQ / GPTQ / compressed-tensors pack eight in an I32 plus per-128 scales and packed zeros
    (0.1338). Both at the bench's default 2 bytes (W4A16_AWQ / GPTQ are not in BYTES_PER_ELEM)."""
    wl = load_workload("llama3-70b")
    quantised = wl.total_params - wl.embedding_params
    for checkpoint, per_weight in (("int4", 0.5 + 1 / 128), ("int4_i32", 1 / 8 + 1 / 128 + 1 / 1024)):
        expected = 2.0 * (quantised * per_weight + wl.embedding_params) / GIB
        assert trtllm_bench_engine_gib(wl, checkpoint) == pytest.approx(expected)
    # I32 packing counts a quarter of the elements: the estimate is far below the U8-packed one.
    assert trtllm_bench_engine_gib(wl, "int4_i32") < 0.4 * trtllm_bench_engine_gib(wl, "int4")


def test_larger_engine_estimate_never_raises_the_batch_cap():
    wl = load_workload("gpt-oss-20b")
    kw = {"kv_bytes_per_element": 1.0, "tp": 1, "pp": 1, "device_memory_bytes": 80 * GIB,
          "input_tokens": 1024, "output_tokens": 1024}
    caps = [trtllm_bench_limits(wl, checkpoint=c, **kw)[0]  # the heuristic's formats; the rest take the defaults
            for c in sorted(TUNED_CHECKPOINTS, key=lambda c: trtllm_bench_engine_gib(wl, c))]
    assert caps == sorted(caps, reverse=True)


def test_unknown_checkpoint_format_is_rejected():
    with pytest.raises(ValueError, match="allowed"):
        trtllm_bench_engine_gib(load_workload("gpt-oss-20b"), "mxfp6")


def test_the_precisions_schema_and_the_weight_rule_name_only_known_checkpoint_formats():
    """s18-R: the schema's ``checkpoint`` enum, CHECKPOINT_STORAGE and validation.inference's weight -> checkpoint rule
    are three lists of one set; a format in one and not the other would pass the loader and fail in the model."""
    schema = load_schema("trtllm_bench_precisions")
    entry = schema["additionalProperties"]["properties"]
    assert set(entry["checkpoint"]["enum"]) == set(CHECKPOINT_STORAGE)
    weights = set(schema["$defs"]["precisions"]["properties"]["weight"]["enum"])
    assert set(_CHECKPOINT_OF_WEIGHT) == weights and set(_CHECKPOINT_OF_WEIGHT.values()) <= set(CHECKPOINT_STORAGE)
