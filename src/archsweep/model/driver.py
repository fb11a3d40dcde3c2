"""The job-agnostic driver: evaluate a batch of hardware candidates on one job.

A job kind (:class:`~archsweep.model.job.JobKind`: training, serving, ...) supplies its mapping
enumeration and its vectorised performance function; this module does the rest once for every
kind. For every candidate the job's mappings are evaluated as one broadcast (candidates x
mappings) batch, in chunks that bound memory, and the best feasible mapping (every violation
<= 0) is kept; candidates that differ only in fields the job's performance does not read (TDP,
process node, ...: :attr:`~archsweep.model.job.JobKind.performance_fields`) share one search,
unless the objective ranks by power or cost. The chosen rows are then re-evaluated exactly at
(n,), power/area/cost are added, and a TDP cap is enforced by DVFS: where the package would
exceed its TDP over the busiest device's busy phase (``power_busy_w``), the clock is lowered until
it does not, with the supply voltage following the die's V/f
curve (:func:`archsweep.model.power.voltage_scale` at :func:`archsweep.model.power.die_clock_scale`: the
clock scale, or the clock over the die's reference bin where the part names one), so energy per operation falls with V^2 and leakage
with V; the performance is recomputed at that clock. Nothing raises for an infeasible
candidate: it comes back with ``feasible = False`` and violation columns > 0.

The same function serves one point (0-d arrays), a 1-D batch, and (through
:func:`evaluate_grid`) a broadcast xarray grid, with identical numbers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np

from archsweep.model import ppa
from archsweep.model.job import JobKind, Mappings
from archsweep.model.reliability import checkpoint_size_bytes
from archsweep.model.training.job_kind import TRAINING_OBJECTIVES, TrainingJobKind
from archsweep.model.training.pruned_search import PRUNABLE_OBJECTIVES, best_mapping_indices
from archsweep.spec.calibration import Calibration
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HARDWARE_PARAMETERS, HardwareArrays
from archsweep.spec.stack import StackParallelism
from archsweep.spec.technology import Technology
from archsweep.spec.workload import Workload

__all__ = ["MAPPING_OBJECTIVES", "PPA_OBJECTIVES", "InfeasiblePolicy", "evaluate_design_batch", "evaluate_grid", "evaluate_job",
           "performance_order"]

#: Objectives the driver ranks by for every job kind: they need power and cost for every
#: (candidate, mapping) pair (slower than the job's own time-like objectives).
PPA_OBJECTIVES = ("energy_per_token_j", "usd_per_million_tokens")

#: Objectives the inner mapping search of a training job can minimise. Step time (equivalently
#: tokens/s or MFU at fixed hardware) and memory need only the performance model.
MAPPING_OBJECTIVES = (*TRAINING_OBJECTIVES, *PPA_OBJECTIVES)

#: What an infeasible candidate (no mapping satisfies every violation) reports in its time and
#: throughput columns: ``"nan"`` (it cannot run: NaN, ``mapping_found`` False) or
#: ``"least_violating"`` (the least-violating mapping's numbers, for validation of a run that
#: demonstrably ran with a stated mapping: memory is a flag there, not a verdict).
InfeasiblePolicy = Literal["nan", "least_violating"]
#: Columns blanked for an infeasible candidate under ``"nan"`` (where the kind produces them),
#: besides the kind's objectives other than memory.
_TIME_COLUMNS = ("step_time_s", "tokens_per_s", "mfu", "hfu", "time_to_train_s", *PPA_OBJECTIVES)

_MAX_CHUNK_ELEMENTS = 65_536  # cache-sized chunks: ~4x faster than 1.5M-element ones
#: Smallest batch the pruned search takes (its tables cost about one pass over the valid mappings
#: per accelerator count plus one per hardware key, cached per process; below this the exhaustive
#: chunks are about as fast; not re-measured since the per-count tables). Results are identical.
_PRUNED_MIN_CANDIDATES = 64
_DVFS_BISECTIONS = 12
_DVFS_MIN_CLOCK_SCALE = 0.05


def _ppa(kind: JobKind[Any, Any], hw: HardwareArrays, mappings: Mappings, result: Any, tech: Technology,
         clock_scale: np.ndarray | float = 1.0) -> dict[str, np.ndarray]:
    """Power/area/cost columns of a result computed at ``clock_scale`` x the nominal clock."""
    inputs = kind.power_inputs(hw, mappings, result)
    shape = np.shape(inputs.time_s)
    checkpoint = np.broadcast_to(checkpoint_size_bytes(inputs.checkpoint_params, tech), shape)
    return ppa.power_area_cost(hw, tech, inputs.activity, inputs.time_s, inputs.tokens, inputs.total_tokens,
                               checkpoint, clock_scale=clock_scale, busiest_activity=inputs.busiest_activity,
                               busiest_share=inputs.busiest_share, busy_time_s=inputs.busy_time_s)


def _violation_max(kind: JobKind[Any, Any], result: Any) -> np.ndarray:
    worst = np.full(np.shape(result.valid), -np.inf)
    for value in kind.violations(result).values():
        worst = np.maximum(worst, value)
    return worst


def _score(kind: JobKind[Any, Any], result: Any, objective: str, hw: HardwareArrays, mappings: Mappings,
           tech: Technology) -> tuple[np.ndarray, np.ndarray]:
    """(value to minimise, inf where infeasible; fallback: least violation among valid mappings)."""
    worst = _violation_max(kind, result)
    ok = result.valid & (worst <= 0)
    value = _ppa(kind, hw, mappings, result, tech)[objective] if objective in PPA_OBJECTIVES else kind.rank(result, objective)
    fallback = np.where(result.valid, worst, np.inf)
    primary = kind.rank(result, kind.objectives[0])
    fallback = np.where(np.isfinite(fallback), fallback, 1e30 + np.asarray(primary, dtype=np.float64))
    return np.where(ok, value, np.inf), fallback


def _best_mappings(kind: JobKind[Any, Any], hw: HardwareArrays, mappings: Mappings, objective: str,
                   tech: Technology, exhaustive: bool = True) -> np.ndarray:
    """Index of the best mapping for each of the n candidates (falls back to the least-violating
    valid mapping when none is feasible, so infeasible rows still carry numbers).

    ``exhaustive=False``: a training job ranked by a time or memory objective goes through the exact
    pruned search (:func:`archsweep.model.training.pruned_search.best_mapping_indices`, the same
    indices) when the batch has at least ``_PRUNED_MIN_CANDIDATES`` candidates.
    """
    n = int(np.size(hw.clock_hz))
    if (not exhaustive and isinstance(kind, TrainingJobKind) and objective in PRUNABLE_OBJECTIVES
            and n >= _PRUNED_MIN_CANDIDATES):
        return best_mapping_indices(hw, kind.workload, mappings, kind.fixed_dp, kind.calibration, objective)
    return _exhaustive_best(kind, hw, mappings, (objective,), tech)[objective]


def _exhaustive_best(kind: JobKind[Any, Any], hw: HardwareArrays, mappings: Mappings, objectives: tuple[str, ...],
                     tech: Technology) -> dict[str, np.ndarray]:
    """The exhaustive search: :func:`_best_mappings`'s indices for each of ``objectives`` from one model evaluation
    per chunk of candidates (every mapping of each candidate; the chunking does not change the indices)."""
    n, m = int(np.size(hw.clock_hz)), len(mappings)
    chunk = max(1, _MAX_CHUNK_ELEMENTS // max(m, 1))
    best = {objective: np.zeros(n, dtype=np.int64) for objective in objectives}
    mp2 = mappings.reshape((1, m))
    for start in range(0, n, chunk):
        sl = slice(start, min(n, start + chunk))
        hw_rows = hw.rows(sl, trailing=True)
        res = kind.performance(hw_rows, mp2, ranking=not any(o in PPA_OBJECTIVES for o in objectives))
        for objective in objectives:
            score, fallback = _score(kind, res, objective, hw_rows, mp2, tech)
            has_feasible = np.isfinite(score).any(axis=1)
            best[objective][sl] = np.where(has_feasible, np.argmin(score, axis=1), np.argmin(fallback, axis=1))
    return best


def _field_codes(hw: HardwareArrays, names: tuple[str, ...]) -> np.ndarray:
    """(n, len(names)) int64 codes, equal iff the fields are bit-identical: floats as their 64-bit
    patterns, choices as their rank among the batch's distinct strings."""
    columns = []
    for name in names:
        value = np.asarray(getattr(hw, name)).reshape(-1)
        if value.dtype.kind in "fiub":
            columns.append(np.ascontiguousarray(value, dtype=np.float64).view(np.int64))
        else:
            columns.append(np.unique(value, return_inverse=True)[1].reshape(-1).astype(np.int64))
    return np.column_stack(columns)


def performance_order(hw: HardwareArrays, names: tuple[str, ...]) -> np.ndarray:
    """A stable order of the candidates of ``hw`` (1-D) that puts rows equal in the fields ``names``
    (a job kind's :attr:`~archsweep.model.job.JobKind.performance_fields`) next to each other, so
    that the batches handed to :func:`evaluate_job` share mapping searches."""
    codes = _field_codes(hw, names)
    return np.lexsort(codes.T[::-1])


def _distinct_performance_rows(kind: JobKind[Any, Any], hw: HardwareArrays,
                               objective: str) -> tuple[HardwareArrays, np.ndarray] | None:
    """(one candidate per distinct row of the kind's :attr:`~archsweep.model.job.JobKind.performance_fields`,
    the index of each candidate's row) when some candidates share a row; ``None`` when none do, or
    when ``objective`` ranks by power/cost (:data:`PPA_OBJECTIVES`: every field matters then).

    Candidates of one row get identical performance results for every mapping, hence the same best
    mapping under a performance objective: the search runs once per row. Rows are compared bit for
    bit (floats as their 64-bit patterns, choices as strings).
    """
    n = int(np.size(hw.clock_hz))
    if objective in PPA_OBJECTIVES or n < 2:
        return None
    codes = _field_codes(hw, kind.performance_fields)
    _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    if len(first) == n:
        return None
    return hw.rows(first), inverse.reshape(-1)


def _dvfs(kind: JobKind[Any, Any], hw: HardwareArrays, mappings: Mappings,
          tech: Technology) -> tuple[HardwareArrays, Any, dict[str, np.ndarray]]:
    """Lower clock and voltage together where the busiest accelerator's power over its busy phase (``power_busy_w``:
    a training pipeline's slowest stage, whose clock the step waits on, over its forward / backward kernels and the
    per-layer waits between them) exceeds TDP (bisection on the clock scale).

    Why the busy phase and not the step's average: a GPU's power controller acts on its power within milliseconds
    (its window is not published; NVIDIA's power management samples board power and adjusts the clock in the PMU's
    firmware: DGX B200 user guide, "Managing Power Capping"; NVML ``SwPowerCap`` throttle reason), while a training
    step's forward / backward stretch lasts seconds and its bubble, exposed data-parallel sync and optimizer tens to
    hundreds of milliseconds: the controller sees each as a phase of its own, so the compute phase runs at the clock
    its own power allows, not at the one the step's lighter stretches would buy it (docs/model-accuracy.md,
    s16-phaseclock). The other phases run at the same clock in the model; their time barely depends on it (links,
    HBM) and a higher clock there would shorten only the bubble and the optimizer. Serving and uncapped jobs: the busy
    phase is the whole time unit, as before.

    At clock scale ``s`` the performance is recomputed at ``s x clock_hz`` and the power at the
    voltage ``v`` of the die's V/f point, ``voltage_scale(die_clock_scale(hw, s))`` (``v(s)`` unless the
    part names a die reference clock; dynamic energy per operation x v^2, leakage x v).
    """
    res = kind.performance(hw, mappings)
    ppa_cols = _ppa(kind, hw, mappings, res, tech)
    over = ppa_cols["power_busy_w"] > hw.tdp_w * (1 + 1e-9)  # each package's own cap: the busiest device's busy phase
    if not over.any():
        return hw, res, ppa_cols
    # Bisection on the candidates over their TDP only (every quantity is per candidate).
    idx = np.flatnonzero(over)
    sub_hw, sub_mappings = hw.rows(idx), mappings.take(idx)
    lo = np.full(idx.size, _DVFS_MIN_CLOCK_SCALE)
    hi = np.ones_like(lo)
    for _ in range(_DVFS_BISECTIONS):
        mid = 0.5 * (lo + hi)
        trial_hw = replace(sub_hw, clock_hz=sub_hw.clock_hz * mid)
        trial = _ppa(kind, trial_hw, sub_mappings, kind.performance(trial_hw, sub_mappings), tech, clock_scale=mid)
        fits = trial["power_busy_w"] <= sub_hw.tdp_w
        lo = np.where(fits, mid, lo)
        hi = np.where(~fits, mid, hi)
    scale = np.ones(np.shape(over))
    scale[idx] = lo
    final_hw = replace(hw, clock_hz=hw.clock_hz * scale)
    res = kind.performance(final_hw, mappings)
    return final_hw, res, _ppa(kind, final_hw, mappings, res, tech, clock_scale=scale)


def evaluate_job(hw: HardwareArrays, kind: JobKind[Any, Any], *, tech: Technology,
                 objective: str = "step_time_s", infeasible: InfeasiblePolicy = "nan",
                 exhaustive: bool = False) -> dict[str, np.ndarray]:
    """Evaluate every hardware candidate of ``hw`` on the job ``kind`` with its best mapping.

    Args:
        hw: hardware candidates, any broadcast shape (flattened to 1-D here).
        kind: the job kind (its mappings and performance function).
        tech: technology data for power, area and cost.
        objective: what the inner mapping search minimises: a name the kind ranks by
            (:attr:`JobKind.objectives`) or one of :data:`PPA_OBJECTIVES`.
        infeasible: see :data:`InfeasiblePolicy`; by default a candidate none of whose mappings
            fits reports NaN time/throughput (it cannot run), never the least-violating mapping's.
        exhaustive: evaluate every mapping of every candidate (the reference path); by default a
            training job's time/memory objectives use the exact pruned search (same result).

    Returns:
        flat columns of length n = prod(hw.shape): the job's columns (:meth:`JobKind.columns`),
        derived hardware quantities, the effective ``clock_hz`` after DVFS, ``tdp_w``, the job's
        ``violation_*`` and ``violation_mapping``, power/area/cost (:data:`ppa.PPA_COLUMNS`) and
        ``feasible`` (every violation <= 0) and ``mapping_found`` (some mapping satisfies every
        violation of the job: False means the time columns are NaN, or the least-violating
        mapping's under ``infeasible="least_violating"``).
    """
    flat = hw.flat()
    if objective not in (*kind.objectives, *PPA_OBJECTIVES):
        raise InputError("<mapping>", "objective", objective, "one of " + ", ".join((*kind.objectives, *PPA_OBJECTIVES)))
    mappings = kind.mappings()
    distinct = _distinct_performance_rows(kind, flat, objective)
    if distinct is None:
        best = _best_mappings(kind, flat, mappings, objective, tech, exhaustive)
    else:  # one search per distinct performance row, its index broadcast back to every candidate
        rows, inverse = distinct
        best = _best_mappings(kind, rows, mappings, objective, tech, exhaustive)[inverse]
    chosen = mappings.take(best)
    final_hw, res, ppa_cols = _dvfs(kind, flat, chosen, tech)
    cols = kind.columns(flat, final_hw, chosen, res)
    cols.update({
        "hbm_capacity_bytes": final_hw.hbm_capacity_bytes, "hbm_bw_bytes_per_s": final_hw.hbm_bw_bytes_per_s,
        "peak_matrix_flops_bf16": flat.peak_matrix_flops_bf16,
        "clock_hz": final_hw.clock_hz, "tdp_w": final_hw.tdp_w,
    })
    cols.update(kind.violations(res))
    cols["violation_mapping"] = np.where(res.valid, -1.0, 1.0)
    cols.update(ppa_cols)
    violations = [v for k, v in cols.items() if k.startswith("violation_")]
    cols["feasible"] = np.logical_and.reduce([np.asarray(v) <= 0 for v in violations])
    found = res.valid & (_violation_max(kind, res) <= 0)
    cols["mapping_found"] = np.asarray(found, dtype=bool)
    if infeasible == "nan":
        blank = {*(o for o in kind.objectives if "memory" not in o), *_TIME_COLUMNS}
        for name in blank & cols.keys():
            cols[name] = np.where(found, cols[name], np.nan)
    return cols


def evaluate_design_batch(hw: HardwareArrays, workload: Workload, *, tech: Technology, calibration: Calibration,
                          strategy: str | None = None, objective: str = "step_time_s",
                          infeasible: InfeasiblePolicy = "nan", exhaustive: bool = False,
                          parallelism: StackParallelism | None = None) -> dict[str, np.ndarray]:
    """Evaluate every hardware candidate of ``hw`` training ``workload`` with its best (or a given) mapping.

    Args:
        hw: hardware candidates, any broadcast shape (flattened to 1-D here).
        workload: the architecture and its training job.
        tech: :class:`archsweep.spec.technology.Technology` for power, area and cost.
        strategy: fixed mapping text (``"tp=8,pp=16,mb=1"``); keys left out are searched.
        objective: what the inner mapping search minimises (one of :data:`MAPPING_OBJECTIVES`).
        calibration: model constants (:func:`archsweep.load.calibration.load_calibration`).
        infeasible: what a candidate with no fitting mapping reports (:data:`InfeasiblePolicy`).
        exhaustive: the reference mapping search (:func:`evaluate_job`).
        parallelism: what the software stack can run (:func:`archsweep.load.stack_parallelism.load_stack_parallelism`);
            the mapping search stays within it. None: every mapping the model enumerates.

    Returns:
        flat columns of length n = prod(hw.shape) (:func:`evaluate_job` of the training kind):
        the chosen mapping, step time and its breakdown, mfu, hfu, tokens_per_s, memory and its
        parts, power/area/cost columns, ``violation_*`` (> 0 violated) and ``feasible``.
    """
    if objective not in MAPPING_OBJECTIVES:
        raise InputError("<mapping>", "objective", objective, "one of " + ", ".join(MAPPING_OBJECTIVES))
    kind = TrainingJobKind(workload, calibration, strategy, parallelism)
    return evaluate_job(hw, kind, tech=tech, objective=objective, infeasible=infeasible, exhaustive=exhaustive)


def evaluate_grid(grid: Any, workload: Workload, *, tech: Technology, calibration: Calibration,
                  strategy: str | None = None, objective: str = "step_time_s",
                  parallelism: StackParallelism | None = None) -> Any:
    """Evaluate a broadcast xarray grid of hardware parameters; returns an ``xarray.Dataset``.

    ``grid`` is an ``xarray.Dataset`` whose data variables (or coordinates) name hardware
    parameters; missing parameters are an error. Outputs keep the grid's dimensions.
    """
    import xarray as xr

    arrays = {}
    names = [p.name for p in HARDWARE_PARAMETERS]
    present = {**{k: grid[k] for k in grid.data_vars}, **{k: grid[k] for k in grid.coords}}
    missing = [n for n in names if n not in present]
    if missing:
        raise InputError("<xarray grid>", missing[0], "<missing>", "every hardware parameter as a variable or coordinate")
    broadcast = xr.broadcast(*[present[n] for n in names])
    dims, shape = broadcast[0].dims, broadcast[0].shape
    for name, arr in zip(names, broadcast):
        arrays[name] = np.asarray(arr.transpose(*dims).values)
    hw = HardwareArrays.from_columns(arrays)
    cols = evaluate_design_batch(hw, workload, tech=tech, calibration=calibration, strategy=strategy, objective=objective,
                                 parallelism=parallelism)
    coords = {d: broadcast[0][d] for d in dims if d in broadcast[0].coords}
    # Outputs that share a name with a grid coordinate (e.g. clock_hz after DVFS) get an "out_" prefix.
    return xr.Dataset({(f"out_{k}" if k in coords else k): (dims, np.asarray(v).reshape(shape)) for k, v in cols.items()},
                      coords=coords)
