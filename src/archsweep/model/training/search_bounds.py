"""Bound matrices of the pruned mapping search (:mod:`archsweep.model.training.pruned_search`): the
table bound of a block of candidates, in float32 where that stays a valid lower bound, and the
refined bound of the last round.

Float32 (issue 14, speed): a block's bound matrix is computed in float32 when every input (the
key table A, the launch row, the communication coefficients L1, L2, D, the overlap window W, the
features x) is finite and in [0, 1e15] and every clock is >= 1 Hz (:func:`bound_dtype`; else in
float64, as before). Claim: the float32 bound b32 satisfies ``b32 <= (1 + 40 u) b`` with b the
exact bound of the float64 inputs and ``u = 2**-24``, so ``b32 <= (1 + 2.4e-6) step``, inside
the search's relative margin (``pruned_search._MARGIN`` = 1e-5: a pair is dropped only when
``b32 > U (1 + 1e-5)``, so its step time is > U). Proof: every quantity is a sum, product or
quotient of non-negative numbers, so relative errors add: casting an input to float32 is one
relative error <= u, each operation one more (a five-term dot product: <= 9). C = A / clock +
launch carries <= 5u, the DP sync S = x . D <= 11u, the communication x . L1 (or the max with
x . L2) <= 11u. The one difference, ``1 - W`` with W in [0, 1], has an absolute error <= u, so
``(1 - W) C`` has an absolute error <= 7u C, and ``(1 - W) C + S`` an absolute error <= 12u (C +
S) <= 24u max(C, (1 - W) C + S) (both C and S are below that max). Adding the communication
term: <= 25u + 11u + u < 40u relative to the exact bound. No
overflow: products of two inputs are <= 1e30, sums of a few such terms <= 1e31 < 3.4e38;
underflow only rounds a non-negative term toward 0 (a lower bound again). NaN and inf behave as
in float64 (NaN bound -> -inf: never pruned; inf -> never fits). Tests:
tests/model/test_pruned_search_float32.py (float32 vs float64 bounds and the step time).
"""

from __future__ import annotations

import numpy as np

from archsweep.model.training import key_tables
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.step import StageCompute, stage_compute
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["F32_LIMIT", "block_bounds", "bound_dtype", "last_round_terms", "refined_bounds", "refined_stage"]

F32_LIMIT = 1e15  # largest input of a float32 bound matrix (products of two <= 1e30 < 3.4e38)


def block_bounds(a_rows: np.ndarray, launch: np.ndarray, clock: np.ndarray, x: np.ndarray, l1: np.ndarray,
                  l2: np.ndarray | None, dov: np.ndarray | None, window: np.ndarray, split: int = 0) -> np.ndarray:
    """Lower bound of the step time for a block of candidates sharing one (count, domain) key
    (``l2`` None: equal to ``l1``, as for a dense workload; ``dov`` None: all zero, no DP overlap;
    ``dov`` zero in the columns before ``split`` (their DP-overlap max is the compute term itself);
    ``launch`` one row, or one per candidate), in the inputs' dtype."""
    out = a_rows / clock[:, None]
    out += launch
    if dov is not None:
        tail = out[:, split:]
        np.maximum(tail, (1.0 - window[split:]) * tail + x @ dov[split:].T, out=tail)
    comm = x @ l1.T
    if l2 is not None:
        np.maximum(comm, x @ l2.T, out=comm)
    out += comm
    if np.isnan(out.sum()):  # one pass when no bound is NaN (the terms are >= 0: no inf - inf)
        np.copyto(out, -np.inf, where=np.isnan(out))  # NaN bound: never pruned (evaluated exactly)
    return out


def bound_dtype(*arrays: np.ndarray) -> type:
    """float32 where every input of :func:`block_bounds` is finite and in [0, F32_LIMIT] (clock
    >= 1 Hz checked by the caller), so no product or sum of five overflows float32 (module docstring); float64 otherwise (NaN, inf or huge inputs keep the reference arithmetic)."""
    for a in arrays:
        if a.size and not (np.isfinite(a).all() and 0.0 <= a.min() and a.max() <= F32_LIMIT):
            return np.float64
    return np.float32


def refined_bounds(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None, cal: Calibration,
                    classes: tuple[np.ndarray, ...], rows: np.ndarray, cols: np.ndarray, comm: np.ndarray,
                    sync: np.ndarray, window: np.ndarray, layer_code: np.ndarray | None = None) -> np.ndarray:
    """The bound of :func:`block_bounds` with the candidate's EXACT compute + recompute + bubble C
    (``stage_compute`` on its own hardware row: training_step's very arrays, ~1/2 of its cost on
    flat pairs; once per (candidate, compute class), ``key_tables.compute_classes``) in place of
    the key table's ``A / clock + launch`` (<= C): ``max(C, (1 - w) C + sync) + comm`` is
    non-decreasing in C (0 <= w <= 1), so it stays below the step time, and is tighter."""
    return refined_stage(hw, wl, mappings, fixed_dp, cal, classes, rows, cols, comm, sync, window, layer_code)[0]


def refined_stage(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None, cal: Calibration,
                  classes: tuple[np.ndarray, ...], rows: np.ndarray, cols: np.ndarray, comm: np.ndarray,
                  sync: np.ndarray, window: np.ndarray,
                  layer_code: np.ndarray | None = None) -> tuple[np.ndarray, tuple[StageCompute, np.ndarray, int] | None]:
    """(:func:`refined_bounds`, its compute side): ``(StageCompute, position of each pair in it, positions)``
    where one ``stage_compute`` call held every (candidate, compute class) pair, else None. A pair's
    step then reuses it (``step.take_stage``, ``training_step(stage=...)``): the same arrays."""
    class_of, class_first = classes
    n_cls = max(len(class_first), 1)
    code, spread = np.unique(rows * n_cls + class_of[cols], return_inverse=True)
    u_rows, u_cols = code // n_cls, class_first[code % n_cls]
    total = np.empty(len(code))
    sc = None
    for start in range(0, len(code), key_tables.CHUNK_ELEMENTS):
        sl = slice(start, start + key_tables.CHUNK_ELEMENTS)
        part = HardwareArrays(**{name: np.asarray(v).reshape(-1)[u_rows[sl]] for name, v in hw.columns().items()})
        mp = mappings.take(u_cols[sl])  # layer_costs once per (candidate, layer class): ~1/4 of the pairs
        layers = key_tables.layer_classes(mp, part.accelerator_count, fixed_dp, u_rows[sl],
                                          None if layer_code is None else layer_code[code[sl] % n_cls])
        sc = stage_compute(part, wl, mp, cal, fixed_dp, layers)
        total[sl] = np.broadcast_to(sc.compute + sc.recompute + sc.bubble, np.shape(u_rows[sl]))
    c = total[spread.reshape(-1)]
    out = np.maximum(c, (1.0 - window) * c + sync) + comm
    stage = (sc, spread.reshape(-1), len(code)) if sc is not None and len(code) <= key_tables.CHUNK_ELEMENTS else None
    return np.where(np.isnan(out), -np.inf, out), stage  # NaN: never pruned


def last_round_terms(x: np.ndarray, groups: tuple[list[tuple], np.ndarray], m: int, rows: np.ndarray,
                      cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(communication bound, DP sync, overlap window) of the pairs (``rows``, ``cols``) (float64):
    the terms of :func:`block_bounds` that :func:`refined_bounds` reuses, per pair."""
    groups_list, group_of = groups
    grp = group_of[rows]
    comm, sync, win = np.empty(len(rows)), np.empty(len(rows)), np.empty(len(rows))
    for g in key_tables.present(grp):
        at = np.flatnonzero(grp == g)
        g_cols, (l1, l2, dov, window) = groups_list[g]
        local = np.empty(m, dtype=np.int64)
        local[g_cols] = np.arange(len(g_cols))
        c, xr = local[cols[at]], x[rows[at]]
        comm[at] = np.maximum(np.einsum("ij,ij->i", xr, l1[c]), np.einsum("ij,ij->i", xr, l2[c]))
        sync[at] = np.einsum("ij,ij->i", xr, dov[c])
        win[at] = window[c]
    return comm, sync, win
