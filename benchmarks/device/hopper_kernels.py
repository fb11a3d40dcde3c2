"""Kernel measurements on one NVIDIA Hopper GPU for the model's GEMM, attention, HBM and launch laws.

Runs on a machine with a CUDA GPU, PyTorch and Triton (the device machine); the project never
imports it. Writes ``kernels.csv`` (one row per timed case) and ``environment.json`` (GPU, driver,
library versions, clocks before and after each section) to the folder given as the first argument.

What is timed (each case: ``triton.testing.do_bench``, CUDA events, L2 flushed before every run,
warm-up 25 ms, 100 ms of repeats, median and 20th / 80th percentiles; inputs drawn from N(0, 1),
never zeros):

* ``gemm``: ``torch.nn.functional.linear`` in BF16 (cuBLAS) and ``torch._scaled_mm`` in FP8 E4M3 with
  per-tensor scales and BF16 output (cuBLASLt), with and without fast accumulation (TransformerEngine
  runs the forward GEMM with fast accumulation and the two backward GEMMs without). Shapes: a K
  ladder at M = N = 8192 and at M = 4096, N = 7168 (the pipeline-fill law ``k_fill``), square M = N
  at K = 4096 (tile and wave quantisation over the 132 SMs), the best MAMF shape of H100, and every
  Linear GEMM of a Llama 2 70B layer (forward, data-gradient and weight-gradient orientations) at
  4,096 and 8,192 tokens and tensor parallelism 1, 2, 4 and 8.
* ``attention``: ``scaled_dot_product_attention`` (BF16, head dim 128 and 64) through the cuDNN and
  the flash backends, causal and unmasked, forward alone and forward + backward.
* ``attention_grid``: the same, causal, over sequence 1k-32k, 1-128 heads and batch 1-4 (the unmasked kernel and
  head dim 64 on subsets; ``attention_grid_shapes``): the schedule of a causal kernel's query blocks.
* ``lora``: the BF16 GEMMs of a rank-16 LoRA adapter on each Llama 2 70B projection (``lora_shapes``).
* ``moe``: the GEMMs of 8 local SwiGLU experts of Qwen3 30B-A3B / 235B-A22B, GPT-OSS 120B and DeepSeek-V3 at
  256-8192 routed tokens each: a loop of FP8 / BF16 cuBLAS calls and one BF16 ``torch._grouped_mm`` (``moe_cases``).
* ``sustained``: 8192^3 GEMMs back to back from an idle GPU, rate and clocks against time (``sustained_cases``).
* ``mix``: a Llama 2 70B LoRA layer's kernels back to back on the TP4 and the TP1 CP2 shard, layer time, clock and
  power against time (``mix_cases``).
* ``decode_gemm``, ``decode_attention``, ``decode_moe``: the decode-phase kernels of LLM serving, each a stack of
  layers replayed from a CUDA graph (weight streaming, KV-cache reading, routed experts; ``decode.py``).
* ``power``: board power (NVML energy counter, nvidia-smi) under steady loads of known activity from idle: HBM
  streams, L2 reads, GEMMs from L2 and from HBM, weight-streaming decode stacks (``power_points.py``);
  ``power_partial``: loads below the cap at the top clock (a duty-cycled copy, GEMMs that leave SMs idle);
  ``power_ops``: per-operation loads (GEMM bursts between spins, an FP32 FMA loop, a duty-cycled HBM read).
* ``hbm``: a device-to-device copy and an elementwise add of 2 GiB tensors (bytes read + written).
* ``launch``: host time per eager PyTorch operation on a one-element tensor (the host issue rate,
  the device idle) and device time per kernel replayed from a CUDA graph (launch and tail).

Usage: ``python benchmarks/device/hopper_kernels.py OUT_DIR [--quick] [--sections gemm,attention,...]``
(``--quick``: a few cases of each section, to check the script; default sections: gemm, attention, hbm, launch).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

try:
    import torch
    import torch.nn.functional as F
except ModuleNotFoundError:  # the project's own environment has no PyTorch: this script is for the device machine
    sys.exit("hopper_kernels.py needs PyTorch with CUDA and Triton (the device machine's image has them); "
             "run it there: python3 benchmarks/device/hopper_kernels.py OUT_DIR [--sections ...]")
from decode import decode_attention_cases, decode_gemm_cases, decode_moe_cases, graphed
from power_points import power_points
from series import lora_layer, timed_series

FIELDS = ["section", "dtype", "backend", "fast_accum", "layer", "pass", "tp", "m", "n", "k", "batch", "heads",
          "seq", "head_dim", "causal", "median_s", "q20_s", "q80_s", "flop", "bytes", "tflop_per_s",
          "tb_per_s", "error"]

HIDDEN, KV_WIDTH, FFN = 8192, 1024, 28672  # Llama 2 70B: 64 heads x 128, 8 KV heads, SwiGLU 28672
PASSES = ("fprop", "dgrad", "wgrad")


def training_passes(tokens: int, n: int, k: int) -> list[tuple[int, int, int]]:
    """(m, n, k) of a Linear's three GEMMs, in :data:`PASSES` order, for ``tokens`` rows of a (k -> n) weight:
    forward (T x k) @ (k x n), data gradient (T x n) @ (n x k), weight gradient (n x T) @ (T x k)."""
    return [(tokens, n, k), (tokens, k, n), (n, k, tokens)]


def llama_shards() -> list[tuple[str, int, int, int, int]]:
    """(projection, tokens, tp, n, k) of every Llama 2 70B projection's weight shard at 4,096 / 8,192 tokens and
    tensor parallelism 1, 2, 4 and 8: column-parallel projections split the output width, row-parallel ones the input."""
    projections = {"qkv": (HIDDEN + 2 * KV_WIDTH, HIDDEN, True), "proj": (HIDDEN, HIDDEN, False),
                   "fc1": (2 * FFN, HIDDEN, True), "fc2": (HIDDEN, FFN, False)}
    return [(name, tokens, tp, *((n_out // tp, k_in) if column else (n_out, k_in // tp)))
            for tokens in (4096, 8192) for tp in (1, 2, 4, 8) for name, (n_out, k_in, column) in projections.items()]


def bench(fn: Callable[[], object]) -> tuple[float, float, float]:
    """(median, 20th, 80th percentile) of ``fn``'s device time, seconds."""
    from triton.testing import do_bench

    q20, q50, q80 = do_bench(fn, warmup=25, rep=100, quantiles=[0.2, 0.5, 0.8])
    return q50 * 1e-3, q20 * 1e-3, q80 * 1e-3


def smi() -> dict[str, str]:
    """Clocks, power and throttle reasons as nvidia-smi reads them now."""
    keys = "clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active,clocks.max.sm,driver_version"
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={keys}", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return {"error": repr(exc)}
    return dict(zip(keys.split(","), (v.strip() for v in out.split(",")), strict=False))


class Recorder:
    """Appends one CSV row per case and flushes, so a run stopped early keeps what it measured."""

    def __init__(self, folder: Path) -> None:
        self.handle = (folder / "kernels.csv").open("w", newline="")
        self.writer = csv.DictWriter(self.handle, fieldnames=FIELDS)
        self.writer.writeheader()

    def case(self, fn: Callable[[], object], flop: float, nbytes: float, **labels: object) -> None:
        row: dict[str, object] = dict.fromkeys(FIELDS, "")
        row.update(labels, flop=flop, bytes=nbytes)
        try:
            median, q20, q80 = bench(fn)
            row.update(median_s=f"{median:.6e}", q20_s=f"{q20:.6e}", q80_s=f"{q80:.6e}",
                       tflop_per_s=f"{flop / median / 1e12:.2f}" if flop else "",
                       tb_per_s=f"{nbytes / median / 1e12:.3f}" if nbytes else "")
        except Exception as exc:  # a failing case is a result (recorded), not the end of the run
            row["error"] = f"{type(exc).__name__}: {exc}"[:300]
        self.writer.writerow(row)
        self.handle.flush()
        print(" ".join(f"{k}={row[k]}" for k in FIELDS if row[k] != ""), flush=True)


def gemm_cases(rec: Recorder, shapes: list[tuple[str, str, int, int, int, int]], dev: torch.device,
               fp8: bool = True) -> None:
    """Each (layer, pass, tp, m, n, k) in BF16 and, with ``fp8``, FP8 (fast accumulation on and off)."""
    one = torch.ones((), device=dev, dtype=torch.float32)
    for layer, pas, tp, m, n, k in shapes:
        a = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
        w = torch.randn(n, k, device=dev, dtype=torch.bfloat16)
        flop = 2.0 * m * n * k
        labels = {"section": "gemm", "layer": layer, "pass": pas, "tp": tp, "m": m, "n": n, "k": k, "batch": 1}
        rec.case(lambda a=a, w=w: F.linear(a, w), flop, 2.0 * (m * k + n * k + m * n), dtype="bf16",
                 backend="cublas", **labels)
        if not fp8:
            continue
        a8, w8 = a.to(torch.float8_e4m3fn), w.to(torch.float8_e4m3fn)
        for fast in (True, False):
            rec.case(lambda a8=a8, w8=w8, fast=fast: torch._scaled_mm(a8, w8.t(), scale_a=one, scale_b=one,
                                                                      out_dtype=torch.bfloat16, use_fast_accum=fast),
                     flop, 1.0 * (m * k + n * k) + 2.0 * m * n, dtype="fp8_e4m3", backend="cublaslt",
                     fast_accum=int(fast), **labels)


def gemm_shapes(quick: bool) -> list[tuple[str, str, int, int, int, int]]:
    """(layer, pass, tp, m, n, k) of the GEMM section."""
    ks = [128, 256, 512, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 13312, 16384]
    shapes = [("k_ladder", "", 0, 8192, 8192, k) for k in ks] + [("k_ladder", "", 0, 4096, 7168, k) for k in ks]
    shapes += [("square", "", 0, s, s, 4096) for s in (1024, 1408, 1536, 2048, 2560, 3072, 4096, 6144)]
    shapes += [("mamf_h100", "", 0, 2048, 2048, 13312)]
    for name, tokens, tp, n, k in llama_shards():
        shapes += [(f"llama2_70b_{name}_t{tokens}", pas, tp, *mnk)
                   for pas, mnk in zip(PASSES, training_passes(tokens, n, k), strict=True)]
    if quick:
        return shapes[:2] + shapes[-3:]
    return shapes


def lora_shapes(quick: bool, rank: int = 16) -> list[tuple[str, str, int, int, int, int]]:
    """(layer, pass, tp, m, n, k) of the BF16 GEMMs of a rank-``rank`` LoRA adapter on each Llama 2 70B projection
    (forward: down (T x k_in) @ (k_in x r), up (T x r) @ (r x n_out); backward: each one's data and weight
    gradient), per rank's widths at tensor parallelism 1, 2, 4 and 8, 4,096 and 8,192 tokens."""
    shapes = []
    for name, tokens, tp, n, k in llama_shards():
        down, up = training_passes(tokens, rank, k), training_passes(tokens, n, rank)
        layer = f"lora{rank}_{name}_t{tokens}"
        shapes += [(layer, "down_fprop", tp, *down[0]), (layer, "up_fprop", tp, *up[0]),
                   (layer, "up_dgrad", tp, *up[1]), (layer, "up_wgrad", tp, *up[2]),
                   (layer, "down_dgrad", tp, *down[1]), (layer, "down_wgrad", tp, *down[2])]
    return shapes[:6] if quick else shapes


MOE_EXPERTS = {"qwen3_30b_a3b": (2048, 768), "qwen3_235b_a22b": (4096, 1536), "gpt_oss_120b": (2880, 2880),
               "deepseek_v3": (7168, 2048)}
"""(hidden, expert FFN width) of the routed experts (models/*.yaml, from the HF configs); SwiGLU: fc1 is 2 x width."""


def moe_cases(rec: Recorder, dev: torch.device, quick: bool, experts: int = 8) -> None:
    """The six GEMMs of ``experts`` local SwiGLU experts (fc1 / fc2 forward, data and weight gradients) with
    ``tokens`` routed rows each, three ways: one ``torch._scaled_mm`` per expert in FP8 (fast accumulation in the
    forward, split in the backward, as TransformerEngine's GroupedLinear runs them), one BF16 ``F.linear`` per
    expert, and one BF16 ``torch._grouped_mm`` call for all of them (recorded as an error where this build lacks
    it). ``median_s`` is the time of all ``experts`` GEMMs; ``batch`` = experts, ``m`` / ``n`` / ``k`` per expert."""
    one = torch.ones((), device=dev, dtype=torch.float32)
    token_counts = (256, 1024, 4096, 8192)
    for model, (hidden, width) in list(MOE_EXPERTS.items())[: 1 if quick else None]:
        for tokens in token_counts[: 1 if quick else None]:
            fc = {"fc1": training_passes(tokens, 2 * width, hidden), "fc2": training_passes(tokens, hidden, width)}
            gemms = {f"{name}_{pas}": fc[name][i] for i, pas in enumerate(PASSES) for name in fc}
            for pas, (m, n, k) in gemms.items():
                a = [torch.randn(m, k, device=dev, dtype=torch.bfloat16) for _ in range(experts)]
                w = [torch.randn(n, k, device=dev, dtype=torch.bfloat16) for _ in range(experts)]
                a8 = [x.to(torch.float8_e4m3fn) for x in a]
                w8 = [x.to(torch.float8_e4m3fn) for x in w]
                fast = pas.endswith("fprop")
                flop = 2.0 * m * n * k * experts
                labels = {"section": "moe", "layer": f"{model}_t{tokens}", "pass": pas, "m": m, "n": n, "k": k,
                          "batch": experts}

                def loop_fp8(a8=a8, w8=w8, fast=fast) -> None:
                    for x, y in zip(a8, w8, strict=True):
                        torch._scaled_mm(x, y.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16,
                                         use_fast_accum=fast)

                def loop_bf16(a=a, w=w) -> None:
                    for x, y in zip(a, w, strict=True):
                        F.linear(x, y)

                stacked_a = torch.cat(a)
                stacked_w = torch.stack(w).transpose(1, 2)  # (experts, k, n), column-major per expert
                offsets = torch.arange(1, experts + 1, device=dev, dtype=torch.int32) * m

                def grouped_bf16(stacked_a=stacked_a, stacked_w=stacked_w, offsets=offsets) -> None:
                    torch._grouped_mm(stacked_a, stacked_w, offs=offsets, out_dtype=torch.bfloat16)

                rec.case(loop_fp8, flop, experts * (m * k + n * k + 2.0 * m * n), dtype="fp8_e4m3",
                         backend="cublaslt_loop", fast_accum=int(fast), **labels)
                rec.case(loop_bf16, flop, experts * 2.0 * (m * k + n * k + m * n), dtype="bf16", backend="cublas_loop",
                         **labels)
                rec.case(grouped_bf16, flop, experts * 2.0 * (m * k + n * k + m * n), dtype="bf16",
                         backend="grouped_mm", **labels)


def sustained_cases(folder: Path, dev: torch.device, seconds: float = 12.0) -> None:
    """8192^3 GEMMs back to back for ``seconds`` per datatype from an idle GPU (:func:`series.timed_series`, ten
    GEMMs per sample; ``sustained.csv``, ``smi_sustained.csv``): the burst rate against the power-capped one."""
    size = 8192
    a = torch.randn(size, size, device=dev, dtype=torch.bfloat16)
    w = torch.randn(size, size, device=dev, dtype=torch.bfloat16)
    a8, w8 = a.to(torch.float8_e4m3fn), w.to(torch.float8_e4m3fn)
    one = torch.ones((), device=dev, dtype=torch.float32)
    flop = 2.0 * size**3
    workloads = {"bf16": (lambda: F.linear(a, w), flop),
                 "fp8_e4m3": (lambda: torch._scaled_mm(a8, w8.t(), scale_a=one, scale_b=one,
                                                       out_dtype=torch.bfloat16, use_fast_accum=True), flop)}
    timed_series(folder, "sustained", workloads, seconds, calls_per_sample=10)


def mix_cases(folder: Path, dev: torch.device, seconds: float = 12.0) -> None:
    """A Llama 2 70B LoRA layer's kernels (:func:`series.lora_layer`) back to back for ``seconds`` from an idle GPU, on
    the shard of TP4 (8,192 tokens, 16 heads, FFN 7,168) and of TP1 CP2 (4,096 tokens, 64 heads, FFN 28,672, the
    ring's second step against 2,048 more keys): layer time, clock and power against time (``mix.csv``,
    ``smi_mix.csv``)."""
    workloads = {"llama2_70b_lora_tp4_cp1": lora_layer(dev, 8192, 16, 2, 7168, 0),
                 "llama2_70b_lora_tp1_cp2": lora_layer(dev, 4096, 64, 8, 28672, 2048)}
    timed_series(folder, "mix", workloads, seconds, calls_per_sample=1)


AttentionShape = tuple[int, int, int, int, bool, tuple[str, ...]]
"""(batch, heads, seq, head dim, with the unmasked kernel, backends) of one attention case."""


def attention_shapes(quick: bool) -> list[AttentionShape]:
    """The ``attention`` section's shapes: batch 1, heads 8-64 at 4k-16k and two head-dim-64 shapes, causal and
    unmasked, cuDNN and flash."""
    grid = [(s, h, 128) for s in (4096, 8192, 16384) for h in (8, 16, 32, 64)] + [(8192, 64, 64), (8192, 32, 64)]
    return [(1, h, s, d, True, ("cudnn", "flash")) for s, h, d in (grid[:1] if quick else grid)]


def attention_grid_shapes(quick: bool) -> list[AttentionShape]:
    """The ``attention_grid`` section's shapes: causal attention over what decides how many query-block CTAs a
    kernel has and how long each is (sequence 1k-32k, 1-128 heads, batch 1-4), the unmasked kernel on a subset as its
    reference, head dim 64 on a subset; cuDNN everywhere, the flash backend (FlashAttention-2) at batch 1 and head
    dim 128. At most 2^35 score elements per case (heads x batch x seq^2), so each stays under ~0.3 s."""
    shapes: list[AttentionShape] = []
    for seq in (1024, 2048, 3072, 4096, 6144, 8192, 12288, 16384, 32768):
        for heads in (1, 2, 4, 8, 16, 32, 64, 128):
            for batch in (1, 2, 4):
                if batch * heads * seq * seq > 2**35 or (batch > 1 and heads not in (4, 16)):
                    continue
                unmasked = batch == 1 and heads in (8, 32, 128)
                backends = ("cudnn", "flash") if batch == 1 else ("cudnn",)
                shapes.append((batch, heads, seq, 128, unmasked, backends))
                if batch == 1 and heads in (16, 64) and seq in (2048, 4096, 8192, 16384):
                    shapes.append((batch, heads, seq, 64, False, ("cudnn",)))
    return shapes[:3] if quick else shapes


def attention_cases(rec: Recorder, dev: torch.device, section: str, shapes: list[AttentionShape]) -> None:
    """SDPA forward and forward + backward per shape, mask (causal, then unmasked where the shape asks) and backend."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    kernels = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION}
    for batch, heads, seq, d, unmasked, backends in shapes:
        q, k, v = (torch.randn(batch, heads, seq, d, device=dev, dtype=torch.bfloat16, requires_grad=True)
                   for _ in range(3))
        grad = torch.randn(batch, heads, seq, d, device=dev, dtype=torch.bfloat16)
        for causal in (True, False) if unmasked else (True,):
            flop_fwd = 4.0 * seq * seq * d * heads * batch * (0.5 if causal else 1.0)
            for name in backends:
                labels = {"section": section, "dtype": "bf16", "backend": name, "heads": heads, "seq": seq,
                          "head_dim": d, "causal": int(causal), "batch": batch}

                def fwd(q=q, k=k, v=v, causal=causal, backend=kernels[name]) -> torch.Tensor:
                    with sdpa_kernel([backend]):
                        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

                def fwd_bwd(fwd=fwd, grad=grad) -> None:
                    fwd().backward(grad)

                rec.case(fwd, flop_fwd, 0.0, **labels, **{"pass": "fwd"})
                rec.case(fwd_bwd, 3.5 * flop_fwd, 0.0, **labels, **{"pass": "fwd_bwd"})
        del q, k, v, grad


def hbm_cases(rec: Recorder, dev: torch.device) -> None:
    """Copy and add over 2 GiB BF16 tensors; bytes = read + written."""
    elems = 2**30
    src = torch.randn(elems, device=dev, dtype=torch.bfloat16)
    other = torch.randn(elems, device=dev, dtype=torch.bfloat16)
    dst = torch.empty_like(src)
    rec.case(lambda: dst.copy_(src), 0.0, 4.0 * elems, section="hbm", dtype="bf16", backend="copy", n=elems)
    rec.case(lambda: torch.add(src, other, out=dst), float(elems), 6.0 * elems, section="hbm", dtype="bf16",
             backend="add", n=elems)


def launch_cases(rec: Recorder, dev: torch.device) -> None:
    """Host seconds per eager op (device idle) and device seconds per kernel replayed from a CUDA graph."""
    x = torch.zeros(1, device=dev)
    w = torch.randn(16, 16, device=dev, dtype=torch.bfloat16)
    y = torch.randn(16, 16, device=dev, dtype=torch.bfloat16)
    ops = {"add_": lambda: x.add_(1.0), "linear_16": lambda: F.linear(y, w)}
    for name, op in ops.items():
        for _ in range(1000):
            op()
        torch.cuda.synchronize()
        times = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(20000):
                op()
            torch.cuda.synchronize()
            times.append((time.perf_counter() - start) / 20000)
        times.sort()
        rec.writer.writerow({**dict.fromkeys(FIELDS, ""), "section": "launch", "backend": f"eager_{name}",
                             "median_s": f"{times[2]:.6e}", "q20_s": f"{times[1]:.6e}", "q80_s": f"{times[3]:.6e}",
                             "batch": 20000})
        median, q20, q80 = bench(graphed(lambda op=op: [op() for _ in range(1000)]))
        rec.writer.writerow({**dict.fromkeys(FIELDS, ""), "section": "launch", "backend": f"graph_{name}",
                             "median_s": f"{median / 1000:.6e}", "q20_s": f"{q20 / 1000:.6e}",
                             "q80_s": f"{q80 / 1000:.6e}", "batch": 1000})
        rec.handle.flush()
        print(f"launch {name}: eager {times[2] * 1e6:.2f} us/op, graph {median / 1000 * 1e6:.2f} us/kernel",
              flush=True)


SECTIONS = ("gemm", "attention", "attention_grid", "hbm", "launch", "lora", "sustained", "moe", "mix", "decode_gemm",
            "decode_attention", "decode_moe", "power", "power_partial",
            "power_ops")
"""What ``--sections`` may name (the module doc says what each times)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for kernels.csv and environment.json")
    parser.add_argument("--quick", action="store_true", help="a few cases per section (a check of the script)")
    parser.add_argument("--sections", default="gemm,attention,hbm,launch", help="comma-separated sections to run")
    args = parser.parse_args(argv)
    unknown = set(args.sections.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"--sections: unknown {sorted(unknown)}; allowed: {', '.join(SECTIONS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    env: dict[str, object] = {
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "gpu": props.name, "multiprocessors": props.multi_processor_count,
        "memory_bytes": props.total_memory, "torch": torch.__version__, "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(), "cublaslt": getattr(torch._C, "_cuda_getCublasLtVersion", lambda: None)(),
        "python": platform.python_version(), "cpu": _cpu_model(), "clocks": {"start": smi()}}
    torch.backends.cuda.matmul.allow_tf32 = False
    rec = Recorder(args.out)
    sections = {"launch": lambda: launch_cases(rec, dev), "hbm": lambda: hbm_cases(rec, dev),
                "gemm": lambda: gemm_cases(rec, gemm_shapes(args.quick), dev),
                "attention": lambda: attention_cases(rec, dev, "attention", attention_shapes(args.quick)),
                "attention_grid": lambda: attention_cases(rec, dev, "attention_grid", attention_grid_shapes(args.quick)),
                "lora": lambda: gemm_cases(rec, lora_shapes(args.quick), dev, fp8=False),
                "sustained": lambda: sustained_cases(args.out, dev),
                "moe": lambda: moe_cases(rec, dev, args.quick),
                "mix": lambda: mix_cases(args.out, dev),
                "decode_gemm": lambda: decode_gemm_cases(rec, dev, args.quick),
                "decode_attention": lambda: decode_attention_cases(rec, dev, args.quick),
                "decode_moe": lambda: decode_moe_cases(rec, dev, args.quick),
                "power": lambda: power_points(args.out, dev),
                "power_partial": lambda: power_points(args.out, dev, "partial"),
                "power_ops": lambda: power_points(args.out, dev, "ops")}
    for name in args.sections.split(","):
        started = time.perf_counter()
        try:
            sections[name]()
            torch.cuda.synchronize()
        except Exception:  # one broken section must not lose the others' measurements
            env[f"error_{name}"] = traceback.format_exc()[-2000:]
            print(env[f"error_{name}"], flush=True)
        env["clocks"][f"after_{name}"] = smi()  # type: ignore[index]
        env[f"seconds_{name}"] = round(time.perf_counter() - started, 1)
        (args.out / "environment.json").write_text(json.dumps(env, indent=1))
        print(f"section {name}: {env[f'seconds_{name}']} s; clocks {env['clocks'][f'after_{name}']}", flush=True)  # type: ignore[index]
    rec.handle.close()
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
