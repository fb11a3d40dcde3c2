"""Entry point of the model: evaluate a batch of hardware candidates on one workload.

For every candidate the valid mappings (:func:`~archsweep.model.training.mapping.enumerate_mappings`)
are evaluated as one broadcast (candidates x mappings) batch, in chunks that bound memory;
the fastest feasible mapping (memory fits) is kept. The chosen rows are then re-evaluated
exactly at (n,), power/area/cost are added, and a TDP cap is enforced by DVFS: where the
package would exceed its TDP, the clock is lowered until it does not and the performance is
recomputed at that clock. Nothing raises for an infeasible candidate: it comes back with
``feasible = False`` and violation columns > 0.

The same function serves one point (0-d arrays), a 1-D batch, and (through
:func:`evaluate_grid`) a broadcast xarray grid, with identical numbers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from archsweep.model import ppa
from archsweep.model.activity import ActivityCounts
from archsweep.model.reliability import checkpoint_size_bytes
from archsweep.model.training.mapping import (
    RECOMPUTE,
    MappingArrays,
    enumerate_mappings,
    parse_strategy,
)
from archsweep.model.training.step import (
    StepResult,
    model_flops_per_token,
    training_step,
)
from archsweep.spec.calibration import Calibration
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HARDWARE_PARAMETERS, HardwareArrays
from archsweep.spec.technology import Technology
from archsweep.spec.workload import Workload

__all__ = ["evaluate_design_batch", "evaluate_grid", "MAPPING_OBJECTIVES"]

#: Objectives the inner mapping search can minimise. Step time (equivalently tokens/s or MFU at
#: fixed hardware) and memory need only the performance model; energy per token and dollars per
#: million tokens also evaluate power and cost for every (candidate, mapping) pair (slower).
MAPPING_OBJECTIVES = ("step_time_s", "tokens_per_s", "mfu", "memory_per_accelerator_bytes", "energy_per_token_j",
                      "usd_per_million_tokens")
_PPA_OBJECTIVES = ("energy_per_token_j", "usd_per_million_tokens")

_MAX_CHUNK_ELEMENTS = 65_536  # cache-sized chunks: ~4x faster than 1.5M-element ones


def _flatten(hw: HardwareArrays) -> tuple[HardwareArrays, tuple[int, ...]]:
    shape = hw.shape
    cols = {k: np.broadcast_to(v, shape).reshape(-1) for k, v in hw.columns().items()}
    return HardwareArrays(**cols), shape


def _rows(hw: HardwareArrays, index: np.ndarray | slice, trailing: bool = False) -> HardwareArrays:
    out = {}
    for k, v in hw.columns().items():
        sel = v[index]
        out[k] = sel[:, None] if trailing else sel
    return HardwareArrays(**out)


def _scaled_clock(hw: HardwareArrays, scale: np.ndarray) -> HardwareArrays:
    return replace(hw, clock_hz=hw.clock_hz * scale)


def _score(res: StepResult, objective: str, hw: HardwareArrays, wl: Workload, tech: Any, cal: Calibration) -> np.ndarray:
    ok = res.valid & (res.memory_violation <= 0)
    if objective == "memory_per_accelerator_bytes":
        value = res.memory.total_bytes
    elif objective in _PPA_OBJECTIVES:
        value = _ppa_columns(hw, wl, tech, res, cal)[objective]
    else:
        value = res.step_time_s
    return np.where(ok, value, np.inf)


def _best_mappings(hw: HardwareArrays, wl: Workload, mappings: MappingArrays, fixed_dp: float | None,
                   cal: Calibration, objective: str, tech: Any = None) -> np.ndarray:
    """Index of the best mapping for each of the n candidates (falls back to the least
    memory-violating valid mapping when none fits, so infeasible rows still carry numbers)."""
    n, m = int(np.size(hw.clock_hz)), len(mappings)
    chunk = max(1, _MAX_CHUNK_ELEMENTS // max(m, 1))
    best = np.zeros(n, dtype=np.int64)
    mp2 = mappings.reshape((1, m))
    for start in range(0, n, chunk):
        sl = slice(start, min(n, start + chunk))
        hw_rows = _rows(hw, sl, trailing=True)
        res = training_step(hw_rows, wl, mp2, cal, fixed_dp)
        score = _score(res, objective, hw_rows, wl, tech, cal)
        fallback = np.where(res.valid, res.memory_violation, np.inf)
        fallback = np.where(np.isfinite(fallback), fallback, 1e30 + res.step_time_s)
        has_feasible = np.isfinite(score).any(axis=1)
        best[sl] = np.where(has_feasible, np.argmin(score, axis=1), np.argmin(fallback, axis=1))
    return best


def _activity(res: StepResult, wl: Workload, cal: Calibration) -> ActivityCounts:
    fp8 = wl.training.precision == "fp8"
    zeros = np.zeros_like(res.matrix_flops)
    # Vector work: ~1 FLOP per byte of HBM traffic outside GEMM operands (norms, softmax, Adam do
    # a few FLOP per 2-4-byte element); a small term next to the matrix energy.
    vector = res.hbm_bytes * 2.0
    # Operand staging through SRAM: with tile_m x tile_n output tiles, each MAC (2 FLOP) reads
    # 1/tile_n of an A element and 1/tile_m of a B element.
    bytes_per_element = 1.0 if fp8 else 2.0
    sram = res.matrix_flops / 2.0 * bytes_per_element * (1.0 / cal.gemm_tile_m + 1.0 / cal.gemm_tile_n)
    return ActivityCounts(
        matrix_flops_bf16=zeros if fp8 else res.matrix_flops,
        matrix_flops_fp8=res.matrix_flops if fp8 else zeros,
        vector_flops=vector, hbm_bytes=res.hbm_bytes, sram_bytes=sram,
        scaleup_bytes=res.scaleup_bytes, scaleout_bytes=res.scaleout_bytes,
    )


def _ppa_columns(hw: HardwareArrays, wl: Workload, tech: Any, res: StepResult, cal: Calibration) -> dict[str, np.ndarray]:

    checkpoint_bytes = np.broadcast_to(checkpoint_size_bytes(wl.total_params, tech), np.shape(res.step_time_s))
    return ppa.power_area_cost(hw, tech, _activity(res, wl, cal), res.step_time_s, float(wl.tokens_per_step),
                               float(wl.training.total_tokens), checkpoint_bytes)


def _dvfs(hw: HardwareArrays, wl: Workload, mp: MappingArrays, fixed_dp: float | None, cal: Calibration,
          tech: Any) -> tuple[HardwareArrays, StepResult, dict[str, np.ndarray]]:
    """Lower the clock where power exceeds TDP (bisection on the clock scale, 12 steps)."""
    res = training_step(hw, wl, mp, cal, fixed_dp)
    ppa_cols = _ppa_columns(hw, wl, tech, res, cal)
    over = ppa_cols["power_w"] > hw.tdp_w * (1 + 1e-9)
    if not over.any():
        return hw, res, ppa_cols
    lo = np.where(over, 0.05, 1.0)
    hi = np.ones_like(lo)
    for _ in range(12):
        mid = np.where(over, 0.5 * (lo + hi), 1.0)
        trial_hw = _scaled_clock(hw, mid)
        trial = _ppa_columns(trial_hw, wl, tech, training_step(trial_hw, wl, mp, cal, fixed_dp), cal)
        fits = trial["power_w"] <= hw.tdp_w
        lo = np.where(over & fits, mid, lo)
        hi = np.where(over & ~fits, mid, hi)
    scale = np.where(over, lo, 1.0)
    final_hw = _scaled_clock(hw, scale)
    res = training_step(final_hw, wl, mp, cal, fixed_dp)
    return final_hw, res, _ppa_columns(final_hw, wl, tech, res, cal)


def _result_columns(hw_nominal: HardwareArrays, hw: HardwareArrays, wl: Workload, mp: MappingArrays,
                    res: StepResult, ppa_cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    tokens = float(wl.tokens_per_step)
    n_acc = hw.accelerator_count
    peak_nominal = hw_nominal.peak_matrix_flops_fp8 if wl.training.precision == "fp8" else hw_nominal.peak_matrix_flops_bf16
    step = res.step_time_s
    model_flops = model_flops_per_token(wl) * tokens
    mem = res.memory
    cols: dict[str, np.ndarray] = {
        "tp": mp.tp, "pp": mp.pp, "dp": res.dp, "cp": mp.cp, "ep": mp.ep, "vpp": mp.vpp,
        "micro_batch": mp.micro_batch, "recompute": np.asarray(RECOMPUTE, dtype=object)[mp.recompute.astype(int)],
        "zero_stage": mp.zero_stage, "sequence_parallel": mp.sequence_parallel > 0,
        "flash_attention": mp.flash_attention > 0, "tp_overlap": mp.tp_overlap > 0, "dp_overlap": mp.dp_overlap > 0,
        "microbatches": res.microbatches,
        "step_time_s": step,
        "compute_time_s": res.compute_time_s, "recompute_time_s": res.recompute_time_s,
        "bubble_time_s": res.bubble_time_s, "tp_comm_exposed_s": res.tp_comm_exposed_s,
        "cp_comm_exposed_s": res.cp_comm_exposed_s, "ep_comm_exposed_s": res.ep_comm_exposed_s,
        "pp_comm_exposed_s": res.pp_comm_exposed_s, "dp_comm_exposed_s": res.dp_comm_exposed_s,
        "optimizer_time_s": res.optimizer_time_s,
        "tokens_per_s": tokens / step,
        "mfu": model_flops / (step * n_acc * peak_nominal),
        "hfu": res.matrix_flops / (step * peak_nominal),
        "memory_per_accelerator_bytes": mem.total_bytes, "memory_weights_bytes": mem.weights_bytes,
        "memory_gradients_bytes": mem.gradients_bytes, "memory_optimizer_bytes": mem.optimizer_bytes,
        "memory_activations_bytes": mem.activations_bytes,
        "memory_recompute_working_bytes": mem.recompute_working_bytes, "memory_reserved_bytes": mem.reserved_bytes,
        "hbm_capacity_bytes": hw.hbm_capacity_bytes, "hbm_bw_bytes_per_s": hw.hbm_bw_bytes_per_s,
        "peak_matrix_flops_bf16": hw_nominal.peak_matrix_flops_bf16,
        "clock_hz": hw.clock_hz, "tdp_w": hw.tdp_w,
        "violation_memory": res.memory_violation,
        "violation_mapping": np.where(res.valid, -1.0, 1.0),
    }
    cols.update(ppa_cols)
    violations = [v for k, v in cols.items() if k.startswith("violation_")]
    cols["feasible"] = np.logical_and.reduce([np.asarray(v) <= 0 for v in violations])
    return cols


def evaluate_design_batch(hw: HardwareArrays, workload: Workload, *, tech: Technology, calibration: Calibration,
                          strategy: str | None = None, objective: str = "step_time_s") -> dict[str, np.ndarray]:
    """Evaluate every hardware candidate of ``hw`` on ``workload`` with its best (or a given) mapping.

    Args:
        hw: hardware candidates, any broadcast shape (flattened to 1-D here).
        workload: the training workload.
        tech: :class:`archsweep.spec.technology.Technology` for power, area and cost.
        strategy: fixed mapping text (``"tp=8,pp=16,mb=1"``); keys left out are searched.
        objective: what the inner mapping search minimises (one of :data:`MAPPING_OBJECTIVES`).
        calibration: model constants (:func:`archsweep.load.calibration.load_calibration`).

    Returns:
        flat columns of length n = prod(hw.shape): the chosen mapping, step time and its
        breakdown, mfu, hfu, tokens_per_s, memory and its parts, power/area/cost columns,
        ``violation_*`` (> 0 violated) and ``feasible``.
    """
    cal = calibration
    if objective not in MAPPING_OBJECTIVES:
        raise InputError("<mapping>", "objective", objective, "one of " + ", ".join(MAPPING_OBJECTIVES))
    flat, _shape = _flatten(hw)
    mappings, fixed_dp = enumerate_mappings(workload, parse_strategy(strategy) if strategy else None)
    best = _best_mappings(flat, workload, mappings, fixed_dp, cal, objective, tech)
    chosen = mappings.take(best)
    final_hw, res, ppa_cols = _dvfs(flat, workload, chosen, fixed_dp, cal, tech)
    return _result_columns(flat, final_hw, workload, chosen, res, ppa_cols)


def evaluate_grid(grid: Any, workload: Workload, *, tech: Technology, calibration: Calibration,
                  strategy: str | None = None, objective: str = "step_time_s") -> Any:
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
    cols = evaluate_design_batch(hw, workload, tech=tech, calibration=calibration, strategy=strategy, objective=objective)
    coords = {d: broadcast[0][d] for d in dims if d in broadcast[0].coords}
    # Outputs that share a name with a grid coordinate (e.g. clock_hz after DVFS) get an "out_" prefix.
    return xr.Dataset({(f"out_{k}" if k in coords else k): (dims, np.asarray(v).reshape(shape)) for k, v in cols.items()},
                      coords=coords)
