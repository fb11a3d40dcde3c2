"""The process-wide cache of the pruned mapping search's per-key tables and communication coefficients.

An LRU bounded in bytes (:data:`CACHE_BYTES`) of tuples of arrays, keyed by (context, name, key): the
context (:func:`context`) is what every entry of one search depends on besides its own key (workload,
calibration, fixed dp, a digest of the mapping batch, precision); :mod:`archsweep.model.training.key_tables`
and :mod:`archsweep.model.training.pruned_search` name their entries ("tables", "count", "classes",
"comm"). Results never depend on the cache, only the time to reach them.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import fields

import numpy as np

from archsweep.model.training.mapping import MappingArrays
from archsweep.spec.calibration import Calibration
from archsweep.spec.workload import Workload

__all__ = ["CACHE_BYTES", "cached", "cached_value", "clear_cache", "context", "is_cached", "store"]

#: Upper bound of the process-wide cache (tables and communication coefficients), bytes.
CACHE_BYTES = 256 * 2**20


class _Lru:
    """An LRU dictionary bounded by the summed ``nbytes`` of its values (tuples of arrays)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, tuple[np.ndarray, ...]] = OrderedDict()
        self._bytes = 0

    def get(self, key: Hashable) -> tuple[np.ndarray, ...] | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data

    def put(self, key: Hashable, value: tuple[np.ndarray, ...]) -> None:
        if key in self._data:
            return
        self._data[key] = value
        self._bytes += sum(v.nbytes for v in value)
        while self._bytes > self.max_bytes and len(self._data) > 1:
            _, old = self._data.popitem(last=False)
            self._bytes -= sum(v.nbytes for v in old)

    def clear(self) -> None:
        self._data.clear()
        self._bytes = 0


_CACHE = _Lru(CACHE_BYTES)
_DIGESTS: list[tuple[MappingArrays, str]] = []  # (batch, digest): a strong reference keeps id() unique


def clear_cache() -> None:
    """Forget every cached table (tests; results never depend on the cache)."""
    _CACHE.clear()
    _DIGESTS.clear()


def _digest(mappings: MappingArrays) -> str:
    for known, digest in _DIGESTS:
        if known is mappings:
            return digest
    h = hashlib.blake2b(digest_size=16)
    for f in fields(mappings):
        arr = np.ascontiguousarray(getattr(mappings, f.name), dtype=np.float64)
        h.update(f.name.encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    digest = h.hexdigest()
    _DIGESTS.append((mappings, digest))
    del _DIGESTS[:-8]
    return digest


class _Context(tuple):
    """A tuple that hashes once: a cache key holds the workload and calibration, frozen dataclasses
    whose hash walks every field; :func:`keys` looks up thousands of keys per batch."""

    _hash: int

    def __new__(cls, items: tuple[Hashable, ...]) -> _Context:
        self = super().__new__(cls, items)
        self._hash = tuple.__hash__(self)
        return self

    def __hash__(self) -> int:
        return self._hash


def context(wl: Workload, mappings: MappingArrays, fixed_dp: float | None, cal: Calibration) -> tuple[Hashable, ...]:
    """What every cached entry of one search depends on besides its own key (equal to the plain
    tuple, its hash computed once)."""
    return _Context((wl, cal, fixed_dp, _digest(mappings), wl.training.precision == "fp8"))


def cached(ctx: tuple[Hashable, ...], name: str, key: tuple[float, ...],
           compute: Callable[[], tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """The cached value of (``ctx``, ``name``, ``key``), computed by ``compute()`` on a miss."""
    full = (ctx, name, key)
    value = _CACHE.get(full)
    if value is None:
        value = compute()
        _CACHE.put(full, value)
    return value


def cached_value(ctx: tuple[Hashable, ...], name: str, key: tuple[float, ...]) -> tuple[np.ndarray, ...] | None:
    """The cached value of (``ctx``, ``name``, ``key``), or None."""
    return _CACHE.get((ctx, name, key))


def store(ctx: tuple[Hashable, ...], name: str, key: tuple[float, ...], value: tuple[np.ndarray, ...]) -> None:
    """Cache ``value`` under (``ctx``, ``name``, ``key``)."""
    _CACHE.put((ctx, name, key), value)


def is_cached(ctx: tuple[Hashable, ...], name: str, key: tuple[float, ...]) -> bool:
    """Whether (``ctx``, ``name``, ``key``) is cached (without refreshing its place in the LRU)."""
    return (ctx, name, key) in _CACHE
