"""Board power of one GPU under steady loads of known activity, each from idle (for hopper_kernels.py ``power``,
``power_partial``, ``power_ops``).

Each load runs back to back for ``seconds`` after ``idle_s`` of idle. Written: ``power_points.csv``, one row per load:
its calls and mean device seconds per call (CUDA events over ~50 ms batches of calls) in the window from ``settle_s``
to the end, the window's start and end as nvidia-smi stamps its samples, its FLOPs (of ``datatype``), HBM and L2
bytes per call (what it must compute and move, counted from its shapes), and the NVML energy counter's joules over the
window (``energy_j``; nvmlDeviceGetTotalEnergyConsumption, mJ) with the mean power over it; ``smi_power_points.csv``:
nvidia-smi every 100 ms over the whole run (SM clock, instant and averaged board power where the driver has both
fields, throttle reasons), for the clock in each window. Three sets of loads: ``steady`` (:func:`workloads`: a
spinning kernel on one SM, the clocked idle chip; HBM streams; an L2-resident reduction; GEMMs from L2 in BF16 and
FP8; weight-streaming decode GEMM stacks; a large BF16 GEMM at the power cap), ``partial``
(:func:`partial_workloads`: below the cap at the top clock) and ``ops`` (:func:`op_workloads`: one kind of operation
at a time at the top clock).
"""

from __future__ import annotations

import csv
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from decode import graphed

SMI_FIELDS = ("timestamp,clocks.sm,power.draw.instant,power.draw.average,temperature.gpu,"
              "clocks_event_reasons.active")
SMI_FALLBACK = "timestamp,clocks.sm,power.draw,temperature.gpu,clocks_throttle_reasons.active"
FIELDS = ["workload", "datatype", "window_start", "window_end", "calls", "seconds_per_call", "flop_per_call",
          "hbm_bytes_per_call", "l2_bytes_per_call", "window_s", "energy_j", "power_w", "tflop_per_s", "hbm_tb_per_s"]


@dataclass(frozen=True)
class Workload:
    """One steady load: a call and what one call computes and moves (FLOPs of ``datatype``, HBM and L2 bytes)."""

    name: str
    call: Callable[[], object]
    datatype: str
    flop: float
    hbm_bytes: float
    l2_bytes: float = 0.0


def workloads(dev: torch.device) -> list[Workload]:
    """The loads of the module doc, smallest power first."""
    one = torch.ones((), device=dev, dtype=torch.float32)
    gib = 2**30
    big = torch.randn(gib, device=dev, dtype=torch.bfloat16)  # 2 GiB
    dst = torch.empty_like(big)
    l2 = torch.randn(8 * 2**20, device=dev, dtype=torch.bfloat16)  # 16 MiB: L2-resident after the first pass
    a2k = torch.randn(2048, 2048, device=dev, dtype=torch.bfloat16)
    b2k = torch.randn(2048, 2048, device=dev, dtype=torch.bfloat16)
    a2k8, b2k8 = a2k.to(torch.float8_e4m3fn), b2k.to(torch.float8_e4m3fn)
    a8k = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    b8k = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    # A Llama 3 70B layer's projections at TP 1 (QKV, output, gate + up, down), two layers of their own weights.
    shapes = [(10240, 8192), (8192, 8192), (57344, 8192), (8192, 28672)]
    weights = [[torch.randn(n, k, device=dev, dtype=torch.bfloat16) for n, k in shapes] for _ in range(2)]
    params = sum(n * k for n, k in shapes)

    def decode(tokens: int) -> Workload:
        inputs = [torch.randn(tokens, k, device=dev, dtype=torch.bfloat16) for _, k in shapes]

        def step() -> None:
            for layer in weights:
                for x, w in zip(inputs, layer, strict=True):
                    F.linear(x, w)

        moved = 2 * (2.0 * params + sum(2.0 * tokens * (n + k) for n, k in shapes))
        return Workload(f"decode_bf16_m{tokens}", graphed(step), "bf16", 2 * 2.0 * tokens * params, moved)

    def l2_sum() -> None:
        for _ in range(64):
            l2.sum(dtype=torch.float32)

    return [
        Workload("spin_one_sm", lambda: torch.cuda._sleep(1_000_000), "none", 0.0, 0.0),
        Workload("hbm_read", lambda: big.sum(dtype=torch.float32), "vector", float(gib), 2.0 * gib),
        Workload("hbm_copy", lambda: dst.copy_(big), "none", 0.0, 4.0 * gib),
        Workload("l2_read", graphed(l2_sum), "vector", 64.0 * l2.numel(), 0.0, 64.0 * 2 * l2.numel()),
        decode(1),
        decode(256),
        Workload("gemm_bf16_2048", lambda: F.linear(a2k, b2k), "bf16", 2.0 * 2048**3, 0.0, 3 * 2.0 * 2048**2),
        Workload("gemm_fp8_2048", lambda: torch._scaled_mm(a2k8, b2k8.t(), scale_a=one, scale_b=one,
                                                           out_dtype=torch.bfloat16, use_fast_accum=True),
                 "fp8", 2.0 * 2048**3, 0.0, 4.0 * 2048**2),
        Workload("gemm_bf16_8192", lambda: F.linear(a8k, b8k), "bf16", 2.0 * 8192**3, 3 * 2.0 * 8192**2),
    ]


def partial_workloads(dev: torch.device, sleep_cycles: int = 2_000_000) -> list[Workload]:
    """Loads below the power cap at the top clock, for the linearity of the power in each activity: the HBM copy
    alone and followed by a spinning kernel of ``sleep_cycles`` (about 1 ms at 1.98 GHz: half the time idle), and
    BF16 GEMMs of too few 128 x 128 output tiles to fill the 132 SMs (1,024^2 and 1,536^2 outputs over long K)."""
    gib = 2**30
    big = torch.randn(gib, device=dev, dtype=torch.bfloat16)
    dst = torch.empty_like(big)
    a1 = torch.randn(1024, 16384, device=dev, dtype=torch.bfloat16)
    b1 = torch.randn(1024, 16384, device=dev, dtype=torch.bfloat16)
    a2 = torch.randn(1536, 8192, device=dev, dtype=torch.bfloat16)
    b2 = torch.randn(1536, 8192, device=dev, dtype=torch.bfloat16)

    def copy_then_spin() -> None:
        dst.copy_(big)
        torch.cuda._sleep(sleep_cycles)

    return [
        Workload("spin_one_sm", lambda: torch.cuda._sleep(1_000_000), "none", 0.0, 0.0),
        Workload("hbm_copy", lambda: dst.copy_(big), "none", 0.0, 4.0 * gib),
        Workload("hbm_copy_then_spin", copy_then_spin, "none", 0.0, 4.0 * gib),
        Workload("gemm_bf16_1024_k16384", lambda: F.linear(a1, b1), "bf16", 2.0 * 1024 * 1024 * 16384,
                 2.0 * (2 * 1024 * 16384 + 1024 * 1024)),
        Workload("gemm_bf16_1536_k8192", lambda: F.linear(a2, b2), "bf16", 2.0 * 1536 * 1536 * 8192,
                 2.0 * (2 * 1536 * 8192 + 1536 * 1536)),
    ]


def _fma_kernel():  # the Triton kernel, built on first use (Triton is on the device machine only)
    import triton
    import triton.language as tl

    @triton.jit
    def fma_loop(x_ptr, iters, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        a = tl.load(x_ptr + offs)
        b = a * 0.0 + 0.5
        c = a * 0.25
        d = a * 0.125
        e = a
        for _ in range(iters):  # two independent FP32 FMA chains per element, bounded (|b| < 1)
            a = a * b + c
            e = e * b + d
        tl.store(x_ptr + offs, a + e)

    return fma_loop


def op_workloads(dev: torch.device, sleep_cycles: int = 3_000_000) -> list[Workload]:
    """Per-operation loads at the top clock: 8192^3 GEMMs (BF16, FP8) each followed by a one-SM spin of
    ``sleep_cycles`` (about 1.5 ms at 1.98 GHz) so the average stays under the cap while each GEMM runs at the
    burst clock; the same for the 2048^3 GEMMs from L2 (a 32-GEMM burst); a register-resident FP32 FMA loop over
    every SM (Triton); and the HBM read with the same spin (its linearity)."""
    one = torch.ones((), device=dev, dtype=torch.float32)
    a8k = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    b8k = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    a8k8, b8k8 = a8k.to(torch.float8_e4m3fn), b8k.to(torch.float8_e4m3fn)
    a2k = torch.randn(2048, 2048, device=dev, dtype=torch.bfloat16)
    b2k = torch.randn(2048, 2048, device=dev, dtype=torch.bfloat16)
    big = torch.randn(2**30, device=dev, dtype=torch.bfloat16)
    elements, block, iters = 132 * 64 * 1024, 1024, 200
    lanes = torch.rand(elements, device=dev, dtype=torch.float32)
    fma_loop = _fma_kernel()

    def then_spin(call: Callable[[], object], repeat: int = 1) -> Callable[[], None]:
        def run() -> None:
            for _ in range(repeat):
                call()
            torch.cuda._sleep(sleep_cycles)
        return run

    bf16_8k = lambda: F.linear(a8k, b8k)  # noqa: E731
    fp8_8k = lambda: torch._scaled_mm(a8k8, b8k8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16,  # noqa: E731
                                      use_fast_accum=True)
    bf16_2k = lambda: F.linear(a2k, b2k)  # noqa: E731
    gemm8k = 2.0 * 8192**3
    return [
        Workload("spin_one_sm", lambda: torch.cuda._sleep(1_000_000), "none", 0.0, 0.0),
        Workload("gemm_bf16_8192_then_spin", then_spin(bf16_8k), "bf16", gemm8k, 3 * 2.0 * 8192**2),
        Workload("gemm_fp8_8192_then_spin", then_spin(fp8_8k), "fp8", gemm8k, 2 * 8192**2 + 2.0 * 8192**2),
        Workload("gemm_bf16_2048_x32_then_spin", then_spin(bf16_2k, 32), "bf16", 32 * 2.0 * 2048**3, 0.0,
                 32 * 3 * 2.0 * 2048**2),
        Workload("fma_fp32", lambda: fma_loop[(elements // block,)](lanes, iters, BLOCK=block), "vector",
                 2.0 * 2 * iters * elements, 0.0),
        Workload("hbm_read_then_spin", then_spin(lambda: big.sum(dtype=torch.float32)), "vector", float(2**30),
                 2.0 * 2**30),
    ]


def _smi(folder: Path) -> subprocess.Popen:
    fields = SMI_FIELDS
    probe = subprocess.run(["nvidia-smi", f"--query-gpu={fields}", "--format=csv"], capture_output=True, text=True)
    if probe.returncode != 0:
        fields = SMI_FALLBACK
    return subprocess.Popen(["nvidia-smi", f"--query-gpu={fields}", "--format=csv,nounits", "-lms", "100"],
                            stdout=(folder / "smi_power_points.csv").open("w"))


def _stamp(unix: float | None) -> str:
    """``unix`` as nvidia-smi's timestamp reads (local time, milliseconds)."""
    if unix is None:
        return ""
    return time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(unix)) + f".{int(unix % 1 * 1000):03d}"


def _energy_mj() -> Callable[[], float]:
    import pynvml

    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
    return lambda: float(pynvml.nvmlDeviceGetTotalEnergyConsumption(handle))


def power_points(folder: Path, dev: torch.device, loads: str = "steady", seconds: float = 5.0, idle_s: float = 3.0,
                 settle_s: float = 1.0) -> None:
    """Each load of ``loads`` ("steady": :func:`workloads`, "partial": :func:`partial_workloads`, "ops":
    :func:`op_workloads`) for ``seconds`` after ``idle_s`` of idle; ``power_points.csv`` and the smi log."""
    chosen = {"steady": workloads, "partial": partial_workloads, "ops": op_workloads}[loads](dev)
    energy = _energy_mj()
    sampler = _smi(folder)
    try:
        with (folder / "power_points.csv").open("w", newline="") as handle:
            out = csv.DictWriter(handle, fieldnames=FIELDS)
            out.writeheader()
            for load in chosen:
                torch.cuda.synchronize()
                time.sleep(idle_s)
                per_call, calls, start = [], 0, time.time()
                window_start = window_energy = None
                calls_at_window, batch = 0, 1
                while time.time() - start < seconds:
                    if window_start is None and time.time() - start >= settle_s:
                        torch.cuda.synchronize()
                        window_start, window_energy, calls_at_window = time.time(), energy(), calls
                    begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    begin.record()
                    for _ in range(batch):
                        load.call()
                    end.record()
                    end.synchronize()
                    elapsed = begin.elapsed_time(end) * 1e-3
                    if window_start is not None:
                        per_call.append(elapsed / batch)
                    calls += batch
                    batch = max(1, min(1000, int(0.05 / max(elapsed / batch, 1e-7))))  # ~50 ms batches
                torch.cuda.synchronize()
                joules = (energy() - window_energy) * 1e-3 if window_energy is not None else float("nan")
                window = time.time() - window_start if window_start is not None else float("nan")
                mean = sum(per_call) / len(per_call) if per_call else float("nan")
                row = {"workload": load.name, "datatype": load.datatype, "window_start": _stamp(window_start),
                       "window_end": _stamp(time.time()), "calls": calls - calls_at_window,
                       "seconds_per_call": f"{mean:.6e}", "flop_per_call": load.flop,
                       "hbm_bytes_per_call": load.hbm_bytes, "l2_bytes_per_call": load.l2_bytes,
                       "window_s": f"{window:.3f}", "energy_j": f"{joules:.2f}", "power_w": f"{joules / window:.1f}",
                       "tflop_per_s": f"{load.flop / mean / 1e12:.1f}" if load.flop else "",
                       "hbm_tb_per_s": f"{load.hbm_bytes / mean / 1e12:.3f}" if load.hbm_bytes else ""}
                out.writerow(row)
                handle.flush()
                print(" ".join(f"{k}={v}" for k, v in row.items() if v != ""), flush=True)
    finally:
        sampler.terminate()
        sampler.wait(timeout=10)
