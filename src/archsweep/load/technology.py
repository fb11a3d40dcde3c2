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
from dataclasses import fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from archsweep.load.paths import data_dir
from archsweep.load.schema import validate_document
from archsweep.load.units import parse_quantity
from archsweep.load.yamlio import load_yaml
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HBM_GENERATIONS, PROCESS_NODES
from archsweep.spec.technology import (
    CalibrationTech,
    DieToDieTech,
    EconomicsTech,
    LinksTech,
    LinkTech,
    MemoryTech,
    NodeTech,
    PackagingTech,
    Provenance,
    ReliabilityTech,
    Technology,
)

__all__ = ["load_technology", "TECHNOLOGY_FILES"]

#: Files of ``data/technology`` and the section each holds.
TECHNOLOGY_FILES: dict[str, str] = {
    "nodes": "nodes.yaml", "memories": "memories.yaml", "links": "links.yaml",
    "packaging": "packaging.yaml", "economics": "economics.yaml", "reliability": "reliability.yaml",
    "calibration": "calibration.yaml",
}


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
    return parse_quantity(raw, dim, file=file, key_path=key)


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
