"""Frozen types of the hardware catalog: a real accelerator as a complete, sourced base design.

Built by :func:`archsweep.load.catalog.load_catalog` from ``data/hardware/catalog.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from archsweep.spec.hardware import AcceleratorDesign

__all__ = ["SourcedValue", "SystemInfo", "CatalogEntry"]


@dataclass(frozen=True)
class SourcedValue:
    """One catalog value with its provenance.

    Attributes:
        value: SI float for quantities (bytes, bytes/s, Hz, W, s, FLOP/s, counts), the
            choice name (``str``) for choice parameters; ``die_area_mm2`` is in mm^2.
        source: document the value comes from (original source, not the CSV copy).
        locator: table/section/page inside the source.
        confidence: "high", "medium-high", "medium" or "low".
        derived: formula when the value is computed rather than printed ("" otherwise).
        notes: caveats ("" when none).
    """

    value: float | str
    source: str
    locator: str
    confidence: str
    derived: str = ""
    notes: str = ""


@dataclass(frozen=True)
class SystemInfo:
    """The system an accelerator ships in (descriptive; the model reads the parameters).

    Attributes:
        name: e.g. "DGX H100", "GB200 NVL72", "TPU v4 Pod".
        node_size: accelerators per node/board/host.
        scaleup_fabric: scale-up fabric as described by the vendor.
        scaleout_nic: scale-out NICs as described by the vendor.
    """

    name: str
    node_size: int
    scaleup_fabric: str
    scaleout_nic: str


@dataclass(frozen=True)
class CatalogEntry:
    """One accelerator of the catalog.

    Attributes:
        name: canonical name (catalog key).
        vendor: e.g. "NVIDIA", "AMD", "Google".
        system: the catalog system (see :class:`SystemInfo`).
        design: the complete design point, SI.
        provenance: parameter name -> :class:`SourcedValue` (value in SI, same as ``design``).
        published: figure name (:data:`PUBLISHED_FIGURES`) -> :class:`SourcedValue`.
    """

    name: str
    vendor: str
    system: SystemInfo
    design: AcceleratorDesign
    provenance: Mapping[str, SourcedValue]
    published: Mapping[str, SourcedValue]

    def as_dict(self) -> dict[str, Any]:
        """The design's parameter values, SI (shortcut for ``design.as_dict()``)."""
        return self.design.as_dict()
