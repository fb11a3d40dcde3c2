"""Read and write data/validation/training_runs.csv for the derive scripts beside this file.

One reader and one writer so every script keeps the file's layout (column order, ``\\n`` line
ends, new columns appended at the end). The scripts are run as ``python
data/validation/derive/<script>.py``, which puts this folder on ``sys.path``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

CSV = Path(__file__).resolve().parents[1] / "training_runs.csv"


def read_runs(new_columns: Iterable[str] = ()) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of the CSV; ``new_columns`` not yet in the header are appended to it."""
    with CSV.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    header += [c for c in new_columns if c not in header]
    return header, rows


def write_runs(header: list[str], rows: list[dict[str, str]]) -> None:
    """Write ``rows`` back with ``header`` as the column order."""
    with CSV.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
