"""The serving model's decode laws against decode kernels measured on one NVIDIA H200 (s34).

    python benchmarks/h200_decode.py

``data/validation/h200_decode_kernels.csv`` holds the decode-phase kernels that ``benchmarks/device/decode.py``
(through ``hopper_kernels.py --sections decode_attention,decode_gemm,decode_moe``) timed on one H200 SXM on
2026-12-04: stacks of layers, each with its own weights or KV cache, replayed from one CUDA graph (data and method in
data/validation/SOURCE.md). The serving model (``archsweep.model.inference.step``) prices

* a decode step's linear layers as ``max(FLOPs / rate, weight bytes / (HBM bandwidth x weight_stream_bw_efficiency))``
  and its attention as ``KV bytes / (HBM bandwidth x kv_read_bw_efficiency)``,
* plus ``kernels_per_layer x kernel_overhead_s`` per layer for every kernel of the layer
  (data/calibration/serving.yaml).

Printed: the law ``seconds = calls x per-call latency + bytes / (HBM peak x efficiency)`` fitted to each kernel family
(relative least squares; dense GEMMs at M <= 64 tokens, 4 GEMMs a layer; attention one call a layer; routed experts
at <= 64 tokens per expert, one grouped call a layer), and the model's time of the same kernels over the measured
(its two efficiencies, plus ``kernel_overhead_s`` per call), grouped as the serving model would meet them. A ratio
> 1 is the model slower than the measurement. Read docs/model-accuracy.md "s34" for what it says.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from xla_gemm_rates import geomean, part_hardware, validation_rows

from archsweep.load.serving_calibration import load_serving_calibration

DECODE = "h200_decode_kernels.csv"
GEMMS_PER_LAYER = 4
"""QKV, output, fused gate + up and down projections: the ``decode_gemm`` section's layer."""
MEMORY_BOUND_TOKENS = 64
"""Tokens (per expert for the routed experts) up to which the decode GEMMs are weight-read bound on the H200 (the
BF16 ridge is ~200 tokens: 989 TFLOP/s over 4.8 TB/s at 2 FLOPs per weight byte)."""
KV_BUCKETS_BYTES = (32e6, 512e6)
"""Edges of the KV-cache size buckets per layer (under 32 MB, 32-512 MB, from 512 MB): latency, mixed, bandwidth."""


@dataclass(frozen=True)
class Case:
    """One measured decode case per layer: seconds, bytes HBM must move, kernel calls, and its labels."""

    seconds: float
    nbytes: float
    calls: int
    row: dict[str, str]


@dataclass(frozen=True)
class LatencyBandwidthLaw:
    """``seconds = calls x per_call_s + bytes / (peak HBM bandwidth x bw_efficiency)`` fitted to ``cases`` cases;
    ``rms_rel`` / ``worst_rel`` the relative residuals."""

    per_call_s: float
    bw_efficiency: float
    rms_rel: float
    worst_rel: float
    cases: int


def peak_hbm_bytes_per_s() -> float:
    """The catalog H200's HBM bandwidth, bytes/s."""
    return float(np.asarray(part_hardware("H200").hbm_bw_bytes_per_s).item())


def cases(section: str, backend: str, dtype: str = "", max_tokens: int = 0) -> list[Case]:
    """The measured cases of ``section`` through ``backend`` (and ``dtype`` where given; at most ``max_tokens`` in
    ``m`` where given), per layer: a row's ``median_s`` and ``bytes`` cover its ``batch`` layers."""
    calls = GEMMS_PER_LAYER if section == "decode_gemm" else 1
    found = []
    for r in validation_rows(DECODE):
        if r["section"] != section or r["backend"] != backend or r["error"] or (dtype and r["dtype"] != dtype):
            continue
        if max_tokens and int(r["m"]) > max_tokens:
            continue
        layers = int(r["batch"])
        found.append(Case(float(r["median_s"]) / layers, float(r["bytes"]) / layers, calls, r))
    return found


def fit_law(measured: list[Case]) -> LatencyBandwidthLaw:
    """The latency-bandwidth law of ``measured`` (least squares on the relative error)."""
    seconds = np.array([c.seconds for c in measured])
    design = np.array([[c.calls, c.nbytes / peak_hbm_bytes_per_s()] for c in measured]) / seconds[:, None]
    (per_call, inverse_eff), *_ = np.linalg.lstsq(design, np.ones(len(measured)), rcond=None)
    residual = design @ np.array([per_call, inverse_eff]) - 1.0
    return LatencyBandwidthLaw(float(per_call), float(1.0 / inverse_eff), float(np.sqrt(np.mean(residual**2))),
                               float(np.max(np.abs(residual))), len(measured))


def model_seconds(case: Case, bw_efficiency: float) -> float:
    """The serving model's time of ``case``: its bytes at ``bw_efficiency`` of the H200's HBM peak plus
    ``kernel_overhead_s`` per call (the memory-bound branch: every case here is below the compute ridge)."""
    return case.calls * load_serving_calibration().kernel_overhead_s + case.nbytes / (
        peak_hbm_bytes_per_s() * bw_efficiency)


def model_over_measured(measured: list[Case], bw_efficiency: float, group: str) -> dict[str, float]:
    """Geometric mean of model / measured time per value of ``group`` (a row label, or ``"kv_bucket"``)."""
    ratios: dict[str, list[float]] = defaultdict(list)
    for c in measured:
        key = _kv_bucket(c.nbytes) if group == "kv_bucket" else f"{group}={c.row[group]}"
        ratios[key].append(model_seconds(c, bw_efficiency) / c.seconds)
    return {key: geomean(values) for key, values in sorted(ratios.items())}


def _kv_bucket(nbytes: float) -> str:
    low, high = KV_BUCKETS_BYTES
    return "KV < 32 MB" if nbytes < low else ("KV 32-512 MB" if nbytes < high else "KV >= 512 MB")


def compute_bound_rates(tokens: int = 1024) -> dict[str, float]:
    """Measured TFLOP/s of the dense decode GEMMs at ``tokens`` tokens, median over the layers and TP degrees, per
    datatype, beside the serving model's top rate (``matrix_efficiency`` x ``gemm_ratio`` x peak, x
    ``low_precision_gemm_ratio`` for FP8) before its shape factor."""
    hw, scal = part_hardware("H200"), load_serving_calibration()
    out = {}
    for dtype, peak, ratio in (("bf16", float(np.asarray(hw.peak_matrix_flops_bf16).item()), 1.0),
                               ("fp8_e4m3", float(np.asarray(hw.peak_matrix_flops_fp8).item()), scal.low_precision_gemm_ratio)):
        rows = [r for r in validation_rows(DECODE) if r["section"] == "decode_gemm" and r["dtype"] == dtype and int(r["m"]) == tokens]
        out[f"{dtype} measured"] = float(np.median([float(r["tflop_per_s"]) for r in rows]))
        out[f"{dtype} model top rate"] = float(np.asarray(hw.matrix_efficiency).item() * scal.gemm_ratio * ratio * peak / 1e12)
    return out


FAMILIES = (("dense GEMM bf16", "decode_gemm", "cublas", "bf16", MEMORY_BOUND_TOKENS, "weight_stream_bw_efficiency"),
            ("dense GEMM fp8", "decode_gemm", "cublaslt", "fp8_e4m3", MEMORY_BOUND_TOKENS, "weight_stream_bw_efficiency"),
            ("attention cudnn", "decode_attention", "cudnn", "", 0, "kv_read_bw_efficiency"),
            ("attention flash", "decode_attention", "flash", "", 0, "kv_read_bw_efficiency"),
            ("attention bmm_gqa", "decode_attention", "bmm_gqa", "", 0, "kv_read_bw_efficiency"),
            ("experts grouped_mm bf16", "decode_moe", "grouped_mm", "", MEMORY_BOUND_TOKENS,
             "weight_stream_bw_efficiency"),
            ("experts scaled_grouped_mm fp8", "decode_moe", "scaled_grouped_mm", "", MEMORY_BOUND_TOKENS,
             "weight_stream_bw_efficiency"))
"""(label, section, backend, dtype, token limit, the serving constant that prices it) of each kernel family."""


def main() -> None:
    scal = load_serving_calibration()
    print(f"H200 HBM peak {peak_hbm_bytes_per_s() / 1e12:.2f} TB/s; serving model: weight_stream_bw_efficiency "
          f"{scal.weight_stream_bw_efficiency}, kv_read_bw_efficiency {scal.kv_read_bw_efficiency}, "
          f"kernel_overhead_s {scal.kernel_overhead_s * 1e6:.1f} us per call\n")
    print(f"{'family':32s} {'cases':>5s} {'per call us':>11s} {'bw eff':>7s} {'rms':>6s} {'worst':>6s}")
    for label, section, backend, dtype, tokens, _ in FAMILIES:
        law = fit_law(cases(section, backend, dtype, tokens))
        print(f"{label:32s} {law.cases:5d} {law.per_call_s * 1e6:11.2f} {law.bw_efficiency:7.3f} "
              f"{law.rms_rel:6.3f} {law.worst_rel:6.3f}")
    print("\nmodel / measured (geometric mean; > 1 = the model slower)")
    for label, section, backend, dtype, tokens, constant in FAMILIES:
        group = "kv_bucket" if section == "decode_attention" else ("tp" if section == "decode_gemm" else "layer")
        measured = cases(section, backend, dtype, tokens)
        ratios = model_over_measured(measured, getattr(scal, constant), group)
        print(f"  {label}: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    print("\ncompute-bound dense decode GEMMs at 1,024 tokens, TFLOP/s: "
          + ", ".join(f"{k} {v:.0f}" for k, v in compute_bound_rates().items()))


if __name__ == "__main__":
    main()
