"""Expand a study's parameter space into hardware candidates, and split it into shards.

:func:`expand_space` turns a :class:`~archsweep.load.study.Study` into one row per hardware
candidate: a column per hardware parameter (:data:`~archsweep.spec.hardware.HARDWARE_PARAMETERS`;
the base design's value where a parameter is not varied), ``candidate_id`` and ``shard``.
Grids are built in index space with numpy (no Python loop per point); random and sobol draws
use ``numpy.random.default_rng(seed)`` and ``scipy.stats.qmc.Sobol(rng=seed)``.

Candidate ids are stable across studies and runs: the first 16 hex digits of the SHA-256 of
the canonical JSON of the full parameter dict (keys sorted, no spaces, floats rounded to 12
significant digits, integers as integers, choices as strings); see :func:`candidate_id`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from operator import methodcaller
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from archsweep.candidates.hbm import HBM_FOLLOWS_GENERATION, hbm_per_stack_values
from archsweep.candidates.scenarios import scenario_candidate_ids, scenario_study
from archsweep.candidates.shard_groups import SHARD_GROUP_FIELDS, shard_of_rows
from archsweep.load.catalog import get_accelerator
from archsweep.spec.columns import SCENARIO_COLUMN
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import (
    HARDWARE_PARAMETERS,
    PARAMETER_BY_NAME,
    HardwareArrays,
)
from archsweep.spec.parameters import ParameterSpace
from archsweep.spec.study import Study

__all__ = [
    "SIGNIFICANT_DIGITS", "canonical_value", "canonical_json", "candidate_id", "candidate_ids",
    "expand_space", "write_space_shards", "read_shard", "space_schema", "HBM_FOLLOWS_GENERATION", "hbm_per_stack_values",
]

#: Floats are rounded to this many significant digits before hashing and storage.
SIGNIFICANT_DIGITS = 12
_CHUNK_ROWS = 131_072
_HEX = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")


# ---------------------------------------------------------------------------------------
# Canonical form and ids
# ---------------------------------------------------------------------------------------

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
_NEUTRAL = {p.name: canonical_value(p.name, p.default) for p in HARDWARE_PARAMETERS if p.default is not None}


def canonical_json(params: Mapping[str, Any]) -> str:
    """Canonical JSON of a full parameter dict (every hardware parameter, canonical values; a
    part-physics parameter left out where it holds its neutral default, or is not given)."""
    if missing := [p.name for p in HARDWARE_PARAMETERS if p.name not in params and p.default is None]:
        raise KeyError(f"canonical_json needs every hardware parameter; missing {missing}")
    canon = {p.name: canonical_value(p.name, params[p.name]) for p in HARDWARE_PARAMETERS if p.name in params}
    return json.dumps({k: v for k, v in canon.items() if _NEUTRAL.get(k, None) != v}, sort_keys=True, separators=(",", ":"))


def candidate_id(params: Mapping[str, Any]) -> str:
    """Stable id of one design: first 16 hex digits of sha256(canonical JSON)."""
    return hashlib.sha256(canonical_json(params).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _Column:
    """A column as a value table and per-row codes into it (``codes`` None: one constant)."""

    table: np.ndarray
    codes: np.ndarray | None = None

    @classmethod
    def of_values(cls, values: np.ndarray) -> _Column:
        table, codes = np.unique(values, return_inverse=True)
        return cls(table, codes)


@dataclass(frozen=True)
class _Segment:
    """Part of every row's canonical JSON: one constant, or per-row a pick from ``table``."""

    table: tuple[bytes, ...]
    codes: np.ndarray | None = None


def _canonicalise(columns: Mapping[str, _Column]) -> tuple[dict[str, _Column], list[_Segment]]:
    """Canonical value tables of every column, and the row JSON as segments to concatenate.

    Works on value tables (grids have few values), so no Python runs per row here.

    Returns:
        (columns with canonical tables, segments whose concatenation is each row's JSON).
    """
    canonical: dict[str, _Column] = {}
    segments: list[_Segment] = []
    pending = b"{"
    for i, name in enumerate(sorted(c.name for c in HARDWARE_PARAMETERS)):
        kind = PARAMETER_BY_NAME[name].kind
        column = columns[name]
        canon = [canonical_value(name, v) for v in column.table.tolist()]
        dtype = str if kind == "choice" else (np.int64 if kind == "int" else np.float64)
        canonical[name] = _Column(np.asarray(canon, dtype=dtype), column.codes)
        frags = tuple(f"{json.dumps(name)}:{json.dumps(c)}".encode() for c in canon)
        if name in _NEUTRAL:  # part physics: absent at the neutral default (never the first key)
            frags = tuple(b"" if c == _NEUTRAL[name] else b"," + f for c, f in zip(canon, frags))
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
    as_columns = {p.name: _Column.of_values(np.asarray(columns[p.name])) for p in HARDWARE_PARAMETERS}
    n = len(as_columns[HARDWARE_PARAMETERS[0].name].codes)  # type: ignore[arg-type]
    return _hex(_digests(_canonicalise(as_columns)[1], n))


def _digests(segments: list[_Segment], n: int) -> np.ndarray:
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


def _hex(digests: np.ndarray) -> np.ndarray:
    """uint64 digests -> 16-character lowercase hex strings."""
    octets = np.ascontiguousarray(digests.astype(">u8")).view(np.uint8).reshape(-1, 8)
    return np.ascontiguousarray(_HEX[octets]).view("S16").ravel().astype("U16")


# ---------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------

def _grid(parameters: tuple[ParameterSpace, ...]) -> tuple[dict[str, _Column], int]:
    """Cartesian product in index space; the first parameter varies slowest."""
    tables = [p.grid_values() for p in parameters]
    sizes = [len(t) for t in tables]
    total = math.prod(sizes)
    out: dict[str, _Column] = {}
    inner = total
    for p, table, size in zip(parameters, tables, sizes):
        inner //= size
        codes = np.tile(np.repeat(np.arange(size, dtype=np.int32), inner), total // (inner * size))
        out[p.name] = _Column(table, codes)
    return out, total


def _draw(parameters: tuple[ParameterSpace, ...], unit: np.ndarray) -> dict[str, _Column]:
    """Map points of the unit cube (rows of ``unit``) onto the parameters: continuous ranges
    uniformly (log-uniformly for scale log), discrete ones by picking a grid value."""
    out: dict[str, _Column] = {}
    for j, p in enumerate(parameters):
        u = unit[:, j]
        if p.is_continuous:
            low, high = float(p.low), float(p.high)  # type: ignore[arg-type]
            if p.scale == "log":
                values = np.exp(np.log(low) + u * (np.log(high) - np.log(low)))
            else:
                values = low + u * (high - low)
            out[p.name] = _Column.of_values(np.clip(np.round(values) if p.info.kind == "int" else values, low, high))
        else:
            table = p.grid_values()
            out[p.name] = _Column(table, np.minimum((u * len(table)).astype(np.int64), len(table) - 1))
    return out


def _sample(study: Study) -> tuple[dict[str, _Column], int]:
    params = study.parameters
    if study.sampling_method == "grid":
        return _grid(params)
    n = int(study.samples or 0)
    if study.sampling_method == "random":
        unit = np.random.default_rng(study.seed).random((n, len(params)))
    else:
        from scipy.stats import qmc

        with warnings.catch_warnings():  # Sobol balance warning for n not a power of 2
            warnings.simplefilter("ignore", UserWarning)
            unit = qmc.Sobol(len(params), rng=study.seed).random(n)
    return _draw(params, unit), n


# ---------------------------------------------------------------------------------------
# Full columns
# ---------------------------------------------------------------------------------------

def _base_values(study: Study) -> dict[str, Any]:

    return get_accelerator(study.base).as_dict()


def _apply_hbm_rule(study: Study, columns: dict[str, _Column]) -> None:
    """Per-stack HBM bandwidth and capacity follow the generation when only it is varied."""
    generation = columns["hbm_generation"] if "hbm_generation" in columns else None
    if generation is None:
        return
    values = hbm_per_stack_values(np.asarray(generation.table.tolist(), dtype=str), set(study.varied),
                                  file=study.file, key_path="parameters.hbm_generation")
    for key, table in values.items():
        columns[key] = _Column(table, generation.codes)


def _full_columns(study: Study) -> tuple[dict[str, _Column], int]:
    if study.sampling_method is None or not study.parameters:
        raise InputError(study.file, "sampling", "<missing>",
                         "parameters and sampling to expand (a search-only study has no sweep space)")
    columns, n = _sample(study)
    base = _base_values(study)
    for p in HARDWARE_PARAMETERS:
        if p.name not in columns:
            value = str(base[p.name]) if p.kind == "choice" else float(base[p.name])
            columns[p.name] = _Column(np.asarray([value]))
    _apply_hbm_rule(study, columns)
    return columns, n


def space_schema(*, scenarios: bool = False) -> pa.Schema:
    """Arrow schema of a space table: id, shard, (``scenario`` for a study with scenarios), then
    every hardware parameter."""
    types = {"float": pa.float64(), "int": pa.int64(), "choice": pa.string()}
    return pa.schema([("candidate_id", pa.string()), ("shard", pa.int64())]
                     + ([(SCENARIO_COLUMN, pa.string())] if scenarios else [])
                     + [(p.name, types[p.kind]) for p in HARDWARE_PARAMETERS])


def expand_space(study: Study) -> pa.Table:
    """One row per distinct hardware candidate of ``study``.

    Columns (:func:`space_schema`): ``candidate_id`` (see :func:`candidate_id`), ``shard``
    (rows equal in the fields a job's performance reads share a shard, the groups dealt round-robin:
    :func:`archsweep.candidates.shard_groups.shard_of_rows`), then every hardware
    parameter in SI units (int parameters int64, floats float64 rounded to 12 significant
    digits but for the part physics, choices str). Rows follow the sampling order; duplicate designs keep their first
    occurrence. Deterministic: the same study gives the same table.

    A study with ``scenarios``: the space of each scenario (:func:`scenario_study`) in turn, with
    column ``scenario`` and ids of :func:`scenario_candidate_ids`; shards round-robin over all rows.
    """
    if not study.scenarios:
        return _expand(study)
    tables = []
    for scenario in study.scenarios:
        table = _expand(scenario_study(study, scenario))
        ids = scenario_candidate_ids(table.column("candidate_id").to_numpy(zero_copy_only=False), scenario.name)
        table = table.set_column(0, "candidate_id", pa.array(ids, pa.string()))
        tables.append(table.add_column(2, SCENARIO_COLUMN, pa.repeat(pa.scalar(scenario.name, pa.string()), table.num_rows)))
    table = pa.concat_tables(tables)
    return table.set_column(1, "shard", pa.array(np.arange(table.num_rows, dtype=np.int64) % study.shards))


def _kept_codes(column: _Column, keep: np.ndarray) -> np.ndarray | None:
    return None if column.codes is None else column.codes[keep]


def _expand(study: Study) -> pa.Table:
    columns, n = _full_columns(study)
    canonical, segments = _canonicalise(columns)
    digests = _digests(segments, n)
    _, first = np.unique(digests, return_index=True)
    keep = np.sort(first)
    arrays = {
        "candidate_id": pa.array(_hex(digests[keep]), type=pa.string()),
        "shard": pa.array(shard_of_rows({name: (_kept_codes(canonical[name], keep), len(canonical[name].table))
                                         for name in SHARD_GROUP_FIELDS}, len(keep), study.shards)),
    }
    schema = space_schema()
    for p in HARDWARE_PARAMETERS:  # part physics unrounded: a measured ratio rounded would move every figure
        column = columns[p.name] if p.name in _NEUTRAL else canonical[p.name]
        codes = column.codes[keep] if column.codes is not None else np.zeros(len(keep), dtype=np.int32)
        if p.kind == "choice":
            dictionary = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(column.table.tolist()))
            arrays[p.name] = dictionary.cast(pa.string())
        else:
            arrays[p.name] = pa.array(column.table[codes], type=schema.field(p.name).type)
    return pa.table(arrays, schema=schema)


# ---------------------------------------------------------------------------------------
# Shard files
# ---------------------------------------------------------------------------------------

def write_space_shards(study: Study, out_dir: Path) -> list[Path]:
    """Write ``out_dir/<k>.parquet`` for every shard ``k`` (each atomically: ``.tmp`` then
    ``os.replace``); nothing else. The same study writes the same candidate data."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = expand_space(study)
    shard_of_row = table.column("shard").to_numpy()
    paths: list[Path] = []
    for k in range(study.shards):
        path = out_dir / f"{k}.parquet"
        tmp = out_dir / f"{k}.parquet.tmp"
        pq.write_table(table.take(np.flatnonzero(shard_of_row == k)), tmp, compression="zstd")
        os.replace(tmp, path)
        paths.append(path)
    return paths


def read_shard(path: str | Path) -> tuple[HardwareArrays, np.ndarray]:
    """Read a shard written by :func:`write_space_shards`.

    Returns:
        (the candidates as :class:`HardwareArrays`, their ids as a ``str`` array).
    """
    table = pq.read_table(path)
    columns = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    return HardwareArrays.from_columns(columns), columns["candidate_id"].astype(str)
