"""The columns that depend on the hardware design alone: area, yield and price (no workload, no mapping).

:func:`design_columns` is what :func:`archsweep.model.ppa.power_area_cost` reports for these columns, computed
from the candidates alone (:func:`archsweep.model.area.die_area` and :mod:`archsweep.model.cost`): the same
numbers for every workload and every mapping of a design, and closed-form, so a search can know them exactly
for a candidate it has not evaluated (``surrogate_exact_design``, :mod:`archsweep.search.designobjectives`).
Clock and TDP do not enter them: area and price are those of the design at any DVFS point.
"""

from __future__ import annotations

import numpy as np

from archsweep.model import cost
from archsweep.model.area import AreaBreakdown, die_area, node_values
from archsweep.spec.columns import DESIGN_COLUMNS
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.technology import Technology

__all__ = ["design_columns"]


def design_columns(hw: HardwareArrays, tech: Technology, area: AreaBreakdown | None = None) -> dict[str, np.ndarray]:
    """Area (mm2), die count, die yield, package price and system capex (USD) and the reticle constraint of every
    candidate (:data:`DESIGN_COLUMNS`; ``area``: :func:`~archsweep.model.area.die_area` of ``hw`` when the caller
    has it already)."""
    area = die_area(hw, tech) if area is None else area
    accelerator = cost.accelerator_cost_usd(hw, tech, area)
    out = {
        "die_area_mm2": area.die_area_mm2,
        "dies_per_package": area.dies_per_package,
        "yield": cost.die_yield(area.die_area_mm2, node_values(hw, tech, "defect_density_per_mm2"), tech),
        "accelerator_cost_usd": accelerator,
        "system_capex_usd": cost.system_capex_usd(hw, tech, accelerator),
        "violation_reticle": area.reticle_violation,
        "area_compute_mm2": area.compute_mm2, "area_sram_mm2": area.sram_mm2,
        "area_hbm_phy_mm2": area.hbm_phy_mm2, "area_io_phy_mm2": area.io_phy_mm2,
        "area_noc_uncore_mm2": area.noc_uncore_mm2, "area_d2d_mm2": area.d2d_mm2,
        "area_total_silicon_mm2": area.total_silicon_mm2,
        "package_area_mm2": cost.package_area_mm2(hw, tech, area),
    }
    return {k: out[k] for k in DESIGN_COLUMNS}
