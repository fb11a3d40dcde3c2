"""Loader of the serving-model constants (``data/calibration/serving.yaml``) into a frozen
:class:`~archsweep.spec.serving_calibration.ServingCalibration`.

Kept outside the model package (the model never reads files); the layout issue moves it to ``load/``.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from pathlib import Path

from archsweep.load.paths import data_dir
from archsweep.load.units import parse_quantity
from archsweep.load.yamlio import load_yaml
from archsweep.spec.errors import InputError
from archsweep.spec.serving_calibration import ServingCalibration

__all__ = ["load_serving_calibration", "serving_calibration_path"]

_DIMENSIONS = {"kernel_overhead_s": "time", "step_overhead_s": "time", "reserved_bytes": "bytes",
               "eager_host_s_per_layer": "time"}
_PROVENANCE = ("value", "source", "locator", "confidence")


def serving_calibration_path() -> Path:
    return data_dir() / "calibration" / "serving.yaml"


@cache
def load_serving_calibration(path: Path | None = None) -> ServingCalibration:
    """Serving constants from ``path`` (default ``data/calibration/serving.yaml``).

    Raises:
        InputError: missing or unknown constant, or one without value/source/locator/confidence.
    """
    path = Path(path) if path is not None else serving_calibration_path()
    doc = load_yaml(path)
    file = str(path)
    if not isinstance(doc, dict):
        raise InputError(file, "", type(doc).__name__, "a mapping of constant name -> {value, source, locator, confidence}")
    names = [f.name for f in fields(ServingCalibration)]
    unknown = sorted(set(doc) - set(names))
    if unknown:
        raise InputError(file, unknown[0], "<unknown key>", "one of " + ", ".join(names))
    values = {}
    for name in names:
        entry = doc.get(name)
        if not isinstance(entry, dict):
            raise InputError(file, name, "<missing>", "{value, source, locator, confidence}")
        for key in _PROVENANCE:
            if key not in entry:
                raise InputError(file, f"{name}.{key}", "<missing>", "every constant carries value, source, locator, confidence")
        values[name] = parse_quantity(entry["value"], _DIMENSIONS.get(name, "dimensionless"),  # type: ignore[arg-type]
                                      file=file, key_path=f"{name}.value", non_negative=True)
    return ServingCalibration(**values)
