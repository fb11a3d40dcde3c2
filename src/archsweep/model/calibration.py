"""Calibration constants of the training performance model, from ``data/calibration/model.yaml``.

One set of constants for every accelerator (no per-run tuning). Each entry in the file carries
``value``, ``source``, ``locator`` and ``confidence``; this module parses it into a frozen
:class:`Calibration` in SI units.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

from ..errors import InputError
from ..paths import data_dir
from ..units import parse_quantity
from ..yamlio import load_yaml

__all__ = ["Calibration", "load_calibration"]


@dataclass(frozen=True)
class Calibration:
    """Model constants (SI). See ``data/calibration/model.yaml`` for the source of each."""

    gemm_tile_m: float
    gemm_tile_n: float
    gemm_k_half: float
    gemm_in_training_ratio: float
    kernel_overhead_s: float
    hbm_bw_efficiency: float
    flash_attention_efficiency: float
    flash_attention_backward_flop_ratio: float
    elementwise_bytes_per_token_per_hidden: float
    elementwise_bytes_per_token_per_ffn: float
    dp_grad_bytes_per_param: float
    optimizer_bytes_per_param: float
    memory_reserved_bytes: float
    dp_overlap_fraction: float
    tp_overlap_residual: float
    collective_bw_efficiency: float
    pipeline_p2p_overlap: float


_DIMENSIONS = {"kernel_overhead_s": "time", "memory_reserved_bytes": "bytes"}
_REQUIRED_PROVENANCE = ("value", "source", "locator", "confidence")


@cache
def load_calibration(path: Path | None = None) -> Calibration:
    """Load and check the calibration file (default ``data/calibration/model.yaml``)."""
    path = Path(path) if path is not None else data_dir() / "calibration" / "model.yaml"
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise InputError(str(path), "", type(doc).__name__, "a mapping of constant name -> {value, source, locator, confidence}")
    names = [f.name for f in fields(Calibration)]
    unknown = sorted(set(doc) - set(names))
    if unknown:
        raise InputError(str(path), unknown[0], "<unknown key>", "one of " + ", ".join(names))
    values: dict[str, float] = {}
    for name in names:
        entry = doc.get(name)
        if not isinstance(entry, dict):
            raise InputError(str(path), name, "<missing>", "{value, source, locator, confidence}")
        for key in _REQUIRED_PROVENANCE:
            if key not in entry:
                raise InputError(str(path), f"{name}.{key}", "<missing>", "every constant carries value, source, locator, confidence")
        values[name] = parse_quantity(entry["value"], _DIMENSIONS.get(name, "dimensionless"),  # type: ignore[arg-type]
                                      file=str(path), key_path=f"{name}.value", non_negative=True)
    return Calibration(**values)
