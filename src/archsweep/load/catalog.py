"""The hardware catalog: real accelerators as complete, sourced base designs.

``data/hardware/catalog.yaml`` maps an accelerator name (the ``accelerator_canonical``
spelling of ``data/validation/*.csv``, e.g. ``"H100-SXM"``, ``"TPU v4"``) to its vendor,
the system it ships in, one sourced value per hardware parameter
(:data:`archsweep.spec.hardware.CATALOG_PARAMETERS`, no more, no less) and published figures
used to check the model (vendor peaks, measured max matmul, HBM, die area, power). The part-physics
columns (:data:`archsweep.spec.hardware.PART_PHYSICS_PARAMETERS`) of each entry's design come from
``data/hardware/low_precision_rates.yaml`` and the published ``host_link_bw_bytes_per_s`` and ``scaleout_achieved_share``
(:func:`archsweep.load.part_physics.part_columns`).

Loading follows the edge pattern of the project: strict YAML (duplicate keys rejected) ->
JSON Schema ``hardware`` (every problem reported) -> unit parsing with file and key path in
every error -> frozen :class:`CatalogEntry` objects with SI floats. Nothing past
:func:`load_catalog` reads raw dicts.

Name lookup (:func:`get_accelerator`) is exact first, then case-, space-, hyphen- and
underscore-insensitive, then through :data:`ALIASES`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from archsweep.load.parameters import above_maximum
from archsweep.load.part_physics import part_columns
from archsweep.load.paths import data_dir
from archsweep.load.schema import validate_document
from archsweep.load.units import Dimension, parse_quantity
from archsweep.load.yamlio import load_yaml
from archsweep.spec.catalog import CatalogEntry, SourcedValue, SystemInfo
from archsweep.spec.errors import InputError, InputErrors, Problem
from archsweep.spec.hardware import CATALOG_PARAMETERS, AcceleratorDesign

__all__ = [
    "PUBLISHED_FIGURES", "ALIASES",
    "default_catalog_path", "load_catalog", "get_accelerator", "normalize_name",
]


#: Published figures a catalog entry may carry: name -> (unit dimension, divisor applied to
#: the SI value). All are SI except ``die_area_mm2`` (mm^2, as its name says).
PUBLISHED_FIGURES: Mapping[str, tuple[Dimension, float]] = MappingProxyType({
    "peak_dense_bf16_flops_per_s": ("flops_rate", 1.0),
    "peak_dense_fp8_flops_per_s": ("flops_rate", 1.0),
    "peak_vector_fp32_flops_per_s": ("flops_rate", 1.0),
    "measured_max_matmul_bf16_flops_per_s": ("flops_rate", 1.0),
    "measured_max_matmul_fp8_flops_per_s": ("flops_rate", 1.0),
    "hbm_bandwidth_bytes_per_s": ("bandwidth", 1.0),
    "hbm_capacity_bytes": ("bytes", 1.0),
    "die_area_mm2": ("area", 1e-6),
    "transistors": ("count", 1.0),
    "tdp_w": ("power", 1.0),
    "measured_chip_power_mean_w": ("power", 1.0),
    "system_power_w": ("power", 1.0),
    "host_link_bw_bytes_per_s": ("bandwidth", 1.0),
    "die_reference_clock_hz": ("frequency", 1.0),
    "scaleout_achieved_share": ("dimensionless", 1.0),
})

#: Common alternative spellings -> canonical catalog name. Keys are compared after
#: :func:`normalize_name` (lower case; spaces, hyphens, underscores and dots removed), so
#: "TPUv4", "tpu-v4" and "TPU v4" all match "TPU v4" without an alias.
#:
#: ========================================  ==================
#: alias                                     canonical
#: ========================================  ==================
#: A100, A100-80GB, A100-SXM4-80GB, A100-SXM  A100-SXM4
#: A100-40GB                                 A100-SXM4-40GB
#: H100, H100-SXM5, H100-SXM5-80GB, H100-80GB H100-SXM
#: H200-SXM, H200-SXM-141GB                  H200
#: B200-SXM                                  B200
#: GB200-NVL72                               GB200
#: TPUv5p (by normalisation), v5p            TPU v5p
#: v4                                        TPU v4
#: ========================================  ==================
ALIASES: Mapping[str, str] = MappingProxyType({
    "A100": "A100-SXM4",
    "A100-80GB": "A100-SXM4",
    "A100-SXM4-80GB": "A100-SXM4",
    "A100-SXM": "A100-SXM4",
    "A100-40GB": "A100-SXM4-40GB",
    "H100": "H100-SXM",
    "H100-SXM5": "H100-SXM",
    "H100-SXM5-80GB": "H100-SXM",
    "H100-80GB": "H100-SXM",
    "H200-SXM": "H200",
    "H200-SXM-141GB": "H200",
    "B200-SXM": "B200",
    "GB200-NVL72": "GB200",
    "v4": "TPU v4",
    "v5p": "TPU v5p",
})

def normalize_name(name: str) -> str:
    """Lower-case ``name`` and drop spaces, hyphens, underscores and dots ("TPU v4" -> "tpuv4")."""
    return re.sub(r"[\s\-_.]", "", name).lower()


def default_catalog_path() -> Path:
    """``data/hardware/catalog.yaml`` under :func:`archsweep.load.paths.data_dir`."""
    return data_dir() / "hardware" / "catalog.yaml"


def _sourced(raw: Mapping[str, Any], value: float | str) -> SourcedValue:
    return SourcedValue(
        value=value, source=raw["source"], locator=raw["locator"], confidence=raw["confidence"],
        derived=raw.get("derived", ""), notes=raw.get("notes", ""),
    )


def _parse_parameters(
    name: str, raw_params: Mapping[str, Any], file: str, problems: list[Problem],
) -> tuple[dict[str, Any], dict[str, SourcedValue]]:
    """Parse every parameter of one entry to SI; collect problems instead of stopping."""
    values: dict[str, Any] = {}
    provenance: dict[str, SourcedValue] = {}
    for info in CATALOG_PARAMETERS:
        raw = raw_params[info.name]
        key_path = f"{name}.parameters.{info.name}.value"
        if info.kind == "choice":
            parsed: float | str = raw["value"]  # enum checked by the schema
        else:
            try:
                number = parse_quantity(
                    raw["value"], info.dimension, file=file, key_path=key_path,  # type: ignore[arg-type]
                    positive=info.positive, non_negative=not info.positive,
                )
            except InputError as exc:
                problems.append(exc.problem)
                continue
            if info.kind == "int" and number != int(number):
                problems.append(Problem(file, key_path, repr(raw["value"]), "a whole number"))
                continue
            if (too_large := above_maximum(info, number, raw["value"], file, key_path)) is not None:
                problems.append(too_large)
                continue
            parsed = int(number) if info.kind == "int" else float(number)
        values[info.name] = parsed
        provenance[info.name] = _sourced(raw, parsed)
    return values, provenance


def _parse_published(
    name: str, raw_published: Mapping[str, Any], file: str, problems: list[Problem],
) -> dict[str, SourcedValue]:
    published: dict[str, SourcedValue] = {}
    for figure, raw in raw_published.items():
        dimension, divisor = PUBLISHED_FIGURES[figure]  # names checked by the schema
        key_path = f"{name}.published.{figure}.value"
        try:
            number = parse_quantity(raw["value"], dimension, file=file, key_path=key_path, positive=True)
        except InputError as exc:
            problems.append(exc.problem)
            continue
        published[figure] = _sourced(raw, number / divisor)
    return published


def _check_entry(name: str, values: Mapping[str, Any], node_size: int, file: str, problems: list[Problem]) -> None:
    """Cross-field checks the schema cannot express."""
    count = values.get("accelerator_count")
    domain = values.get("scaleup_domain_size")
    if count is not None and domain is not None and domain > count:
        problems.append(Problem(
            file, f"{name}.parameters.scaleup_domain_size.value", repr(domain),
            f"at most accelerator_count ({count})",
        ))
    if count is not None and count % node_size != 0:
        problems.append(Problem(
            file, f"{name}.parameters.accelerator_count.value", repr(count),
            f"a multiple of system.node_size ({node_size})",
        ))


def _build(document: Mapping[str, Any], file: str) -> dict[str, CatalogEntry]:
    problems: list[Problem] = []
    entries: dict[str, CatalogEntry] = {}
    seen: dict[str, str] = {}
    for name, raw in document.items():
        norm = normalize_name(name)
        if norm in seen:
            problems.append(Problem(
                file, name, repr(name),
                f"a name distinct from {seen[norm]!r} after ignoring case, spaces, '-', '_' and '.'",
            ))
        seen[norm] = name
        values, provenance = _parse_parameters(name, raw["parameters"], file, problems)
        published = _parse_published(name, raw.get("published", {}), file, problems)
        system_raw = raw["system"]
        system = SystemInfo(
            name=system_raw["name"], node_size=int(system_raw["node_size"]),
            scaleup_fabric=system_raw["scaleup_fabric"], scaleout_nic=system_raw["scaleout_nic"],
        )
        _check_entry(name, values, system.node_size, file, problems)
        if len(values) != len(CATALOG_PARAMETERS):
            continue  # problems already recorded
        design = AcceleratorDesign(**values)
        entries[name] = CatalogEntry(
            name=name, vendor=raw["vendor"], system=system,
            design=design.replace(**part_columns(name, design, published)),
            provenance=MappingProxyType(provenance), published=MappingProxyType(published),
        )
    if len(problems) == 1:
        raise InputError.from_problem(problems[0])  # its value is already rendered (no second repr)
    if problems:
        raise InputErrors(problems)
    return entries


@lru_cache(maxsize=16)
def _load_cached(path: str) -> Mapping[str, CatalogEntry]:
    document = load_yaml(path)
    validate_document(document, "hardware", path)
    return MappingProxyType(_build(document, path))


def load_catalog(path: Path | str | None = None) -> Mapping[str, CatalogEntry]:
    """Load, validate and build the hardware catalog (cached per resolved path).

    Args:
        path: catalog YAML; default :func:`default_catalog_path`.

    Returns:
        read-only mapping canonical name -> :class:`CatalogEntry`, in file order.

    Raises:
        InputError / InputErrors: missing file, malformed YAML, duplicate key, schema
            violation, bad unit or cross-field problem (file, key path, value, allowed).
    """
    resolved = Path(path) if path is not None else default_catalog_path()
    return _load_cached(str(resolved.resolve()))


def get_accelerator(name: str, catalog: Mapping[str, CatalogEntry] | None = None) -> CatalogEntry:
    """Look up one accelerator by canonical name, loose spelling or alias.

    Order: exact key; :func:`normalize_name` match ("tpu-v4" -> "TPU v4"); :data:`ALIASES`
    ("H100" -> "H100-SXM", "A100" -> "A100-SXM4", the 80 GB part).

    Raises:
        InputError: unknown name; the message lists every known name.
    """
    entries = load_catalog() if catalog is None else catalog
    if name in entries:
        return entries[name]
    by_norm = {normalize_name(k): k for k in entries}
    key = normalize_name(name)
    if key in by_norm:
        return entries[by_norm[key]]
    aliases = {normalize_name(a): c for a, c in ALIASES.items()}
    if key in aliases and aliases[key] in entries:
        return entries[aliases[key]]
    file = str(default_catalog_path()) if catalog is None else "<hardware catalog>"
    raise InputError(
        file, "accelerator", name,
        "one of " + ", ".join(entries) + " (case-insensitive; aliases: " + ", ".join(ALIASES) + ")",
    )
