"""Unit strings at the edge, SI floats inside.

``parse_quantity("3.35 TB/s", "bandwidth", file=..., key_path=...)`` returns 3.35e12
(bytes per second). Decimal prefixes (k, M, G, T, P) are powers of 1000, binary prefixes
(Ki, Mi, Gi, Ti) powers of 1024. Bits are converted to bytes for data and bandwidth
(``"900 Gb/s"`` = 112.5e9 B/s). A bare number is taken as already in SI base units of the
dimension. Anything else is an :class:`~archsweep.spec.errors.InputError` naming what is allowed.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from archsweep.spec.errors import InputError

__all__ = ["Dimension", "parse_quantity", "DIMENSIONS"]

Dimension = Literal[
    "bytes", "bandwidth", "frequency", "power", "time", "area", "flops", "flops_rate",
    "energy", "energy_per_bit", "length", "dimensionless", "count", "cost", "bits",
]

_DECIMAL = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_BINARY = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50}
_SMALL = {"": 1.0, "m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}

# Base units per dimension: unit symbol -> factor to SI base of that dimension.
_BASE_UNITS: dict[str, dict[str, float]] = {
    "bytes": {"B": 1.0, "b": 0.125, "bit": 0.125, "byte": 1.0},
    "bits": {"b": 1.0, "bit": 1.0, "B": 8.0},
    "bandwidth": {"B/s": 1.0, "b/s": 0.125, "bps": 0.125, "Bps": 1.0, "bit/s": 0.125},
    "frequency": {"Hz": 1.0},
    "power": {"W": 1.0},
    "time": {"s": 1.0, "min": 60.0, "h": 3600.0, "hour": 3600.0, "day": 86400.0, "year": 365.25 * 86400.0},
    "area": {"m2": 1.0, "mm2": 1e-6, "mm^2": 1e-6, "um2": 1e-12, "um^2": 1e-12, "cm2": 1e-4, "cm^2": 1e-4},
    "flops": {"FLOP": 1.0, "FLOPs": 1.0},
    "flops_rate": {"FLOP/s": 1.0, "FLOPS": 1.0},
    "energy": {"J": 1.0, "Wh": 3600.0},
    "energy_per_bit": {"J/bit": 1.0, "J/b": 1.0},
    "length": {"m": 1.0},
    "cost": {"USD": 1.0, "$": 1.0},
}

#: Every dimension accepted by :func:`parse_quantity`, with an example of its unit strings.
DIMENSIONS: dict[str, str] = {
    "bytes": "e.g. '80 GiB', '50 MB', '4096 B'",
    "bits": "e.g. '8 Gb', '1 Mbit'",
    "bandwidth": "e.g. '3.35 TB/s', '900 GB/s', '400 Gb/s'",
    "frequency": "e.g. '1.98 GHz', '900 MHz'",
    "power": "e.g. '700 W', '10.2 kW'",
    "time": "e.g. '2 us', '5 ms', '1.5 s', '3 year'",
    "area": "e.g. '814 mm2', '1 cm2'",
    "flops": "e.g. '3.1 PFLOP'",
    "flops_rate": "e.g. '989 TFLOP/s'",
    "energy": "e.g. '4.6 pJ', '1 kWh'",
    "energy_per_bit": "e.g. '3.9 pJ/bit'",
    "length": "e.g. '5 nm', '2 mm'",
    "cost": "e.g. '16988 USD'",
    "dimensionless": "a plain number",
    "count": "a plain integer",
}

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QUANTITY = re.compile(rf"^\s*({_NUMBER})\s*([^\s].*?)?\s*$")


def _unit_factor(unit: str, dimension: str) -> float | None:
    """Factor that turns ``unit`` into the SI base unit of ``dimension``; None if unknown."""
    bases = _BASE_UNITS.get(dimension, {})
    if unit in bases:
        return bases[unit]
    small_ok = dimension in {"time", "energy", "energy_per_bit", "length", "power", "area"}
    for base, base_factor in sorted(bases.items(), key=lambda kv: -len(kv[0])):
        if not unit.endswith(base):
            continue
        prefix = unit[: -len(base)]
        if prefix in _BINARY and dimension in {"bytes", "bits", "bandwidth"}:
            return _BINARY[prefix] * base_factor
        if prefix in _DECIMAL and prefix != "":
            return _DECIMAL[prefix] * base_factor
        if small_ok and prefix in _SMALL and prefix != "":
            return _SMALL[prefix] * base_factor
    return None


def parse_quantity(
    raw: object,
    dimension: Dimension,
    *,
    file: str = "<string>",
    key_path: str = "",
    positive: bool = False,
    non_negative: bool = False,
) -> float:
    """Parse a number or a unit string into an SI float of ``dimension``.

    Args:
        raw: ``3.35e12``, ``"3.35 TB/s"``, ``"80 GiB"``... (bool is rejected).
        dimension: physical dimension the value must have.
        file, key_path: where the value came from, for the error message.
        positive: require value > 0.  non_negative: require value >= 0.

    Returns:
        the value in SI base units (bytes, bytes/s, Hz, W, s, m^2, FLOP, J, ...).

    Raises:
        InputError: unknown unit, wrong dimension, NaN/inf, or sign violation.
    """
    allowed = f"a {dimension} quantity ({DIMENSIONS.get(dimension, 'number')})"
    if positive:
        allowed += " greater than 0"
    elif non_negative:
        allowed += " of at least 0"
    if isinstance(raw, bool):
        raise InputError(file, key_path, raw, allowed)
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str):
        match = _QUANTITY.match(raw.replace("_", ""))
        if not match:
            raise InputError(file, key_path, raw, allowed)
        number, unit = match.group(1), (match.group(2) or "").strip()
        if dimension == "area":
            unit = unit.replace("²", "2")
        if unit == "" or dimension in {"dimensionless", "count"} and unit == "":
            factor = 1.0
        elif dimension == "dimensionless" and unit == "%":
            factor = 0.01
        else:
            found = _unit_factor(unit, dimension)
            if found is None:
                raise InputError(file, key_path, raw, allowed)
            factor = found
        value = float(number) * factor
    else:
        raise InputError(file, key_path, raw, allowed)
    if not math.isfinite(value):
        raise InputError(file, key_path, raw, allowed)
    if positive and not value > 0:
        raise InputError(file, key_path, raw, allowed)
    if non_negative and value < 0:
        raise InputError(file, key_path, raw, allowed)
    if dimension == "count" and value != int(value):
        raise InputError(file, key_path, raw, allowed)
    return value
