"""Summaries of validation results: MAPE per source group and accelerator, CSV output, printed report."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from archsweep.validation.types import (
    EXTRA_COLUMNS,
    OPTIMISM_COLUMNS,
    OUTPUT_COLUMNS,
    GroupSummary,
    RowResult,
)

Status = Literal["ok", "skipped"]
MappingSource = Literal["given", "partial", "searched", "-"]
#: ``megatron``: Narayanan SC21 Eq. 3 / Korthikanti App. A (hardware FLOPs include the
#: recomputation, model FLOPs 72 B s l h^2 (1 + s/6h + V/12lh), peak 312 TFLOP/s on A100);
#: ``mosaicml``: llm-foundry benchmark README (6 N + 12 l s h per token with N = the row's
#: parameter count; HFU = 4/3 MFU with activation checkpointing; peaks 312/989/1979 TFLOP/s);
#: ``archsweep``: the model's own MFU/HFU (PaLM App. B convention).
FlopConvention = Literal["megatron", "mosaicml", "archsweep"]

#: Columns of ``--output`` (in this order), then :data:`EXTRA_COLUMNS`.


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


def write_results_csv(results: Sequence[RowResult], path: Path | str,
                      optimism: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Write :data:`OUTPUT_COLUMNS` then :data:`EXTRA_COLUMNS`; NaN as empty cells.

    ``optimism`` (``archsweep validate --optimism --output``): per run_id the search-optimism cells
    (:func:`archsweep.validation.optimism.optimism_cells`), written as :data:`OPTIMISM_COLUMNS` after
    the others; a row the search does not cover (memory, layer-time or skipped rows) leaves them empty.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = OUTPUT_COLUMNS + EXTRA_COLUMNS + (OPTIMISM_COLUMNS if optimism is not None else ())
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for result in results:
            row = result.as_row()
            if optimism is not None:
                cells = optimism.get(result.run_id, {})
                row.update({c: cells.get(c, "") for c in OPTIMISM_COLUMNS})
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
