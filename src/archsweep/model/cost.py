"""Silicon, package, system and operating cost (USD), from technology prices.

* Dies per wafer (ttm-cas, tech_constants.csv ``dies_per_wafer_model``):
  ``DPW = pi (d/2)^2 / A - pi d / sqrt(2 A)``.
* Negative-binomial yield (``yield_model``): ``Y = (1 + A D0 / alpha)^-alpha``.
* Accelerator price = (good dies + HBM + interposer + assembly/test) / assembly yield,
  divided by ``1 - gross_margin``.
* Network per accelerator: NIC ports (scale-out bandwidth / port bandwidth), switch ports
  per NIC port by topology (folded Clos: ``1 + 2 (tiers - 1) / oversubscription``; tiers from
  the switch radix; dragonfly: 2; torus3d: none) and one optical link per switch port,
  plus switched scale-up fabric cost per GB/s.
* TCO per year = capex / amortisation years + energy per year x PUE x electricity price.
"""

from __future__ import annotations

import numpy as np

from archsweep.model.area import AreaBreakdown, memory_values, node_values
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.technology import Technology

__all__ = ["dies_per_wafer", "die_yield", "cost_per_good_die_usd", "hbm_cost_usd", "package_area_mm2",
           "packaging_cost_usd",
           "accelerator_cost_usd", "network_ports_per_accelerator", "network_cost_per_accelerator_usd",
           "system_power_w", "system_capex_usd", "tco_usd_per_year", "usd_per_million_tokens"]

_SECONDS_PER_YEAR = 365.25 * 86400.0


def dies_per_wafer(die_area_mm2: np.ndarray, tech: Technology) -> np.ndarray:
    """Gross dies per wafer (edge loss included), at least 0."""
    d = tech.packaging.wafer_diameter_mm
    a = np.asarray(die_area_mm2, dtype=np.float64)
    return np.maximum(np.pi * (d / 2) ** 2 / a - np.pi * d / np.sqrt(2 * a), 0.0)


def die_yield(die_area_mm2: np.ndarray, defect_density_per_mm2: np.ndarray, tech: Technology) -> np.ndarray:
    """Negative-binomial die yield in (0, 1]."""
    alpha = tech.packaging.yield_cluster_alpha
    return (1.0 + np.asarray(die_area_mm2) * defect_density_per_mm2 / alpha) ** (-alpha)


def cost_per_good_die_usd(hw: HardwareArrays, tech: Technology, area: AreaBreakdown) -> np.ndarray:
    """Wafer cost / (dies per wafer x yield); inf where no die fits the wafer."""
    dpw = dies_per_wafer(area.die_area_mm2, tech)
    y = die_yield(area.die_area_mm2, node_values(hw, tech, "defect_density_per_mm2"), tech)
    good = dpw * y
    return np.where(good > 0, node_values(hw, tech, "wafer_cost_usd") / np.maximum(good, 1e-300), np.inf)


def hbm_cost_usd(hw: HardwareArrays, tech: Technology) -> np.ndarray:
    """HBM stacks x capacity (GB) x price per GB."""
    return hw.hbm_stacks * hw.hbm_capacity_per_stack_bytes / 1e9 * memory_values(hw, tech, "cost_usd_per_gb")


def package_area_mm2(hw: HardwareArrays, tech: Technology, area: AreaBreakdown) -> np.ndarray:
    """Interposer area of the package: (all dies + HBM stack footprints) x the routing overhead, mm2.

    The quantity a 2.5D packaging limit (e.g. an interposer of a few reticles) constrains; unlike
    the per-die area it does not shrink when a design is split into chiplets.
    """
    footprint = area.total_silicon_mm2 + hw.hbm_stacks * memory_values(hw, tech, "footprint_mm2_per_stack")
    return footprint * tech.packaging.interposer_area_overhead


def packaging_cost_usd(hw: HardwareArrays, tech: Technology, area: AreaBreakdown) -> np.ndarray:
    """Interposer (dies + HBM footprints, with overhead) plus assembly and test."""
    p = tech.packaging
    return package_area_mm2(hw, tech, area) * p.interposer_cost_usd_per_mm2 + p.assembly_test_usd


def accelerator_cost_usd(hw: HardwareArrays, tech: Technology, area: AreaBreakdown) -> np.ndarray:
    """Price of one accelerator package (manufacturing cost marked up by the gross margin)."""
    cost = (area.dies_per_package * cost_per_good_die_usd(hw, tech, area) + hbm_cost_usd(hw, tech)
            + packaging_cost_usd(hw, tech, area)) / tech.packaging.assembly_yield
    return cost / (1.0 - tech.economics.gross_margin)


def network_ports_per_accelerator(hw: HardwareArrays, tech: Technology) -> tuple[np.ndarray, np.ndarray]:
    """(NIC ports, switch ports) per accelerator of the scale-out network."""
    e = tech.economics
    nic = np.ceil(hw.scaleout_bw_bytes_per_s / e.nic_port_bw_bytes_per_s - 1e-9)
    endpoints = hw.accelerator_count * nic
    half = e.switch_radix / 2
    tiers = np.where(endpoints <= e.switch_radix, 1.0, np.where(endpoints <= e.switch_radix * half, 2.0, 3.0))
    clos = 1.0 + 2.0 * (tiers - 1.0) / np.maximum(hw.scaleout_oversubscription, 1.0)
    topo = np.asarray(hw.scaleout_topology)
    per_port = np.select([topo == "torus3d", topo == "dragonfly"], [0.0, 2.0], clos)
    single = hw.accelerator_count <= hw.scaleup_domain_size  # one scale-up domain: no scale-out network
    nic = np.where(single, 0.0, nic)
    return nic, nic * per_port


def network_cost_per_accelerator_usd(hw: HardwareArrays, tech: Technology) -> np.ndarray:
    """NICs, switch ports, optics (one link per switch port) and switched scale-up fabric."""
    e = tech.economics
    nic, sw = network_ports_per_accelerator(hw, tech)
    scaleup = np.where(np.asarray(hw.scaleup_topology) == "switched",
                       hw.scaleup_bw_bytes_per_s / 1e9 * e.scaleup_switch_cost_usd_per_gb_per_s, 0.0)
    return nic * e.nic_cost_usd_per_port + sw * (e.switch_cost_usd_per_port + e.optics_cost_usd_per_link) + scaleup


def system_power_w(hw: HardwareArrays, tech: Technology, accelerator_power_w: np.ndarray) -> np.ndarray:
    """IT power of the system (before PUE): accelerators, host share, NICs and switch ports, W."""
    e = tech.economics
    nic, sw = network_ports_per_accelerator(hw, tech)
    hosts = np.ceil(hw.accelerator_count / e.accelerators_per_host)
    return (hw.accelerator_count * (accelerator_power_w + nic * e.nic_power_w_per_port + sw * e.switch_power_w_per_port)
            + hosts * e.host_power_w)


def system_capex_usd(hw: HardwareArrays, tech: Technology, accel_cost_usd: np.ndarray) -> np.ndarray:
    """Accelerators, hosts and network of the whole system."""
    e = tech.economics
    hosts = np.ceil(hw.accelerator_count / e.accelerators_per_host)
    return hw.accelerator_count * (accel_cost_usd + network_cost_per_accelerator_usd(hw, tech)) + hosts * e.host_cost_usd


def tco_usd_per_year(tech: Technology, capex_usd: np.ndarray, it_power_w: np.ndarray) -> np.ndarray:
    """Capex amortised over the stated life plus a year of energy at the facility PUE."""
    e = tech.economics
    kwh = it_power_w * e.pue * _SECONDS_PER_YEAR / 3.6e6
    return capex_usd / e.amortisation_years + kwh * e.electricity_usd_per_kwh


def usd_per_million_tokens(tco_per_year: np.ndarray, effective_tokens_per_s: np.ndarray) -> np.ndarray:
    """System cost per second / delivered tokens per second x 1e6."""
    return tco_per_year / _SECONDS_PER_YEAR / np.maximum(effective_tokens_per_s, 1e-300) * 1e6
