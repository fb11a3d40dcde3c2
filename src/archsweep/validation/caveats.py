"""Rows whose own source says the measured figure is not representative (issue 10, coverage rules: "a row is
skipped only when it truly cannot be modelled, with the reason").

Two columns of a measurements CSV (data/validation/training_runs.csv):

* ``source_caveat``: empty (the source flags nothing) or one kind of :data:`SOURCE_CAVEATS`;
* ``source_caveat_text``: the source's own words, quoted, with their locator (required with a kind).

A row with a caveat is skipped by validation (:func:`caveat_skip_reason`, the first check of
:func:`archsweep.validation.run.plan_row`) with the source's words as the reason, so it is in no MAPE, fit, held-out,
search-optimism, same-silicon-ceiling or superseded-preset figure, as every other skipped row. The rule is general:
only the source's own words count, set by the derive script that reads them (e.g.
data/validation/derive/mbridge_archive_rows.py: a table footnote that flags a row), in both directions (a caveat
takes a row out whatever the model's error on it), never a list of rows the model fits badly.

Example: NVIDIA-NeMo/Megatron-Bridge@067f987df docs/performance-summary-archive.md, 26.06.01 NeMo container,
GPT OSS 120B table, DGX-GB300 / DGX-GB200 MXFP8 rows, footnote ``[^gpt-oss-note]``: "Performance regression in
GPT-OSS 120B pre-training is a known issue (cudnn-frontend issue 256). It will be resolved with the next container
release." -> ``known_regression``.
"""

from __future__ import annotations

from collections.abc import Mapping

from archsweep.validation.types import EMPTY_CELLS

__all__ = ["CAVEAT_COLUMN", "CAVEAT_TEXT_COLUMN", "SOURCE_CAVEATS", "caveat_problem", "caveat_skip_reason"]

CAVEAT_COLUMN = "source_caveat"
CAVEAT_TEXT_COLUMN = "source_caveat_text"
#: Kind -> what the source says of the figure (the allowed values of :data:`CAVEAT_COLUMN`).
SOURCE_CAVEATS: Mapping[str, str] = {
    "known_regression": "the source states the figure is hit by a known performance regression (a bug to be fixed)",
    "not_tuned": "the source states the configuration's performance is not tuned / not yet representative",
    "preliminary": "the source calls the figure preliminary (an early or unverified measurement)",
    "withdrawn": "the source or its publisher withdrew or corrected the result",
}
#: Cells that state no caveat: every cell's empty spellings (:data:`archsweep.validation.types.EMPTY_CELLS`) and "none".
_NO_CAVEAT = EMPTY_CELLS | {"none"}


def _cell(row: Mapping[str, str], column: str) -> str:
    return (row.get(column) or "").strip()


def _kind(row: Mapping[str, str]) -> str:
    """The row's caveat kind as written, "" where the cell states none."""
    kind = _cell(row, CAVEAT_COLUMN)
    return "" if kind.lower() in _NO_CAVEAT else kind


def caveat_problem(row: Mapping[str, str]) -> tuple[str, str, str] | None:
    """(column, value, what is allowed) of a bad caveat cell of ``row``, or None: a kind outside
    :data:`SOURCE_CAVEATS`, or a kind without the source's words in :data:`CAVEAT_TEXT_COLUMN`."""
    kind = _kind(row)
    if not kind:
        return None
    if kind not in SOURCE_CAVEATS:
        return (CAVEAT_COLUMN, kind, "an empty cell or one of " + ", ".join(SOURCE_CAVEATS)
                + " (the kind of caveat the row's own source states)")
    if not _cell(row, CAVEAT_TEXT_COLUMN):
        return (CAVEAT_TEXT_COLUMN, "<empty>", f"the source's own words (quoted, with their locator) when "
                f"{CAVEAT_COLUMN} is {kind!r}")
    return None


def caveat_skip_reason(row: Mapping[str, str]) -> str | None:
    """Why validation skips ``row`` because its own source flags the figure (None: it does not). A bad caveat cell
    (:func:`caveat_problem`; rows not read through :func:`archsweep.validation.cells.read_measurements`) is also a
    reason, naming the column, value and what is allowed."""
    problem = caveat_problem(row)
    if problem is not None:
        column, value, allowed = problem
        return f"{column}={value!r} not understood; allowed: {allowed}"
    kind = _kind(row)
    return f"source caveat {kind}: {_cell(row, CAVEAT_TEXT_COLUMN)}" if kind else None
