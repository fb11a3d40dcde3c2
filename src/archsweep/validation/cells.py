"""Reading a measurements CSV and its cells (empty markers, numbers, integers)."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from archsweep.spec.errors import InputError
from archsweep.validation.types import _EMPTY, Skip

Status = Literal["ok", "skipped"]
MappingSource = Literal["given", "partial", "searched", "-"]
#: ``megatron``: Narayanan SC21 Eq. 3 / Korthikanti App. A (hardware FLOPs include the
#: recomputation, model FLOPs 72 B s l h^2 (1 + s/6h + V/12lh), peak 312 TFLOP/s on A100);
#: ``mosaicml``: llm-foundry benchmark README (6 N + 12 l s h per token with N = the row's
#: parameter count; HFU = 4/3 MFU with activation checkpointing; peaks 312/989/1979 TFLOP/s);
#: ``archsweep``: the model's own MFU/HFU (PaLM App. B convention).
FlopConvention = Literal["megatron", "mosaicml", "archsweep"]

#: Columns of ``--output`` (in this order), then :data:`EXTRA_COLUMNS`.


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
