"""Types and constants of validation against published runs: row plans, results, summaries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from archsweep.spec.catalog import CatalogEntry
from archsweep.spec.workload import Workload

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
#: Columns ``--optimism --output`` adds (validation/optimism.py): best / measured (the issue-10
#: criterion), its two factors, best / max(measured, same-silicon ceiling), the searched mapping,
#: and the row's optimism note (a published baseline it is left out as, or why the stated mapping
#: is not comparable).
OPTIMISM_COLUMNS: tuple[str, ...] = ("best_over_measured", "given_over_measured", "best_over_given",
                                     "best_over_ceiling", "best_mapping", "optimism_note")

#: Measured columns compared, in order of preference.
METRICS: tuple[str, ...] = ("step_time_s", "tokens_per_s_per_gpu", "tokens_per_s_total", "tflops_per_gpu",
                            "mfu_pct", "hfu_pct")
#: MLPerf rows: the steady-state step measured between evaluations, preferred over the wall-clock
#: ``step_time_s`` (data/validation/derive/mlperf_steady_step.py).
STEADY_STEP = "steady_step_time_s"
MEMORY_METRICS = ("memory_activations_bytes", "memory_per_accelerator_bytes", "activation_memory_pct_of_baseline")
#: One transformer layer's forward + backward time for one micro-batch (validation/layer_time.py).
LAYER_METRIC = "layer_time_s"
#: Figures of one micro-batch in flight: the global batch, the step's FLOP consistency, the
#: evaluation pauses and the search optimism do not apply to them.
MICROBATCH_METRICS = (*MEMORY_METRICS, LAYER_METRIC)

GIB = float(2**30)
EMPTY_CELLS = {"", "nan", "na", "n/a", "-", "none given", "null"}
SWIGLU_FAMILIES = ("llama", "mistral", "mixtral", "qwen", "deepseek", "gemma", "olmo", "yi-")
TIED_FAMILIES = ("gpt", "mpt", "bloom", "opt", "megatron", "mt-nlg", "turing")
#: Peaks the sources divide by (TFLOP/s -> FLOP/s), by (convention, catalog name, precision).
STATED_PEAKS: Mapping[tuple[str, str, str], float] = {
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
    #: MLPerf evaluation samples per training sample inside the measured wall-clock step (0: none;
    #: validation/mlperf.py turns it into the wall-clock factor with the model's forward time)
    eval_per_train_sample: float = 0.0


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
