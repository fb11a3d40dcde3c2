"""Read and write data/validation/training_runs.csv for the derive scripts beside this file.

One reader and one writer so every script keeps the file's layout (column order, ``\\n`` line
ends, new columns appended at the end), and two ways to change it that leave alone what other
scripts wrote, so that any one script re-run by itself changes nothing it did not derive:

* :func:`upsert_rows` (scripts that add rows): a row replaces the row of the same ``run_id`` in
  place, setting only the columns it names; a new ``run_id`` is appended at the end.
* :func:`fill_columns` (scripts that fill columns): sets the columns on the rows the script owns
  and leaves every other row's cells as they are.
* :func:`set_note` (a script's note in a row's ``derived``): replaces the script's earlier note
  where it stands, so a re-run does not move it behind the notes of scripts run after it.

The scripts are run as ``python data/validation/derive/<script>.py``, which puts this folder on
``sys.path``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path

CSV = Path(__file__).resolve().parents[1] / "training_runs.csv"

Row = dict[str, str]


def read_runs(new_columns: Iterable[str] = ()) -> tuple[list[str], list[Row]]:
    """(header, rows) of the CSV; ``new_columns`` not yet in the header are appended to it."""
    with CSV.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    header += [c for c in new_columns if c not in header]
    return header, rows


def write_table(path: Path, header: Sequence[str], rows: Iterable[Row]) -> None:
    """Write ``rows`` to the CSV file ``path`` with ``header`` as the column order and ``\\n`` line ends (the
    layout of every table under data/validation/)."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(header), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_runs(header: list[str], rows: list[Row]) -> None:
    """Write ``rows`` back to training_runs.csv with ``header`` as the column order."""
    write_table(CSV, header, rows)


def upsert_rows(header: Sequence[str], rows: list[Row], new_rows: Iterable[Row],
                first_write_only: Collection[str] = ()) -> list[Row]:
    """``rows`` with each of ``new_rows`` written in: over the row of the same ``run_id``, in its place,
    setting the columns the new row names and keeping the others (what other scripts filled); or, for
    a ``run_id`` not there yet, appended at the end with every column it does not name empty. Columns in
    ``first_write_only`` are set on appended rows only (a starting value that later scripts refine, e.g.
    ``derived`` notes appended by the fill scripts). A column not in ``header`` is an error."""
    out = list(rows)
    where = {row["run_id"]: i for i, row in enumerate(out)}
    for new in new_rows:
        unknown = [c for c in new if c not in header]
        if unknown:
            raise SystemExit(f"{CSV}: row {new.get('run_id')!r}: columns {unknown} are not in the header")
        i = where.get(new["run_id"])
        if i is None:
            where[new["run_id"]] = len(out)
            out.append({c: "" for c in header} | new)
        else:
            out[i] = out[i] | {c: v for c, v in new.items() if c not in first_write_only}
    return out


def fill_columns(rows: list[Row], columns: Sequence[str], values: Callable[[Row], Sequence[str] | None],
                 owns: Callable[[Row], bool] = lambda row: True) -> int:
    """Set ``columns`` of every row ``owns`` accepts to ``values(row)``, or empty them where that is None;
    rows it does not accept keep their cells. Returns the number of rows given values."""
    matched = 0
    for row in rows:
        if not owns(row):
            continue
        found = values(row)
        for column, value in zip(columns, found or ("",) * len(columns), strict=True):
            row[column] = value
        matched += found is not None
    return matched


def set_note(derived: str, earlier: str, note: str) -> str:
    """``derived`` (notes joined by ``"; "``) with the note that the regular expression ``earlier`` matches
    (this script's note of an earlier run; matched where a note starts) replaced by ``note`` in its place, or
    ``note`` appended when there is none."""
    match = re.search(f"(?:^|; )(?:{earlier})", derived)
    if match is None:
        return f"{derived}; {note}" if derived else note
    start = match.start() + (2 if derived[match.start():].startswith("; ") else 0)
    return derived[:start] + note + derived[match.end():]
