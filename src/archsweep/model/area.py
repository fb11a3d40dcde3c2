"""Die area of a candidate from its microarchitecture and process node (mm^2).

Components (one function each, summed in :func:`die_area`):

* compute: ``harvest x units x (MACs_bf16 t_mac + MACs_fp8 t_fp8 + FMAs_fp32 t_fma + t_unit) / density``;
  MACs per cycle = FLOP per cycle / 2; transistor budgets per MAC/FMA follow LLMCompass's
  mantissa-squared rule (FP64 FPU 685,300 transistors, ``(m/52)^2``), the per-unit overhead
  (schedulers, register file, load/store, L1 logic) is fitted to the A100 and H100 dies
  (``data/technology/calibration.yaml``).
* SRAM: ``harvest x bytes / (macro density) x overhead`` (tags, ECC, slice logic; overhead
  fitted to the A100 L2 area of 2.98 mm^2/MB from LLMCompass Fig. 6).
* HBM PHY + controller per stack, link PHYs + controllers per lane (lanes = bandwidth /
  lane rate; at least ``min_host_lanes`` host lanes), LLMCompass PHY areas.
* NoC and uncore as a fraction of compute + SRAM (A100 crossbar 76.44 mm^2 / (SM + L2)).

Designs whose silicon exceeds the usable reticle split into ``ceil(total / usable)`` chiplets
(at most ``max_compute_dies_per_package``), each die adding die-to-die PHY area for a
boundary bandwidth of ``bw_fraction_of_hbm x HBM bandwidth``. ``reticle_violation`` =
(die area - reticle limit) / reticle limit (> 0 violated): only positive when even the maximum number of
chiplets cannot bring a die under the reticle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.technology import Technology

__all__ = ["AreaBreakdown", "die_area", "node_values", "memory_values", "link_values"]

_MIB = 2.0**20


def node_values(hw: HardwareArrays, tech: Technology, attr: str) -> np.ndarray:
    """Per-candidate value of ``tech.nodes[process_node].<attr>`` (np.unique + lookup, no row loop)."""
    names, inverse = np.unique(np.asarray(hw.process_node), return_inverse=True)
    table = np.array([getattr(tech.nodes[str(n)], attr) for n in names], dtype=np.float64)
    return table[inverse].reshape(np.shape(hw.process_node))


def memory_values(hw: HardwareArrays, tech: Technology, attr: str) -> np.ndarray:
    """Per-candidate value of ``tech.memories[hbm_generation].<attr>``."""
    names, inverse = np.unique(np.asarray(hw.hbm_generation), return_inverse=True)
    table = np.array([getattr(tech.memories[str(n)], attr) for n in names], dtype=np.float64)
    return table[inverse].reshape(np.shape(hw.hbm_generation))


def link_values(hw: HardwareArrays, tech: Technology, which: str, attr: str) -> np.ndarray:
    """Per-candidate ``attr`` of the node's ``which`` link ("scaleup_link" or "host_link")."""
    names, inverse = np.unique(np.asarray(hw.process_node), return_inverse=True)
    table = np.array([getattr(tech.links.lanes[getattr(tech.nodes[str(n)], which)], attr) for n in names],
                     dtype=np.float64)
    return table[inverse].reshape(np.shape(hw.process_node))


@dataclass(frozen=True)
class AreaBreakdown:
    """Silicon area per accelerator package (mm^2) and its split into dies."""

    compute_mm2: np.ndarray
    sram_mm2: np.ndarray
    hbm_phy_mm2: np.ndarray
    io_phy_mm2: np.ndarray
    noc_uncore_mm2: np.ndarray
    d2d_mm2: np.ndarray
    total_silicon_mm2: np.ndarray
    dies_per_package: np.ndarray
    die_area_mm2: np.ndarray
    reticle_violation: np.ndarray


def compute_area_mm2(hw: HardwareArrays, tech: Technology) -> np.ndarray:
    """Matrix + vector arrays and per-unit overhead, mm^2."""
    c = tech.calibration
    density = node_values(hw, tech, "logic_density_mtr_per_mm2") * 1e6
    per_unit = (hw.matrix_flops_per_cycle_per_unit_bf16 / 2 * c.transistors_per_mac_bf16
                + hw.matrix_flops_per_cycle_per_unit_fp8 / 2 * c.transistors_per_mac_fp8
                + hw.vector_flops_per_cycle_per_unit / 2 * c.transistors_per_fma_fp32
                + c.transistors_per_unit_overhead)
    return c.harvest_factor * hw.compute_units * per_unit / density


def sram_area_mm2(hw: HardwareArrays, tech: Technology) -> np.ndarray:
    """On-chip SRAM including cache overhead, mm^2."""
    c = tech.calibration
    mbit = hw.sram_bytes * 8.0 / 1e6
    return c.harvest_factor * c.sram_overhead_factor * mbit / node_values(hw, tech, "sram_macro_density_mbit_per_mm2")


def hbm_phy_area_mm2(hw: HardwareArrays, tech: Technology) -> np.ndarray:
    """HBM PHYs (node-independent) plus controllers (node-scaled), mm^2."""
    density = node_values(hw, tech, "logic_density_mtr_per_mm2") * 1e6
    per_stack = memory_values(hw, tech, "phy_area_mm2_per_stack") + memory_values(hw, tech, "controller_transistors_per_stack") / density
    return hw.hbm_stacks * per_stack


def io_phy_area_mm2(hw: HardwareArrays, tech: Technology) -> np.ndarray:
    """Scale-up link lanes plus host/scale-out (PCIe-class) lanes, PHY + controller, mm^2."""
    density = node_values(hw, tech, "logic_density_mtr_per_mm2") * 1e6
    total = np.zeros(np.broadcast_shapes(np.shape(hw.process_node), np.shape(hw.scaleup_bw_bytes_per_s)))
    for which, bw in (("scaleup_link", hw.scaleup_bw_bytes_per_s), ("host_link", hw.scaleout_bw_bytes_per_s)):
        lanes = np.ceil(bw / link_values(hw, tech, which, "bw_per_lane_bytes_per_s") - 1e-9)
        if which == "host_link":
            lanes = np.maximum(lanes, tech.calibration.min_host_lanes)
        per_lane = link_values(hw, tech, which, "area_mm2_per_lane") + link_values(hw, tech, which, "controller_transistors_per_lane") / density
        total = total + lanes * per_lane
    return total


def die_area(hw: HardwareArrays, tech: Technology) -> AreaBreakdown:
    """Area breakdown and chiplet split of every candidate (see module docstring)."""
    compute = compute_area_mm2(hw, tech)
    sram = sram_area_mm2(hw, tech)
    hbm = hbm_phy_area_mm2(hw, tech)
    io = io_phy_area_mm2(hw, tech)
    uncore = tech.calibration.uncore_fraction * (compute + sram)
    base = compute + sram + hbm + io + uncore
    p = tech.packaging
    usable = p.reticle_limit_mm2 * p.reticle_usable_fraction
    d2d = tech.links.die_to_die
    boundary_tb_per_s = d2d.bw_fraction_of_hbm * hw.hbm_bw_bytes_per_s / 1e12

    def _d2d(n_dies: np.ndarray) -> np.ndarray:
        return np.where(n_dies > 1, n_dies * boundary_tb_per_s * d2d.area_mm2_per_tb_per_s, 0.0)

    # Split count that fits the die-to-die PHYs it adds too (two passes: d2d area grows with dies).
    dies = np.clip(np.ceil(base / usable - 1e-9), 1, p.max_compute_dies_per_package)
    for _ in range(2):
        dies = np.clip(np.maximum(dies, np.ceil((base + _d2d(dies)) / usable - 1e-9)), 1, p.max_compute_dies_per_package)
    d2d_mm2 = _d2d(dies)
    total = base + d2d_mm2
    per_die = total / dies
    return AreaBreakdown(
        compute_mm2=compute, sram_mm2=sram, hbm_phy_mm2=hbm, io_phy_mm2=io, noc_uncore_mm2=uncore,
        d2d_mm2=d2d_mm2, total_silicon_mm2=total, dies_per_package=dies, die_area_mm2=per_die,
        reticle_violation=(per_die - p.reticle_limit_mm2) / p.reticle_limit_mm2,
    )
