"""The one atomic Parquet writer: readers never see a partial file, a killed job leaves none."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["write_parquet_atomic"]


def write_parquet_atomic(table: pa.Table, out: str | Path) -> Path:
    """Write ``table`` to ``out`` via ``out.tmp`` + ``os.replace`` (readers never see a partial file)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, out)
    return out
