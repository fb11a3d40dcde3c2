"""Stable candidate ids: the canonical form of a design and its hash, one design or a million at once.

A candidate id is the first 16 hex digits of the SHA-256 of the canonical JSON of the full parameter
dict (keys sorted, no spaces, floats rounded to :data:`SIGNIFICANT_DIGITS` significant digits, integers
as integers, choices as strings; a part-physics parameter left out at its neutral default): see
:func:`candidate_id`. :func:`candidate_ids` computes the same ids over whole columns with numpy (no
Python per row but the hash itself). The ids are stable across studies and runs.

A module of its own, apart from the Arrow tables of :mod:`archsweep.candidates.space`, so a search
worker, which ids its trials but writes no shard, does not import pyarrow (issue 14, a job's fixed
overhead).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from operator import methodcaller
from typing import Any

import numpy as np

from archsweep.spec.hardware import HARDWARE_PARAMETERS, PARAMETER_BY_NAME

__all__ = ["SIGNIFICANT_DIGITS", "NEUTRAL_DEFAULTS", "Column", "canonical_value", "canonical_json", "candidate_id",
           "candidate_ids", "canonicalise", "row_digests", "hex_ids"]

#: Floats are rounded to this many significant digits before hashing and storage.
SIGNIFICANT_DIGITS = 12
_CHUNK_ROWS = 131_072
_HEX = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")



def canonical_value(name: str, value: Any) -> float | int | str:
    """The canonical scalar of parameter ``name``: int for int parameters, a float rounded
    to :data:`SIGNIFICANT_DIGITS` significant digits for floats, str for choices."""
    kind = PARAMETER_BY_NAME[name].kind
    if kind == "choice":
        return str(value)
    if kind == "int":
        return int(round(float(value)))
    rounded = float(f"{float(value):.{SIGNIFICANT_DIGITS}g}")
    return 0.0 if rounded == 0 else rounded  # -0.0 and 0.0 are one design


#: Part-physics parameters at their neutral defaults: left out of the canonical JSON (ids as before them).
NEUTRAL_DEFAULTS = {p.name: canonical_value(p.name, p.default) for p in HARDWARE_PARAMETERS if p.default is not None}


def canonical_json(params: Mapping[str, Any]) -> str:
    """Canonical JSON of a full parameter dict (every hardware parameter, canonical values; a
    part-physics parameter left out where it holds its neutral default, or is not given)."""
    if missing := [p.name for p in HARDWARE_PARAMETERS if p.name not in params and p.default is None]:
        raise KeyError(f"canonical_json needs every hardware parameter; missing {missing}")
    canon = {p.name: canonical_value(p.name, params[p.name]) for p in HARDWARE_PARAMETERS if p.name in params}
    return json.dumps({k: v for k, v in canon.items() if NEUTRAL_DEFAULTS.get(k, None) != v}, sort_keys=True, separators=(",", ":"))


def candidate_id(params: Mapping[str, Any]) -> str:
    """Stable id of one design: first 16 hex digits of sha256(canonical JSON)."""
    return hashlib.sha256(canonical_json(params).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Column:
    """A column as a value table and per-row codes into it (``codes`` None: one constant)."""

    table: np.ndarray
    codes: np.ndarray | None = None

    @classmethod
    def of_values(cls, values: np.ndarray) -> Column:
        table, codes = np.unique(values, return_inverse=True)
        return cls(table, codes)


@dataclass(frozen=True)
class _Segment:
    """Part of every row's canonical JSON: one constant, or per-row a pick from ``table``."""

    table: tuple[bytes, ...]
    codes: np.ndarray | None = None


def canonicalise(columns: Mapping[str, Column]) -> tuple[dict[str, Column], list[_Segment]]:
    """Canonical value tables of every column, and the row JSON as segments to concatenate.

    Works on value tables (grids have few values), so no Python runs per row here.

    Returns:
        (columns with canonical tables, segments whose concatenation is each row's JSON).
    """
    canonical: dict[str, Column] = {}
    segments: list[_Segment] = []
    pending = b"{"
    for i, name in enumerate(sorted(c.name for c in HARDWARE_PARAMETERS)):
        kind = PARAMETER_BY_NAME[name].kind
        column = columns[name]
        canon = [canonical_value(name, v) for v in column.table.tolist()]
        dtype = str if kind == "choice" else (np.int64 if kind == "int" else np.float64)
        canonical[name] = Column(np.asarray(canon, dtype=dtype), column.codes)
        frags = tuple(f"{json.dumps(name)}:{json.dumps(c)}".encode() for c in canon)
        if name in NEUTRAL_DEFAULTS:  # part physics: absent at the neutral default (never the first key)
            frags = tuple(b"" if c == NEUTRAL_DEFAULTS[name] else b"," + f for c, f in zip(canon, frags))
        else:
            pending += b"," if i else b""
        if column.codes is None:
            pending += frags[0]
        else:
            segments += [_Segment((pending,)), _Segment(frags, column.codes)]
            pending = b""
    segments.append(_Segment((pending + b"}",)))
    return canonical, segments


def candidate_ids(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """Vectorised :func:`candidate_id` over full columns of equal length (a ``str`` array)."""
    as_columns = {p.name: Column.of_values(np.asarray(columns[p.name])) for p in HARDWARE_PARAMETERS}
    n = len(as_columns[HARDWARE_PARAMETERS[0].name].codes)  # type: ignore[arg-type]
    return hex_ids(row_digests(canonicalise(as_columns)[1], n))


def row_digests(segments: list[_Segment], n: int) -> np.ndarray:
    """First 8 bytes of sha256 of each row's JSON, as big-endian uint64.

    Rows are grouped by the byte lengths of their variable segments; inside a group every
    segment sits at a fixed offset, so rows are assembled with numpy slices and only the
    hashing itself runs per row (the floor: one ``hashlib.sha256`` call each).
    """
    out = np.empty(n, dtype=">u8")
    if n == 0:
        return out.astype(np.uint64)
    variable = [s for s in segments if s.codes is not None]
    length_codes = []
    for s in variable:
        lengths = np.array([len(b) for b in s.table])
        _, per_entry = np.unique(lengths, return_inverse=True)
        length_codes.append((per_entry[s.codes], per_entry.max() + 1))
    group = np.zeros(n, dtype=np.int64)
    for codes, radix in length_codes:
        group = group * radix + codes
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    widest = sum(max(len(b) for b in s.table) for s in segments)
    scratch = np.empty(min(n, _CHUNK_ROWS) * widest, dtype=np.uint8)
    for rows in np.split(order, bounds):
        for start in range(0, len(rows), _CHUNK_ROWS):
            chunk = rows[start:start + _CHUNK_ROWS]
            out[chunk] = _digest_rows(segments, chunk, scratch)
    return out.astype(np.uint64)


def _digest_rows(segments: list[_Segment], rows: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """Digests of ``rows``, all of which have the same segment lengths.

    Each row is one fixed-width bytes record: the constant template, with every variable
    segment a field at a fixed offset, filled by one vectorised gather per segment.
    ``scratch`` is reused memory (fresh pages would cost more than the copies).
    """
    template = bytearray()
    fields: list[tuple[int, np.ndarray, np.ndarray]] = []  # offset, table as S<length>, codes
    for s in segments:
        if s.codes is None:
            template += s.table[0]
            continue
        codes = s.codes[rows]
        length = len(s.table[codes[0]])
        if length == 0:  # a part-physics column at its neutral default in every row of this group
            continue
        fields.append((len(template), np.array([b[:length] for b in s.table], dtype=f"S{length}"), codes))
        template += b"_" * length
    width = len(template)
    buffer = scratch[: len(rows) * width].reshape(len(rows), width)
    buffer[:] = np.frombuffer(bytes(template), dtype=np.uint8)
    records = buffer.view(f"S{width}").ravel()
    if fields:
        layout = np.dtype({
            "names": [f"f{i}" for i in range(len(fields))],
            "formats": [table.dtype for _, table, _ in fields],
            "offsets": [offset for offset, _, _ in fields],
            "itemsize": width,
        })
        view = records.view(layout)
        for i, (_, table, codes) in enumerate(fields):
            view[f"f{i}"] = table[codes]
    hashes = map(hashlib.sha256, records.tolist())
    digests = np.frombuffer(b"".join(map(methodcaller("digest"), hashes)), dtype=np.uint8)
    return np.ascontiguousarray(digests.reshape(-1, 32)[:, :8]).view(">u8").ravel()


def hex_ids(digests: np.ndarray) -> np.ndarray:
    """uint64 digests -> 16-character lowercase hex strings."""
    octets = np.ascontiguousarray(digests.astype(">u8")).view(np.uint8).reshape(-1, 8)
    return np.ascontiguousarray(_HEX[octets]).view("S16").ravel().astype("U16")
