"""Exact best-mapping search with lower bounds: the exhaustive search's answer at a fraction of its work.

:func:`best_mapping_indices` returns, for every hardware candidate, exactly the index that
``archsweep.model.driver._best_mappings`` returns (``np.argmin`` over the mapping axis of the
step time of feasible mappings, first index on ties; the least memory-violating valid mapping
when none fits). It evaluates :func:`~archsweep.model.training.step.training_step` in full only
for mappings whose lower bound does not exceed the step time of a mapping already evaluated.

Work computed once per *key* (accelerator count and the compute-side hardware fields, rounded up
onto a ladder when a batch has many distinct values), over every mapping, with the model itself:

* ``valid`` and ``memory.total_bytes``: they depend on the hardware only through the accelerator
  count (data-parallel degree); feasibility of a candidate is then ``total <= hbm_capacity``, the
  same test as ``memory_violation <= 0`` (``(t - u) / u <= 0`` iff ``t <= u`` for ``u > 0``).
* ``A[key, m]``: ``compute_time_s + recompute_time_s + bubble_time_s`` of ``training_step`` on an
  *ideal* hardware row: the key's (rounded-up) compute units, matrix FLOP/cycle and matrix
  efficiency, clock 1 Hz, infinite HBM bandwidth, and ``kernel_overhead_s = 0``.

Lower bound (claim): for a candidate c of key k, ``step_time_s(c, m) >= A[k, m] / clock_c``.

Proof, from the structure of ``training_step`` (checked by tests/test_pruned_search.py):

1. ``step = compute + recompute + bubble + (exposed TP, CP, EP, PP, DP communication) +
   optimizer``, each added term ``>= 0`` (exposures are ``max(., 0)`` or products of non-negative
   times), so ``step >= compute + recompute + bubble``. These three are non-negative
   multiples (micro-batches, ``(pp - 1) / vpp``) of the per-stage times ``t_f, t_b, t_rc``.
2. ``t_f, t_b, t_rc`` (``layer_costs``) are sums of GEMM times ``max(F / (P * eta), bytes / B) + t0``,
   attention times ``F / R + t0`` (backward: ``ratio * (fwd - t0) + t0``, ratio >= 0) and
   ``bytes / B`` terms. Each is non-increasing in the HBM bandwidth ``B`` and non-decreasing in
   ``t0``; so setting ``B = inf`` and ``t0 = 0`` can only lower them.
3. With ``B = inf``, ``t0 = 0``, every remaining term is FLOPs over a rate ``P * eta`` where
   ``P = units * flop_per_cycle * clock`` and ``eta = ratio * matrix_efficiency * eta_tile *
   eta_wave(units) * eta_k`` (or, for flash attention, ``min(P_bf16, units * cap * clock) *
   matrix_efficiency * eff``). ``P * eta_wave = flop_per_cycle * clock * tiles / ceil(tiles / units)``
   is non-decreasing in ``units``; every rate is non-decreasing in ``flop_per_cycle``,
   ``matrix_efficiency`` and ``units``, so rounding those UP (the key) lowers the time again.
4. Every rate is proportional to ``clock`` (the only clock-free parts, the ``t0`` constants, are 0
   here; any clock-free constant ``C`` added later would enter the bound as ``C / clock <= C``
   since clock >= 1 Hz). So the time at clock ``f`` is the time at 1 Hz divided by ``f``.

Since issue 14b the bound is tighter (tests/model/test_pruned_search.py checks it): the key also
holds HBM bytes per clock cycle rounded up (A is then evaluated at that bandwidth, not infinity:
the compute terms are homogeneous in (clock, HBM bandwidth)); the kernel-launch part count x t0
is added back (table at clock and bandwidth 1e40); and
:mod:`archsweep.model.training.comm_bound` adds the TP/EP/PP/ZeRO-3/DP-sync/optimizer terms as
dot products with the candidate's rates (DP sync under overlap as max(compute, sync)).

Search, per block of candidates sharing (accelerator count, scale-up domain): the _SEED_WINDOW
fitting mappings of lowest bound are evaluated exactly (upper bound U); every fitting mapping
with bound <= U (1 + _MARGIN) is evaluated exactly, in one flat batch; the argmin, first index on
ties, is the answer, since every mapping left out has step time >= bound > U >= the minimum.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.model.training import comm_bound
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.step import training_step
from archsweep.spec.calibration import Calibration
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["best_mapping_indices", "PRUNABLE_OBJECTIVES"]

#: Objectives this search answers (step time; tokens/s and MFU rank identically at fixed hardware;
#: memory needs no step evaluation at all). Energy and cost objectives: the exhaustive path.
PRUNABLE_OBJECTIVES = ("step_time_s", "tokens_per_s", "mfu", "memory_per_accelerator_bytes")

_MARGIN = 1e-6  # relative slack on the bound: the tables reproduce the step to ~1e-10 relative (rounding)
_SEED_WINDOW = 8  # mappings evaluated per candidate for the first upper bound
_KEY_SHARE = 256  # at most one key (2 x m table evaluations) per this many candidates
_CHUNK_ELEMENTS = 65_536  # exact evaluations per training_step call (cache-sized, as the driver)
_LADDERS = (0, 32, 8, 2, 1)  # steps per octave when rounding keys up; 0 = exact values
_KEY_FIELDS = ("compute_units", "matrix_flops_per_cycle_per_unit_bf16", "matrix_flops_per_cycle_per_unit_fp8",
               "matrix_efficiency")


def _round_up(x: np.ndarray, steps: int) -> np.ndarray:
    if steps == 0:
        return x
    with np.errstate(divide="ignore"):
        y = np.exp2(np.ceil(np.log2(np.where(x > 0, x, 1.0)) * steps) / steps)
    return np.where(x > 0, np.maximum(y, x), x)  # >= x exactly, whatever exp2/log2 rounding did


def _keys(hw: HardwareArrays, fp8: bool) -> tuple[np.ndarray, np.ndarray]:
    """(key rows (K, 5): accelerator count then _KEY_FIELDS rounded up; key index per candidate)."""
    n = int(np.size(hw.clock_hz))
    cols = [np.asarray(getattr(hw, f), dtype=np.float64) for f in _KEY_FIELDS]
    # FP8 rate as the model uses it (BF16 rate where FP8 is unsupported); irrelevant for BF16 work.
    cols[2] = np.where(cols[2] > 0, cols[2], cols[1]) if fp8 else np.zeros(n)
    # HBM bytes per clock cycle: the step's compute terms at clock f and HBM bandwidth B equal
    # those at 1 Hz and B / f, divided by f (homogeneous); rounded UP, they can only shrink.
    cols.append(np.asarray(hw.hbm_bw_bytes_per_s, dtype=np.float64) / np.asarray(hw.clock_hz, dtype=np.float64))
    budget = max(8, n // _KEY_SHARE)
    for steps in _LADDERS:
        table = np.column_stack([hw.accelerator_count] + [_round_up(c, steps) for c in cols])
        keys, inverse = np.unique(table, axis=0, return_inverse=True)
        if len(keys) <= budget:
            break
    return keys, inverse.reshape(-1)


def _ideal_rows(hw: HardwareArrays, keys: np.ndarray, first: np.ndarray) -> HardwareArrays:
    """One hardware row per key: a representative candidate with the key's compute fields, clock
    1 Hz and infinite HBM bandwidth (only the compute-side terms of its result are used)."""
    cols = {k: np.asarray(v)[first] for k, v in hw.columns().items()}
    cols["accelerator_count"] = keys[:, 0]
    for j, name in enumerate(_KEY_FIELDS):
        cols[name] = keys[:, j + 1]
    cols["clock_hz"] = np.ones(len(keys))
    cols["hbm_stacks"] = np.ones(len(keys))
    cols["hbm_bw_per_stack_bytes_per_s"] = keys[:, len(_KEY_FIELDS) + 1]
    return HardwareArrays(**cols)


def _per_key_tables(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None,
                    cal: Calibration, keys: np.ndarray, first: np.ndarray):
    """(A, launch time, valid, memory total) per (key, mapping), from training_step on ideal rows:
    A = compute + recompute + bubble at clock 1 Hz, the key's HBM bytes/cycle and no kernel
    overhead; launch time = the same at clock and HBM bandwidth 1e40 with the kernel overhead
    (every compute term is ``g(clock, B) + count * t0``: the count x t0 part, hardware-free)."""
    m = len(mappings)
    ideal = _ideal_rows(hw, keys, first)
    k = len(keys)
    fast = {name: v.copy() for name, v in ideal.columns().items()}
    fast["clock_hz"] = np.full(k, 1e40)
    fast["hbm_bw_per_stack_bytes_per_s"] = np.full(k, 1e40)
    crb, launch = np.empty((k, m)), np.empty((k, m))
    valid, total = np.empty((k, m), dtype=bool), np.empty((k, m))
    rows = max(1, _CHUNK_ELEMENTS // max(m, 1))
    mp2 = mappings.reshape((1, m))
    cal0 = replace(cal, kernel_overhead_s=0.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for start in range(0, k, rows):
            sl = slice(start, min(k, start + rows))
            part = HardwareArrays(**{name: v[sl, None] for name, v in ideal.columns().items()})
            res = training_step(part, wl, mp2, cal0, fixed_dp)
            crb[sl] = res.compute_time_s + res.recompute_time_s + res.bubble_time_s
            valid[sl] = res.valid
            total[sl] = res.memory.total_bytes
            part = HardwareArrays(**{name: v[sl, None] for name, v in fast.items()})
            res = training_step(part, wl, mp2, cal, fixed_dp)
            launch[sl] = (res.compute_time_s + res.recompute_time_s + res.bubble_time_s) * (1 - 1e-12)
    return crb, launch, valid, total


def _exact_scores(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None,
                  cal: Calibration, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Step time of feasible (candidate, mapping) pairs, inf where infeasible: the driver's score."""
    out = np.empty(len(rows))
    for start in range(0, len(rows), _CHUNK_ELEMENTS):
        r, c = rows[start:start + _CHUNK_ELEMENTS], cols[start:start + _CHUNK_ELEMENTS]
        part = HardwareArrays(**{name: v[r] for name, v in hw.columns().items()})
        res = training_step(part, wl, mappings.take(c), cal, fixed_dp)
        ok = res.valid & (res.memory_violation <= 0)
        out[start:start + len(r)] = np.where(ok, res.step_time_s, np.inf)
    return out


def _first_minimum(owner: np.ndarray, score: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    """Per owner, the smallest ``index`` among its pairs of minimal score (np.argmin's tie rule)."""
    order = np.lexsort((index, score, owner))
    owner_sorted = owner[order]
    starts = np.flatnonzero(np.r_[True, owner_sorted[1:] != owner_sorted[:-1]])
    best = np.full(n, -1, dtype=np.int64)
    best[owner_sorted[starts]] = index[order][starts]
    return best


def _fallback(total: np.ndarray, valid: np.ndarray, cap: np.ndarray, hw: HardwareArrays, wl: Workload,
              mappings: MappingArrays, fixed_dp: float | None, cal: Calibration, rows: np.ndarray) -> np.ndarray:
    """The driver's choice for rows with no feasible mapping: least memory violation among valid
    mappings; where none is valid, its ``1e30 + step`` rule, evaluated in full (rare)."""
    out = np.empty(len(rows), dtype=np.int64)
    violation = np.where(valid, (total - cap[:, None]) / cap[:, None], np.inf)
    any_valid = valid.any(axis=1)
    out[any_valid] = np.argmin(violation[any_valid], axis=1)
    none_valid = np.flatnonzero(~any_valid)  # e.g. a count whose factor 3 no mapping can absorb: whole shards
    m = len(mappings)
    step = max(1, _CHUNK_ELEMENTS // max(m, 1))  # the driver's exhaustive chunks, not one candidate per call
    for start in range(0, len(none_valid), step):
        block = none_valid[start:start + step]
        part = HardwareArrays(**{name: np.asarray(v).reshape(-1)[rows[block], None] for name, v in hw.columns().items()})
        res = training_step(part, wl, mappings.reshape((1, m)), cal, fixed_dp)
        fb = np.where(res.valid, res.memory_violation, np.inf)
        fb = np.where(np.isfinite(fb), fb, 1e30 + res.step_time_s)
        out[block] = np.argmin(fb, axis=1)
    return out


def _block_bounds(a_rows: np.ndarray, h_rows: np.ndarray, clock: np.ndarray, x: np.ndarray, l1: np.ndarray,
                  l2: np.ndarray, dov: np.ndarray) -> np.ndarray:
    """Lower bound of the step time for a block of candidates sharing one (count, domain) key."""
    crb = a_rows / clock[:, None] + h_rows
    out = np.maximum(crb, x @ dov.T) + np.maximum(x @ l1.T, x @ l2.T)
    return np.where(np.isnan(out), -np.inf, out)  # NaN bound: never pruned (evaluated exactly)


def best_mapping_indices(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None,
                         cal: Calibration, objective: str, tech: object = None) -> np.ndarray:
    """Index of the best mapping for each of the n candidates of the flat batch ``hw``; identical to
    ``archsweep.model.driver._best_mappings`` (same signature; ``tech`` is unused here).

    Raises:
        InputError: ``objective`` is not one of :data:`PRUNABLE_OBJECTIVES`.
    """
    if objective not in PRUNABLE_OBJECTIVES:
        raise InputError("<mapping>", "objective", objective, "one of " + ", ".join(PRUNABLE_OBJECTIVES)
                         + " (energy and cost objectives use the exhaustive search)")
    n, m = int(np.size(hw.clock_hz)), len(mappings)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    keys, key_of = _keys(hw, wl.training.precision == "fp8")
    first = np.zeros(len(keys), dtype=np.int64)
    first[key_of[::-1]] = np.arange(n)[::-1]
    bound, hbm, valid, total = _per_key_tables(hw, wl, mappings, fixed_dp, cal, keys, first)
    cap = np.asarray(hw.hbm_capacity_bytes, dtype=np.float64).reshape(-1)
    clock = np.asarray(hw.clock_hz, dtype=np.float64).reshape(-1)

    best = np.full(n, -1, dtype=np.int64)
    if objective == "memory_per_accelerator_bytes":
        lightest = np.argmin(np.where(valid, total, np.inf), axis=1)  # first index of the least memory
        fits = total[key_of, lightest[key_of]] <= cap
        best[fits] = lightest[key_of[fits]]
    else:
        x = comm_bound.features(hw, cal)
        net = np.column_stack([np.asarray(hw.accelerator_count, dtype=np.float64).reshape(-1),
                               np.asarray(hw.scaleup_domain_size, dtype=np.float64).reshape(-1)])
        net_keys, net_of = np.unique(net, axis=0, return_inverse=True)
        net_of = net_of.reshape(-1)
        mp2 = mappings.reshape((1, m))
        for g in range(len(net_keys)):
            members = np.flatnonzero(net_of == g)
            kk = key_of[members]
            cols = np.flatnonzero(valid[kk[0]])  # validity depends on the accelerator count only
            if len(cols) == 0:
                continue
            l1, l2, dov = comm_bound.coefficients(wl, mp2, cal, fixed_dp, net_keys[g, 0], net_keys[g, 1])
            l1, l2, dov = l1[0, cols], l2[0, cols], dov[0, cols]
            tot = total[kk[0], cols]
            step = max(1, _CHUNK_ELEMENTS // len(cols))
            for s0 in range(0, len(members), step):
                rows = members[s0:s0 + step]
                lb = _block_bounds(bound[key_of[rows]][:, cols], hbm[key_of[rows]][:, cols], clock[rows], x[rows], l1, l2, dov)
                lb = np.where(tot[None, :] <= cap[rows, None], lb, np.inf)
                best[rows] = _search_block(hw, wl, mappings, fixed_dp, cal, rows, cols, lb)
    rest = np.flatnonzero(best < 0)
    if len(rest):
        best[rest] = _fallback(total[key_of[rest]], valid[key_of[rest]], cap[rest], hw, wl, mappings, fixed_dp, cal, rest)
    return best


def _search_block(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None,
                  cal: Calibration, rows: np.ndarray, cols: np.ndarray, lb: np.ndarray) -> np.ndarray:
    """Best mapping index per row of a block (-1 where no mapping fits): evaluate the
    _SEED_WINDOW lowest bounds exactly (upper bound U), then every fitting mapping with bound <= U."""
    r, c = lb.shape
    out = np.full(r, -1, dtype=np.int64)
    w = min(_SEED_WINDOW, c)
    seed = np.argpartition(lb, w - 1, axis=1)[:, :w] if w < c else np.broadcast_to(np.arange(c), (r, c))
    seed_lb = np.take_along_axis(lb, seed, axis=1)
    ok = np.isfinite(seed_lb) | (seed_lb == -np.inf)
    owner = np.broadcast_to(np.arange(r)[:, None], seed.shape)[ok]
    seed_col = seed[ok]
    if len(owner) == 0:
        return out
    score = _exact_scores(hw, wl, mappings, fixed_dp, cal, rows[owner], cols[seed_col])
    upper = np.full(r, np.inf)
    np.minimum.at(upper, owner, score)
    has = np.isfinite(upper)
    keep = (lb <= (upper * (1 + _MARGIN))[:, None]) & has[:, None]
    keep[owner, seed_col] = False  # already evaluated
    o2, c2 = np.nonzero(keep)
    if len(o2):
        s2 = _exact_scores(hw, wl, mappings, fixed_dp, cal, rows[o2], cols[c2])
        owner, seed_col, score = np.r_[owner, o2], np.r_[seed_col, c2], np.r_[score, s2]
    found = _first_minimum(owner, score, cols[seed_col], r)
    out[has] = found[has]
    return out
