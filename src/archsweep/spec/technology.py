"""Technology constants as frozen types: process nodes, HBM, links, packaging, economics, reliability.

Built by :func:`archsweep.load.technology.load_technology` from ``data/technology/*.yaml``.
Every constant carries its provenance (source, locator, confidence), exposed as
:attr:`Technology.provenance` keyed by dotted path (``nodes.N7.mac_bf16_j``). The suffix of
each field name gives its unit (``_j`` joule, ``_j_per_bit``, ``_bytes_per_s``, ``_mm2``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "Provenance", "NodeTech", "MemoryTech", "LinkTech", "DieToDieTech", "LinksTech", "PackagingTech",
    "EconomicsTech", "ReliabilityTech", "CalibrationTech", "Technology",
]


def _q(dim: str = "number") -> Any:
    """Field metadata: ``dim`` is a units dimension (unit strings allowed), "number" or "text"."""
    return field(metadata={"dim": dim})


class Provenance(NamedTuple):
    """Where a constant comes from."""

    source: str
    locator: str
    confidence: str


@dataclass(frozen=True)
class NodeTech:
    """One logic process node. Energies in J per operation (MAC = multiply-accumulate)."""

    name: str = _q("text")
    projected: bool = _q("bool")
    logic_density_mtr_per_mm2: float = _q()
    sram_bitcell_um2: float = _q()
    sram_macro_density_mbit_per_mm2: float = _q()
    vdd_v: float = _q()
    energy_scale_vs_45nm: float = _q()
    mac_bf16_j: float = _q("energy")
    mac_fp8_j: float = _q("energy")
    fma_fp32_j: float = _q("energy")
    sram_j_per_bit: float = _q("energy_per_bit")
    wire_j_per_bit_per_mm: float = _q("energy_per_bit")
    leakage_fraction: float = _q()
    wafer_cost_usd: float = _q()
    defect_density_per_mm2: float = _q()
    scaleup_link: str = _q("text")
    host_link: str = _q("text")


@dataclass(frozen=True)
class MemoryTech:
    """One HBM generation (per stack)."""

    name: str = _q("text")
    projected: bool = _q("bool")
    pin_rate_bps: float = _q("bandwidth")
    bw_per_stack_bytes_per_s: float = _q("bandwidth")
    capacity_per_stack_bytes: float = _q("bytes")
    energy_j_per_bit: float = _q("energy_per_bit")
    phy_area_mm2_per_stack: float = _q()
    controller_transistors_per_stack: float = _q()
    cost_usd_per_gb: float = _q()
    footprint_mm2_per_stack: float = _q()

    def __post_init__(self) -> None:  # pin rate is a bit rate: keep bits per second
        object.__setattr__(self, "pin_rate_bps", self.pin_rate_bps * 8.0)


@dataclass(frozen=True)
class LinkTech:
    """One SerDes / link lane type (bandwidth per lane per direction)."""

    name: str = _q("text")
    projected: bool = _q("bool")
    bw_per_lane_bytes_per_s: float = _q("bandwidth")
    area_mm2_per_lane: float = _q()
    controller_transistors_per_lane: float = _q()
    energy_j_per_bit: float = _q("energy_per_bit")


@dataclass(frozen=True)
class DieToDieTech:
    """Die-to-die interface of chiplet designs."""

    energy_j_per_bit: float = _q("energy_per_bit")
    area_mm2_per_tb_per_s: float = _q()
    bw_fraction_of_hbm: float = _q()


@dataclass(frozen=True)
class LinksTech:
    lanes: Mapping[str, LinkTech]
    die_to_die: DieToDieTech


@dataclass(frozen=True)
class PackagingTech:
    reticle_limit_mm2: float = _q()
    reticle_usable_fraction: float = _q()
    max_compute_dies_per_package: float = _q()
    wafer_diameter_mm: float = _q()
    yield_cluster_alpha: float = _q()
    interposer_cost_usd_per_mm2: float = _q()
    interposer_area_overhead: float = _q()
    assembly_test_usd: float = _q()
    assembly_yield: float = _q()


@dataclass(frozen=True)
class EconomicsTech:
    gross_margin: float = _q()
    electricity_usd_per_kwh: float = _q()
    pue: float = _q()
    carbon_kg_per_kwh: float = _q()
    amortisation_years: float = _q()
    host_cost_usd: float = _q()
    accelerators_per_host: float = _q()
    host_power_w: float = _q("power")
    nic_port_bw_bytes_per_s: float = _q("bandwidth")
    nic_cost_usd_per_port: float = _q()
    switch_cost_usd_per_port: float = _q()
    optics_cost_usd_per_link: float = _q()
    switch_radix: float = _q()
    nic_power_w_per_port: float = _q("power")
    switch_power_w_per_port: float = _q("power")
    scaleup_switch_cost_usd_per_gb_per_s: float = _q()
    gpu_rental_usd_per_hour: float = _q()


@dataclass(frozen=True)
class ReliabilityTech:
    observed_unexpected_interruptions: float = _q()
    observed_accelerators: float = _q()
    observed_days: float = _q()
    accelerator_fraction: float = _q()
    hbm_interruptions: float = _q()
    observed_hbm_stacks_per_accelerator: float = _q()
    storage_bw_bytes_per_s: float = _q("bandwidth")
    storage_accelerators: float = _q()
    restart_overhead_s: float = _q("time")
    checkpoint_bytes_per_param: float = _q()

    # Derived rates (per second), Llama 3 calibration; see reliability.yaml.
    @property
    def _observed_s(self) -> float:
        return self.observed_days * 86400.0

    @property
    def hbm_stack_failure_rate_per_s(self) -> float:
        """Interruptions per HBM stack per second."""
        stacks = self.observed_accelerators * self.observed_hbm_stacks_per_accelerator
        return self.hbm_interruptions / (stacks * self._observed_s)

    @property
    def die_failure_rate_per_s(self) -> float:
        """Accelerator-attributed interruptions other than HBM, per accelerator per second."""
        n = self.observed_unexpected_interruptions * self.accelerator_fraction - self.hbm_interruptions
        return n / (self.observed_accelerators * self._observed_s)

    def host_failure_rate_per_s(self, accelerators_per_host: float) -> float:
        """Interruptions not attributed to accelerators, per host per second."""
        hosts = self.observed_accelerators / accelerators_per_host
        n = self.observed_unexpected_interruptions * (1.0 - self.accelerator_fraction)
        return n / (hosts * self._observed_s)

    @property
    def storage_bw_per_accelerator_bytes_per_s(self) -> float:
        return self.storage_bw_bytes_per_s / self.storage_accelerators


@dataclass(frozen=True)
class CalibrationTech:
    """Model calibration constants (fitted to A100/H100 die areas and TDPs; see calibration.yaml)."""

    transistors_per_mac_bf16: float = _q()
    transistors_per_mac_fp8: float = _q()
    transistors_per_fma_fp32: float = _q()
    transistors_per_unit_overhead: float = _q()
    harvest_factor: float = _q()
    sram_overhead_factor: float = _q()
    uncore_fraction: float = _q()
    min_host_lanes: float = _q()
    datapath_energy_factor: float = _q()
    noc_distance_fraction: float = _q()
    dvfs_v_floor_fraction: float = _q()
    #: Matrix FLOPs per byte staged through SRAM in the leakage reference (the design at its peak rates).
    leakage_reference_flops_per_sram_byte: float = _q()


@dataclass(frozen=True)
class Technology:
    """All technology constants, typed and in SI units (suffixes name the unit)."""

    nodes: Mapping[str, NodeTech]
    memories: Mapping[str, MemoryTech]
    links: LinksTech
    packaging: PackagingTech
    economics: EconomicsTech
    reliability: ReliabilityTech
    calibration: CalibrationTech
    provenance: Mapping[str, Provenance]
