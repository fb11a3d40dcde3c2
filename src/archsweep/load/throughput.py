"""``data/sizing/throughput_rates.yaml`` -> frozen :class:`~archsweep.spec.throughput.ThroughputRates`.

The rates ``shards: auto`` sizes evaluate jobs with (:mod:`archsweep.load.sharding`): measured by
the benchmarks of ``benchmarks/``, each value with its source (the command), locator, date and
confidence. A malformed file is an :class:`~archsweep.spec.errors.InputError` naming the file, the
key path, the value and what is allowed.
"""

from __future__ import annotations

import datetime
import math
from functools import cache
from pathlib import Path
from typing import Any

from archsweep.load.paths import data_dir
from archsweep.load.yamlio import load_yaml
from archsweep.spec.errors import InputError
from archsweep.spec.throughput import WORKLOAD_KINDS, ThroughputRates

__all__ = ["load_throughput_rates", "throughput_rates_path"]

_PROVENANCE = ("source", "locator", "date", "confidence")
_CONFIDENCE = ("low", "medium", "high")
_ENTRY = "{value: rate per second > 0, source: command, locator, date: YYYY-MM-DD, confidence: low|medium|high}"


def throughput_rates_path() -> Path:
    """The shipped rate file."""
    return data_dir() / "sizing" / "throughput_rates.yaml"


def load_throughput_rates(path: str | Path | None = None) -> ThroughputRates:
    """Read and check the rate file (default :func:`throughput_rates_path`); cached per path."""
    return _load(Path(path) if path is not None else throughput_rates_path())


@cache
def _load(path: Path) -> ThroughputRates:
    file = str(path)
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise InputError(file, "", type(doc).__name__,
                         "a mapping with search_rows_per_second, exhaustive_search_rows_per_second, candidates_per_second")
    search_w, search_k = _rate_table(doc, "search_rows_per_second", file)
    exh_w, exh_k = _rate_table(doc, "exhaustive_search_rows_per_second", file)
    return ThroughputRates(file=file, search_by_workload=search_w, search_by_kind=search_k,
                           exhaustive_by_workload=exh_w, exhaustive_by_kind=exh_k,
                           candidates_per_second=_rate(doc.get("candidates_per_second"), file, "candidates_per_second"))


def _rate_table(doc: dict[str, Any], key: str, file: str) -> tuple[dict[str, float], dict[str, float]]:
    table = doc.get(key)
    if not isinstance(table, dict):
        raise InputError(file, key, _show(table), "a mapping {workloads: {name: entry}, kinds: {dense, moe, serving: entry}}")
    workloads = table.get("workloads", {})
    if not isinstance(workloads, dict):
        raise InputError(file, f"{key}.workloads", _show(workloads), "a mapping of workload name -> " + _ENTRY)
    kinds = table.get("kinds")
    if not isinstance(kinds, dict):
        raise InputError(file, f"{key}.kinds", _show(kinds), "a mapping with one entry per kind: " + ", ".join(WORKLOAD_KINDS))
    for kind in WORKLOAD_KINDS:
        if kind not in kinds:
            raise InputError(file, f"{key}.kinds.{kind}", "<missing>", "an entry per kind: " + ", ".join(WORKLOAD_KINDS))
    for kind in kinds:
        if kind not in WORKLOAD_KINDS:
            raise InputError(file, f"{key}.kinds.{kind}", str(kind), "one of " + ", ".join(WORKLOAD_KINDS))
    return ({str(name): _rate(entry, file, f"{key}.workloads.{name}") for name, entry in workloads.items()},
            {kind: _rate(kinds[kind], file, f"{key}.kinds.{kind}") for kind in WORKLOAD_KINDS})


def _rate(entry: object, file: str, key_path: str) -> float:
    if not isinstance(entry, dict):
        raise InputError(file, key_path, _show(entry), _ENTRY)
    for key in ("value", *_PROVENANCE):
        if key not in entry:
            raise InputError(file, f"{key_path}.{key}", "<missing>", "every rate carries " + _ENTRY)
    value = entry["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InputError(file, f"{key_path}.value", _show(value), "a finite number > 0 (per second)")
    if not isinstance(entry["date"], datetime.date):
        raise InputError(file, f"{key_path}.date", _show(entry["date"]), "the measurement date, YYYY-MM-DD")
    if entry["confidence"] not in _CONFIDENCE:
        raise InputError(file, f"{key_path}.confidence", _show(entry["confidence"]), "one of " + ", ".join(_CONFIDENCE))
    for key in ("source", "locator"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise InputError(file, f"{key_path}.{key}", _show(entry[key]), "a non-empty string")
    return float(value)


def _show(value: object) -> str:
    return "<missing>" if value is None else repr(value)
