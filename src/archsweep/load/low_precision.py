"""Loader of ``data/hardware/low_precision_rates.yaml`` -> :class:`LowPrecisionRates` per catalog name.

Each figure is ``{value, source, locator, confidence}`` (or a list of them where sources
disagree: the first, the file's preferred source, is used). Values carry units ("794.5 TFLOP/s").
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

from archsweep.load.paths import data_dir
from archsweep.load.units import parse_quantity
from archsweep.load.yamlio import load_yaml
from archsweep.spec.errors import InputError
from archsweep.spec.low_precision import LowPrecisionRates

__all__ = ["load_low_precision_rates"]

_FIELDS = {
    "measured_max_matmul_bf16_flops_per_s": "mamf_bf16_flops_per_s",
    "measured_max_matmul_fp8_flops_per_s": "mamf_fp8_flops_per_s",
    "peak_dense_fp4_flops_per_s": "peak_fp4_flops_per_s",
    "peak_dense_nvfp4_flops_per_s": "peak_nvfp4_flops_per_s",
}
#: Published in the file but not used by the model (FP6 peaks).
_KNOWN_UNUSED = {"peak_dense_fp6_flops_per_s"}
_PROVENANCE = ("value", "source", "locator", "confidence")


@cache
def load_low_precision_rates(path: Path | None = None) -> Mapping[str, LowPrecisionRates]:
    """Rates per catalog name (read-only mapping).

    Raises:
        InputError: malformed file, unknown key, missing provenance or a bad unit (file, key path).
    """
    path = Path(path) if path is not None else data_dir() / "hardware" / "low_precision_rates.yaml"
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise InputError(str(path), "", type(doc).__name__, "a mapping of catalog name -> rates")
    out: dict[str, LowPrecisionRates] = {}
    for name, entries in doc.items():
        if not isinstance(entries, dict):
            raise InputError(str(path), str(name), type(entries).__name__, "a mapping of figure -> {value, source, ...}")
        values: dict[str, float] = {}
        for key, entry in entries.items():
            if key in _KNOWN_UNUSED:
                continue
            if key not in _FIELDS:
                raise InputError(str(path), f"{name}.{key}", "<unknown key>", "one of " + ", ".join(sorted({*_FIELDS, *_KNOWN_UNUSED})))
            first = entry[0] if isinstance(entry, list) and entry else entry
            if not isinstance(first, dict) or any(k not in first for k in _PROVENANCE):
                raise InputError(str(path), f"{name}.{key}", "<missing provenance>", "{value, source, locator, confidence}")
            values[_FIELDS[key]] = parse_quantity(first["value"], "flops_rate", file=str(path), key_path=f"{name}.{key}.value",
                                                  non_negative=True)
        out[str(name)] = LowPrecisionRates(name=str(name), **values)
    return MappingProxyType(out)
