"""Workloads run back to back from an idle GPU, timed against the clock and power (for hopper_kernels.py).

:func:`timed_series` runs each workload repeatedly for a fixed time after 5 s of idle and writes the device time of
every call (CUDA events) beside nvidia-smi's SM clock and board power sampled every 250 ms: what the power cap does
to a workload that lasts longer than a benchmark's burst. :func:`lora_layer` builds one such workload, the kernels
of a frozen-base LoRA training layer of Llama 2 70B on one GPU's shard.
"""

from __future__ import annotations

import csv
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

SMI_KEYS = "timestamp,clocks.sm,power.draw,temperature.gpu,clocks_throttle_reasons.active"


def timed_series(folder: Path, name: str, workloads: dict[str, tuple[Callable[[], object], float]], seconds: float,
                 calls_per_sample: int) -> None:
    """Each workload (label -> (call, FLOPs per call)) back to back for ``seconds`` after 5 s idle; ``<name>.csv``:
    label, unix time, seconds since the workload's start, device seconds per call over ``calls_per_sample`` calls,
    TFLOP/s; ``smi_<name>.csv``: nvidia-smi every 250 ms over the whole series."""
    with (folder / f"smi_{name}.csv").open("w") as log:
        sampler = subprocess.Popen(["nvidia-smi", f"--query-gpu={SMI_KEYS}", "--format=csv", "-lms", "250"],
                                   stdout=log)
        try:
            with (folder / f"{name}.csv").open("w", newline="") as handle:
                out = csv.writer(handle)
                out.writerow(["workload", "unix_time_s", "elapsed_s", "seconds_per_call", "tflop_per_s"])
                for label, (call, flop) in workloads.items():
                    time.sleep(5.0)  # let the clocks fall back to idle
                    start = time.time()
                    while time.time() - start < seconds:
                        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                        begin.record()
                        for _ in range(calls_per_sample):
                            call()
                        end.record()
                        end.synchronize()
                        per_call = begin.elapsed_time(end) * 1e-3 / calls_per_sample
                        out.writerow([label, f"{time.time():.3f}", f"{time.time() - start:.3f}", f"{per_call:.6e}",
                                      f"{flop / per_call / 1e12:.1f}"])
                    handle.flush()
        finally:
            sampler.terminate()
            sampler.wait(timeout=10)


def lora_layer(dev: torch.device, tokens: int, heads: int, kv_heads: int, ffn: int, kv_tokens: int,
               hidden: int = 8192, head_dim: int = 128, rank: int = 16) -> tuple[Callable[[], None], float]:
    """(one call, its matrix FLOPs) of a frozen-base LoRA training layer's kernels on one GPU: forward and backward of
    RMSNorm, the four projections as FP8 ``_scaled_mm`` (fast accumulation forward, split backward; data gradients
    only: the base weights are frozen) with their input casts, a rank-``rank`` BF16 adapter on each projection (its
    forward and four backward GEMMs), cuDNN causal attention over ``tokens`` queries plus, where ``kv_tokens`` > 0, an
    unmasked step against ``kv_tokens`` more keys (the second step of a two-rank context-parallel ring), SwiGLU and
    the residual adds. Plain PyTorch kernels, not TransformerEngine's fused ones: the elementwise work is larger."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    bf16, fp8 = torch.bfloat16, torch.float8_e4m3fn
    one = torch.ones((), device=dev, dtype=torch.float32)
    shapes = {"qkv": ((heads + 2 * kv_heads) * head_dim, hidden), "proj": (hidden, heads * head_dim),
              "fc1": (2 * ffn, hidden), "fc2": (hidden, ffn)}
    weights = {k: torch.randn(n, kin, device=dev, dtype=bf16).to(fp8) for k, (n, kin) in shapes.items()}
    transposed = {k: torch.randn(kin, n, device=dev, dtype=bf16).to(fp8) for k, (n, kin) in shapes.items()}
    down = {k: torch.randn(rank, kin, device=dev, dtype=bf16) for k, (_, kin) in shapes.items()}
    up = {k: torch.randn(n, rank, device=dev, dtype=bf16) for k, (n, _) in shapes.items()}
    x = torch.randn(tokens, hidden, device=dev, dtype=bf16)
    q = torch.randn(1, heads, tokens, head_dim, device=dev, dtype=bf16, requires_grad=True)
    k, v = (torch.randn(1, heads, tokens, head_dim, device=dev, dtype=bf16, requires_grad=True) for _ in range(2))
    k2, v2 = (torch.randn(1, heads, max(kv_tokens, 1), head_dim, device=dev, dtype=bf16, requires_grad=True)
              for _ in range(2))
    attn_grad = torch.randn(1, heads, tokens, head_dim, device=dev, dtype=bf16)

    def mm(a: torch.Tensor, w8: torch.Tensor, fast: bool) -> torch.Tensor:
        return torch._scaled_mm(a.to(fp8), w8.t(), scale_a=one, scale_b=one, out_dtype=bf16, use_fast_accum=fast)

    def rms(t: torch.Tensor) -> torch.Tensor:
        return (t.float() * torch.rsqrt(t.float().pow(2).mean(-1, keepdim=True) + 1e-5)).to(bf16)

    def projection(name: str, a: torch.Tensor) -> torch.Tensor:
        return mm(a, weights[name], True) + F.linear(F.linear(a, down[name]), up[name])

    def projection_backward(name: str, a: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        low = F.linear(a, down[name])
        F.linear(grad.t(), low.t())  # up-adapter weight gradient
        grad_low = F.linear(grad, up[name].t())
        F.linear(grad_low.t(), a.t())  # down-adapter weight gradient
        return mm(grad, transposed[name], False) + F.linear(grad_low, down[name].t())

    def attention(backend: SDPBackend) -> torch.Tensor:
        with sdpa_kernel([backend]):
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            if kv_tokens:
                out = out + F.scaled_dot_product_attention(q, k2, v2)
        return out

    backend = _first_working(attention, (SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.MATH))

    def call() -> None:
        h = rms(x)
        qkv = projection("qkv", h)
        out = attention(backend)
        ctx = out.transpose(1, 2).reshape(tokens, heads * head_dim)
        y = x + projection("proj", ctx)
        h2 = rms(y)
        gate, lin = projection("fc1", h2).chunk(2, dim=-1)
        act = F.silu(gate) * lin
        y2 = y + projection("fc2", act)
        # backward (the input gradients only, and the adapters')
        g = torch.ones_like(y2)
        g_act = projection_backward("fc2", act, g)
        g_fc1 = torch.cat((g_act * lin * torch.sigmoid(gate), g_act * F.silu(gate)), dim=-1)
        g_h2 = projection_backward("fc1", h2, g_fc1)
        g_y = g + rms(g_h2)
        projection_backward("proj", ctx, g_y)  # its input gradient stands in for attn_grad below
        out.backward(attn_grad)
        g_h = projection_backward("qkv", h, qkv)
        torch.add(g_y, rms(g_h))  # the residual's gradient through the first norm
        for t in (q, k, v, k2, v2):
            t.grad = None

    flop = 0.0
    for n, kin in shapes.values():
        flop += 2.0 * tokens * n * kin * 2  # forward + data gradient
        flop += 2.0 * tokens * rank * (n + kin) * 3  # adapter forward + its four backward GEMMs
    scores = tokens * tokens * 0.5 + tokens * kv_tokens
    flop += 4.0 * scores * head_dim * heads * 3.5
    return call, flop


def _first_working(attention: Callable[[object], torch.Tensor], backends: tuple[object, ...]) -> object:
    """The first of ``backends`` whose attention call runs (cuDNN refuses some shapes; CPU checks of the script have
    only the math kernel)."""
    for backend in backends[:-1]:
        try:
            attention(backend)
            return backend
        except RuntimeError:
            continue
    return backends[-1]
