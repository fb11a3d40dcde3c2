"""Expand a study's parameter space into hardware candidates, and split it into shards.

:func:`expand_space` turns a :class:`~archsweep.load.study.Study` into one row per hardware
candidate: a column per hardware parameter (:data:`~archsweep.spec.hardware.HARDWARE_PARAMETERS`;
the base design's value where a parameter is not varied), ``candidate_id`` and ``shard``.
Grids are built in index space with numpy (no Python loop per point); random and sobol draws
use ``numpy.random.default_rng(seed)`` and ``scipy.stats.qmc.Sobol(rng=seed)``.

Candidate ids are stable across studies and runs (:mod:`archsweep.candidates.ids`).
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from archsweep.candidates.hbm import HBM_FOLLOWS_GENERATION, hbm_per_stack_values
from archsweep.candidates.ids import NEUTRAL_DEFAULTS, Column, canonicalise, hex_ids, row_digests
from archsweep.candidates.scenarios import scenario_candidate_ids, scenario_study
from archsweep.candidates.shard_groups import SHARD_GROUP_FIELDS, shard_of_rows
from archsweep.load.catalog import get_accelerator
from archsweep.spec.columns import SCENARIO_COLUMN
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HARDWARE_PARAMETERS, HardwareArrays
from archsweep.spec.parameters import ParameterSpace
from archsweep.spec.study import Study

__all__ = ["expand_space", "write_space_shards", "read_shard", "space_schema", "HBM_FOLLOWS_GENERATION",
           "hbm_per_stack_values"]



# ---------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------

def _grid(parameters: tuple[ParameterSpace, ...]) -> tuple[dict[str, Column], int]:
    """Cartesian product in index space; the first parameter varies slowest."""
    tables = [p.grid_values() for p in parameters]
    sizes = [len(t) for t in tables]
    total = math.prod(sizes)
    out: dict[str, Column] = {}
    inner = total
    for p, table, size in zip(parameters, tables, sizes):
        inner //= size
        codes = np.tile(np.repeat(np.arange(size, dtype=np.int32), inner), total // (inner * size))
        out[p.name] = Column(table, codes)
    return out, total


def _draw(parameters: tuple[ParameterSpace, ...], unit: np.ndarray) -> dict[str, Column]:
    """Map points of the unit cube (rows of ``unit``) onto the parameters: continuous ranges
    uniformly (log-uniformly for scale log), discrete ones by picking a grid value."""
    out: dict[str, Column] = {}
    for j, p in enumerate(parameters):
        u = unit[:, j]
        if p.is_continuous:
            low, high = float(p.low), float(p.high)  # type: ignore[arg-type]
            if p.scale == "log":
                values = np.exp(np.log(low) + u * (np.log(high) - np.log(low)))
            else:
                values = low + u * (high - low)
            out[p.name] = Column.of_values(np.clip(np.round(values) if p.info.kind == "int" else values, low, high))
        else:
            table = p.grid_values()
            out[p.name] = Column(table, np.minimum((u * len(table)).astype(np.int64), len(table) - 1))
    return out


def _sample(study: Study) -> tuple[dict[str, Column], int]:
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


def _apply_hbm_rule(study: Study, columns: dict[str, Column]) -> None:
    """Per-stack HBM bandwidth and capacity follow the generation when only it is varied."""
    generation = columns["hbm_generation"] if "hbm_generation" in columns else None
    if generation is None:
        return
    values = hbm_per_stack_values(np.asarray(generation.table.tolist(), dtype=str), set(study.varied),
                                  file=study.file, key_path="parameters.hbm_generation")
    for key, table in values.items():
        columns[key] = Column(table, generation.codes)


def _full_columns(study: Study) -> tuple[dict[str, Column], int]:
    if study.sampling_method is None or not study.parameters:
        raise InputError(study.file, "sampling", "<missing>",
                         "parameters and sampling to expand (a search-only study has no sweep space)")
    columns, n = _sample(study)
    base = _base_values(study)
    for p in HARDWARE_PARAMETERS:
        if p.name not in columns:
            value = str(base[p.name]) if p.kind == "choice" else float(base[p.name])
            columns[p.name] = Column(np.asarray([value]))
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


def _kept_codes(column: Column, keep: np.ndarray) -> np.ndarray | None:
    return None if column.codes is None else column.codes[keep]


def _expand(study: Study) -> pa.Table:
    columns, n = _full_columns(study)
    canonical, segments = canonicalise(columns)
    digests = row_digests(segments, n)
    _, first = np.unique(digests, return_index=True)
    keep = np.sort(first)
    arrays = {
        "candidate_id": pa.array(hex_ids(digests[keep]), type=pa.string()),
        "shard": pa.array(shard_of_rows({name: (_kept_codes(canonical[name], keep), len(canonical[name].table))
                                         for name in SHARD_GROUP_FIELDS}, len(keep), study.shards)),
    }
    schema = space_schema()
    for p in HARDWARE_PARAMETERS:  # part physics unrounded: a measured ratio rounded would move every figure
        column = columns[p.name] if p.name in NEUTRAL_DEFAULTS else canonical[p.name]
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
