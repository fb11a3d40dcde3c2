"""Energy per step and power of an accelerator, with a TDP cap by DVFS.

Dynamic energy (J per accelerator per step) is built from the performance model's own
counts (:class:`~archsweep.model.activity.ActivityCounts`) and per-operation energies of
``data/technology``: matrix MACs by datatype and vector FMAs (Horowitz ISSCC'14 45 nm values
scaled to the node, times a datapath factor for operand delivery fitted to the H100), SRAM
bytes, HBM bytes, on-chip NoC transport of HBM and link bytes, scale-up and host/scale-out
link bytes. Static power = node leakage fraction x the design's dynamic power at full
activity (its peak rates, SRAM staged at ``calibration.leakage_reference_flops_per_sram_byte``),
so it grows with the size of the design, not with the workload.

DVFS: :func:`voltage_scale` is a linear V/f curve ``V/V_nom = v0 + (1 - v0) s`` for a clock
scale ``s`` (v0 = ``calibration.dvfs_v_floor_fraction``). Energy per operation scales with
``V^2``, static power with ``V``. The clock that keeps a package at its TDP is found by the driver
(:mod:`archsweep.model.driver`: bisection on ``s``, the performance recomputed at each trial).

One die, one V/f curve (:func:`die_clock_scale`): ``V_nom`` is the voltage of the design's own
nominal clock unless the part names the clock of its die's reference bin (part-physics column
``die_reference_clock_hz``, > 0): then ``s`` is the clock over that reference, so a faster bin of
the same silicon (GB200 runs the B200 die at 2450 / 2250 of its rated peak) pays the voltage of
its clock, ``V = v0 + (1 - v0) f / f_ref``, in dynamic energy (``V^2``) and leakage (``V``). The
leakage reference (:func:`peak_dynamic_power_w`) stays at ``V_nom``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from archsweep.model.activity import ActivityCounts
from archsweep.model.area import AreaBreakdown, link_values, memory_values, node_values
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.technology import Technology

__all__ = ["EnergyBreakdown", "nominal_design", "step_energy", "static_power_w", "peak_dynamic_power_w", "voltage_scale",
           "die_clock_scale", "power_limited_clock_scale"]

_BITS = 8.0


@dataclass(frozen=True)
class EnergyBreakdown:
    """Dynamic energy per accelerator per step, J."""

    matrix_bf16_j: np.ndarray
    matrix_fp8_j: np.ndarray
    vector_j: np.ndarray
    sram_j: np.ndarray
    hbm_j: np.ndarray
    noc_j: np.ndarray
    scaleup_j: np.ndarray
    scaleout_j: np.ndarray
    d2d_j: np.ndarray
    total_dynamic_j: np.ndarray


def voltage_scale(clock_scale: np.ndarray | float, tech: Technology) -> np.ndarray:
    """Supply voltage relative to nominal at clock ``clock_scale`` x nominal (linear V/f curve)."""
    v0 = tech.calibration.dvfs_v_floor_fraction
    return v0 + (1.0 - v0) * np.asarray(clock_scale, dtype=np.float64)


def die_clock_scale(hw: HardwareArrays, clock_scale: np.ndarray | float) -> np.ndarray:
    """Clock on the die's V/f curve for ``hw`` run at ``clock_scale`` x its nominal ``hw.clock_hz``:
    ``clock_scale`` where the part has no die reference (``die_reference_clock_hz`` 0), else the clock
    over the reference bin's, ``clock_scale x clock_hz / die_reference_clock_hz``."""
    ref = np.asarray(hw.die_reference_clock_hz, dtype=np.float64)
    scale = np.asarray(clock_scale, dtype=np.float64)
    if not np.any(ref > 0):
        return scale
    return np.where(ref > 0, scale * np.asarray(hw.clock_hz, dtype=np.float64) / np.where(ref > 0, ref, 1.0), scale)


def _op_energies(hw: HardwareArrays, tech: Technology) -> dict[str, np.ndarray]:
    f = tech.calibration.datapath_energy_factor
    return {
        "bf16": node_values(hw, tech, "mac_bf16_j") * f,
        "fp8": node_values(hw, tech, "mac_fp8_j") * f,
        "fma": node_values(hw, tech, "fma_fp32_j") * f,
        "sram": node_values(hw, tech, "sram_j_per_bit"),
        "wire": node_values(hw, tech, "wire_j_per_bit_per_mm"),
        "hbm": memory_values(hw, tech, "energy_j_per_bit"),
        "up": link_values(hw, tech, "scaleup_link", "energy_j_per_bit"),
        "out": link_values(hw, tech, "host_link", "energy_j_per_bit"),
    }


def nominal_design(hw: HardwareArrays, clock_scale: np.ndarray | float) -> HardwareArrays:
    """The design ``hw`` runs at ``clock_scale`` x its nominal clock: ``hw`` with ``clock_hz / clock_scale``
    (``hw`` itself at scale 1). Raises ValueError on a clock scale that is not > 0 (no nominal clock)."""
    scale = np.asarray(clock_scale, dtype=np.float64)
    if np.all(scale == 1.0):
        return hw
    if not np.all(scale > 0.0):
        raise ValueError(f"clock_scale {scale[~(scale > 0.0)].ravel()[:3].tolist()}: a clock scale (the run clock over "
                         "the design's nominal clock) must be > 0")
    return replace(hw, clock_hz=hw.clock_hz / scale)


def step_energy(hw: HardwareArrays, tech: Technology, activity: ActivityCounts, area: AreaBreakdown,
                clock_scale: np.ndarray | float = 1.0, nominal: HardwareArrays | None = None) -> EnergyBreakdown:
    """Dynamic energy of one step at ``clock_scale`` (logic energies scale with V^2; HBM and SerDes do not).

    Args:
        area: the candidates' area (NoC distance = ``noc_distance_fraction x sqrt(die area)``).
        clock_scale: ``hw.clock_hz`` over the design's nominal clock (DVFS); ``hw.clock_hz`` is the clock
            the step ran at, so the die's V/f point is ``hw.clock_hz`` over its reference clock where the
            part names one (:func:`die_clock_scale` of the nominal design).
        nominal: that nominal design where the caller has it (``power_area_cost`` does);
            else :func:`nominal_design` of ``hw`` and ``clock_scale``.
    """
    scale = np.asarray(clock_scale, dtype=np.float64)
    nominal = nominal_design(hw, scale) if nominal is None else nominal
    return _dynamic_energy(hw, tech, activity, area, voltage_scale(die_clock_scale(nominal, scale), tech) ** 2)


def _dynamic_energy(hw: HardwareArrays, tech: Technology, activity: ActivityCounts, area: AreaBreakdown,
                    v2: np.ndarray | float) -> EnergyBreakdown:
    """:func:`step_energy` with logic energies at ``v2`` x their nominal-voltage values."""
    e = _op_energies(hw, tech)
    noc_mm = tech.calibration.noc_distance_fraction * np.sqrt(area.die_area_mm2)
    matrix_bf16 = activity.matrix_flops_bf16 / 2 * e["bf16"] * v2
    matrix_fp8 = activity.matrix_flops_fp8 / 2 * e["fp8"] * v2
    vector = activity.vector_flops / 2 * e["fma"] * v2
    sram = activity.sram_bytes * _BITS * e["sram"] * v2
    moved = activity.hbm_bytes + activity.scaleup_bytes + activity.scaleout_bytes
    noc = moved * _BITS * e["wire"] * noc_mm * v2
    hbm = activity.hbm_bytes * _BITS * e["hbm"]
    up = activity.scaleup_bytes * _BITS * e["up"]
    out = activity.scaleout_bytes * _BITS * e["out"]
    # Chiplets: the share (dies - 1) / dies of the memory traffic, scaled by the boundary
    # bandwidth fraction, crosses a die-to-die interface.
    d2d_tech = tech.links.die_to_die
    dies = area.dies_per_package
    d2d = activity.hbm_bytes * d2d_tech.bw_fraction_of_hbm * (dies - 1.0) / dies * _BITS * d2d_tech.energy_j_per_bit
    total = matrix_bf16 + matrix_fp8 + vector + sram + noc + hbm + up + out + d2d
    return EnergyBreakdown(matrix_bf16, matrix_fp8, vector, sram, hbm, noc, up, out, d2d, total)


def peak_dynamic_power_w(hw: HardwareArrays, tech: Technology, area: AreaBreakdown) -> np.ndarray:
    """Dynamic power with every engine at its peak rate for one second (reference for leakage), W."""
    peak = ActivityCounts(
        matrix_flops_bf16=hw.peak_matrix_flops_bf16, matrix_flops_fp8=np.zeros_like(hw.clock_hz),
        vector_flops=hw.peak_vector_flops, hbm_bytes=hw.hbm_bw_bytes_per_s,
        sram_bytes=hw.peak_matrix_flops_bf16 / tech.calibration.leakage_reference_flops_per_sram_byte,
        scaleup_bytes=hw.scaleup_bw_bytes_per_s, scaleout_bytes=hw.scaleout_bw_bytes_per_s,
    )
    return _dynamic_energy(hw, tech, peak, area, 1.0).total_dynamic_j


def static_power_w(hw: HardwareArrays, tech: Technology, area: AreaBreakdown,
                   clock_scale: np.ndarray | float = 1.0) -> np.ndarray:
    """Leakage power, W, of the nominal design ``hw`` run at ``clock_scale``: node leakage fraction x peak
    dynamic power (at ``V_nom``), scaled linearly with V at the die's V/f point (:func:`die_clock_scale`)."""
    frac = node_values(hw, tech, "leakage_fraction")
    return frac * peak_dynamic_power_w(hw, tech, area) * voltage_scale(die_clock_scale(hw, clock_scale), tech)



def power_limited_clock_scale(nominal: HardwareArrays, tech: Technology, activity: ActivityCounts, area: AreaBreakdown,
                              step_time_s: np.ndarray, floor_scale: np.ndarray) -> np.ndarray:
    """Clock scale (over the nominal design ``nominal``'s clock, at most 1) at which an accelerator doing
    ``activity`` in a step of ``step_time_s`` (set by another device: a pipeline's critical stage) draws its TDP,
    never below ``floor_scale``: its own power limit, as each GPU's power controller holds it.

    Its power at voltage ``V`` (:func:`voltage_scale` of :func:`die_clock_scale`) is ``a V^2 + b V + c``: ``a`` the
    logic energy (matrix, vector, SRAM, NoC) at ``V_nom`` over the step, ``b`` the leakage at ``V_nom``
    (:func:`static_power_w`), ``c`` the HBM, link and die-to-die energy over the step (no V); the root of
    ``a V^2 + b V + c = TDP`` is mapped back through the V/f line. 1 where the TDP is out of reach at the nominal
    clock, ``floor_scale`` where even that clock would exceed it."""
    e = _dynamic_energy(nominal, tech, activity, area, 1.0)
    fixed = e.hbm_j + e.scaleup_j + e.scaleout_j + e.d2d_j
    step = np.asarray(step_time_s, dtype=np.float64)
    a = np.maximum(e.total_dynamic_j - fixed, 1e-300) / step
    b = node_values(nominal, tech, "leakage_fraction") * peak_dynamic_power_w(nominal, tech, area)
    room = np.maximum(nominal.tdp_w - fixed / step, 0.0)
    volts = (np.sqrt(b * b + 4.0 * a * room) - b) / (2.0 * a)
    v0 = tech.calibration.dvfs_v_floor_fraction
    per_scale = die_clock_scale(nominal, 1.0)  # die clock scale per unit of clock scale (1, or clock / reference)
    scale = (volts - v0) / ((1.0 - v0) * per_scale)
    return np.clip(scale, np.asarray(floor_scale, dtype=np.float64), 1.0)
