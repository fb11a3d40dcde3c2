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
   is non-decreasing in ``units``; so is ``flop_per_cycle * clock * g * tiles / ceil(tiles / floor(units / g))``,
   the rate of a part whose tiles take g units each (``gemm_tile_units``, g capped at units: Blackwell's SM
   pairs, s16-gemmlaw); every rate is non-decreasing in ``flop_per_cycle``,
   ``matrix_efficiency`` and ``units``, so rounding those UP (the key) lowers the time again. The part's
   GEMM law columns (tile, units per tile, fill: ``key_tables.EXACT_KEY_FIELDS``) are not monotone: the key
   holds them exactly.
4. Every rate is proportional to ``clock`` (the only clock-free parts, the ``t0`` constants, are 0
   here; any clock-free constant ``C`` added later would enter the bound as ``C / clock <= C``
   since clock >= 1 Hz). So the time at clock ``f`` is the time at 1 Hz divided by ``f``.

Since issue 14b the bound is tighter (tests/model/test_pruned_search.py checks it): the key also
holds HBM bytes per clock cycle rounded up (A is then evaluated at that bandwidth, not infinity:
the compute terms are homogeneous in (clock, HBM bandwidth)); the kernel-launch part count x t0
is added back (table at clock and bandwidth 1e40); and
:mod:`archsweep.model.training.comm_bound` adds the TP/EP/PP/ZeRO-3/DP-sync/optimizer terms as
dot products with the candidate's rates (DP sync S under overlap: compute + exposed sync >=
max(compute, (1 - w) compute + S), w the overlap window per unit of compute; since s18 the overlap's
interference kappa and the ZeRO-3 per-layer gathers and reduce-scatters enter too: comm_bound items 3-4).

The tables live in :mod:`archsweep.model.training.key_tables` (cached across batches of one
process; so are the communication coefficients per (accelerator count, domain)). Since issue 14
(speed) the launch part, ``valid`` and the memory ``total`` are tables per accelerator count, not
per key: launch is ``kernel_overhead_s`` times kernel counts, which depend on the workload, the
mapping and the count only (tests/model/test_pruned_search_keys.py: identical from any hardware
row); A is evaluated only over the count's valid mappings (0, a trivial bound, elsewhere; the
search never reads them), once per compute class (``key_tables.compute_classes``: mappings that
differ only in the ZeRO stage or the overlap flags, which ``stage_compute`` never reads). Candidates may take keys of different ladders (their finest cached
one): any key rounded UP from a candidate's own values bounds its step by points 2-4 above.
Since issue 14 (first batch) A is evaluated with ``step.stage_compute`` (the compute side of
``training_step``: its compute, recompute and bubble are the very arrays the step adds, so A is
unchanged) on a keys x mappings grid per count (the mapping-only terms once per mapping), ~4x
cheaper than the full step on flat (key, mapping) pairs; a batch buys at most
``min(64 + n / 64, 8 + 400 n / mappings)`` new keys (key_tables: a key costs one pass over the
count's valid mappings, so few for a small batch over many mappings).

Search, per block of candidates sharing (accelerator count, scale-up domain), best-first: the
first round evaluates exactly each candidate's fitting mapping of lowest bound (np.argmin over the
row, no partition); U, the best step time evaluated so far, is then an upper bound of the minimum,
and only pairs with bound <= U (1 + _MARGIN) can still win (U never grows), so they form a flat
candidate set; each further round evaluates the set's pairs with bound <= lo + f (U - lo) (lo the
row's lowest bound, f in _ROUND_FRACTIONS: the most promising first, lowering U) and <= U (1 +
_MARGIN); the last round every pair left with bound <= U (1 + _MARGIN). Since issue 14 (DeepSeek-V3 first batch) every
pair the last round picks first gets the refined bound :func:`~archsweep.model.training.search_bounds.refined_bounds` (the candidate's
exact compute side from ``stage_compute``, once per (candidate, compute class), with the same
communication bound): only pairs whose refined bound is <= U (1 + _MARGIN) are evaluated in full
(100 DeepSeek-V3 candidates: ~500 full steps instead of ~28,000 in that round; the earlier rounds'
picks mostly survive it, so they skip it). The argmin, first index on
ties, is the answer, since every mapping left out has step time >= bound > U >= the minimum. The
exact evaluations of many blocks go together into one flat batch per round (_PENDING_ELEMENTS bound
elements at most). An evaluated entry is marked NaN, in the bound matrix (first round) or in the set
(a NaN never passes a limit; bounds that are NaN from the model are -inf before that: never pruned;
their row's lo counts as 0, every bound being >= 0). Since issue 14 (s15) each round's limit is
computed per row and gathered once (the same numbers as per pair). The final argmin takes, per row, the smallest mapping index among the
evaluated pairs whose score equals U (np.argmin's rule).

Since issue 14 (s7, first batches): the bound matrices are float32 where the inputs allow it
(:mod:`~archsweep.model.training.search_bounds`: the proof that they stay within the relative
margin, now 1e-5); each group's mappings with a DP-overlap term come last, so the overlap max runs
over those columns only; the communication terms of the refined bound are computed for the last
round's picks only (not for the whole candidate set); a set of fewer than _FEW_PAIRS pairs gets one
round (f = 0.1) before the last (an exact evaluation call has ~3 ms of fixed cost); the
coefficients of a count's domains come from one broadcast call.
"""

from __future__ import annotations

import numpy as np

from archsweep.model.training import comm_bound, key_tables
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.memory import usable_hbm_bytes
from archsweep.model.training.search_bounds import block_bounds, bound_dtype, last_round_terms, refined_stage
from archsweep.model.training.step import StageCompute, take_stage, training_step
from archsweep.spec.calibration import Calibration
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["best_mapping_indices", "PRUNABLE_OBJECTIVES"]

#: Objectives this search answers (step time; tokens/s and MFU rank identically at fixed hardware;
#: memory needs no step evaluation at all). Energy and cost objectives: the exhaustive path.
PRUNABLE_OBJECTIVES = ("step_time_s", "tokens_per_s", "mfu", "memory_per_accelerator_bytes")

_MARGIN = 1e-5  # relative slack on the bound: the tables reproduce the step to ~1e-10 relative, float32 bounds to
# ~1.2e-6 (module docstring)
_BLOCK_ELEMENTS = 65_536  # bound elements (candidates x mappings) per block
_ROUND_FRACTIONS = (0.05, 0.2)  # rounds before the last: bounds <= lo + f (U - lo) (see _search_pending);
# 8,192 dense 70B candidates: ~1.2x faster than seed windows (1, 4, 16, 64) of per-row partitions
_FEW_PAIRS, _FEW_FRACTIONS = 2**17, (0.1,)  # a smaller set: one round before the last (an exact evaluation
# call costs ~3 ms of fixed overhead, ~2,500 evaluations' worth; 100 DeepSeek-V3 candidates: ~45,000 pairs)
_FINITE = np.finfo(np.float64).max
_PENDING_ELEMENTS = 2**22  # bound elements (candidates x mappings) held before their exact evaluations


def _exact_scores(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None,
                  cal: Calibration, rows: np.ndarray, cols: np.ndarray,
                  stage: tuple[StageCompute, np.ndarray, int] | None = None) -> np.ndarray:
    """Step time of feasible (candidate, mapping) pairs, inf where infeasible: the driver's score.
    ``stage``: the pairs' compute side already computed (``search_bounds.refined_stage``: a StageCompute,
    each pair's position in it, its positions), reused by a single ``training_step`` call."""
    out = np.empty(len(rows))
    if stage is not None and len(rows) > key_tables.CHUNK_ELEMENTS:
        stage = None
    for start in range(0, len(rows), key_tables.CHUNK_ELEMENTS):
        r, c = rows[start:start + key_tables.CHUNK_ELEMENTS], cols[start:start + key_tables.CHUNK_ELEMENTS]
        part = HardwareArrays(**{name: np.asarray(v).reshape(-1)[r] for name, v in hw.columns().items()})
        res = training_step(part, wl, mappings.take(c), cal, fixed_dp,  # the time and memory only: no work counts
                            None if stage is None else take_stage(stage[0], stage[1], stage[2]), work_counts=False)
        ok = res.valid & (res.memory_violation <= 0)
        out[start:start + len(r)] = np.where(ok, res.step_time_s, np.inf)
    return out


def _down(limit: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``limit`` (float64) as the largest value of ``dtype`` at most it (float32: rounded to nearest, then one step
    down where that went up; overflow to the largest float32 or -inf): for every float32 ``x``, ``x <= limit`` iff
    ``x <= _down(limit)``, and the float32 comparison skips numpy's mixed-type loop (~20x slower); float64 as it is."""
    if dtype != np.float32:
        return limit
    with np.errstate(over="ignore"):
        low = limit.astype(np.float32)
    return np.where(low > limit, np.nextafter(low, np.float32(-np.inf)), low)


def _first_minimum(owner: np.ndarray, score: np.ndarray, index: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Per owner, the smallest ``index`` among its pairs of score ``low[owner]`` (each owner's
    minimal score: np.argmin's tie rule); -1 for owners without such a pair. Only the pairs at
    their owner's minimum are sorted."""
    n = len(low)
    at_min = np.flatnonzero(score == low[owner])
    best = np.full(n, -1, dtype=np.int64)
    o, i = owner[at_min], index[at_min]
    order = np.lexsort((i, o))
    o, i = o[order], i[order]
    starts = np.flatnonzero(np.r_[True, o[1:] != o[:-1]])
    best[o[starts]] = i[starts]
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
    step = max(1, key_tables.CHUNK_ELEMENTS // max(m, 1))  # the driver's exhaustive chunks, not one candidate per call
    for start in range(0, len(none_valid), step):
        block = none_valid[start:start + step]
        part = HardwareArrays(**{name: np.asarray(v).reshape(-1)[rows[block], None] for name, v in hw.columns().items()})
        res = training_step(part, wl, mappings.reshape((1, m)), cal, fixed_dp)
        fb = np.where(res.valid, res.memory_violation, np.inf)
        fb = np.where(np.isfinite(fb), fb, 1e30 + res.step_time_s)
        out[block] = np.argmin(fb, axis=1)
    return out


def _coefficients(ctx: tuple, wl: Workload, mappings: MappingArrays, fixed_dp: float | None, cal: Calibration,
                  count: float, domains: list[float], cols: np.ndarray) -> dict[float, tuple[np.ndarray, ...]]:
    """Per domain of ``domains``: (mappings, L1, L2, D, W) of comm_bound.coefficients of (count, domain) over
    the mappings ``cols`` (the count's valid ones: a function of the count), those with a DP-overlap term
    (D != 0) last (block_bounds' split), cached per process in that order; the missing domains in one
    broadcast call (the mapping-only terms once for all of them)."""
    out: dict[float, tuple[np.ndarray, ...]] = {}
    missing = []
    for d in domains:
        value = key_tables.cached_value(ctx, "comm", (count, d))
        if value is None:
            missing.append(d)
        else:
            out[d] = value
    if missing:
        got = comm_bound.coefficients(wl, mappings.take(cols).reshape((1, len(cols))), cal, fixed_dp,
                                      np.asarray(count, dtype=np.float64), np.asarray(missing, dtype=np.float64)[:, None])
        for j, d in enumerate(missing):
            perm = np.argsort(np.any(got[2][j] != 0, axis=1), kind="stable")  # overlapped mappings last
            out[d] = (cols[perm], *(np.ascontiguousarray(a[j][perm]) for a in got))
            key_tables.store(ctx, "comm", (count, d), out[d])
    return out


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
    n = int(np.size(hw.clock_hz))
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ctx = key_tables.context(wl, mappings, fixed_dp, cal)
    keys, key_of = key_tables.keys(hw, wl.training.precision == "fp8", ctx, mappings=len(mappings))
    a_rows, count_of_key, launch, valid, total = key_tables.lookup_parts(hw, wl, mappings, fixed_dp, cal, ctx, keys)
    count_of = count_of_key[key_of]  # each candidate's row of the per-count tables
    cap = usable_hbm_bytes(hw, cal).reshape(-1)  # as training_step
    clock = np.asarray(hw.clock_hz, dtype=np.float64).reshape(-1)

    best = np.full(n, -1, dtype=np.int64)
    if objective == "memory_per_accelerator_bytes":
        lightest = np.argmin(np.where(valid, total, np.inf), axis=1)  # first index of the least memory
        fits = total[count_of, lightest[count_of]] <= cap
        best[fits] = lightest[count_of[fits]]
    else:
        _time_search(hw, wl, mappings, fixed_dp, cal, ctx, (a_rows, count_of_key, launch, valid, total), key_of, cap,
                     clock, best)
    rest = np.flatnonzero(best < 0)
    if len(rest):
        best[rest] = _fallback(total[count_of[rest]], valid[count_of[rest]], cap[rest], hw, wl, mappings, fixed_dp, cal, rest)
    return best


def _time_search(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None,
                 cal: Calibration, ctx: tuple, tables: tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray,
                                                             np.ndarray], key_of: np.ndarray, cap: np.ndarray,
                 clock: np.ndarray, best: np.ndarray) -> None:
    """Fill ``best`` (in place) with the step-time argmin of every candidate that has a fitting mapping."""
    a_rows, count_of_key, launch, valid, total = tables  # A per key; the rest per accelerator count
    x = comm_bound.features(hw, cal)
    classes = (*key_tables.classes(ctx, mappings), key_tables.layer_fields(ctx, mappings))  # + layer code per class
    net = np.column_stack([np.asarray(hw.accelerator_count, dtype=np.float64).reshape(-1),
                           np.asarray(hw.scaleup_domain_size, dtype=np.float64).reshape(-1)])
    net_keys, net_of = key_tables.unique_rows(net)
    order = np.argsort(net_of.reshape(-1), kind="stable")
    bounds_at = np.searchsorted(net_of.reshape(-1)[order], np.arange(len(net_keys) + 1))
    groups: list[tuple] = []  # per (count, domain): (valid mappings, communication coefficients)
    pending: list[tuple] = []  # (rows, group, bounds, first pick, its bound)
    group_of = np.full(len(best), -1, dtype=np.int64)  # each row's group
    held = 0
    coefficients: dict[float, dict[float, tuple[np.ndarray, ...]]] = {}
    net_list = net_keys.tolist()
    domains_of: dict[float, set[float]] = {}
    for c, d in net_list:
        domains_of.setdefault(c, set()).add(d)
    # features and clocks in each bound dtype, cast once (float32 on a group's first float32 block)
    cast: dict[type, tuple[np.ndarray, np.ndarray]] = {
        np.float64: (x.astype(np.float64, copy=False), clock.astype(np.float64, copy=False))}
    for g in range(len(net_keys)):
        members = order[bounds_at[g]:bounds_at[g + 1]]
        kk = key_of[members]
        ci = count_of_key[kk[0]]
        cols = np.flatnonzero(valid[ci])  # validity depends on the accelerator count only
        if len(cols) == 0:
            continue
        count, domain = net_list[g]
        if count not in coefficients:  # every domain of this count in one call
            coefficients[count] = _coefficients(ctx, wl, mappings, fixed_dp, cal, count, sorted(domains_of[count]), cols)
        cols, l1, l2_all, dov, window = coefficients[count][domain]  # mappings with a DP-overlap term last
        split = len(cols) - int(np.count_nonzero(np.any(dov != 0, axis=1)))
        same_l2 = wl.moe is None and np.array_equal(l1, l2_all)  # block_bounds' l2 None: equal to l1
        l2 = l1 if same_l2 else l2_all
        groups.append((cols, (l1, l2, dov, window)))
        # launch, validity and memory depend on the accelerator count only: one row for the group.
        own, local_key = np.unique(kk, return_inverse=True)  # the group's own keys: A of those rows only
        local_key = local_key.reshape(-1)
        a_g = np.stack([a_rows[k].take(cols) for k in own.tolist()])
        launch_g, tot_g = launch[ci, cols], total[ci, cols]
        inputs = [a_g, launch_g, l1, dov, window, l2]
        dt = bound_dtype(x[members], *inputs) if clock[members].min() >= 1.0 else np.float64
        a_g, launch_g, l1_b, dov_b, win_b, l2_b = (a.astype(dt) for a in inputs)
        if dt not in cast:
            cast[dt] = (x.astype(dt), clock.astype(dt))
        x_b, clock_b = cast[dt]
        l2_b = None if same_l2 else l2_b
        dov_b = dov_b if split < len(cols) else None
        step = max(1, _BLOCK_ELEMENTS // len(cols))
        for s0 in range(0, len(members), step):
            rows = members[s0:s0 + step]
            group_of[rows] = len(groups) - 1
            lb = block_bounds(a_g[local_key[s0:s0 + step]], launch_g, clock_b[rows], x_b[rows], l1_b, l2_b, dov_b, win_b, split)
            over = np.flatnonzero(tot_g > cap[rows].min())  # mappings that overflow some row's HBM
            if len(over) * 8 > len(cols):  # many (MoE: a third): one masked pass, ~3x cheaper than gather + scatter
                np.putmask(lb, tot_g > cap[rows, None], np.inf)
            elif len(over):
                lb[:, over] = np.where(tot_g[over] > cap[rows, None], np.inf, lb[:, over])
            j = np.argmin(lb, axis=1)  # the first round's pick, while the block is in cache
            low = lb[np.arange(len(rows)), j]
            pending.append((rows, len(groups) - 1, lb, j, low))
            held += lb.size
            if held >= _PENDING_ELEMENTS:
                _search_pending(hw, wl, mappings, fixed_dp, cal, pending, (groups, group_of), best, x, classes)
                pending, held = [], 0
    if pending:
        _search_pending(hw, wl, mappings, fixed_dp, cal, pending, (groups, group_of), best, x, classes)


def _search_pending(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None,
                    cal: Calibration, pending: list[tuple], groups: tuple[list[tuple], np.ndarray], best: np.ndarray, x: np.ndarray,
                    classes: tuple[np.ndarray, ...]) -> None:
    """Best mapping of every row of the pending blocks (left -1 where no mapping fits), best-first:
    the first round evaluates exactly, per row, its lowest-bound fitting mapping (upper bound U);
    the candidate set is then the pairs with bound <= U (1 + _MARGIN) (U only falls: nothing
    outside it is ever needed); each further round evaluates the pairs of the set whose bound is
    <= lo + f (U - lo) (lo the row's lowest bound, f in _ROUND_FRACTIONS) and <= U (1 + _MARGIN),
    and drops them and every pair whose bound exceeds U (1 + _MARGIN) from the set; the last round
    every pair left with bound <= U (1 + _MARGIN), after the refined bound. The exact evaluations
    of all blocks go in one flat batch per round."""
    upper = np.full(len(best), np.inf)
    lo_row = np.zeros(len(best))  # each row's lowest bound (0 for a NaN bound's -inf: every bound >= 0)
    first_rows, first_cols = [], []
    for rows, g, lb, j, low in pending:
        fits = low < np.inf
        lb[np.flatnonzero(fits), j[fits]] = np.nan  # evaluated: never picked again
        first_rows.append(rows[fits])
        first_cols.append(groups[0][g][0][j[fits]])
        lo_row[rows] = np.where(low > -np.inf, low, 0.0)
    all_rows, all_cols = [np.concatenate(first_rows)], [np.concatenate(first_cols)]
    if not len(all_rows[0]):
        return
    all_scores = [_exact_scores(hw, wl, mappings, fixed_dp, cal, all_rows[0], all_cols[0])]
    np.minimum.at(upper, all_rows[0], all_scores[0])
    s_rows, s_cols, s_lb = [], [], []
    for rows, g, lb, _, _ in pending:
        # NaN (evaluated) never passes; inf (HBM overflow) never fits (the limit is finite): neither enters the set.
        # Flat indices (row-major, np.nonzero's order), ~4x cheaper than the 2-D np.nonzero and its 2-D gather.
        flat = np.flatnonzero(lb <= _down(np.minimum(upper[rows] * (1 + _MARGIN), _FINITE), lb.dtype)[:, None])
        o2 = flat // lb.shape[1]
        s_rows.append(rows[o2])
        s_cols.append(groups[0][g][0][flat - o2 * lb.shape[1]])
        s_lb.append(lb.reshape(-1)[flat])
    cand_rows, cand_cols, cand_lb = (np.concatenate(a) for a in (s_rows, s_cols, s_lb))
    fractions = _ROUND_FRACTIONS if len(cand_rows) >= _FEW_PAIRS else _FEW_FRACTIONS
    for frac in (*fractions, None):
        # each row's limit, then one gather: the same numbers as the limit of every pair from its row's U and lo
        limit = upper * (1 + _MARGIN)
        if frac is not None:
            with np.errstate(invalid="ignore"):  # inf - inf of rows without a fitting mapping (and without pairs)
                np.minimum(limit, lo_row + frac * (upper - lo_row), out=limit)
        pick = np.flatnonzero(cand_lb <= _down(limit, cand_lb.dtype)[cand_rows])
        if not len(pick):
            continue
        cand_lb[pick] = np.nan  # picked: never again (NaN never passes)
        if frac is None:
            # the last round's many picks: the exact compute side drops most of them (step >= refined > U >= the
            # minimum, U only falls); the first rounds' few, most promising picks mostly survive it
            p_rows, p_cols = cand_rows[pick], cand_cols[pick]
            comm, sync, win = last_round_terms(x, groups, len(mappings), p_rows, p_cols)
            refined, stage = refined_stage(hw, wl, mappings, fixed_dp, cal, classes[:2], p_rows, p_cols,
                                           comm, sync, win, classes[2])
            keep = refined <= upper[p_rows] * (1 + _MARGIN)  # NaN (-inf) kept
            pick = pick[keep]
            # the survivors' steps reuse the compute side just computed (their (candidate, compute class) rows)
            stage = None if stage is None else (stage[0], stage[1][keep], stage[2])
        else:
            stage = None
        n_rows, n_cols = cand_rows[pick], cand_cols[pick]
        score = _exact_scores(hw, wl, mappings, fixed_dp, cal, n_rows, n_cols, stage)
        np.minimum.at(upper, n_rows, score)
        all_rows.append(n_rows)
        all_cols.append(n_cols)
        all_scores.append(score)
    found = _first_minimum(np.concatenate(all_rows), np.concatenate(all_scores), np.concatenate(all_cols), upper)
    has = np.isfinite(upper)
    best[has] = found[has]
