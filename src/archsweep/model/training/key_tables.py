"""Per-key tables of the pruned mapping search, cached across batches in one process.

A *key* is an accelerator count and the compute-side hardware fields (compute units, matrix
FLOP/cycle BF16 and FP8, matrix efficiency, HBM bytes per clock cycle), rounded UP onto a
ladder when a batch brings too many new ones. For every key and mapping the tables hold
(see :mod:`archsweep.model.training.pruned_search` for the proof that they bound the step):

* ``A``: compute + recompute + bubble of ``training_step`` at clock 1 Hz, the key's HBM
  bytes/cycle and no kernel overhead, over the count's valid mappings only (0 elsewhere);
* per accelerator count (training_step's own parts): ``launch``, the same at clock and HBM
  bandwidth 1e40 with the kernel overhead (the hardware-free count x t0 part), ``valid`` and the
  memory ``total`` (all three depend on the accelerator count only).

The compute side is evaluated once per *compute class* (:func:`compute_classes`: mappings equal
in every field but the ZeRO stage and the overlap flags, which ``stage_compute`` never reads; a
third of DeepSeek-V3's mappings) and spread to its mappings; within it ``layer_costs`` runs once per
*layer class* (:func:`layer_classes`: equal in the mapping fields it reads and the expert TP width; DeepSeek-V3
at 4,096 accelerators: 1,512 of 6,552 compute classes), spread by ``stage_compute`` itself (issue 14, s9).

They depend on the hardware ONLY through the key (``training_step`` reads nothing else for these
outputs; tests/model/test_pruned_search.py checks the tables against the real candidates), so
they are cached per (workload, calibration, fixed dp, mapping batch, precision, key row): a shard
evaluation hands the search batches of 128 candidates, and a study grid has few distinct keys.
The cache (:mod:`archsweep.model.training.table_cache`; its functions re-exported here) is an LRU
bounded in bytes (:data:`CACHE_BYTES`); a batch of n candidates over m
mappings computes at most ``min(_MISS_BUDGET + n / _KEY_SHARE, _MIN_KEYS + n * _KEY_WORK / m)``
new keys (a key costs one evaluation of the compute side over the count's valid mappings, so the
second term caps a small batch's tables to a share of its exact evaluations: 100 DeepSeek-V3
candidates get 10 keys, not 32) (see :func:`keys`: the finest ladder that fits that
budget given what is already cached, the rest of the budget on shared keys one ladder finer, each
candidate on its finest cached key). Results never depend on the cache (only the bound's
tightness does).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import fields, replace
from typing import Any

import numpy as np

from archsweep.model.training.mapping import MappingArrays, data_parallel_degree, expert_tensor_parallel
from archsweep.model.training.memory import memory_per_accelerator
from archsweep.model.training.newton_schulz import muon_stage_allowed
from archsweep.model.training.step import StageCompute, stage_compute, stage_offload
from archsweep.model.training.table_cache import (
    CACHE_BYTES,
    cached,
    cached_value,
    clear_cache,
    context,
    is_cached,
    store,
)
from archsweep.model.transformer import LAYER_MAPPING_FIELDS
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["CACHE_BYTES", "CHUNK_ELEMENTS", "EXACT_KEY_FIELDS", "KEY_FIELDS", "cached", "cached_value", "classes", "clear_cache", "compute_classes", "context", "keys", "layer_classes", "layer_fields", "lookup", "lookup_parts", "per_key_tables", "store", "unique_rows"]

KEY_FIELDS = ("compute_units", "matrix_flops_per_cycle_per_unit_bf16", "matrix_flops_per_cycle_per_unit_fp8",
              "matrix_efficiency")
#: The part's GEMM law columns (tile, units per tile, fill): in the key exactly, never rounded (the step's rate
#: is not monotone in them: a larger tile or a longer fill is slower, a unit group larger or smaller may be either).
EXACT_KEY_FIELDS = ("gemm_tile_m", "gemm_tile_n", "gemm_tile_units", "gemm_k_half_bf16", "gemm_k_half_fp8",
                    "gemm_k_reference")
CHUNK_ELEMENTS = 65_536  # evaluations per training_step / stage_compute call of the search (cache-sized, as the driver)
_LADDERS = (0, 32, 8, 4, 2, 1)  # steps per octave when rounding keys up; 0 = exact values
_MISS_BUDGET = 64  # new keys a batch may compute whatever its size (one valid-mappings evaluation each)
_KEY_SHARE = 64  # plus one new key per this many candidates
_MIN_KEYS = 8  # and at most this many plus
_KEY_WORK = 400  # one new key per (mappings / this) candidates: table work <~ 400 x n stage evaluations
# (tuned on benchmarks/mapping_search.py after the tables got ~4x cheaper: 8,192 Llama-3 70B, 1,000
# Llama-3 70B and 100 DeepSeek-V3 candidates per batch; the former 32 + n / 128 bought 21 keys of
# 15,438 valid mappings for 100 DeepSeek-V3 candidates, 2/3 of that batch's time)
_GROWTH_STEPS = 8  # finest ladder the leftover budget buys keys of (finer ones rarely pay back)
_GROWTH_PAYBACK = 2700  # a bought key must serve >= mappings / this candidates of its batch
_COMPUTE_FREE = ("zero_stage", "tp_overlap", "dp_overlap")  # mapping fields stage_compute never reads
_TABLE_ELEMENTS = 2**23  # (keys x mappings) entries of one batch's tables at most, beyond the miss budget


def _round_up(x: np.ndarray, steps: int) -> np.ndarray:
    if steps == 0:
        return x
    with np.errstate(divide="ignore"):
        y = np.exp2(np.ceil(np.log2(np.where(x > 0, x, 1.0)) * steps) / steps)
    return np.where(x > 0, np.maximum(y, x), x)  # >= x exactly, whatever exp2/log2 rounding did


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(a, axis=0, return_inverse=True)`` of a 2-D float array (the same
    rows, order and inverse), from a 1-D unique per column and one over the rows' mixed-radix codes
    (the axis=0 form sorts a structured view: CPU time 16.6 vs 1.1 ms on DeepSeek-V3's 19,656 mappings
    (:func:`compute_classes`), 7.0 vs 0.67 ms on 8,192 candidates' keys (:func:`keys`), equal at 128; best
    of 7, 2026-12-01)."""
    n, k = a.shape
    if np.isnan(a).any():  # 1-D unique collapses NaNs, the axis=0 form does not: numpy's own form
        found, inverse = np.unique(a, axis=0, return_inverse=True)
        return found, inverse.reshape(-1)
    code = np.zeros(n, dtype=np.int64)
    for j in range(k):
        values, inv = np.unique(a[:, j], return_inverse=True)
        if n and int(code.max()) > np.iinfo(np.int64).max // len(values) - len(values):  # codes would overflow
            found, inverse = np.unique(a, axis=0, return_inverse=True)
            return found, inverse.reshape(-1)
        code = code * len(values) + inv.reshape(-1)
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    return a[first], inverse.reshape(-1)


def present(codes: np.ndarray) -> list[int]:
    """The distinct values of small non-negative ints, ascending: ``np.unique(codes).tolist()`` by a
    count instead of a sort (about 10x faster at 10^3-10^6 codes, numpy 2.4)."""
    return np.flatnonzero(np.bincount(codes)).tolist()


def keys(hw: HardwareArrays, fp8: bool, ctx: tuple[Hashable, ...] | None = None,
         budget: int | None = None, mappings: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(key rows (K, 6 + len(EXACT_KEY_FIELDS)): accelerator count then KEY_FIELDS and HBM bytes/cycle, rounded
    up, then EXACT_KEY_FIELDS as they are; key index per candidate): the finest ladder whose keys not yet cached under ``ctx`` number at most
    ``budget`` (default ``min(_MISS_BUDGET + n / _KEY_SHARE, _MIN_KEYS + n * _KEY_WORK / mappings)``) and whose tables for ``mappings``
    mappings hold at most ``_TABLE_ELEMENTS`` entries (a batch's tables stay ~200 MB or less)."""
    n = int(np.size(hw.clock_hz))
    cols = [np.asarray(getattr(hw, f), dtype=np.float64).reshape(-1) for f in KEY_FIELDS]
    # FP8 rate as the model uses it (BF16 rate where FP8 is unsupported); irrelevant for BF16 work.
    cols[2] = np.where(cols[2] > 0, cols[2], cols[1]) if fp8 else np.zeros(n)
    # HBM bytes per clock cycle: the step's compute terms at clock f and HBM bandwidth B equal
    # those at 1 Hz and B / f, divided by f (homogeneous); rounded UP, they can only shrink.
    cols.append(np.asarray(hw.hbm_bw_bytes_per_s, dtype=np.float64).reshape(-1)
                / np.asarray(hw.clock_hz, dtype=np.float64).reshape(-1))
    if budget is None:
        budget = min(_MISS_BUDGET + n // _KEY_SHARE, _MIN_KEYS + n * _KEY_WORK // max(mappings, 1))
    max_keys = max(budget, _TABLE_ELEMENTS // max(mappings, 1))
    count = np.asarray(hw.accelerator_count, dtype=np.float64).reshape(-1)
    exact = [np.broadcast_to(np.asarray(getattr(hw, f), dtype=np.float64).reshape(-1), (n,)) for f in EXACT_KEY_FIELDS]
    levels = []
    bulk = len(_LADDERS) - 1
    for level, steps in enumerate(_LADDERS):
        found, inverse = unique_rows(np.column_stack([count] + [_round_up(c, steps) for c in cols] + exact))
        new = np.ones(len(found), dtype=bool) if ctx is None else \
            np.array([not is_cached(ctx, "tables", tuple(r)) for r in found.tolist()], dtype=bool)
        levels.append((found, inverse.reshape(-1), new))
        if new.sum() <= budget and len(found) <= max_keys:
            bulk = level
            break
    found, inverse, new = levels[bulk]
    choice = np.full(n, bulk)  # ladder of each candidate's key: the bulk one, or a finer cached one
    if bulk > 0 and 0 < _LADDERS[bulk - 1] <= _GROWTH_STEPS:  # growth: the most shared new keys one ladder finer
        f_found, f_inv, f_new = levels[bulk - 1]
        shared = np.bincount(f_inv, minlength=len(f_found))
        pick = np.flatnonzero(f_new & (shared >= max(2, -(-mappings // _GROWTH_PAYBACK))))
        pick = pick[np.argsort(-shared[pick], kind="stable")][:max(0, budget - int(new.sum()))]
        grown = np.zeros(len(f_found), dtype=bool)
        grown[pick] = True
        levels[bulk - 1] = (f_found, f_inv, f_new & ~grown)  # to be computed: counts as cached below
    for level in range(bulk - 1, -1, -1):  # finer and finer, while the batch's keys stay <= max_keys
        l_found, l_inv, l_new = levels[level]
        trial = np.where(~l_new[l_inv], level, choice)
        if sum(np.count_nonzero(np.bincount(levels[v][1][trial == v])) for v in present(trial)) > max_keys:
            break
        choice = trial
    rows: list[np.ndarray] = []
    key_of = np.empty(n, dtype=np.int64)
    used = 0
    for level in present(choice):
        l_found, l_inv, _ = levels[level]
        members = np.flatnonzero(choice == level)
        ids, local = np.unique(l_inv[members], return_inverse=True)
        key_of[members] = used + local.reshape(-1)
        rows.append(l_found[ids])
        used += len(ids)
    return np.concatenate(rows), key_of


def _ideal_rows(hw: HardwareArrays, key_rows: np.ndarray, first: np.ndarray) -> HardwareArrays:
    """One hardware row per key: a representative candidate (its other fields are not read for
    the tables) with the key's compute fields, clock 1 Hz and the key's HBM bytes per cycle."""
    cols = {k: np.asarray(v).reshape(-1)[first] for k, v in hw.columns().items()}
    cols["accelerator_count"] = key_rows[:, 0]
    for j, name in enumerate(KEY_FIELDS):
        cols[name] = key_rows[:, j + 1]
    cols["clock_hz"] = np.ones(len(key_rows))
    cols["hbm_stacks"] = np.ones(len(key_rows))
    cols["hbm_bw_per_stack_bytes_per_s"] = key_rows[:, len(KEY_FIELDS) + 1]
    return HardwareArrays(**cols)


def _count_tables(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None,
                  cal: Calibration, counts: np.ndarray, first: np.ndarray,
                  classes: tuple[np.ndarray, np.ndarray] | None = None,
                  layer_code: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """(launch, valid, total), each (C, m), for accelerator counts ``counts``: training_step's own
    parts on one row per count (candidate ``first``'s fields) at clock and HBM bandwidth 1e40:
    ``stage_compute`` and the offload check once per compute class (neither reads the ZeRO stage or
    the overlap flags), ``memory_per_accelerator`` per mapping (tests/model/test_pruned_search.py:
    ``valid`` and ``total`` equal training_step's). ``valid`` and ``total`` read only the count;
    ``launch`` is the clock-free part of compute + recompute + bubble: ``kernel_overhead_s`` times
    kernel counts (GEMMs, attention, elementwise and expert launches per layer, times layers,
    micro-batches and bubble slots), which depend on the workload, the mapping and the count
    (data-parallel degree) only; every rate term is <= 1e-28 s here, so the product with
    ``1 - 1e-12`` is below the true part (tests/model/test_pruned_search.py checks launch against
    rows of other compute fields)."""
    m = len(mappings)
    class_of, class_first = compute_classes(mappings) if classes is None else classes
    cols = {k: np.asarray(v).reshape(-1)[first] for k, v in hw.columns().items()}
    cols["accelerator_count"] = np.asarray(counts, dtype=np.float64)
    c = len(counts)
    cols["clock_hz"] = np.full(c, 1e40)
    cols["hbm_stacks"] = np.ones(c)
    cols["hbm_bw_per_stack_bytes_per_s"] = np.full(c, 1e40)
    fast = HardwareArrays(**cols)
    launch, valid, total = np.empty((c, m)), np.empty((c, m), dtype=bool), np.empty((c, m))
    reps = mappings.take(class_first).reshape((1, len(class_first)))
    mp2 = mappings.reshape((1, m))
    optimizer_runs = muon_stage_allowed(wl, mp2)  # the job's optimizer's ZeRO rule, as training_step applies it
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for start in range(c):  # one count per call: layer_costs once per layer class (dp along the mappings only)
            sl = slice(start, start + 1)
            sub = HardwareArrays(**{n: v[sl, None] for n, v in fast.columns().items()})
            sub = replace(sub, accelerator_count=np.asarray(counts[start], dtype=np.float64))
            sc, time = _stage_time(sub, wl, reps, cal, fixed_dp, layer_classes(reps, counts[start], fixed_dp, None, layer_code))
            offload = stage_offload(sub, wl, reps, sc)
            shape = (1, len(class_first))
            launch[sl] = np.broadcast_to(time * (1 - 1e-12), shape)[:, class_of]
            valid[sl] = np.broadcast_to(sc.valid & offload.feasible, shape)[:, class_of] & optimizer_runs  # as training_step
            dp, micro = (np.broadcast_to(t, shape)[:, class_of] for t in (sc.dp, sc.microbatches))
            total[sl] = memory_per_accelerator(wl, mp2, dp, micro, cal, fp8_gemm_layouts=sub.fp8_gemm_layouts).total_bytes
    return launch, valid, total


def _stage_time(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration, fixed_dp: float | None,
                layers: tuple[np.ndarray, np.ndarray]) -> tuple[StageCompute, np.ndarray]:
    """(``stage_compute``, its compute + recompute + bubble (s)); under the embedding / loss split the minimum
    over both choices of the slowest stage (last, middle). That choice depends on the hardware: the step's
    a1 + b1 or a2 + b2, whichever is larger, while the table at the key's clock (a) and the launch table (b)
    may each pick another one, and their sum can exceed the step (review s12 finding 5: 1.0067 x on a
    Llama-3 8B variant). With the choice fixed both tables bound the step's own choice, and min a + min b <=
    max(a1 + b1, a2 + b2) (tests/model/test_pruned_search.py ``llama3-8b-split``)."""
    if not wl.training.embedding_loss_in_pipeline_split:
        sc = stage_compute(hw, wl, mp, cal, fixed_dp, layers)
        return sc, sc.compute + sc.recompute + sc.bubble
    last, middle = (stage_compute(hw, wl, mp, cal, fixed_dp, layers, choice) for choice in (True, False))
    return last, np.minimum(last.compute + last.recompute + last.bubble,
                            middle.compute + middle.recompute + middle.bubble)


def compute_classes(mappings: MappingArrays) -> tuple[np.ndarray, np.ndarray]:
    """(class of each mapping, first mapping of each class): mappings equal in every field that
    :func:`~archsweep.model.training.step.stage_compute` reads (all but :data:`_COMPUTE_FREE`) share
    a class, and so every compute-side output on any hardware (tests/model/test_pruned_search_classes.py).
    DeepSeek-V3 at 4,096 accelerators: 15,438 valid mappings, 5,146 classes (the ZeRO stage)."""
    names = [f.name for f in fields(mappings) if f.name not in _COMPUTE_FREE]
    return _classes_of([np.asarray(getattr(mappings, n), dtype=np.float64).reshape(-1) for n in names])


def _classes_of(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(class of each position, first position of each class) of the rows of equal-length ``columns``."""
    _, class_of = unique_rows(np.column_stack(columns))
    first = np.zeros(int(class_of.max()) + 1 if len(class_of) else 0, dtype=np.int64)
    first[class_of[::-1]] = np.arange(len(class_of))[::-1]
    return class_of, first


def layer_classes(mp: MappingArrays, count: np.ndarray | float, fixed_dp: float | None,
                  rows: np.ndarray | None = None, fields_code: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``stage_compute``'s ``layer_classes`` of the mappings ``mp`` (1-D, or a (1, m) row) at accelerator
    count(s) ``count`` (broadcast with ``mp``; the data-parallel degree sets the expert TP width): positions
    equal in :data:`~archsweep.model.transformer.LAYER_MAPPING_FIELDS`, the expert TP width and ``rows``
    (for flat (candidate, mapping) pairs: the candidate of each position) share a class, and so every
    ``layer_costs`` output. ``fields_code``: a code of those fields per position (:func:`layer_fields`),
    else found here. DeepSeek-V3 at 4,096 accelerators: 5,146 compute classes, ~1,200 layer classes."""
    etp = expert_tensor_parallel(mp, data_parallel_degree(np.asarray(count, dtype=np.float64), mp, fixed_dp))
    if fields_code is None:
        fields_code = _classes_of([np.broadcast_to(getattr(mp, f), np.shape(etp)).reshape(-1) for f in LAYER_MAPPING_FIELDS])[0]
    # the expert TP width itself (not only whether it equals tp): a code per distinct width, O(m log m)
    widths, width_of = np.unique(np.broadcast_to(etp, np.shape(etp)).reshape(-1), return_inverse=True)
    code = np.asarray(fields_code, dtype=np.int64).reshape(-1) * len(widths) + width_of.reshape(-1)
    if rows is not None and len(code):
        code = np.asarray(rows, dtype=np.int64).reshape(-1) * (int(code.max()) + 1) + code
    _, first, class_of = np.unique(code, return_index=True, return_inverse=True)
    return class_of.reshape(-1), first


def layer_fields(ctx: tuple[Hashable, ...], mappings: MappingArrays) -> np.ndarray:
    """Per compute class of ``mappings`` (:func:`classes`), a code of its
    :data:`~archsweep.model.transformer.LAYER_MAPPING_FIELDS` (equal codes: equal fields), cached."""
    def build() -> tuple[np.ndarray, ...]:
        reps = mappings.take(classes(ctx, mappings)[1])
        return (_classes_of([np.asarray(getattr(reps, f), dtype=np.float64).reshape(-1) for f in LAYER_MAPPING_FIELDS])[0],)
    return cached(ctx, "layer_fields", (), build)[0]


def classes(ctx: tuple[Hashable, ...], mappings: MappingArrays) -> tuple[np.ndarray, np.ndarray]:
    """:func:`compute_classes` of ``mappings`` (those of ``ctx``), cached."""
    class_of, first = cached(ctx, "classes", (), lambda: compute_classes(mappings))
    return class_of, first


def _compute_tables(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None,
                    cal: Calibration, key_rows: np.ndarray, first: np.ndarray, valid: np.ndarray,
                    classes: tuple[np.ndarray, np.ndarray] | None = None,
                    layer_code: np.ndarray | None = None) -> np.ndarray:
    """A (K, m): compute + recompute + bubble on the keys' ideal rows, evaluated only where
    ``valid`` (K, m) holds (0 elsewhere: a trivial bound; the search never reads invalid mappings).
    :func:`~archsweep.model.training.step.stage_compute` (the compute side of ``training_step``,
    its very arrays, ~1/4 of its cost) on grids of keys x mappings, one per accelerator count (its
    keys x the mappings valid for any of them): broadcasting computes the mapping-only terms (GEMM
    shapes, tile and pipeline-fill efficiencies, micro-batches, bubble slots) once per mapping for
    all the count's keys instead of once per (key, mapping) pair."""
    ideal = _ideal_rows(hw, key_rows, first)
    out = np.zeros(valid.shape)
    cal0 = replace(cal, kernel_overhead_s=0.0)
    columns = ideal.columns()
    class_of, class_first = compute_classes(mappings) if classes is None else classes
    counts, count_of = np.unique(key_rows[:, 0], return_inverse=True)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for ci in range(len(counts)):
            keys_c = np.flatnonzero(count_of.reshape(-1) == ci)
            cols = np.flatnonzero(valid[keys_c].any(axis=0))
            if not len(cols):
                continue
            reps, spread = np.unique(class_of[cols], return_inverse=True)  # one evaluation per class
            mp = mappings.take(class_first[reps]).reshape((1, len(reps)))
            layers = layer_classes(mp, counts[ci], fixed_dp, None,  # layer_costs once per layer class
                                   None if layer_code is None else layer_code[reps])
            step = max(1, CHUNK_ELEMENTS // len(reps))
            for start in range(0, len(keys_c), step):
                r = keys_c[start:start + step]
                rows = {n: v[r, None] for n, v in columns.items()}
                rows["accelerator_count"] = np.asarray(counts[ci])  # the grid's one count: dp along the mappings only
                time = _stage_time(HardwareArrays(**rows), wl, mp, cal0, fixed_dp, layers)[1]
                grid = np.broadcast_to(time, (len(r), len(reps)))[:, spread.reshape(-1)]
                out[r[:, None], cols] = np.where(valid[r[:, None], cols], grid, 0.0)
    return out


def per_key_tables(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None,
                   cal: Calibration, key_rows: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, ...]:
    """(A, launch, valid, total), each (K, m), computed (uncached) from training_step: A on the
    keys' ideal rows (valid mappings only, 0 elsewhere), the rest per accelerator count."""
    counts, count_of = np.unique(key_rows[:, 0], return_inverse=True)
    first_of = np.zeros(len(counts), dtype=np.int64)
    first_of[count_of[::-1]] = np.asarray(first)[::-1]
    launch, valid, total = (t[count_of] for t in _count_tables(hw, wl, mappings, fixed_dp, cal, counts, first_of))
    return _compute_tables(hw, wl, mappings, fixed_dp, cal, key_rows, first, valid), launch, valid, total


def lookup(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None, cal: Calibration,
           ctx: tuple[Hashable, ...], key_rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """(A, launch, valid, total), each (K, m), for ``key_rows``: cached rows (A per key; launch,
    valid and total per accelerator count), the missing ones computed in one batch and cached
    (:func:`lookup_parts`, stacked per key)."""
    a_rows, count_of_key, launch, valid, total = lookup_parts(hw, wl, mappings, fixed_dp, cal, ctx, key_rows)
    return np.stack(a_rows), launch[count_of_key], valid[count_of_key], total[count_of_key]


def lookup_parts(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None, cal: Calibration,
                 ctx: tuple[Hashable, ...], key_rows: np.ndarray
                 ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`lookup`'s tables unstacked: (A of each key, a list of (m,) rows; each key's accelerator count's
    row of the next three; launch, valid and total, each (C, m), one row per distinct count of ``key_rows``,
    ascending); the pruned search's form (it reads A per key and the rest per count: no (K, m) copies)."""
    counts = key_rows[:, 0].tolist()
    per_count: dict[float, Any] = {c: cached_value(ctx, "count", (c,)) for c in counts}
    new_counts = sorted(c for c, value in per_count.items() if value is None)
    if new_counts:
        fresh = _count_tables(hw, wl, mappings, fixed_dp, cal, np.asarray(new_counts), np.zeros(len(new_counts), dtype=np.int64),
                              classes(ctx, mappings), layer_fields(ctx, mappings))
        for j, c in enumerate(new_counts):
            per_count[c] = tuple(np.ascontiguousarray(t[j]) for t in fresh)
            store(ctx, "count", (c,), per_count[c])
    distinct, count_of_key = np.unique(key_rows[:, 0], return_inverse=True)
    count_of_key = count_of_key.reshape(-1)
    launch, valid, total = (np.stack([per_count[c][t] for c in distinct.tolist()]) for t in range(3))
    names = [tuple(row) for row in key_rows.tolist()]
    got: list[Any] = [cached_value(ctx, "tables", name) for name in names]
    missing = [i for i, value in enumerate(got) if value is None]
    if missing:
        fresh_a = _compute_tables(hw, wl, mappings, fixed_dp, cal, key_rows[missing], np.zeros(len(missing), dtype=np.int64),
                                  valid[count_of_key[missing]], classes(ctx, mappings), layer_fields(ctx, mappings))
        for j, i in enumerate(missing):
            got[i] = (np.ascontiguousarray(fresh_a[j]),)
            store(ctx, "tables", names[i], got[i])
    return [g[0] for g in got], count_of_key, launch, valid, total
