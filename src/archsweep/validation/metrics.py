"""The measured metric of a row, its FLOP convention, and the model's prediction of it."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from archsweep.model.training.step import model_flops_per_token
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload
from archsweep.validation.cells import cell_number, cell_text
from archsweep.validation.layer_time import measured_layer_times
from archsweep.validation.mlperf import wallclock_factor
from archsweep.validation.types import (
    GIB,
    LAYER_METRIC,
    METRICS,
    STATED_PEAKS,
    STEADY_STEP,
    FlopConvention,
    RowPlan,
    Skip,
)

# ---------------------------------------------------------------------------------------
# metric, FLOP convention
# ---------------------------------------------------------------------------------------

_MEM_ACT = re.compile(r"activations\s+([0-9.]+)\s*GiB", re.I)
_MEM_TOTAL = re.compile(r"(?:total|peak)\s+memory[^0-9]*([0-9.]+)\s*GiB", re.I)
_MEM_PCT = re.compile(r"activation memory\s*=\s*([0-9.]+)\s*%\s*of\s+(?:the\s+)?no-recompute", re.I)
#: Narayanan et al. SC21 Sec. 5.9 (arXiv:2104.04473 v5): "we observed that the effective bisection
#: bandwidth of point-to-point communication among pipeline stages is 892 GB/s, while the effective
#: bisection bandwidth of all-reduce operations among data-parallel replicas is 12.9 TB/s".
_BISECTION = re.compile(r"bisection\s+(bw|bandwidth)", re.I)
_BISECTION_REASON = ("an 'effective bisection bandwidth' is not a quantity the model predicts as the source defines it: "
                     "SC21 Sec. 5.9 gives no definition (which bytes, over which time window, across which cut of the "
                     "3072 GPUs), and no other figure of the run (step time, batch, mapping) is stated with it")


def measured_of(row: Mapping[str, str]) -> tuple[str, float]:
    steady = cell_number(row, STEADY_STEP)
    if steady is not None:  # MLPerf: the training step between evaluations (validation/mlperf.py)
        return "step_time_s", steady
    layer = measured_layer_times(row)
    if layer is not None:  # one layer's forward + backward (validation/layer_time.py)
        return LAYER_METRIC, layer.total_s
    for metric in METRICS:
        value = cell_number(row, metric)
        if value is not None:
            return metric, value
    other = cell_text(row, "other_metric")
    for pattern, metric, scale in ((_MEM_ACT, "memory_activations_bytes", GIB),
                                   (_MEM_TOTAL, "memory_per_accelerator_bytes", GIB),
                                   (_MEM_PCT, "activation_memory_pct_of_baseline", 1.0)):
        match = pattern.search(other)
        if match:
            return metric, float(match.group(1)) * scale
    if _BISECTION.search(other):
        raise Skip(_BISECTION_REASON)
    if other:
        raise Skip(f"no measured metric the model predicts (other_metric: {other[:80]!r})")
    raise Skip("no measured metric (" + ", ".join(METRICS) + " all empty)")


def flop_convention(row: Mapping[str, str]) -> FlopConvention:
    """The FLOP accounting of the row's source (see :data:`FlopConvention`)."""
    text = " ".join(cell_text(row, k).lower() for k in ("source", "framework", "run_id", "notes"))
    if any(k in text for k in ("narayanan", "korthikanti", "2104.04473", "2205.05198", "eq.3", "eq. 3")):
        return "megatron"
    if any(k in text for k in ("mosaicml", "llm-foundry", "composer")):
        return "mosaicml"
    return "archsweep"


#: Bounds of a row's implied FLOP per token relative to its architecture (see
#: :func:`consistency_skip_reason`): below 0.8 x the fewest FLOPs any convention counts, above
#: 1.25 x the most, the stated figures cannot describe this model at this batch.
_FLOP_RATIO_BOUNDS = (0.8, 1.25)
#: Relative tolerance of tokens/s x step time against global_batch_seqs x seq_len (the tables
#: round to 3-4 significant digits).
_BATCH_TOLERANCE = 0.05


def _flop_per_token_range(wl: Workload) -> tuple[float, float]:
    """(fewest, most) FLOP per token any published convention counts for ``wl``.

    Fewest: the weight matmuls alone (sliding-window attention, as in GPT-OSS's alternate layers,
    or a convention without the score FLOPs: the Megatron-Bridge GPT-OSS rows imply 6 x the
    active non-embedding parameters), and under LoRA 4 instead of 6 FLOP per frozen weight.
    Most: hardware FLOPs with full recomputation, 4/3 of the non-causal model FLOPs (Narayanan
    et al. SC21 Eq. 3).
    """
    full = model_flops_per_token(wl)
    qk = wl.head_dim if wl.mla is None else (wl.mla.qk_nope_head_dim + wl.mla.qk_rope_head_dim + wl.mla.v_head_dim) / 2
    attention = 12.0 * wl.layers * wl.seq_len * wl.heads * qk
    matmul = full - attention
    low = matmul * (4.0 / 6.0 if wl.training.mode == "finetune_lora" else 1.0)
    return low, full * 4.0 / 3.0


def consistency_skip_reason(row: Mapping[str, str], wl: Workload, count: int) -> str | None:
    """Why the row's own figures contradict each other or its architecture, or None.

    Two checks on the figures a row states (issue 10, item 1):
    * tokens/s x step time must equal global_batch_seqs x seq_len (a mistyped batch or sequence);
    * TFLOP/s / (tokens/s) is the FLOP per token the source counted; it must lie within
      :data:`_FLOP_RATIO_BOUNDS` of the range of conventions for the architecture the row names
      (:func:`_flop_per_token_range`). A "proxy" run with fewer layers than the named model, or a
      batch typed in the wrong unit, fails it. Such a row is skipped, never reported as an error.
    """
    step = cell_number(row, "step_time_s")
    per_gpu = cell_number(row, "tokens_per_s_per_gpu")
    total = cell_number(row, "tokens_per_s_total")
    tps_total = total if total is not None else (per_gpu * count if per_gpu is not None else None)
    if per_gpu is not None and total is not None and abs(total / (per_gpu * count) - 1.0) > _BATCH_TOLERANCE:
        return (f"inconsistent row: tokens_per_s_total {total:g} != tokens_per_s_per_gpu {per_gpu:g} x "
                f"num_accels {count}")
    tokens_step = float(wl.tokens_per_step)
    if step is not None and tps_total is not None:
        stated = tps_total * step
        if abs(stated / tokens_step - 1.0) > _BATCH_TOLERANCE:
            return (f"inconsistent row: tokens/s x step_time_s = {stated:.4g} tokens per step, but global_batch_seqs x "
                    f"seq_len = {tokens_step:.4g} (mistyped batch or sequence length?)")
    if tps_total is None and step is not None:
        tps_total = tokens_step / step
    tflops = cell_number(row, "tflops_per_gpu")
    if tflops is not None and tps_total is not None:
        implied = tflops * 1e12 * count / tps_total
        low, high = _flop_per_token_range(wl)
        lo_bound, hi_bound = _FLOP_RATIO_BOUNDS
        if implied < lo_bound * low or implied > hi_bound * high:
            return (f"inconsistent row: tflops_per_gpu / tokens per s per GPU = {implied / 1e9:.4g} GFLOP per token, "
                    f"but {wl.name} ({wl.layers} layers, seq {wl.seq_len}) counts {low / 1e9:.4g}-{high / 1e9:.4g} "
                    "in any convention (reduced-layer proxy configuration or mistyped batch?)")
    return None


def megatron_step_flops(wl: Workload, recompute: str, *, hardware: bool) -> float:
    """FLOPs of one step in the Megatron accounting (GPT with tied embedding, MHA, 4h FFN).

    Model FLOPs: 72 B s l h^2 (1 + s/(6h) + V/(12 l h)) (Korthikanti et al. MLSys'23 App. A).
    Hardware FLOPs: full recompute 96 B s l h^2 (1 + s/(6h) + V/(16 l h)) (Narayanan et al.
    SC21 Eq. 3); selective 72 B s l h^2 (1 + s/(3h) + V/(12 l h)) (Korthikanti Table 5: the
    HFU/MFU ratios of its four models); none = model FLOPs.
    """
    b, s, l, h, v = float(wl.training.global_batch_seqs), float(wl.seq_len), float(wl.layers), float(wl.hidden), float(wl.vocab)  # noqa: E741 (the papers' l = layers)
    base = b * s * l * h * h
    if hardware and recompute == "full":
        return 96.0 * base * (1 + s / (6 * h) + v / (16 * l * h))
    if hardware and recompute == "selective":
        return 72.0 * base * (1 + s / (3 * h) + v / (12 * l * h))
    return 72.0 * base * (1 + s / (6 * h) + v / (12 * l * h))


def _peak(plan: RowPlan) -> float:
    stated = STATED_PEAKS.get((plan.convention, plan.entry.name, plan.workload.training.precision))
    if stated is not None:
        return stated
    hw = HardwareArrays.from_designs(plan.entry.design)
    peak = hw.peak_matrix_flops_fp8 if plan.workload.training.precision == "fp8" else hw.peak_matrix_flops_bf16
    return float(np.ravel(peak)[0])


def predict_metric(plan: RowPlan, result: Mapping[str, np.ndarray], baseline: Mapping[str, np.ndarray] | None) -> float:
    """The row's metric from the model's output columns (one candidate), in the row's units."""
    value = lambda key: float(np.ravel(result[key])[0])  # noqa: E731 - local accessor
    # the wall-clock step the row measured: steady step plus the benchmark's evaluation pauses
    factor = wallclock_factor(plan, result)
    step, n, wl = value("step_time_s") * factor, float(plan.count), plan.workload
    recompute = str(np.ravel(result["recompute"])[0])
    metric = plan.metric
    if metric == "step_time_s":
        return step
    if metric == "tokens_per_s_per_gpu":
        return value("tokens_per_s") / factor / n
    if metric == "tokens_per_s_total":
        return value("tokens_per_s") / factor
    if metric == "memory_activations_bytes":
        return value("memory_activations_bytes")
    if metric == "memory_per_accelerator_bytes":
        return value("memory_per_accelerator_bytes")
    if metric == "activation_memory_pct_of_baseline":
        if baseline is None:
            raise Skip("no baseline evaluation for the activation-memory ratio")
        return 100.0 * value("memory_activations_bytes") / float(np.ravel(baseline["memory_activations_bytes"])[0])
    tokens = float(wl.tokens_per_step)
    mosaic_model = (6.0 * plan.params + 12.0 * wl.layers * wl.seq_len * wl.hidden) * tokens
    if plan.convention == "megatron":
        model_flops = megatron_step_flops(wl, recompute, hardware=False)
        hw_flops = megatron_step_flops(wl, recompute, hardware=True)
    elif plan.convention == "mosaicml":
        model_flops = mosaic_model
        hw_flops = mosaic_model * (4.0 / 3.0 if recompute == "full" else 1.0)
    else:

        model_flops = model_flops_per_token(wl) * tokens
        hw_flops = value("hfu") * step * n * _peak(plan)
    if metric == "tflops_per_gpu":
        # SC21 and MosaicML tables report the FLOPs their convention counts: hardware FLOPs
        # (with recomputation) for Megatron, model FLOPs for MosaicML and by default.
        flops = hw_flops if plan.convention == "megatron" else model_flops
        return flops / (step * n) / 1e12
    if metric == "mfu_pct":
        return 100.0 * model_flops / (step * n * _peak(plan))
    if metric == "hfu_pct":
        return 100.0 * hw_flops / (step * n * _peak(plan))
    raise Skip(f"metric {metric!r} not predicted")
