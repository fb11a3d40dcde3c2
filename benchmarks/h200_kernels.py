"""The model's isolated kernel laws against kernels measured on one NVIDIA H200 (s31, issue 10).

    python benchmarks/h200_kernels.py

``data/validation/h200_kernels.csv`` holds the kernels that ``benchmarks/device/hopper_kernels.py`` timed on one
H200 SXM (700 W) on 2026-12-04 (PyTorch 2.11 + CUDA 13.0: cuBLAS / cuBLASLt GEMMs, cuDNN 9.19 and flash SDPA
attention; three runs, the GEMM section in the first two, the MoE GEMMs in the third; data/validation/SOURCE.md),
``h200_sustained_gemm.csv`` / ``h200_layer_mix.csv`` back-to-back 8192^3 GEMMs and LoRA layers against time from
an idle GPU, with nvidia-smi's clock and power beside them. Printed, each against the model
(:func:`archsweep.model.gemm.gemm_time_s` with ``gemm_in_training_ratio`` 1, the catalog H200's MAMF efficiency
and part columns; the attention, HBM and launch constants of data/calibration/model.yaml):

* the spread of the GEMMs the first two runs both timed (the noise floor of every comparison below);
* model / measured GEMM time per shape group (K ladders, square M = N at K 4096, Llama 2 70B layer GEMMs by tensor
  parallelism, the GEMMs of a rank-16 LoRA adapter), geometric mean and rms of the log ratio;
* the pipeline-fill K-half the measured K ladders fit (rates at K 512-8192 over K 13312 at the same M x N:
  :func:`xla_gemm_rates.fit_k_half_ladder`) against the model's Hopper constants;
* the 8192^3 rate in the first 45 ms from idle (the burst that MAMF figures measure) and from 2 s on (at the
  700 W power cap), BF16 and FP8;
* the six GEMMs of 8 local MoE experts (Qwen3 30B-A3B / 235B-A22B, GPT-OSS 120B, DeepSeek-V3) at 256-8192 routed
  tokens each: one grouped call (device time) and one call per expert from Python (host issue time where short);
* the clock and power of a Llama 2 70B LoRA layer's kernels run back to back (``h200_layer_mix.csv``);
* the model's power at the two power-capped operating points (rate, clock) against the board power measured there;
* cuDNN attention's rate against the model's (``flash_attention_efficiency`` x MAMF x the head-dim, mask, causal
  schedule and backward factors), and over ``h200_attention_grid.csv`` (sequence 1k-32k, 1-128 heads, batch 1-4,
  s32; cuDNN, causal, per pass); HBM copy / add bandwidth against ``hbm_bw_efficiency``; per-kernel time in a CUDA graph
  against ``kernel_overhead_s``.

A ratio > 1 is the model slower than the measurement. Read docs/model-accuracy.md "s31" and "s32" for what it says.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import numpy as np
from mamf_load_power import gemm_load_power_w
from xla_gemm_rates import (
    fit_k_half_ladder,
    geomean,
    isolated_calibration,
    isolated_gemm_s,
    part_hardware,
    print_report,
    rms_log,
    validation_rows,
)

from archsweep.load.calibration import load_calibration
from archsweep.load.technology import load_technology
from archsweep.model.attention_kernel import attention_head_dim_factor, causal_schedule_slowdowns, flash_kernel_s
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays

PART = "H200"
KERNELS, SUSTAINED, SMI = "h200_kernels.csv", "h200_sustained_gemm.csv", "h200_sustained_smi.csv"
ATTENTION_GRID = "h200_attention_grid.csv"
LAYER_MIX, LAYER_MIX_SMI = "h200_layer_mix.csv", "h200_layer_mix_smi.csv"
LADDER_REFERENCE_K = 13312
"""K of the ladders' reference GEMM: the Hopper ``gemm_k_reference`` (H100's best MAMF shape), on both ladders."""


@dataclass(frozen=True)
class Gemm:
    """One measured GEMM: variant ("bf16", "fp8_fast" / "fp8_split": FP8 with / without fast accumulation), shape group,
    (m x k) @ (k x n), median seconds over the runs that timed it."""

    variant: str
    group: str
    m: int
    n: int
    k: int
    seconds: float


@cache
def _part() -> HardwareArrays:
    """The catalog H200 with its part columns (:func:`xla_gemm_rates.part_hardware`), built once per process."""
    return part_hardware(PART)


def _variant(row: dict[str, str]) -> str:
    return "bf16" if row["dtype"] == "bf16" else ("fp8_fast" if row["fast_accum"] == "1" else "fp8_split")


def _group(row: dict[str, str]) -> str:
    layer = row["layer"]
    if layer.startswith("llama2_70b"):
        return f"llama2-70b {row['pass']} tp{row['tp']}"
    if layer.startswith("lora"):
        return f"lora16 tp{row['tp']}"
    return layer


def gemm_timings() -> dict[tuple[str, str, int, int, int], dict[str, float]]:
    """Seconds per (variant, group, m, n, k) and run (``run_utc``); a shape a run timed twice (two layers of the
    same GEMM shape) at the median of its timings."""
    timed: dict[tuple[str, str, int, int, int], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in validation_rows(KERNELS):
        if r["section"] == "gemm" and not r["error"]:
            key = (_variant(r), _group(r), int(r["m"]), int(r["n"]), int(r["k"]))
            timed[key][r["run_utc"]].append(float(r["median_s"]))
    return {key: {run: float(np.median(t)) for run, t in runs.items()} for key, runs in timed.items()}


def load_gemms() -> list[Gemm]:
    """Every measured GEMM at the median of its runs."""
    return [Gemm(v, g, m, n, k, float(np.median(list(t.values())))) for (v, g, m, n, k), t in gemm_timings().items()]


def run_spread() -> tuple[float, float, int]:
    """(median, max, count) of |log(second run / first run)| over the GEMMs both runs timed."""
    spread = []
    for runs in gemm_timings().values():
        if len(runs) == 2:
            first, second = (runs[run] for run in sorted(runs))
            spread.append(abs(float(np.log(second / first))))
    return float(np.median(spread)), float(np.max(spread)), len(spread)


def model_gemm_s(g: Gemm, hw: HardwareArrays, cal: Calibration, batch: float = 1.0) -> float:
    """The model's isolated time of ``g`` (``batch`` of them as one batched GEMM) on ``hw``
    (:func:`xla_gemm_rates.isolated_gemm_s`; FP8 variants with one-byte operands)."""
    return isolated_gemm_s(hw, cal, g.m, g.n, g.k, batch, g.variant != "bf16")


def model_over_measured() -> dict[tuple[str, str], list[float]]:
    """Model / measured GEMM time per (variant, group)."""
    hw, cal = _part(), isolated_calibration()
    ratios: dict[tuple[str, str], list[float]] = defaultdict(list)
    for g in load_gemms():
        ratios[(g.variant, g.group)].append(model_gemm_s(g, hw, cal) / g.seconds)
    return ratios


def fill_fit(variant: str) -> tuple[float, float, int]:
    """(K-half, rms of log ratio, points) fitted on both K ladders' rates at K 512-8192 over K 13312."""
    rate = {(g.m, g.n, g.k): g.m * g.n * g.k / g.seconds for g in load_gemms()
            if g.variant == variant and g.group == "k_ladder"}
    ladder = [(k, v / rate[(m, n, LADDER_REFERENCE_K)]) for (m, n, k), v in rate.items()
              if 512 <= k < LADDER_REFERENCE_K]
    k_half, rms = fit_k_half_ladder(ladder, float(LADDER_REFERENCE_K))
    return k_half, rms, len(ladder)


def moe_model_over_measured() -> dict[tuple[str, int, str], tuple[float, float]]:
    """(measured s, model s) of all six GEMMs of 8 local experts per (expert model, routed tokens per expert,
    backend): "grouped_mm" (one BF16 grouped call: the device time), "cublas_loop" / "cublaslt_loop" (one BF16 / FP8
    call per expert from Python: host-bound where the GEMMs are short). The model prices the 8 GEMMs of a pass as one
    batched GEMM (``gemm_time_s`` with batch 8), in the backend's datatype."""
    hw, cal = _part(), isolated_calibration()
    sums: dict[tuple[str, int, str], tuple[float, float]] = {}
    for r in validation_rows(KERNELS):
        if r["section"] != "moe" or r["error"]:
            continue
        model, tokens = r["layer"].rsplit("_t", 1)
        g = Gemm(_variant(r), r["layer"], int(r["m"]), int(r["n"]), int(r["k"]), float(r["median_s"]))
        key = (model, int(tokens), r["backend"])
        measured, modelled = sums.get(key, (0.0, 0.0))
        sums[key] = (measured + g.seconds, modelled + model_gemm_s(g, hw, cal, batch=float(r["batch"])))
    return sums


def burst_and_sustained(dtype: str) -> tuple[float, float]:
    """(median FLOP/s of the 8192^3 batches in the first 45 ms from idle, median from 2 s on) for ``dtype``
    ("bf16" / "fp8_e4m3")."""
    rows = [(float(r["elapsed_s"]), float(r["tflop_per_s"]) * 1e12) for r in validation_rows(SUSTAINED) if r["dtype"] == dtype]
    return (float(np.median([v for t, v in rows if t < 0.045])), float(np.median([v for t, v in rows if t >= 2.0])))


def hot_stretches(name: str) -> list[tuple[float, float]]:
    """(median SM clock Hz, median board power W) of each stretch of nvidia-smi samples above 600 W in the file
    ``name``, in time order: one per workload of a series (each starts after 5 s idle)."""
    stretches: list[list[tuple[float, float]]] = []
    previous_hot = False
    for r in validation_rows(name):
        clock_mhz, power_w = float(r[" clocks.current.sm [MHz]"].split()[0]), float(r[" power.draw [W]"].split()[0])
        hot = power_w > 600.0
        if hot and not previous_hot:
            stretches.append([])
        if hot:
            stretches[-1].append((clock_mhz * 1e6, power_w))
        previous_hot = hot
    return [(float(np.median([c for c, _ in s])), float(np.median([w for _, w in s]))) for s in stretches]


def capped_operating_points() -> dict[str, tuple[float, float, float]]:
    """(FLOP/s, SM clock Hz, board power W) of the sustained 8192^3 GEMMs per datatype ("bf16", "fp8_e4m3"): the
    rate from 2 s on (:func:`burst_and_sustained`) and the clock and power of the datatype's stretch above 600 W
    (:func:`hot_stretches`; the series ran BF16, then FP8)."""
    return {dtype: (burst_and_sustained(dtype)[1], *stretch)
            for dtype, stretch in zip(("bf16", "fp8_e4m3"), hot_stretches(SMI), strict=True)}


def layer_mix_points() -> dict[str, tuple[float, float, float]]:
    """(median seconds per layer from 3 s on, SM clock Hz, board power W) of each LoRA layer mix of
    ``h200_layer_mix.csv`` (the TP4 shard, then the TP1 CP2 one; clock and power: :func:`hot_stretches`)."""
    rows = validation_rows(LAYER_MIX)
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    layer_s = {w: float(np.median([float(r["seconds_per_call"]) for r in rows
                                   if r["workload"] == w and float(r["elapsed_s"]) >= 3.0])) for w in workloads}
    return {w: (layer_s[w], *stretch) for w, stretch in zip(workloads, hot_stretches(LAYER_MIX_SMI), strict=True)}


def model_power_at(dtype: str, rate_flop_per_s: float, clock_hz: float) -> float:
    """The model's power, W, of the catalog H200 running back-to-back GEMMs of ``dtype`` at ``rate_flop_per_s`` and
    ``clock_hz`` (:func:`mamf_load_power.gemm_load_power_w`)."""
    hw = _part()
    scale = clock_hz / float(np.ravel(hw.clock_hz)[0])
    datatype = "fp8" if dtype.startswith("fp8") else "bf16"
    return float(np.ravel(gemm_load_power_w(hw, load_technology(), datatype, rate_flop_per_s, scale))[0])


def attention_model_over_measured(backend: str = "cudnn", path: str = KERNELS, section: str = "attention",
                                  ) -> list[tuple[int, int, int, int, str, float, float]]:
    """(seq, heads x batch, head dim, causal, pass, model / measured time, measured seconds) of every ``backend``
    case of ``section`` in ``path``; the model's kernels (:func:`attention_kernel.flash_kernel_s`) at peak x MAMF
    efficiency x ``flash_attention_efficiency`` x the head-dim factor, unmasked at ``attention_noncausal_rate_ratio``
    times that, causal at the causal schedule law (:func:`attention_kernel.causal_schedule_slowdowns`); ``fwd_bwd`` is
    forward + backward."""
    hw, cal = _part(), load_calibration()
    base = float(np.ravel(hw.peak_matrix_flops_bf16 * hw.matrix_efficiency)[0]) * cal.flash_attention_efficiency
    out = []
    for r in validation_rows(path):
        if r["section"] != section or r["backend"] != backend or r["error"]:
            continue
        d, causal, seq, heads = int(r["head_dim"]), int(r["causal"]), int(r["seq"]), int(r["heads"]) * int(r["batch"])
        rate = base * float(attention_head_dim_factor(d, d, cal))
        if causal:
            factors = tuple(float(f) for f in causal_schedule_slowdowns(seq, heads, hw.compute_units, cal))
        else:
            factors = (1.0 / cal.attention_noncausal_rate_ratio,) * 2
        fwd_flop = float(r["flop"]) / (3.5 if r["pass"] == "fwd_bwd" else 1.0)
        fwd_s, bwd_s = flash_kernel_s(fwd_flop, rate, cal, *factors)
        model = float(fwd_s) + (float(bwd_s) if r["pass"] == "fwd_bwd" else 0.0)
        measured = float(r["median_s"])
        out.append((seq, heads, d, causal, r["pass"], model / measured, measured))
    return out


def attention_grid_ratios(backend: str, pas: str, low_s: float, high_s: float) -> list[float]:
    """Model / measured time of the causal head-dim-128 cases of ``h200_attention_grid.csv`` (``backend``, ``pas``)
    whose measured time lies in [``low_s``, ``high_s``): the causal schedule law's fit set is cuDNN at >= 1 ms
    (shorter eager calls carry their host time)."""
    return [ratio for _, _, d, causal, p, ratio, seconds in attention_model_over_measured(backend, ATTENTION_GRID,
                                                                                         "attention_grid")
            if causal and d == 128 and p == pas and low_s <= seconds < high_s]


def hbm_shares() -> dict[str, float]:
    """Measured bandwidth over the HBM peak per kernel ("copy", "add"), bytes read + written."""
    peak = float(np.ravel(_part().hbm_bw_bytes_per_s)[0])
    return {r["backend"]: float(r["bytes"]) / float(r["median_s"]) / peak
            for r in validation_rows(KERNELS) if r["section"] == "hbm"}


def launch_seconds() -> dict[str, float]:
    """Seconds per op: "eager_<op>" host issue time with the device idle, "graph_<op>" per kernel in a CUDA graph."""
    return {r["backend"]: float(r["median_s"]) for r in validation_rows(KERNELS) if r["section"] == "launch"}


def report() -> list[str]:
    """The printed lines (module doc)."""
    median, worst, count = run_spread()
    lines = [f"run-to-run spread over {count} GEMMs timed twice: median {median:.3f}, max {worst:.3f} (|log ratio|)",
             "variant    group                    GEMMs  geomean model/measured  rms log"]
    for (variant, group), values in sorted(model_over_measured().items(), key=lambda kv: (kv[0][1], kv[0][0])):
        lines.append(f"{variant:10s} {group:24s} {len(values):5d}  {geomean(values):22.3f}  {rms_log(values):7.3f}")
    hw = _part()
    model_k = {"bf16": float(np.ravel(hw.gemm_k_half_bf16)[0]), "fp8": float(np.ravel(hw.gemm_k_half_fp8)[0])}
    for variant in ("bf16", "fp8_fast", "fp8_split"):
        k_half, rms, points = fill_fit(variant)
        lines.append(f"{variant}: K-half fitted on the K ladders {k_half:.0f} (rms log {rms:.3f}, {points} points); "
                     f"the model's Hopper constant {model_k[variant[:4].rstrip('_')]:.0f}")
    for dtype in ("bf16", "fp8_e4m3"):
        burst, held = burst_and_sustained(dtype)
        lines.append(f"{dtype} 8192^3: burst {burst / 1e12:.0f} TFLOP/s, from 2 s on {held / 1e12:.0f} "
                     f"(sustained / burst {held / burst:.3f})")
    for dtype, (rate, clock_hz, power_w) in capped_operating_points().items():
        lines.append(f"{dtype} at the cap: {rate / 1e12:.0f} TFLOP/s at {clock_hz / 1e6:.0f} MHz, {power_w:.0f} W "
                     f"measured; the model's power there {model_power_at(dtype, rate, clock_hz):.0f} W")
    for workload, (layer_s, clock_hz, power_w) in layer_mix_points().items():
        lines.append(f"{workload} layer mix: {layer_s * 1e3:.2f} ms per layer, {clock_hz / 1e6:.0f} MHz, {power_w:.0f} W")
    attention = attention_model_over_measured()
    for seq in sorted({a[0] for a in attention}):
        for causal in (1, 0):
            for pas in ("fwd", "fwd_bwd"):
                own = [a[5] for a in attention if a[0] == seq and a[3] == causal and a[4] == pas and a[2] == 128]
                lines.append(f"cudnn attention seq {seq:5d} {'causal' if causal else 'unmasked':8s} {pas:7s}: "
                             f"model / measured {min(own):.3f}-{max(own):.3f} over heads 8-64")
    for pas in ("fwd", "fwd_bwd"):
        for label, low, high in (("kernels >= 1 ms", 1e-3, 1e9), ("0.2-1 ms, host", 2e-4, 1e-3)):
            ratios = attention_grid_ratios("cudnn", pas, low, high)
            lines.append(f"attention grid cudnn causal {pas:7s} {label:16s}: {len(ratios):3d} cases, model / "
                         f"measured geomean {np.exp(np.mean(np.log(ratios))):.3f}, rms log "
                         f"{np.sqrt(np.mean(np.log(ratios) ** 2)):.3f}, range {min(ratios):.2f}-{max(ratios):.2f}")
    for (model, tokens, backend), (measured, modelled) in sorted(moe_model_over_measured().items()):
        lines.append(f"moe {model:16s} {tokens:5d} tokens/expert {backend:14s}: measured {measured * 1e3:6.3f} ms, "
                     f"model {modelled * 1e3:6.3f} ms ({modelled / measured:.2f})")
    shares, cal = hbm_shares(), load_calibration()
    lines.append(f"HBM: copy {shares['copy']:.3f}, add {shares['add']:.3f} of peak; model hbm_bw_efficiency "
                 f"{cal.hbm_bw_efficiency:.2f}")
    us = {name: seconds * 1e6 for name, seconds in launch_seconds().items()}
    lines.append(f"launch: per kernel in a CUDA graph {us['graph_add_']:.2f} us (add), {us['graph_linear_16']:.2f} us "
                 f"(16 x 16 linear); eager host issue {us['eager_add_']:.1f} / {us['eager_linear_16']:.1f} us; model "
                 f"kernel_overhead_s {cal.kernel_overhead_s * 1e6:.1f} us")
    return lines


def main(argv: list[str] | None = None) -> None:
    """Print the report (module doc); no options."""
    print_report(__doc__, report, argv)


if __name__ == "__main__":
    main()
