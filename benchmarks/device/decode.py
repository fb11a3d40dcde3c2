"""Decode-phase kernels of LLM serving on one GPU (for hopper_kernels.py): weight streaming and KV-cache reading.

The serving model (``archsweep.model.inference.step``) prices a decode step's linear layers as
``max(FLOPs / rate, weight bytes / (HBM bandwidth x weight_stream_bw_efficiency))`` and its attention as
``KV bytes / (HBM bandwidth x kv_read_bw_efficiency)`` (data/calibration/serving.yaml, both assumptions until
measured). These sections time what those two efficiencies stand for, as a serving engine runs them: every case is a
stack of layers, each with its own weights or KV cache (so nothing is served from the 50 MB L2 across layers),
captured in one CUDA graph (no host launch cost, as TensorRT-LLM's and vLLM's decode graphs) and replayed.

* ``decode_gemm``: the four projections of a Llama 3 8B / 70B layer's tensor-parallel shard (QKV, output, fused gate
  and up, down) for M = 1-1,024 tokens, BF16 weights (``F.linear``, cuBLAS) and FP8 E4M3 weights with per-tensor
  scales (``torch._scaled_mm``, cuBLASLt, fast accumulation); enough layers for >= 2 GiB of weights per replay.
* ``decode_attention``: one query token per sequence against a contiguous BF16 KV cache (batch 1-256, context
  512-32,768, grouped-query heads of Llama 3 70B at TP 1, 4 and 8), through SDPA's flash and cuDNN backends with
  ``enable_gqa`` and through two batched matmuls with the query heads grouped per KV head (``bmm_gqa``: each K and V
  byte read once); enough layers for >= 1 GiB of KV cache per replay.
* ``decode_moe``: the routed-expert GEMMs of a decode batch (fc1, fc2 of 8-32 local experts of Qwen3 235B-A22B,
  GPT-OSS 120B and DeepSeek-V3 at 1-256 tokens per expert) as one BF16 ``torch._grouped_mm`` call per pass and one FP8
  rowwise-scaled ``torch._scaled_grouped_mm`` call where the build has it.

``median_s`` is the time of one replay over ``batch`` layers; ``flop`` and ``bytes`` are those of all of them (weights or
KV cache, plus activations and outputs: what HBM must move); ``tb_per_s`` = bytes / median.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F


class CaseRecorder(Protocol):
    """What the sections need of hopper_kernels.Recorder."""

    def case(self, fn: Callable[[], object], flop: float, nbytes: float, **labels: object) -> None: ...


LLAMA3 = {"llama3_8b": (4096, 32, 8, 14336), "llama3_70b": (8192, 64, 8, 28672)}
"""(hidden, query heads, KV heads, SwiGLU width) of Llama 3.1 8B and 3.3 70B (models/*.yaml; head dim 128)."""
HEAD_DIM = 128


def graphed(step: Callable[[], object]) -> Callable[[], None]:
    """``step`` captured in a CUDA graph (after one warm-up call on a side stream); returns the graph's replay."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        step()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    torch.cuda.synchronize()
    return graph.replay


def layers_for(bytes_per_layer: float, target: float, most: int = 64) -> int:
    """How many layers of ``bytes_per_layer`` make at least ``target`` bytes (1 .. ``most``)."""
    return max(1, min(most, math.ceil(target / max(bytes_per_layer, 1.0))))


def projections(model: str, tp: int) -> list[tuple[str, int, int]]:
    """(name, n, k) of a layer's four weight shards at tensor parallelism ``tp``: QKV and gate+up split the output
    width (column parallel), the output projection and down their input (row parallel)."""
    hidden, heads, kv_heads, ffn = LLAMA3[model]
    qkv = (heads + 2 * kv_heads) * HEAD_DIM
    return [("qkv", qkv // tp, hidden), ("proj", hidden, heads * HEAD_DIM // tp), ("fc1", 2 * ffn // tp, hidden),
            ("fc2", hidden, ffn // tp)]


def decode_gemm_cases(rec: CaseRecorder, dev: torch.device, quick: bool) -> None:
    """The ``decode_gemm`` section (module doc)."""
    one = torch.ones((), device=dev, dtype=torch.float32)
    token_counts = (1, 4, 16, 64, 256, 1024)
    plan = [(m, tp) for m in LLAMA3 for tp in (1, 2, 4, 8)]
    for model, tp in plan[:1] if quick else plan:
        shards = projections(model, tp)
        params = sum(n * k for _, n, k in shards)
        for dtype in ("bf16", "fp8_e4m3"):
            width = 2 if dtype == "bf16" else 1
            layers = layers_for(params * width, 2 * 2**30)
            weights = [[torch.randn(n, k, device=dev, dtype=torch.bfloat16) for _, n, k in shards]
                       for _ in range(layers)]
            if dtype == "fp8_e4m3":
                weights = [[w.to(torch.float8_e4m3fn) for w in layer] for layer in weights]
            for m in token_counts[:2] if quick else token_counts:
                inputs = [torch.randn(m, k, device=dev, dtype=torch.bfloat16) for _, _, k in shards]
                if dtype == "fp8_e4m3":
                    inputs = [x.to(torch.float8_e4m3fn) for x in inputs]

                def step(weights=weights, inputs=inputs, dtype=dtype) -> None:
                    for layer in weights:
                        for x, w in zip(inputs, layer, strict=True):
                            if dtype == "bf16":
                                F.linear(x, w)
                            else:
                                torch._scaled_mm(x, w.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16,
                                                 use_fast_accum=True)

                nbytes = sum(width * (n * k + m * k) + 2.0 * m * n for _, n, k in shards)
                labels = {"section": "decode_gemm", "dtype": dtype, "backend": "cublas" if dtype == "bf16" else
                          "cublaslt", "layer": model, "tp": tp, "m": m, "n": params, "batch": layers}
                _layer_case(rec, step, layers, 2.0 * m * params, nbytes, labels)
                del inputs
            del weights


def attention_shapes(quick: bool) -> list[tuple[int, int, int, int]]:
    """(query heads, KV heads, batch, context) of the ``decode_attention`` section: Llama 3 70B's heads at TP 1, 4,
    8; at most 2 GiB of KV cache per layer."""
    shapes = [(64 // tp, 8 // tp, batch, ctx) for tp in (1, 4, 8) for batch in (1, 4, 16, 64, 256)
              for ctx in (512, 2048, 8192, 32768) if batch * ctx * (8 // tp) * HEAD_DIM * 4 <= 2 * 2**30]
    return shapes[:2] if quick else shapes


def decode_attention_cases(rec: CaseRecorder, dev: torch.device, quick: bool) -> None:
    """The ``decode_attention`` section (module doc)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    kernels = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}
    for heads, kv_heads, batch, ctx in attention_shapes(quick):
        kv_bytes = 2.0 * batch * ctx * kv_heads * HEAD_DIM * 2
        layers = layers_for(kv_bytes, 2**30)
        cache = [(torch.randn(batch, kv_heads, ctx, HEAD_DIM, device=dev, dtype=torch.bfloat16),
                  torch.randn(batch, kv_heads, ctx, HEAD_DIM, device=dev, dtype=torch.bfloat16))
                 for _ in range(layers)]
        query = torch.randn(batch, heads, 1, HEAD_DIM, device=dev, dtype=torch.bfloat16)
        grouped = query.view(batch, kv_heads, heads // kv_heads, HEAD_DIM)
        scale = HEAD_DIM**-0.5
        flop = 4.0 * batch * heads * ctx * HEAD_DIM
        labels = {"section": "decode_attention", "dtype": "bf16", "tp": 64 // heads, "batch": layers, "m": batch,
                  "heads": heads, "n": kv_heads, "seq": ctx, "head_dim": HEAD_DIM, "causal": 0}
        nbytes = kv_bytes + 4.0 * batch * heads * HEAD_DIM
        for name, backend in kernels.items():
            def sdpa(cache=cache, backend=backend, query=query) -> None:
                with sdpa_kernel([backend]):
                    for k, v in cache:
                        F.scaled_dot_product_attention(query, k, v, enable_gqa=True)

            _layer_case(rec, sdpa, layers, flop, nbytes, {**labels, "backend": name})

        def bmm_gqa(cache=cache, grouped=grouped, scale=scale) -> None:
            for k, v in cache:
                scores = torch.matmul(grouped, k.transpose(-1, -2)) * scale  # (batch, kv heads, group, ctx)
                torch.matmul(torch.softmax(scores.float(), dim=-1).to(torch.bfloat16), v)

        _layer_case(rec, bmm_gqa, layers, flop, nbytes, {**labels, "backend": "bmm_gqa"})
        del cache


MOE_DECODE = {"qwen3_235b_a22b": (4096, 1536, 16), "gpt_oss_120b": (2880, 2880, 16), "deepseek_v3": (7168, 2048, 32)}
"""(hidden, expert width, local experts: 128 / 128 / 256 experts over EP 8) of the routed experts (models/*.yaml)."""


def decode_moe_cases(rec: CaseRecorder, dev: torch.device, quick: bool) -> None:
    """The ``decode_moe`` section (module doc): fc1 (hidden -> 2 x width) and fc2 (width -> hidden) of every local
    expert, ``tokens`` rows each, one grouped call per pass and layer."""
    for model, (hidden, width, experts) in list(MOE_DECODE.items())[: 1 if quick else None]:
        for pas, (n, k) in {"fc1": (2 * width, hidden), "fc2": (hidden, width)}.items():
            layers = layers_for(2.0 * experts * n * k, 2 * 2**30)
            weights = [torch.randn(experts, n, k, device=dev, dtype=torch.bfloat16).transpose(1, 2)
                       for _ in range(layers)]  # (experts, k, n), column-major per expert
            weights8 = [w.to(torch.float8_e4m3fn) for w in weights]
            scale_w = torch.ones(experts, n, device=dev, dtype=torch.float32)
            for tokens in (1, 4, 16, 64, 256)[:2 if quick else None]:
                x = torch.randn(experts * tokens, k, device=dev, dtype=torch.bfloat16)
                x8 = x.to(torch.float8_e4m3fn)
                scale_x = torch.ones(experts * tokens, device=dev, dtype=torch.float32)
                offsets = torch.arange(1, experts + 1, device=dev, dtype=torch.int32) * tokens
                labels = {"section": "decode_moe", "layer": f"{model}_{pas}", "pass": "fprop", "m": tokens, "n": n,
                          "k": k, "heads": experts, "batch": layers}

                def grouped(x=x, weights=weights, offsets=offsets) -> None:
                    for w in weights:
                        torch._grouped_mm(x, w, offs=offsets, out_dtype=torch.bfloat16)

                def grouped8(x8=x8, weights8=weights8, offsets=offsets, scale_x=scale_x, scale_w=scale_w) -> None:
                    for w in weights8:
                        torch._scaled_grouped_mm(x8, w, scale_x, scale_w, offs=offsets, out_dtype=torch.bfloat16)

                flop = 2.0 * experts * tokens * n * k
                act = experts * tokens * (k + n)
                _layer_case(rec, grouped, layers, flop, 2.0 * (experts * n * k + act),
                            {**labels, "dtype": "bf16", "backend": "grouped_mm"})
                _layer_case(rec, grouped8, layers, flop, experts * n * k + act + experts * tokens * n,
                            {**labels, "dtype": "fp8_e4m3", "backend": "scaled_grouped_mm"})
            del weights, weights8


def _layer_case(rec: CaseRecorder, step: Callable[[], None], layers: int, flop: float, nbytes: float,
                labels: dict[str, object]) -> None:
    """One case: ``step`` (all ``layers``) captured in a CUDA graph and timed by the recorder, with one layer's
    ``flop`` and ``nbytes`` times ``layers``; a step that fails to capture is recorded with its error."""
    try:
        replay = graphed(step)
    except Exception as exc:  # a kernel this build lacks is a result, recorded
        rec.case(lambda exc=exc: (_ for _ in ()).throw(exc), flop, nbytes, **labels)
        return
    rec.case(replay, flop * layers, nbytes * layers, **labels)
