"""The public training validation set (data/validation/training_runs.csv) for the tests: read once per
test session through :func:`archsweep.validation.cells.read_measurements` (cells stripped, numbers
checked); every call hands out fresh copies of the rows, so a test may change its own."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache

from archsweep.load.paths import data_dir
from archsweep.validation.cells import read_measurements
from archsweep.validation.run import validate_rows
from archsweep.validation.types import RowResult

CSV = data_dir() / "validation" / "training_runs.csv"

Row = dict[str, str]


@cache
def _rows() -> tuple[Row, ...]:
    return tuple(read_measurements(CSV))


def runs(where: Callable[[Row], bool] | None = None) -> list[Row]:
    """The rows (those ``where`` accepts), in file order."""
    return [dict(r) for r in _rows() if where is None or where(r)]


def runs_by_id(where: Callable[[Row], bool] | None = None) -> dict[str, Row]:
    """:func:`runs` by ``run_id``."""
    return {r["run_id"]: r for r in runs(where)}


@cache
def _validated() -> tuple[RowResult, ...]:
    return tuple(validate_rows(_rows()))


def validated() -> list[RowResult]:
    """``validate_rows`` over every row (each stack's calibration as loaded), computed once per test session
    (s13-tests: two tests each spent ~8 CPU-s on the same 622 rows); the results are frozen dataclasses,
    the list is the caller's own."""
    return list(_validated())


def validated_of(rows: Iterable[Row]) -> list[RowResult]:
    """:func:`validated`'s results of ``rows``, in their order: rows of the file as read (from :func:`runs` /
    :func:`runs_by_id`), not changed (``validate_rows`` is row by row, so a subset's results are the whole file's;
    s15-review: tests that validated a subset of the file again share the one pass). A changed or unknown row is
    refused (``ValueError``): validate it with ``validate_rows`` itself."""
    file_rows = {r["run_id"]: r for r in _rows()}
    results = {r.run_id: r for r in _validated()}
    out = []
    for row in rows:
        if file_rows.get(row.get("run_id", "")) != row:
            raise ValueError(f"validated_of: {row.get('run_id')!r} is not a row of {CSV} as read")
        out.append(results[row["run_id"]])
    return out


def faster_copy(row: dict[str, str], run_id: str, factor: float = 2.0, **cols: str) -> dict[str, str]:
    """A copy of ``row`` measured ``factor`` x faster (every throughput column it states), other columns from ``cols``."""
    out = dict(row, run_id=run_id, **cols)
    for k in ("tflops_per_gpu", "tokens_per_s_per_gpu"):
        if row.get(k, "").strip():
            out[k] = str(factor * float(row[k]))
    return out
