"""The model's power of a catalog part under its own max-achievable-matmul (MAMF) load (s11-energy, issue 10).

    python benchmarks/mamf_load_power.py [--datapath-energy-factor F] [--leakage-fraction L] [--loop] [PART ...]

A part's ``matrix_efficiency`` is MAMF / peak, measured on the real, power-limited chip (data/hardware/catalog.yaml
``measured_max_matmul_*``), so the chip delivered that rate inside its TDP. Per part and datatype (BF16, FP8) this
prints the model's power (:mod:`archsweep.model.power`) under a pure-GEMM load at the MAMF rate (SRAM staged at the
128 x 128 tiles of data/calibration/model.yaml, 64 FLOP per byte; no HBM, vector or link traffic):

* at the catalog clock (``P(s=1)``), and at the lowest clock that can deliver the MAMF rate at all
  (``s = MAMF / peak``: every cycle a full tensor-core issue; ``P(s=eff)``);
* ``s_ref``: the DVFS clock scale at which the MAMF load meets the TDP (1 where it fits at the catalog clock), and
  ``eff/s_ref``: the GEMM efficiency per cycle the measured MAMF would need at that clock (> 1: the model's energy
  per operation makes the measured rate impossible inside the TDP);
* ``f_tdp``: the datapath energy factor (``calibration.datapath_energy_factor``) that puts the BF16 MAMF load at the
  TDP at the catalog clock.

``--datapath-energy-factor`` / ``--leakage-fraction`` (every node) evaluate the table at other energy constants.

``--loop`` prints instead mamf-finder's timed loop in the model (s16-phaseclock): ``benchmark_mm``
(stas00/ml-engineering@744d01e ``compute/accelerator/benchmarks/mamf-finder.py``) times each GEMM alone but, before every
timed GEMM and outside the timed region, zeroes a 256 MiB buffer (``l2_cache.zero_()``) and copies the output matrix
(``C.copy_(C_rand)``): at B200's best FP8 shape (15360 x 4096 x 3072, 387 GFLOP, ~113 us at MAMF) the two take ~50 us
at 8 TB/s, so the GEMM runs ~70 % of the loop (s15-bwdense section 4). The loop repeats every ~0.17 ms, far below the
span a GPU's power controller averages over, so the measured MAMF is the rate at the clock where the loop's *average*
power fits the TDP; a training step's forward / backward stretch runs its GEMMs back to back for seconds, and its
controller sees that phase's own power (model/driver.py ``_dvfs``, ``power_busy_w``). Per part and datatype: the GEMM's
share of the loop, the loop's power (:func:`loop_power_w`) and that of GEMMs back to back at the MAMF rate
(:func:`gemm_power_w`) at the catalog clock, and ``f_loop``, the ``datapath_energy_factor`` at which the larger of the
two loops draws exactly the TDP at the catalog clock (the largest MAC energy consistent with MAMF measured at the rated
clock; the calibration's own where it already fits). One loop for every part and datatype (the B200 FP8 best shape's
GEMM, the 1-byte C of that shape copied, 62.9 MB read and written, and the 256 MiB memset); each part runs the GEMM at
its own MAMF rate and the bytes at its own HBM bandwidth.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
from xla_gemm_rates import part_hardware

from archsweep.load.technology import load_technology
from archsweep.model.activity import ActivityCounts
from archsweep.model.area import die_area
from archsweep.model.power import EnergyBreakdown, static_power_w, step_energy
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.technology import Technology

PARTS = ("A100-SXM4", "H100-SXM", "H200", "B200", "GB200", "B300", "GB300")
FLOP_PER_SRAM_BYTE = 64.0  # 128 x 128 output tiles, 2-byte operands (data/calibration/model.yaml gemm_tile_m / _n)
_BISECTIONS = 40


def mamf_power_w(hw: HardwareArrays, tech: Technology, datatype: str, clock_scale: float) -> float:
    """Model power, W, of ``hw`` delivering its ``datatype`` ("bf16" / "fp8") MAMF rate at ``clock_scale`` x its
    catalog clock (the rate itself held: a lower clock needs more work per cycle)."""
    one_byte = datatype == "fp8"
    peak = hw.peak_matrix_flops_fp8 if one_byte else hw.peak_matrix_flops_bf16
    eff = hw.matrix_efficiency * (hw.fp8_matrix_efficiency_ratio if one_byte else 1.0)
    rate = peak * eff
    zero = np.zeros_like(rate)
    activity = ActivityCounts(matrix_flops_bf16=zero if one_byte else rate, matrix_flops_fp8=rate if one_byte else zero,
                              vector_flops=zero, hbm_bytes=zero, sram_bytes=rate / FLOP_PER_SRAM_BYTE,
                              scaleup_bytes=zero, scaleout_bytes=zero)
    area = die_area(hw, tech)
    energy = step_energy(replace(hw, clock_hz=hw.clock_hz * clock_scale), tech, activity, area, clock_scale, hw)
    return float(np.ravel(energy.total_dynamic_j + static_power_w(hw, tech, area, clock_scale))[0])


def mamf_efficiency(hw: HardwareArrays, datatype: str) -> float:
    """MAMF / peak of ``datatype``."""
    ratio = hw.fp8_matrix_efficiency_ratio if datatype == "fp8" else 1.0
    return float(np.ravel(hw.matrix_efficiency * ratio)[0])


def reference_clock_scale(hw: HardwareArrays, tech: Technology, datatype: str) -> float:
    """The clock scale (<= 1) at which the part delivering its MAMF rate *scaled with the clock* (``MAMF x s``, the
    measured per-cycle efficiency held) meets its TDP; 1 where it fits at the catalog clock."""
    tdp = float(np.ravel(hw.tdp_w)[0])

    def power(s: float) -> float:
        scaled = replace(hw, matrix_efficiency=hw.matrix_efficiency * s)
        return mamf_power_w(scaled, tech, datatype, s)

    if power(1.0) <= tdp:
        return 1.0
    lo, hi = 0.05, 1.0
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if power(mid) <= tdp else (lo, mid)
    return lo


def tdp_datapath_factor(hw: HardwareArrays, tech: Technology) -> float:
    """``datapath_energy_factor`` that puts the BF16 MAMF load at the TDP at the catalog clock (power is linear in it)."""
    def at(f: float) -> float:
        return mamf_power_w(hw, replace(tech, calibration=replace(tech.calibration, datapath_energy_factor=f)), "bf16", 1.0)

    p1, p2 = at(1.0), at(2.0)
    return (float(np.ravel(hw.tdp_w)[0]) - (2.0 * p1 - p2)) / (p2 - p1)


def table(parts: tuple[str, ...], tech: Technology) -> list[str]:
    lines = []
    for name in parts:
        hw = part_hardware(name)
        cells = [f"{name:10s} TDP {float(np.ravel(hw.tdp_w)[0]):5.0f} W"]
        for dt in ("bf16", "fp8"):
            eff = mamf_efficiency(hw, dt)
            s_ref = reference_clock_scale(hw, tech, dt)
            cells.append(f"{dt}: eff {eff:.3f} P(s=1) {mamf_power_w(hw, tech, dt, 1.0):5.0f} W P(s=eff) "
                         f"{mamf_power_w(hw, tech, dt, eff):5.0f} W s_ref {s_ref:.3f} eff/s_ref {eff / s_ref:.3f}")
        cells.append(f"f_tdp {tdp_datapath_factor(hw, tech):.2f}")
        lines.append(" | ".join(cells))
    return lines


#: FLOPs of one timed GEMM of the loop: B200's best FP8 shape, 2 x 15360 x 4096 x 3072 (catalog notes).
LOOP_GEMM_FLOPS = 2.0 * 15360 * 4096 * 3072
#: Bytes moved between two timed GEMMs: the 256 MiB memset written and the 15360 x 4096 1-byte output copied (read
#: and written).
LOOP_MEMORY_BYTES = 256.0 * 2**20 + 2.0 * 15360 * 4096


def mamf_rate(hw: HardwareArrays, datatype: str) -> np.ndarray:
    """The measured MAMF rate of ``datatype`` ("bf16" / "fp8"), FLOP/s at ``hw.clock_hz``."""
    if datatype == "fp8":
        return hw.peak_matrix_flops_fp8 * hw.matrix_efficiency * hw.fp8_matrix_efficiency_ratio
    return hw.peak_matrix_flops_bf16 * hw.matrix_efficiency


def _gemm_activity(hw: HardwareArrays, datatype: str, flops: np.ndarray) -> ActivityCounts:
    zero = np.zeros_like(np.asarray(flops, dtype=np.float64))
    one_byte = datatype == "fp8"
    return ActivityCounts(matrix_flops_bf16=zero if one_byte else flops, matrix_flops_fp8=flops if one_byte else zero,
                          vector_flops=zero, hbm_bytes=zero, sram_bytes=flops / FLOP_PER_SRAM_BYTE,
                          scaleup_bytes=zero, scaleout_bytes=zero)


def load_energy(hw: HardwareArrays, tech: Technology, activity: ActivityCounts, clock_scale: float) -> EnergyBreakdown:
    """Dynamic energy of ``activity`` on ``hw`` run at ``clock_scale`` x its catalog clock, J, by part (a load's
    power where ``activity`` counts one second of it; benchmarks/h200_power.py reads the parts)."""
    area = die_area(hw, tech)
    return step_energy(replace(hw, clock_hz=hw.clock_hz * clock_scale), tech, activity, area, clock_scale, hw)


def _at(hw: HardwareArrays, tech: Technology, activity: ActivityCounts, clock_scale: float) -> np.ndarray:
    """Dynamic energy of ``activity`` on ``hw`` run at ``clock_scale`` x its catalog clock, J."""
    return load_energy(hw, tech, activity, clock_scale).total_dynamic_j


def gemm_power_w(hw: HardwareArrays, tech: Technology, datatype: str, clock_scale: float = 1.0) -> np.ndarray:
    """Power, W, of GEMMs back to back at the MAMF rate scaled with the clock (``MAMF x clock_scale``: the measured
    work per cycle held): a training step's GEMM phase as its controller sees it."""
    return gemm_load_power_w(hw, tech, datatype, mamf_rate(hw, datatype) * clock_scale, clock_scale)


def gemm_load_power_w(hw: HardwareArrays, tech: Technology, datatype: str, rate_flop_per_s: np.ndarray | float,
                      clock_scale: float) -> np.ndarray:
    """Power, W, of ``datatype`` GEMMs back to back at ``rate_flop_per_s`` on ``hw`` run at ``clock_scale`` x its
    catalog clock: their dynamic energy per second plus static power at that clock."""
    activity = _gemm_activity(hw, datatype, np.asarray(rate_flop_per_s, dtype=np.float64))
    return _at(hw, tech, activity, clock_scale) + static_power_w(hw, tech, die_area(hw, tech), clock_scale)


def loop_power_w(hw: HardwareArrays, tech: Technology, datatype: str, clock_scale: float = 1.0) -> np.ndarray:
    """Average power, W, of mamf-finder's loop (:data:`LOOP_GEMM_FLOPS` at the MAMF rate x ``clock_scale``, then
    :data:`LOOP_MEMORY_BYTES` at the HBM bandwidth) at ``clock_scale``."""
    gemm_s = LOOP_GEMM_FLOPS / (mamf_rate(hw, datatype) * clock_scale)
    memory_s = LOOP_MEMORY_BYTES / hw.hbm_bw_bytes_per_s
    flops = np.full(np.shape(gemm_s), LOOP_GEMM_FLOPS)
    memory = replace(_gemm_activity(hw, datatype, 0.0 * flops), hbm_bytes=np.full(np.shape(gemm_s), LOOP_MEMORY_BYTES))
    energy = _at(hw, tech, _gemm_activity(hw, datatype, flops), clock_scale) + _at(hw, tech, memory, clock_scale)
    return energy / (gemm_s + memory_s) + static_power_w(hw, tech, die_area(hw, tech), clock_scale)


def _with_factor(tech: Technology, factor: float) -> Technology:
    return replace(tech, calibration=replace(tech.calibration, datapath_energy_factor=factor))


def loop_datapath_factor(hw: HardwareArrays, tech: Technology) -> float:
    """The ``datapath_energy_factor`` (at most the calibration's) at which the larger of the BF16 and FP8 loops
    (:func:`loop_power_w`) draws exactly ``hw.tdp_w`` at the catalog clock; each loop's power is linear in the
    factor (MAC energy and the leakage it sets scale with it, HBM and SRAM energy do not): solved from two points."""
    tdp, base = float(np.ravel(hw.tdp_w)[0]), tech.calibration.datapath_energy_factor
    factors = [base]
    for dt in ("bf16", "fp8"):
        p1, p2 = (float(np.ravel(loop_power_w(hw, _with_factor(tech, f), dt))[0]) for f in (1.0, 2.0))
        if p1 + (base - 1.0) * (p2 - p1) > tdp:
            factors.append(1.0 + (tdp - p1) / (p2 - p1))
    return min(factors)


def loop_table(parts: tuple[str, ...], tech: Technology) -> list[str]:
    lines = [f"datapath_energy_factor {tech.calibration.datapath_energy_factor}; loop {LOOP_GEMM_FLOPS / 1e9:.1f} GFLOP "
             f"+ {LOOP_MEMORY_BYTES / 1e6:.1f} MB"]
    for name in parts:
        hw = part_hardware(name)
        f = (lambda x: float(np.ravel(x)[0]))  # noqa: E731 - local reader
        cells = [f"{name:10s} TDP {f(hw.tdp_w):5.0f} W"]
        for dt in ("bf16", "fp8"):
            duty = (LOOP_GEMM_FLOPS / f(mamf_rate(hw, dt))) / (LOOP_GEMM_FLOPS / f(mamf_rate(hw, dt))
                                                                 + LOOP_MEMORY_BYTES / f(hw.hbm_bw_bytes_per_s))
            cells.append(f"{dt}: GEMM duty {duty:.2f} loop {f(loop_power_w(hw, tech, dt)):5.0f} W "
                         f"GEMMs back to back {f(gemm_power_w(hw, tech, dt)):5.0f} W")
        cells.append(f"f_loop {loop_datapath_factor(hw, tech):.2f}")
        lines.append(" | ".join(cells))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("parts", nargs="*", default=list(PARTS))
    parser.add_argument("--datapath-energy-factor", type=float, default=None)
    parser.add_argument("--leakage-fraction", type=float, default=None)
    parser.add_argument("--loop", action="store_true", help="mamf-finder's loop and GEMMs back to back (s16-phaseclock)")
    args = parser.parse_args()
    tech = load_technology()
    if args.datapath_energy_factor is not None:
        tech = replace(tech, calibration=replace(tech.calibration, datapath_energy_factor=args.datapath_energy_factor))
    if args.leakage_fraction is not None:
        tech = replace(tech, nodes={k: replace(v, leakage_fraction=args.leakage_fraction) for k, v in tech.nodes.items()})
    if args.loop:
        print("\n".join(loop_table(tuple(args.parts), tech)))
        return
    print(f"datapath_energy_factor {tech.calibration.datapath_energy_factor}")
    print("\n".join(table(tuple(args.parts), tech)))


if __name__ == "__main__":
    main()
