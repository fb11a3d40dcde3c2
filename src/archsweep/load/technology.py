"""Technology constants (process nodes, HBM, links, packaging, economics, reliability).

Read once from ``data/technology/*.yaml``, validated against ``technology.schema.json``,
unit strings parsed, and turned into frozen typed objects; the model never reads raw dicts.
Every constant carries its provenance (source, locator, confidence), exposed as
:attr:`Technology.provenance` keyed by dotted path (``nodes.N7.mac_bf16_j``).

Units: the suffix of each field name gives its unit (``_j`` joule, ``_j_per_bit``,
``_bytes_per_s``, ``_mm2``, ``_usd``, ``_w``, ``_s``...). A YAML value that is a plain number
is taken in that unit; a unit string (``"3.9 pJ/bit"``) is parsed with
:func:`archsweep.load.units.parse_quantity` for fields whose unit is SI. Fields in non-SI units
(``_mm2``, ``_mtr_per_mm2``, ``_usd_per_gb``, ...) accept plain numbers only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HBM_GENERATIONS, PROCESS_NODES
from archsweep.load.paths import data_dir
from archsweep.load.schema import validate_document
from archsweep.load.units import parse_quantity
from archsweep.load.yamlio import load_yaml

__all__ = [
    "Provenance", "NodeTech", "MemoryTech", "LinkTech", "DieToDieTech", "LinksTech", "PackagingTech",
    "EconomicsTech", "ReliabilityTech", "CalibrationTech", "Technology", "load_technology",
    "TECHNOLOGY_FILES",
]

#: Files of ``data/technology`` and the section each holds.
TECHNOLOGY_FILES: dict[str, str] = {
    "nodes": "nodes.yaml", "memories": "memories.yaml", "links": "links.yaml",
    "packaging": "packaging.yaml", "economics": "economics.yaml", "reliability": "reliability.yaml",
    "calibration": "calibration.yaml",
}


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


def _value(cls: type, name: str, entry: Any, file: str, key: str) -> Any:
    dim = next(f.metadata["dim"] for f in fields(cls) if f.name == name)
    raw = entry["value"]
    if dim == "text":
        if not isinstance(raw, str):
            raise InputError(file, key, raw, "a text value")
        return raw
    if dim == "number":
        allowed = f"a plain number in the unit named by the key '{name}'"
        if isinstance(raw, str):  # YAML 1.1 reads 314.3e6 as text
            try:
                return float(raw)
            except ValueError:
                raise InputError(file, key, raw, allowed) from None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise InputError(file, key, raw, allowed)
        return float(raw)
    return parse_quantity(raw, dim, file=file, key_path=key)  # type: ignore[arg-type]


def _build(cls: type, raw: Mapping[str, Any], file: str, path: str, prov: dict[str, Provenance],
           name: str | None = None) -> Any:
    """Build a dataclass from one YAML mapping; report missing and unknown keys at once."""
    names = [f.name for f in fields(cls) if f.name != "name"]
    missing = [n for n in names if n not in raw]
    unknown = [k for k in raw if k not in names]
    if missing or unknown:
        bad = (missing or unknown)[0]
        raise InputError(file, f"{path}.{bad}", "<missing>" if missing else f"<unknown key {bad!r}>",
                         f"exactly the keys {', '.join(names)}")
    kwargs: dict[str, Any] = {}
    for n in names:
        key = f"{path}.{n}"
        if n == "projected":
            kwargs[n] = bool(raw[n])
            continue
        kwargs[n] = _value(cls, n, raw[n], file, key)
        prov[key] = Provenance(raw[n]["source"], raw[n]["locator"], raw[n]["confidence"])
    if name is not None:
        kwargs["name"] = name
    return cls(**kwargs)


def _read(directory: Path, section: str) -> tuple[Any, str]:
    path = directory / TECHNOLOGY_FILES[section]
    doc = load_yaml(path)
    validate_document(doc, "technology", str(path))
    if section not in doc:
        raise InputError(str(path), section, "<missing>", f"a top-level '{section}' section")
    return doc[section], str(path)


def _named(cls: type, raw: Mapping[str, Any], required: tuple[str, ...], file: str, section: str,
           prov: dict[str, Provenance]) -> dict[str, Any]:
    for name in required:
        if name not in raw:
            raise InputError(file, f"{section}.{name}", "<missing>", f"an entry for every one of {', '.join(required)}")
    return {k: _build(cls, v, file, f"{section}.{k}", prov, name=k) for k, v in raw.items()}


@lru_cache(maxsize=8)
def _load(directory: Path) -> Technology:
    prov: dict[str, Provenance] = {}
    raw, f = _read(directory, "nodes")
    nodes = _named(NodeTech, raw, PROCESS_NODES, f, "nodes", prov)
    raw, f = _read(directory, "memories")
    memories = _named(MemoryTech, raw, HBM_GENERATIONS, f, "memories", prov)
    raw, f = _read(directory, "links")
    lanes = _named(LinkTech, raw["lanes"], (), f, "links.lanes", prov)
    for node in nodes.values():
        for attr in ("scaleup_link", "host_link"):
            if getattr(node, attr) not in lanes:
                raise InputError(TECHNOLOGY_FILES["nodes"], f"nodes.{node.name}.{attr}", getattr(node, attr),
                                 f"one of the link lanes {', '.join(lanes)}")
    links = LinksTech(lanes, _build(DieToDieTech, raw["die_to_die"], f, "links.die_to_die", prov))
    sections: dict[str, Any] = {}
    for section, cls in (("packaging", PackagingTech), ("economics", EconomicsTech),
                         ("reliability", ReliabilityTech), ("calibration", CalibrationTech)):
        raw, f = _read(directory, section)
        sections[section] = _build(cls, raw, f, section, prov)
    return Technology(nodes=nodes, memories=memories, links=links, provenance=prov, **sections)


def load_technology(path: Path | None = None) -> Technology:
    """Load (cached) the technology constants from ``path`` (default ``data_dir()/"technology"``).

    Raises:
        InputError / InputErrors: a missing file, schema violation, bad unit, missing or
            unknown field, or a node/HBM generation of :mod:`archsweep.spec.hardware` left out.
    """
    directory = Path(path) if path is not None else data_dir() / "technology"
    return _load(directory.resolve())
