"""Validation of the training model against published runs (``archsweep validate``).

Every row of a measurements CSV with the columns of ``data/validation/training_runs.csv`` is
turned into a workload, a system and a mapping, predicted with
:func:`archsweep.model.driver.evaluate_design_batch`, and compared with the metric the row
measured. A row that cannot be modelled is reported ``skipped`` with the reason, never dropped.

Row -> inputs (the rules, in one place):

* Workload: from the architecture columns (layers, hidden, heads, kv_heads, ffn_hidden, vocab,
  seq_len, global_batch_seqs). When the model name matches a ``models/`` stem ("GPT-3 175B" ->
  ``gpt3-175b``) that file is the base and the row's columns override it (MoE/MLA rows need
  it). FFN: SwiGLU when ``arch_type``/model mentions SwiGLU, or for a Llama-style family
  (llama, mistral, mixtral, qwen, deepseek, gemma, olmo, yi) whose ``ffn_hidden != 4*hidden``;
  GELU otherwise (GPT, MPT, BLOOM, OPT). Embeddings tied for GPT/MPT/BLOOM/OPT (Megatron-LM and
  MPT share input and output embedding), untied otherwise. Precision ``fp8`` when the text
  mentions FP8, ``bf16`` otherwise (FP16 and BF16 have the same peak and bytes); FP4/INT8/FP32
  recipes are skipped.
* System: ``accelerator_canonical`` (else ``accelerator``) through the catalog with its
  aliases, ``accelerator_count = num_accels`` (else tp*pp*cp*dp).
* Mapping: the row's tp, pp, dp, cp, ep, vpp, micro_batch, act_recompute, sp and fsdp_zero;
  what the row leaves out is searched by the model and the row is flagged ``partial``
  (``searched`` when it gives none of tp/pp/dp/micro_batch/act_recompute). Software stack:
  Megatron-LM of SC21 / Korthikanti (2021-22): no flash attention, no distributed optimizer
  (ZeRO stage 0) unless stated, and gradient all-reduce after the backward pass (the
  ``--DDP-impl local`` default of that code, no overlap) except under DeepSpeed ZeRO;
  MosaicML llm-foundry: flash attention on, FSDP (overlapped). CP = 1 when not stated.
* Metric, the first the row provides: ``step_time_s``, ``tokens_per_s_per_gpu``,
  ``tokens_per_s_total``, ``tflops_per_gpu``, ``mfu_pct``, ``hfu_pct``; then memory figures
  from ``other_metric`` (activations GiB; activation memory as % of the no-recompute,
  no-SP baseline). FLOP-based metrics use the row's FLOP convention (:data:`FlopConvention`).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from archsweep.spec.catalog import CatalogEntry

from archsweep.load.catalog import get_accelerator, load_catalog
from archsweep.spec.errors import ArchsweepError, InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Precision, TrainingSetup, Workload
from archsweep.load.workloads import list_workloads, load_workload

__all__ = [
    "OUTPUT_COLUMNS", "EXTRA_COLUMNS", "METRICS", "RowPlan", "RowResult", "GroupSummary", "Skip",
    "read_measurements", "plan_row", "predict_metric", "validate_rows", "validate_file", "summarize",
    "write_results_csv", "flop_convention", "megatron_step_flops", "print_report",
]

Status = Literal["ok", "skipped"]
MappingSource = Literal["given", "partial", "searched", "-"]
#: ``megatron``: Narayanan SC21 Eq. 3 / Korthikanti App. A (hardware FLOPs include the
#: recomputation, model FLOPs 72 B s l h^2 (1 + s/6h + V/12lh), peak 312 TFLOP/s on A100);
#: ``mosaicml``: llm-foundry benchmark README (6 N + 12 l s h per token with N = the row's
#: parameter count; HFU = 4/3 MFU with activation checkpointing; peaks 312/989/1979 TFLOP/s);
#: ``archsweep``: the model's own MFU/HFU (PaLM App. B convention).
FlopConvention = Literal["megatron", "mosaicml", "archsweep"]

#: Columns of ``--output`` (in this order), then :data:`EXTRA_COLUMNS`.
OUTPUT_COLUMNS: tuple[str, ...] = ("run_id", "metric", "measured", "predicted", "error_pct", "status", "reason")
EXTRA_COLUMNS: tuple[str, ...] = ("mapping", "source_group", "accelerator", "model", "notes")

#: Measured columns compared, in order of preference.
METRICS: tuple[str, ...] = ("step_time_s", "tokens_per_s_per_gpu", "tokens_per_s_total", "tflops_per_gpu",
                            "mfu_pct", "hfu_pct")
_MEMORY_METRICS = ("memory_activations_bytes", "memory_per_accelerator_bytes", "activation_memory_pct_of_baseline")

_GIB = float(2**30)
_EMPTY = {"", "nan", "na", "n/a", "-", "none given", "null"}
_SWIGLU_FAMILIES = ("llama", "mistral", "mixtral", "qwen", "deepseek", "gemma", "olmo", "yi-")
_TIED_FAMILIES = ("gpt", "mpt", "bloom", "opt", "megatron", "mt-nlg", "turing")
#: Peaks the sources divide by (TFLOP/s -> FLOP/s), by (convention, catalog name, precision).
_STATED_PEAKS: Mapping[tuple[str, str, str], float] = {
    ("megatron", "A100-SXM4", "bf16"): 312e12, ("megatron", "A100-SXM4-40GB", "bf16"): 312e12,
    ("mosaicml", "A100-SXM4", "bf16"): 312e12, ("mosaicml", "A100-SXM4-40GB", "bf16"): 312e12,
    ("mosaicml", "H100-SXM", "bf16"): 989e12, ("mosaicml", "H100-SXM", "fp8"): 1979e12,
}


class Skip(Exception):
    """A row the model cannot evaluate; ``reason`` says why (internal control flow)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RowPlan:
    """Everything needed to predict one row (built by :func:`plan_row`)."""

    run_id: str
    source_group: str
    accelerator: str
    model: str
    entry: CatalogEntry
    workload: Workload
    count: int
    strategies: tuple[str, ...]
    baseline_strategy: str
    mapping: MappingSource
    metric: str
    measured: float
    convention: FlopConvention
    params: float
    notes: tuple[str, ...]


@dataclass(frozen=True)
class RowResult:
    """One output row (see :data:`OUTPUT_COLUMNS` and :data:`EXTRA_COLUMNS`); error in percent."""

    run_id: str
    metric: str
    measured: float
    predicted: float
    error_pct: float
    status: Status
    reason: str
    mapping: MappingSource
    source_group: str
    accelerator: str
    model: str
    notes: str

    def as_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in OUTPUT_COLUMNS + EXTRA_COLUMNS}


@dataclass(frozen=True)
class GroupSummary:
    """Errors of one group of rows: MAPE and max |error| over its ``ok`` rows, percent."""

    group: str
    ok: int
    skipped: int
    mape_pct: float
    max_abs_pct: float


# ---------------------------------------------------------------------------------------
# reading cells
# ---------------------------------------------------------------------------------------

def read_measurements(path: Path | str) -> list[dict[str, str]]:
    """Rows of a measurements CSV as text (missing columns read as empty).

    Raises:
        InputError: unreadable file, or no ``run_id`` column.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            if "run_id" not in header:
                raise InputError(str(path), "header", ",".join(header)[:200] or "<empty file>",
                                 "a CSV with the columns of data/validation/training_runs.csv (run_id required)")
            return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    except OSError as exc:
        raise InputError(str(path), "", f"<{exc.strerror or exc}>", "a readable CSV file") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError(str(path), "", f"<{exc}>", "a UTF-8 CSV file") from None


def _text(row: Mapping[str, str], key: str) -> str:
    value = row.get(key, "") or ""
    return "" if value.strip().lower() in _EMPTY else value.strip()


def _number(row: Mapping[str, str], key: str) -> float | None:
    raw = _text(row, key)
    if not raw:
        return None
    try:
        value = float(raw.replace(",", ""))
    except ValueError:
        raise Skip(f"{key}={raw!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise Skip(f"{key}={raw!r}: allowed a positive finite number")
    return value


def _int(row: Mapping[str, str], key: str) -> int | None:
    value = _number(row, key)
    if value is None:
        return None
    if value != int(value):
        raise Skip(f"{key}={_text(row, key)!r}: allowed a positive integer")
    return int(value)


# ---------------------------------------------------------------------------------------
# metric, FLOP convention
# ---------------------------------------------------------------------------------------

_MEM_ACT = re.compile(r"activations\s+([0-9.]+)\s*GiB", re.I)
_MEM_TOTAL = re.compile(r"(?:total|peak)\s+memory[^0-9]*([0-9.]+)\s*GiB", re.I)
_MEM_PCT = re.compile(r"activation memory\s*=\s*([0-9.]+)\s*%\s*of\s+(?:the\s+)?no-recompute", re.I)


def _measured(row: Mapping[str, str]) -> tuple[str, float]:
    for metric in METRICS:
        value = _number(row, metric)
        if value is not None:
            return metric, value
    other = _text(row, "other_metric")
    for pattern, metric, scale in ((_MEM_ACT, "memory_activations_bytes", _GIB),
                                   (_MEM_TOTAL, "memory_per_accelerator_bytes", _GIB),
                                   (_MEM_PCT, "activation_memory_pct_of_baseline", 1.0)):
        match = pattern.search(other)
        if match:
            return metric, float(match.group(1)) * scale
    if other:
        raise Skip(f"no measured metric the model predicts (other_metric: {other[:80]!r})")
    raise Skip("no measured metric (" + ", ".join(METRICS) + " all empty)")


def flop_convention(row: Mapping[str, str]) -> FlopConvention:
    """The FLOP accounting of the row's source (see :data:`FlopConvention`)."""
    text = " ".join(_text(row, k).lower() for k in ("source", "framework", "run_id", "notes"))
    if any(k in text for k in ("narayanan", "korthikanti", "2104.04473", "2205.05198", "eq.3", "eq. 3")):
        return "megatron"
    if any(k in text for k in ("mosaicml", "llm-foundry", "composer")):
        return "mosaicml"
    return "archsweep"


def megatron_step_flops(wl: Workload, recompute: str, *, hardware: bool) -> float:
    """FLOPs of one step in the Megatron accounting (GPT with tied embedding, MHA, 4h FFN).

    Model FLOPs: 72 B s l h^2 (1 + s/(6h) + V/(12 l h)) (Korthikanti et al. MLSys'23 App. A).
    Hardware FLOPs: full recompute 96 B s l h^2 (1 + s/(6h) + V/(16 l h)) (Narayanan et al.
    SC21 Eq. 3); selective 72 B s l h^2 (1 + s/(3h) + V/(12 l h)) (Korthikanti Table 5: the
    HFU/MFU ratios of its four models); none = model FLOPs.
    """
    b, s, l, h, v = float(wl.training.global_batch_seqs), float(wl.seq_len), float(wl.layers), float(wl.hidden), float(wl.vocab)
    base = b * s * l * h * h
    if hardware and recompute == "full":
        return 96.0 * base * (1 + s / (6 * h) + v / (16 * l * h))
    if hardware and recompute == "selective":
        return 72.0 * base * (1 + s / (3 * h) + v / (12 * l * h))
    return 72.0 * base * (1 + s / (6 * h) + v / (12 * l * h))


def _peak(plan: RowPlan) -> float:
    stated = _STATED_PEAKS.get((plan.convention, plan.entry.name, plan.workload.training.precision))
    if stated is not None:
        return stated
    hw = HardwareArrays.from_designs(plan.entry.design)
    peak = hw.peak_matrix_flops_fp8 if plan.workload.training.precision == "fp8" else hw.peak_matrix_flops_bf16
    return float(np.ravel(peak)[0])


def predict_metric(plan: RowPlan, result: Mapping[str, np.ndarray], baseline: Mapping[str, np.ndarray] | None) -> float:
    """The row's metric from the model's output columns (one candidate), in the row's units."""
    value = lambda key: float(np.ravel(result[key])[0])  # noqa: E731 - local accessor
    step, n, wl = value("step_time_s"), float(plan.count), plan.workload
    recompute = str(np.ravel(result["recompute"])[0])
    metric = plan.metric
    if metric == "step_time_s":
        return step
    if metric == "tokens_per_s_per_gpu":
        return value("tokens_per_s") / n
    if metric == "tokens_per_s_total":
        return value("tokens_per_s")
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
        from archsweep.model.training.step import model_flops_per_token

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


# ---------------------------------------------------------------------------------------
# row -> workload
# ---------------------------------------------------------------------------------------

def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _stem_for(model: str) -> str | None:
    key = _norm(model)
    if not key:
        return None
    return next((s for s in list_workloads() if _norm(s) == key), None)


def _precision(row: Mapping[str, str]) -> Precision:
    text = _text(row, "precision").lower()
    if "fp8" in text:
        return "fp8"
    if any(k in text for k in ("fp4", "int8", "int4")) or (text in ("fp32", "tf32")):
        raise Skip(f"precision {_text(row, 'precision')!r} not modelled; allowed: BF16/FP16 mixed or FP8 recipes")
    return "bf16"


def _ffn_type(row: Mapping[str, str], model: str, hidden: int, ffn: int, base: Workload | None) -> Literal["gelu", "swiglu"]:
    text = (_text(row, "arch_type") + " " + model).lower()
    if "swiglu" in text or "geglu" in text:
        return "swiglu"
    if "gelu" in text:
        return "gelu"
    if base is not None:
        return base.ffn_type
    llama_like = any(f in text for f in _SWIGLU_FAMILIES)
    return "swiglu" if llama_like and ffn != 4 * hidden else "gelu"


def _workload(row: Mapping[str, str], metric: str, notes: list[str]) -> Workload:
    model = _text(row, "model") or _text(row, "run_id")
    stem = _stem_for(model)
    base = load_workload(stem) if stem else None
    if base is not None:
        notes.append(f"base workload models/{stem}.yaml")
    arch = _text(row, "arch_type").lower()
    if base is None and ("moe" in arch or "mixture" in arch or "mla" in arch):
        raise Skip(f"arch_type {_text(row, 'arch_type')!r}: MoE/MLA details (experts, top-k) are not CSV columns "
                   "and no models/ file matches the model name")

    def pick(key: str, default: int | None) -> int:
        value = _int(row, key)
        if value is not None:
            return value
        if default is None:
            raise Skip(f"{key} missing (needed to build the workload)")
        return default

    layers = pick("layers", base.layers if base else None)
    hidden = pick("hidden", base.hidden if base else None)
    heads = pick("heads", base.heads if base else None)
    kv_heads = pick("kv_heads", base.kv_heads if base else heads)
    if heads % kv_heads != 0:
        raise Skip(f"heads={heads} not a multiple of kv_heads={kv_heads}")
    if base is not None and hidden == base.hidden and heads == base.heads:
        head_dim = base.head_dim
    elif hidden % heads == 0:
        head_dim = hidden // heads
    else:
        raise Skip(f"hidden={hidden} not a multiple of heads={heads}")
    if _int(row, "ffn_hidden") is None and base is None:
        notes.append("ffn_hidden assumed 4*hidden")
    ffn = pick("ffn_hidden", base.ffn_hidden if base else 4 * hidden)
    if _int(row, "vocab") is None and base is None:
        notes.append("vocab assumed 51200 (Megatron GPT, SC21 Sec. 5.1)")
    vocab = pick("vocab", base.vocab if base else 51200)
    seq_len = pick("seq_len", None)
    gbs = _int(row, "global_batch_seqs")
    if gbs is None and metric not in _MEMORY_METRICS:
        raise Skip("global_batch_seqs missing (needed for a throughput metric)")
    ffn_type = _ffn_type(row, model, hidden, ffn, base)
    family = model.lower()
    tied = base.tied_embeddings if base else any(f in family for f in _TIED_FAMILIES)
    attention = "mha" if kv_heads == heads else ("mqa" if kv_heads == 1 else "gqa")
    if base is not None and base.attention == "mla":
        attention = "mla"
    training = TrainingSetup(global_batch_seqs=gbs or 1, precision=_precision(row), mode="pretrain")
    position = "alibi" if "alibi" in arch else (base.position_encoding if base is not None else "learned")
    if base is not None:
        return replace(base, name=model, layers=layers, hidden=hidden, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
                       ffn_hidden=ffn, ffn_type=ffn_type, vocab=vocab, seq_len=seq_len, attention=attention,
                       training=training, position_encoding=position)
    return Workload(name=model, layers=layers, hidden=hidden, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
                    ffn_hidden=ffn, ffn_type=ffn_type, vocab=vocab, seq_len=seq_len, tied_embeddings=tied,
                    attention=attention, training=training, source=_text(row, "source"), position_encoding=position)


# ---------------------------------------------------------------------------------------
# row -> mapping
# ---------------------------------------------------------------------------------------

def _recompute(row: Mapping[str, str]) -> str | None:
    raw = _text(row, "act_recompute")
    text = raw.lower()
    if not text:
        return None
    if re.search(r"\bfull\b", text) or "with recompute" in text:
        return "full"
    if "selective" in text:
        return "selective"
    if re.search(r"\b(none|no|off|false|without)\b", text) or text in ("sequence parallelism",):
        return "none"
    raise Skip(f"act_recompute={raw!r} not understood; allowed: text naming none, selective or full")


def _sequence_parallel(row: Mapping[str, str]) -> bool | None:
    raw = _text(row, "sp").lower()
    if raw in ("yes", "true", "on", "1", "y"):
        return True
    if raw in ("no", "false", "off", "0", "n"):
        return False
    if raw:
        raise Skip(f"sp={_text(row, 'sp')!r} not understood; allowed: yes/no")
    text = _text(row, "act_recompute").lower()
    if "no sp" in text:
        return False
    if "sequence parallel" in text or "+ sequence" in text:
        return True
    return None


def _zero_stage(row: Mapping[str, str]) -> int | None:
    raw = _text(row, "fsdp_zero")
    text = raw.lower().replace(" ", "").replace("-", "").replace("_", "")
    if not text:
        return None
    if "hybrid" in text:
        raise Skip(f"fsdp_zero={raw!r}: hybrid sharding (shard in a node, replicate across) is not modelled")
    table = (("fullshard", 3), ("zero3", 3), ("stage3", 3), ("shardgradop", 2), ("zero2", 2), ("stage2", 2),
             ("zero1", 1), ("stage1", 1), ("distributedoptimizer", 1), ("distopt", 1), ("noshard", 0), ("ddp", 0),
             ("zero0", 0), ("stage0", 0), ("none", 0))
    for key, stage in table:
        if key in text:
            return stage
    raise Skip(f"fsdp_zero={raw!r} not understood; allowed: FSDP FULL_SHARD/SHARD_GRAD_OP/NO_SHARD, ZeRO-0..3, "
               "distributed optimizer")


#: Software stack of a row (see :func:`_stack`) -> stack of data/calibration/software_stacks.yaml.
_STACK_CALIBRATION = {"megatron-2021": "megatron-core", "llm-foundry": "pytorch-fsdp", "other": "megatron-core"}


def _stack(row: Mapping[str, str]) -> str:
    text = " ".join(_text(row, k).lower() for k in ("source", "framework", "run_id"))
    if any(k in text for k in ("narayanan", "korthikanti", "2104.04473", "2205.05198")):
        return "megatron-2021"
    if any(k in text for k in ("mosaicml", "llm-foundry", "composer")):
        return "llm-foundry"
    return "other"


def _vpp(row: Mapping[str, str]) -> int | str | None:
    """vpp as an integer, ``"interleaved"`` (chunks not stated: > 1) or None (not stated)."""
    raw = _text(row, "vpp")
    if "interleav" in raw.lower():
        return "interleaved"
    return _int(row, "vpp")


def _interleaved_choices(layers: int, pp: int | None) -> list[int | None]:
    """vpp values > 1 that give every virtual stage whole layers (None: let the model search)."""
    if pp is None:
        return [None]
    if pp == 1:
        return [1]
    choices = [v for v in range(2, layers // pp + 1) if layers % (pp * v) == 0]
    return choices or [1]


def _mapping(row: Mapping[str, str], wl: Workload, metric: str,
             notes: list[str]) -> tuple[int, tuple[str, ...], str, MappingSource]:
    """(accelerator count, candidate strategy texts, no-recompute/no-SP baseline strategy, mapping flag).

    Several candidates only where the row says "interleaved" without the chunk count: every
    vpp > 1 that divides the stage's layers is tried and the fastest kept.
    """
    tp, pp, dp, mb = _int(row, "tp"), _int(row, "pp"), _int(row, "dp"), _int(row, "micro_batch")
    cp, ep, vpp_raw = _int(row, "cp"), _int(row, "ep"), _vpp(row)
    vpp_choices: list[int | None] = (_interleaved_choices(wl.layers, pp) if vpp_raw == "interleaved"
                                     else [vpp_raw if isinstance(vpp_raw, int) else None])
    vpp = vpp_choices[0]
    recompute, sp, zero = _recompute(row), _sequence_parallel(row), _zero_stage(row)
    count = _int(row, "num_accels")
    if cp is None:
        cp = 1
    if ep is None and wl.moe is None:
        ep = 1
    if count is None:
        if None in (tp, pp, dp):
            raise Skip("num_accels missing and tp/pp/dp do not give it")
        count = tp * pp * cp * dp
        notes.append("num_accels = tp*pp*cp*dp")
    if tp is not None and pp is not None and dp is not None and tp * pp * cp * dp != count:
        raise Skip(f"tp*pp*cp*dp = {tp}*{pp}*{cp}*{dp} = {tp * pp * cp * dp} != num_accels {count}")
    if metric in _MEMORY_METRICS:
        # Memory figures are per micro-batch in flight: an unstated batch or vpp is irrelevant.
        if tp is not None and pp is not None and dp is None and count % (tp * pp * cp) == 0:
            dp = count // (tp * pp * cp)
        if vpp is None:
            vpp = 1
    stack = _stack(row)
    fa = stack != "megatron-2021"
    dp_overlap: bool | None = None
    if stack == "megatron-2021":
        zero = 0 if zero is None else zero
        sp = False if sp is None else sp  # SP appeared with Korthikanti'22, whose rows state it
        dp_overlap = zero >= 1  # local DDP: all-reduce after backward; DeepSpeed ZeRO overlaps
    elif stack == "llm-foundry":
        dp_overlap = True
        if zero is None:
            zero = 3
    if tp == 1:
        sp = False
    if pp == 1 and vpp is None:
        vpp = 1
    fixed: dict[str, object] = {"tp": tp, "pp": pp, "cp": cp, "ep": ep, "vpp": vpp, "mb": mb, "recompute": recompute,
                                "zero": zero, "sp": sp, "fa": fa, "dp_overlap": dp_overlap}
    if dp is not None and (tp is None or pp is None):
        fixed["dp"] = dp
    text = lambda values: ",".join(f"{k}={_flag(v)}" for k, v in values.items() if v is not None)  # noqa: E731
    vpp_choices = vpp_choices if len(vpp_choices) > 1 else [vpp]
    strategies = tuple(text({**fixed, "vpp": v}) for v in vpp_choices)
    if len(vpp_choices) > 1:
        notes.append("vpp tried: " + ", ".join(str(v) for v in vpp_choices))
    baseline = text({**fixed, "recompute": "none", "sp": False})
    core = (tp, pp, dp, mb, recompute)
    searched = [k for k, v in fixed.items() if v is None and not (k == "ep" and wl.moe is None)]
    searched += ["vpp"] if len(vpp_choices) > 1 else []
    if all(v is None for v in core):
        source: MappingSource = "searched"
    elif searched:
        source = "partial"
        notes.append("searched: " + ", ".join(searched))
    else:
        source = "given"
    notes.append(f"stack {stack}")
    return count, strategies, baseline, source


def _flag(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


# ---------------------------------------------------------------------------------------
# plan, evaluate, summarise
# ---------------------------------------------------------------------------------------

def plan_row(row: Mapping[str, str], catalog: Mapping[str, CatalogEntry] | None = None) -> RowPlan:
    """Build the prediction inputs of one row.

    Raises:
        Skip: the row cannot be modelled (the reason names the column and value).
    """
    notes: list[str] = []
    metric, measured = _measured(row)
    name = _text(row, "accelerator_canonical") or _text(row, "accelerator")
    if not name:
        raise Skip("accelerator_canonical and accelerator empty")
    try:
        entry = get_accelerator(name, catalog)
    except InputError:
        raise Skip(f"accelerator {name!r} not in the hardware catalog") from None
    wl = _workload(row, metric, notes)
    count, strategies, baseline, mapping = _mapping(row, wl, metric, notes)
    if metric in _MEMORY_METRICS and _int(row, "global_batch_seqs") is None:
        mb, dp, pp = _int(row, "micro_batch") or 1, _int(row, "dp"), _int(row, "pp") or 1
        tp, cp = _int(row, "tp") or 1, _int(row, "cp") or 1
        dp = dp or max(count // (tp * pp * cp), 1)
        wl = replace(wl, training=replace(wl.training, global_batch_seqs=mb * dp * pp))
        notes.append("global_batch_seqs assumed micro_batch*dp*pp (memory figure)")
    params = (_number(row, "params_B") or 0.0) * 1e9 or wl.total_params
    return RowPlan(run_id=_text(row, "run_id"), source_group=_text(row, "source_group"), accelerator=entry.name,
                   model=wl.name, entry=entry, workload=wl, count=count, strategies=strategies, baseline_strategy=baseline,
                   mapping=mapping, metric=metric, measured=measured, convention=flop_convention(row), params=params,
                   notes=tuple(notes))


def _invalid_reason(plan: RowPlan, result: Mapping[str, np.ndarray]) -> str:
    get = lambda key: float(np.ravel(result[key])[0])  # noqa: E731 - local accessor
    tp, pp, cp, dp, mb = get("tp"), get("pp"), get("cp"), get("dp"), get("micro_batch")
    gb = plan.workload.training.global_batch_seqs
    if plan.mapping == "searched":
        return f"the model finds no valid mapping for {plan.count} accelerators and global batch {gb}"
    if tp * pp * cp * dp != plan.count:
        return f"no dp makes tp*pp*cp*dp = {plan.count} (tp={tp:g}, pp={pp:g}, cp={cp:g})"
    if gb % (dp * mb):
        return f"global batch {gb} not divisible by dp*micro_batch = {dp:g}*{mb:g}"
    return f"mapping rejected by the model ({plan.strategies[0]})"


def _evaluate(plan: RowPlan, strategy: str, cache: dict[tuple[Any, ...], dict[str, np.ndarray]], tech: Any,
              calibration: Any) -> dict[str, np.ndarray]:
    from archsweep.model.driver import evaluate_design_batch

    key = (plan.entry.name, plan.workload, plan.count, strategy, calibration.stack)
    if key not in cache:
        hw = HardwareArrays.from_designs(plan.entry.design.replace(accelerator_count=plan.count))
        cache[key] = evaluate_design_batch(hw, plan.workload, tech=tech, strategy=strategy, calibration=calibration)
    return cache[key]


def _skipped(row: Mapping[str, str], reason: str, metric: str = "", measured: float = math.nan) -> RowResult:
    return RowResult(run_id=_text(row, "run_id"), metric=metric, measured=measured, predicted=math.nan,
                     error_pct=math.nan, status="skipped", reason=reason, mapping="-",
                     source_group=_text(row, "source_group"),
                     accelerator=_text(row, "accelerator_canonical") or _text(row, "accelerator"),
                     model=_text(row, "model"), notes="")


def _validate_one(row: Mapping[str, str], catalog: Mapping[str, CatalogEntry], tech: Any, calibration: Any,
                  cache: dict[tuple[Any, ...], dict[str, np.ndarray]]) -> RowResult:
    try:
        plan = plan_row(row, catalog)
    except Skip as skip:
        return _skipped(row, skip.reason)
    except ArchsweepError as exc:  # a models/ file that fails to load, etc.
        return _skipped(row, f"input error: {exc}")
    try:
        results = [_evaluate(plan, s, cache, tech, calibration) for s in plan.strategies]
        valid = [r for r in results if float(np.ravel(r["violation_mapping"])[0]) <= 0]
        if not valid:
            raise Skip(_invalid_reason(plan, results[0]))
        result = min(valid, key=lambda r: float(np.ravel(r["step_time_s"])[0]))
        baseline = None
        if plan.metric == "activation_memory_pct_of_baseline":
            baseline = _evaluate(plan, plan.baseline_strategy, cache, tech, calibration)
        predicted = predict_metric(plan, result, baseline)
    except Skip as skip:
        return replace(_skipped(row, skip.reason, plan.metric, plan.measured), mapping=plan.mapping)
    except (ArchsweepError, ValueError, ArithmeticError, KeyError) as exc:
        return replace(_skipped(row, f"model error ({type(exc).__name__}): {exc}", plan.metric, plan.measured),
                       mapping=plan.mapping)
    reason = ""
    if plan.metric not in _MEMORY_METRICS and float(np.ravel(result["violation_memory"])[0]) > 0:
        over = 100.0 * float(np.ravel(result["violation_memory"])[0])
        reason = f"model: memory exceeds HBM by {over:.0f}%"
    if not math.isfinite(predicted):
        return replace(_skipped(row, "model prediction is not finite", plan.metric, plan.measured), mapping=plan.mapping)
    chosen = ",".join(f"{k}={_fmt_mapping(result[k])}" for k in ("tp", "pp", "dp", "vpp", "micro_batch", "recompute",
                                                                  "zero_stage"))
    notes = "; ".join((*plan.notes, f"mapping {chosen}"))
    error = 100.0 * (predicted - plan.measured) / plan.measured
    return RowResult(run_id=plan.run_id, metric=plan.metric, measured=plan.measured, predicted=predicted,
                     error_pct=error, status="ok", reason=reason, mapping=plan.mapping, source_group=plan.source_group,
                     accelerator=plan.accelerator, model=plan.model, notes=notes)


def _fmt_mapping(value: np.ndarray) -> str:
    item = np.ravel(value)[0]
    return f"{item:g}" if isinstance(item, (float, np.floating)) else str(item)


def validate_rows(rows: Iterable[Mapping[str, str]], *, catalog: Mapping[str, CatalogEntry] | None = None,
                  tech: Any = None, calibration: Any = None) -> list[RowResult]:
    """Predict and compare every row; one :class:`RowResult` per row, in input order."""
    from archsweep.load.calibration import load_calibration
    from archsweep.load.technology import load_technology

    catalog = load_catalog() if catalog is None else catalog
    tech = load_technology() if tech is None else tech
    cache: dict[tuple[Any, ...], dict[str, np.ndarray]] = {}
    if calibration is not None:
        return [_validate_one(row, catalog, tech, calibration, cache) for row in rows]
    return [_validate_one(row, catalog, tech, load_calibration(stack=_STACK_CALIBRATION[_stack(row)]), cache)
            for row in rows]


def validate_file(path: Path | str) -> list[RowResult]:
    """:func:`validate_rows` over :func:`read_measurements` of ``path``."""
    return validate_rows(read_measurements(path))


def _group(name: str, results: Sequence[RowResult]) -> GroupSummary:
    errors = np.array([abs(r.error_pct) for r in results if r.status == "ok"], dtype=float)
    ok = int(errors.size)
    return GroupSummary(group=name, ok=ok, skipped=len(results) - ok,
                        mape_pct=float(errors.mean()) if ok else math.nan,
                        max_abs_pct=float(errors.max()) if ok else math.nan)


def summarize(results: Sequence[RowResult]) -> dict[str, list[GroupSummary]]:
    """MAPE and max |error| overall and per source_group, accelerator and metric."""
    out: dict[str, list[GroupSummary]] = {"overall": [_group("all", results)]}
    for field in ("source_group", "accelerator", "metric"):
        keys = sorted({getattr(r, field) or "-" for r in results})
        out[field] = [_group(k, [r for r in results if (getattr(r, field) or "-") == k]) for k in keys]
    return out


def write_results_csv(results: Sequence[RowResult], path: Path | str) -> None:
    """Write :data:`OUTPUT_COLUMNS` then :data:`EXTRA_COLUMNS`; NaN as empty cells."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(OUTPUT_COLUMNS + EXTRA_COLUMNS), lineterminator="\n")
        writer.writeheader()
        for result in results:
            row = result.as_row()
            writer.writerow({k: ("" if isinstance(v, float) and not math.isfinite(v) else
                                 f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def _fmt(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.4g}"


def print_report(results: Sequence[RowResult], console: Any = None, *, summary_only: bool = False) -> None:
    """Print the per-row table (unless ``summary_only``), the summary tables and one summary line."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    if not summary_only:
        table = Table("run_id", "accelerator", "model", "metric", "measured", "predicted", "error %", "status",
                      title="validation rows", title_justify="left")
        for r in results:
            table.add_row(r.run_id, r.accelerator, r.model, r.metric or "-", _fmt(r.measured), _fmt(r.predicted),
                          _fmt(r.error_pct) if r.status == "ok" else r.reason[:60], r.status)
        console.print(table)
    summary = summarize(results)
    for field in ("source_group", "accelerator", "metric"):
        table = Table(field, "ok", "skipped", "MAPE %", "max |error| %", title=f"summary per {field}",
                      title_justify="left")
        for g in summary[field]:
            table.add_row(g.group, str(g.ok), str(g.skipped), _fmt(g.mape_pct), _fmt(g.max_abs_pct))
        console.print(table)
    total = summary["overall"][0]
    print(f"validated {len(results)} rows: {total.ok} ok, {total.skipped} skipped; "
          f"MAPE {_fmt(total.mape_pct)}%, max |error| {_fmt(total.max_abs_pct)}%")
