"""The one combining function of power, area, cost and reliability (called after performance).

``power_area_cost`` takes the performance model's per-step activity counts and step time and
returns tidy columns (one array per column, the candidates' broadcast shape). Constraint
columns follow the convention "> 0 means violated".
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from archsweep.model import cost, reliability
from archsweep.model.activity import ActivityCounts
from archsweep.model.area import AreaBreakdown, die_area
from archsweep.model.design import design_columns
from archsweep.model.power import (
    EnergyBreakdown,
    nominal_design,
    power_limited_clock_scale,
    static_power_w,
    step_energy,
)
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.technology import Technology

__all__ = ["power_area_cost", "PPA_COLUMNS"]

#: Columns returned by :func:`power_area_cost`, in order.
PPA_COLUMNS: tuple[str, ...] = (
    "power_w", "energy_per_token_j", "die_area_mm2", "dies_per_package", "yield", "accelerator_cost_usd",
    "system_capex_usd", "system_power_w", "tco_usd_per_year", "usd_per_million_tokens", "goodput",
    "time_to_train_s", "carbon_kg_co2e", "tokens_per_s_per_w", "violation_reticle", "violation_tdp",
    "area_compute_mm2", "area_sram_mm2", "area_hbm_phy_mm2", "area_io_phy_mm2", "area_noc_uncore_mm2",
    "area_d2d_mm2", "area_total_silicon_mm2", "package_area_mm2",
    "energy_matrix_bf16_j", "energy_matrix_fp8_j", "energy_vector_j", "energy_sram_j", "energy_hbm_j",
    "energy_noc_j", "energy_scaleup_j", "energy_scaleout_j", "energy_d2d_j", "energy_dynamic_j", "power_static_w",
    "power_busiest_w", "power_busy_w",
)


def power_area_cost(hw: HardwareArrays, tech: Technology, activity: ActivityCounts, step_time_s: np.ndarray,
                    tokens_per_step: np.ndarray | float, total_tokens: np.ndarray | float,
                    checkpoint_bytes: np.ndarray, *, clock_scale: np.ndarray | float = 1.0,
                    busiest_activity: ActivityCounts | None = None,
                    busiest_share: np.ndarray | float = 1.0,
                    busy_time_s: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Power, area, cost, TCO, goodput and carbon of every candidate.

    Args:
        hw: candidates (clock_hz is the clock the activity and step time were computed at).
        activity: per-accelerator work of one step.
        step_time_s: seconds per optimizer step.
        tokens_per_step: tokens per optimizer step (whole job).
        total_tokens: token budget of the training run.
        checkpoint_bytes: size of one full checkpoint of the job (see
            :func:`archsweep.model.reliability.checkpoint_size_bytes`).
        clock_scale: ``hw.clock_hz`` / the design's nominal clock (DVFS): logic energy per
            operation scales with V^2 and leakage with V, V the voltage of the die's V/f point
            (:func:`archsweep.model.power.voltage_scale` of
            :func:`archsweep.model.power.die_clock_scale`: ``clock_scale`` itself, or the clock over
            the die's reference bin where the part names one); area and cost are those of the design.
        busiest_activity: the busiest accelerator's work of one step where devices differ (a training pipeline's
            slowest stage; None: ``activity``): its power over the step is ``power_busiest_w``, over its busy phase
            ``power_busy_w`` (``busy_time_s``), what ``violation_tdp`` and the driver's DVFS judge against the TDP;
            ``power_w`` and every energy column are the average device's
            (``activity``), so ``power_w x devices`` is the system's accelerator power.
        busiest_share: the busiest device's share of the devices (a pipeline's 1 / pp). Where the TDP cap lowers
            the clock (``clock_scale`` < 1: the busiest device's, which sets the step), the other devices run at
            their own power-limited clock (:func:`_other_stages_at_their_clock`), and ``power_w`` and the energy
            columns are the share-weighted mean of the two.
        busy_time_s: the busiest device's busy phase, s (a training step's kernels: its forward / backward passes
            with the per-layer waits inside them; None: the whole step): ``power_busy_w`` is that device's dynamic
            energy of the step over it plus leakage, the power its controller sees while the phase lasts (every
            dynamic joule counted in the phase: an upper bound). The driver's DVFS holds it to the TDP
            (model/driver.py ``_dvfs``).

    Returns:
        mapping column name -> float64 array (:data:`PPA_COLUMNS`).
    """
    step = np.asarray(step_time_s, dtype=np.float64)
    n = hw.accelerator_count
    area = die_area(hw, tech)
    scale = np.asarray(clock_scale, dtype=np.float64)
    nominal = nominal_design(hw, scale)
    energy, busiest_energy = _device_energies(hw, tech, activity, busiest_activity, area, scale, nominal)
    # Leakage is the design's (its peak rates at the nominal clock), at the DVFS voltage.
    static = static_power_w(nominal, tech, area, scale)
    # The busiest device's powers, before the other stages move to their own clock (they do not change it).
    busiest, busy_power = _busiest_device_power_w((energy if busiest_energy is None else busiest_energy).total_dynamic_j,
                                                  static, step, busy_time_s)
    if busiest_activity is not None and np.any(scale < 1.0) and np.any(np.asarray(busiest_share) < 1.0):
        energy, static = _other_stages_at_their_clock(hw, tech, activity, busiest_activity, area, step, scale, nominal,
                                                      np.asarray(busiest_share, dtype=np.float64), energy, static)
    power = energy.total_dynamic_j / step + static
    tokens_per_s = np.asarray(tokens_per_step, dtype=np.float64) / step

    design = design_columns(hw, tech, area)
    it_power = cost.system_power_w(hw, tech, power)
    tco = cost.tco_usd_per_year(tech, design["system_capex_usd"], it_power)

    mtbf = 1.0 / reliability.job_failure_rate_per_s(hw, tech)
    delta = reliability.checkpoint_write_s(hw, tech, checkpoint_bytes)
    good = reliability.goodput(delta, reliability.restart_s(hw, tech, checkpoint_bytes), mtbf)
    ttt = reliability.time_to_train_s(np.asarray(total_tokens, dtype=np.float64), tokens_per_s, good)
    e = tech.economics

    out = {
        **design,
        "power_w": power,
        "energy_per_token_j": power * n * step / np.asarray(tokens_per_step, dtype=np.float64),
        "system_power_w": it_power,
        "tco_usd_per_year": tco,
        "usd_per_million_tokens": cost.usd_per_million_tokens(tco, tokens_per_s * good),
        "goodput": good,
        "time_to_train_s": ttt,
        "carbon_kg_co2e": it_power * e.pue * ttt / 3.6e6 * e.carbon_kg_per_kwh,
        "tokens_per_s_per_w": tokens_per_s / (n * power),
        "violation_tdp": (busy_power - hw.tdp_w) / hw.tdp_w,
        "energy_matrix_bf16_j": energy.matrix_bf16_j, "energy_matrix_fp8_j": energy.matrix_fp8_j,
        "energy_vector_j": energy.vector_j, "energy_sram_j": energy.sram_j, "energy_hbm_j": energy.hbm_j,
        "energy_noc_j": energy.noc_j, "energy_scaleup_j": energy.scaleup_j, "energy_scaleout_j": energy.scaleout_j,
        "energy_d2d_j": energy.d2d_j,
        "energy_dynamic_j": energy.total_dynamic_j, "power_static_w": static, "power_busiest_w": busiest,
        "power_busy_w": busy_power,
    }
    shape = np.broadcast_shapes(*(np.shape(v) for v in out.values()))
    return {k: np.broadcast_to(np.asarray(out[k], dtype=np.float64), shape) for k in PPA_COLUMNS}


def _busiest_device_power_w(dynamic_j: np.ndarray, static_w: np.ndarray, step_s: np.ndarray,
                            busy_time_s: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(``power_busiest_w``, ``power_busy_w``), W: the busiest device's dynamic energy of one step, J, spread over
    the step (its step-average power) and over its busy phase (``busy_time_s``, at most the step; None or 0: the
    step), each plus the leakage ``static_w``. Every dynamic joule is counted in the busy phase: an upper bound of
    the power its controller sees while the phase lasts (:func:`power_area_cost`)."""
    over_step = dynamic_j / step_s + static_w
    if busy_time_s is None:
        return over_step, over_step
    busy = np.minimum(np.asarray(busy_time_s, dtype=np.float64), step_s)
    return over_step, dynamic_j / np.where(busy > 0.0, busy, step_s) + static_w


def _device_energies(hw: HardwareArrays, tech: Technology, activity: ActivityCounts,
                     busiest_activity: ActivityCounts | None, area: AreaBreakdown, scale: np.ndarray,
                     nominal: HardwareArrays) -> tuple[EnergyBreakdown, EnergyBreakdown | None]:
    """(the average device's, the busiest device's or None) dynamic energy of one step at ``scale``: one
    :func:`~archsweep.model.power.step_energy` over the two devices' counts stacked on a new leading axis (the
    busiest's None: the average's alone). Every input is first broadcast to the evaluation's shape, so the new
    axis never meets a hardware axis."""
    if busiest_activity is None:
        return step_energy(hw, tech, activity, area, scale, nominal), None
    names = [f.name for f in fields(ActivityCounts)]
    inputs = [getattr(a, n) for a in (activity, busiest_activity) for n in names]
    inputs += [getattr(hw, f.name) for f in fields(hw)] + [area.die_area_mm2, scale]
    shape = np.broadcast_shapes(*(np.shape(x) for x in inputs))
    both = ActivityCounts(*(np.stack([np.broadcast_to(getattr(activity, n), shape),
                                      np.broadcast_to(getattr(busiest_activity, n), shape)]) for n in names))
    energy = step_energy(hw, tech, both, area, scale, nominal)
    parts = [np.broadcast_to(getattr(energy, f.name), (2, *shape)) for f in fields(EnergyBreakdown)]
    return EnergyBreakdown(*(x[0] for x in parts)), EnergyBreakdown(*(x[1] for x in parts))


def _other_stages_at_their_clock(hw: HardwareArrays, tech: Technology, activity: ActivityCounts,
                                 busiest_activity: ActivityCounts, area: AreaBreakdown, step: np.ndarray, scale: np.ndarray,
                                 nominal: HardwareArrays, share: np.ndarray, energy: EnergyBreakdown,
                                 static: np.ndarray) -> tuple[EnergyBreakdown, np.ndarray]:
    """(energy, leakage) of the average device when the devices other than the busiest (a pipeline's lighter
    stages: the job's work less the busiest stage's, ``(activity - share x busiest) / (1 - share)`` per device, floored
    at 0) run at their own power-limited clock (:func:`~archsweep.model.power.power_limited_clock_scale`, between
    the busiest device's ``scale`` and 1) and the step stays the busiest device's: each GPU's power controller holds
    its own limit (NVML ``nvmlDeviceSetPowerManagementLimit`` is per device; the DGX B200 user guide's "Managing
    Power Capping": the GPU's PMU enforces the most conservative of its limits), and a lighter stage finishes its
    work sooner at its higher clock, then waits at the pipeline boundary at leakage power. The step time is not
    changed: it is the critical stage's, at the busiest clock. Added as the other devices' change from ``scale``
    to their clock, so it is exactly 0 where that clock is the busiest one's."""
    rest_share = np.where(share < 1.0, 1.0 - share, 0.0)
    denominator = np.where(rest_share > 0.0, rest_share, 1.0)
    rest = ActivityCounts(**{f.name: np.where(rest_share > 0.0, np.maximum(
        (getattr(activity, f.name) - share * getattr(busiest_activity, f.name)) / denominator, 0.0), 0.0)
        for f in fields(ActivityCounts)})
    rest_scale = power_limited_clock_scale(nominal, tech, rest, area, step, scale)
    at_own = step_energy(hw, tech, rest, area, rest_scale, nominal)
    at_busiest = step_energy(hw, tech, rest, area, scale, nominal)
    moved = EnergyBreakdown(*(getattr(energy, f.name) + rest_share * (getattr(at_own, f.name) - getattr(at_busiest, f.name))
                              for f in fields(EnergyBreakdown)))
    leak = static + rest_share * (static_power_w(nominal, tech, area, rest_scale) - static_power_w(nominal, tech, area, scale))
    return moved, leak
