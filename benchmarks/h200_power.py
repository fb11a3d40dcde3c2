"""The model's power against the board power of one NVIDIA H200 under steady loads of known activity (s34).

    python benchmarks/h200_power.py

``data/validation/h200_power_points.csv`` holds what ``benchmarks/device/power_points.py`` (``hopper_kernels.py
--sections power`` and ``power_partial``) measured on one H200 SXM (700 W) on 2026-12-04: each load run back to back
for 5 s after 3 s of idle, the NVML energy counter over its last 4 s, the loads' FLOP and byte rates from their
shapes and CUDA-event times, and nvidia-smi's median SM clock and throttle reasons in the same window (method in
data/validation/SOURCE.md). Printed per load: the measured power, the model's (:mod:`archsweep.model.power`: the
load's matrix, vector, SRAM and HBM rates as :class:`~archsweep.model.activity.ActivityCounts` for one second, at
the measured clock, plus static power) and its parts; then what the measurements give directly:

* the clocked, idle chip (one SM spinning at 1,980 MHz) against the model's static power;
* the energy per streamed HBM bit above that baseline (copy, read-only reduction, weight-streaming decode GEMMs,
  the copy at half its bandwidth), against the model's HBM + NoC energy per bit;
* GEMMs at the 700 W cap: the clock the board holds against the model's power at that clock;
* the energy per operation above the clocked idle chip of the loads that run one kind of operation at the top clock
  (BF16 and FP8 GEMM bursts between spins, an FP32 FMA loop), against the model's dynamic energy of the same load.

A ratio > 1 is the model drawing more than the board. Read docs/model-accuracy.md "s34" for what it says.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from mamf_load_power import FLOP_PER_SRAM_BYTE, load_energy
from xla_gemm_rates import part_hardware, validation_rows

from archsweep.load.technology import load_technology
from archsweep.model.activity import ActivityCounts
from archsweep.model.area import die_area
from archsweep.model.power import static_power_w

POINTS = "h200_power_points.csv"


@dataclass(frozen=True)
class PowerPoint:
    """One measured load: workload, run, board power (W), SM clock (Hz), whether the power cap bound, and its rates
    per second (matrix FLOPs of ``datatype``, vector FLOPs, HBM and L2 bytes)."""

    workload: str
    run_utc: str
    power_w: float
    clock_hz: float
    capped: bool
    datatype: str
    flop_per_s: float
    hbm_bytes_per_s: float
    l2_bytes_per_s: float


@cache
def points() -> tuple[PowerPoint, ...]:
    """Every measured load of data/validation/``POINTS``."""
    out = []
    for r in validation_rows(POINTS):
        seconds = float(r["seconds_per_call"])
        out.append(PowerPoint(r["workload"], r["run_utc"], float(r["power_w"]), float(r["smi_clock_mhz_median"]) * 1e6,
                              "0x0000000000000004" in r["smi_event_reasons"], r["datatype"],
                              float(r["flop_per_call"]) / seconds, float(r["hbm_bytes_per_call"]) / seconds,
                              float(r["l2_bytes_per_call"]) / seconds))
    return tuple(out)


def model_power_w(point: PowerPoint) -> dict[str, float]:
    """The model's power, W, of the catalog H200 doing ``point``'s activity for one second at its measured clock:
    ``total``, ``static`` and each dynamic part (matrix FLOPs stage FLOP / 64 SRAM bytes, the L2 bytes of a
    reduction count as SRAM bytes)."""
    hw, tech = part_hardware("H200"), load_technology()
    zero = np.zeros(1)

    def rate(kind: str) -> np.ndarray:
        return np.array([point.flop_per_s]) if point.datatype == kind else zero

    matrix = rate("bf16") + rate("fp8")
    activity = ActivityCounts(matrix_flops_bf16=rate("bf16"), matrix_flops_fp8=rate("fp8"), vector_flops=rate("vector"),
                              hbm_bytes=np.array([point.hbm_bytes_per_s]),
                              sram_bytes=np.array([point.l2_bytes_per_s]) + matrix / FLOP_PER_SRAM_BYTE,
                              scaleup_bytes=zero, scaleout_bytes=zero)
    scale = point.clock_hz / float(np.ravel(hw.clock_hz)[0])
    energy = load_energy(hw, tech, activity, scale)
    parts = {"static": float(np.ravel(static_power_w(hw, tech, die_area(hw, tech), scale))[0])}
    for name in ("matrix_bf16_j", "matrix_fp8_j", "vector_j", "sram_j", "hbm_j", "noc_j"):
        parts[name.removesuffix("_j")] = float(np.ravel(getattr(energy, name))[0])
    parts["total"] = parts["static"] + float(np.ravel(energy.total_dynamic_j)[0])
    return parts


def clocked_idle_w() -> float:
    """Mean board power, W, of the runs' one-SM spinning kernel (the chip clocked at 1,980 MHz, no work)."""
    return float(np.mean([p.power_w for p in points() if p.workload == "spin_one_sm"]))


def streaming_pj_per_bit(point: PowerPoint) -> float:
    """Board energy per streamed HBM bit, pJ, above the clocked idle chip."""
    return (point.power_w - clocked_idle_w()) / (8.0 * point.hbm_bytes_per_s) * 1e12


def model_streaming_pj_per_bit() -> float:
    """The model's energy per HBM bit of a pure stream (HBM + NoC), pJ, at the top clock."""
    probe = PowerPoint("probe", "", 0.0, 1.98e9, False, "none", 0.0, 1e12, 0.0)
    parts = model_power_w(probe)
    return (parts["hbm"] + parts["noc"]) / 8.0


def energy_per_flop_pj(point: PowerPoint) -> tuple[float, float]:
    """(board, model) energy per FLOP, pJ, of ``point`` above the clocked idle chip (board) and without static power
    (model)."""
    parts = model_power_w(point)
    return ((point.power_w - clocked_idle_w()) / point.flop_per_s * 1e12,
            (parts["total"] - parts["static"]) / point.flop_per_s * 1e12)


def operation_loads() -> list[PowerPoint]:
    """The unthrottled loads of one kind of operation at the top clock: GEMM bursts between spins and the FMA loop."""
    return [p for p in points() if not p.capped and p.hbm_bytes_per_s < 1e12 and p.flop_per_s > 1e12
            and p.datatype in ("bf16", "fp8", "vector")]


def streams() -> list[PowerPoint]:
    """The unthrottled loads that move HBM bytes with (next to) no matrix work."""
    return [p for p in points() if p.hbm_bytes_per_s > 1e12 and not p.capped and p.flop_per_s < 1e13]


def main() -> None:
    print(f"{'load':24s} {'run':18s} {'MHz':>5s} {'cap':>3s} {'board W':>8s} {'model W':>8s} {'model/board':>11s}  "
          "model parts (W)")
    for p in points():
        parts = model_power_w(p)
        shown = " ".join(f"{k} {v:.0f}" for k, v in parts.items() if k != "total" and v >= 0.5)
        print(f"{p.workload:24s} {p.run_utc:18s} {p.clock_hz / 1e6:5.0f} {'yes' if p.capped else 'no':>3s} "
              f"{p.power_w:8.1f} {parts['total']:8.1f} {parts['total'] / p.power_w:11.2f}  {shown}")
    idle = clocked_idle_w()
    static = model_power_w(PowerPoint("idle", "", 0.0, 1.98e9, False, "none", 0.0, 0.0, 0.0))["static"]
    print(f"\nclocked idle (one SM spinning, 1,980 MHz): board {idle:.1f} W, model static {static:.1f} W")
    print("energy per streamed HBM bit above the clocked idle chip, pJ: "
          + ", ".join(f"{p.workload} {p.hbm_bytes_per_s / 1e12:.2f} TB/s {streaming_pj_per_bit(p):.1f}"
                      for p in streams())
          + f"; model (HBM + NoC) {model_streaming_pj_per_bit():.1f}")
    print("energy per FLOP above the clocked idle chip at 1,980 MHz, pJ (board / model's dynamic): "
          + ", ".join(f"{p.workload} {board:.3f} / {model:.3f}"
                      for p in operation_loads() for board, model in [energy_per_flop_pj(p)]))


if __name__ == "__main__":
    main()
