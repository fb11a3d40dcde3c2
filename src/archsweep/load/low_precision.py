"""Loaders of ``data/hardware/low_precision_rates.yaml`` (:class:`LowPrecisionRates` per catalog
name) and ``data/calibration/low_precision_recipes.yaml`` (:class:`LowPrecisionRecipe` per recipe).

Each figure is ``{value, source, locator, confidence}`` (or a list of them where sources
disagree: the first, the file's preferred source, is used). Values carry units ("794.5 TFLOP/s").
A figure several parts share is written once, in a family of the rates file's ``families`` section
(parts with a note each, figures): :func:`low_precision_rate_sources` says where each part's figure
comes from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

from archsweep.load.paths import data_dir
from archsweep.load.units import parse_quantity
from archsweep.load.yamlio import load_yaml
from archsweep.spec.errors import InputError
from archsweep.spec.low_precision import RECIPE_NAMES, LowPrecisionRates, LowPrecisionRecipe

__all__ = ["FigureSource", "fp4_native_accelerators", "load_low_precision_rates", "load_low_precision_recipes",
           "low_precision_rate_sources"]

_FIELDS = {
    "measured_max_matmul_bf16_flops_per_s": "mamf_bf16_flops_per_s",
    "measured_max_matmul_fp8_flops_per_s": "mamf_fp8_flops_per_s",
    "peak_dense_fp4_flops_per_s": "peak_fp4_flops_per_s",
    "peak_dense_nvfp4_flops_per_s": "peak_nvfp4_flops_per_s",
}
#: Yes/no facts about a part (value true / false).
_FLAGS = {"fp8_gemm_any_layout": "fp8_gemm_any_layout"}
#: Plain numbers (value >= 0): counts per clock, GEMM reduction lengths (elements).
_COUNTS = {"softmax_exponentials_per_cycle_per_unit": "softmax_exponentials_per_cycle_per_unit",
           "gemm_k_half_bf16": "gemm_k_half_bf16", "gemm_k_half_fp8": "gemm_k_half_fp8",
           "gemm_k_reference": "gemm_k_reference", "gemm_tile_m": "gemm_tile_m", "gemm_tile_n": "gemm_tile_n",
           "gemm_tile_units": "gemm_tile_units"}
#: Shares of peak HBM bandwidth (value in (0, 1]): the quantisation kernels of each recipe.
_SHARES = {f"quantize_hbm_share_{r}": f"quantize_hbm_share_{r}" for r in RECIPE_NAMES}
#: Rate ratios (value >= 1): the FP8 attention kernel's rate over the BF16 one on the part.
_RATIOS = {"fp8_attention_rate_ratio": "fp8_attention_rate_ratio"}
#: Published in the file but not used by the model (FP6 peaks).
_KNOWN_UNUSED = {"peak_dense_fp6_flops_per_s"}
_PROVENANCE = ("value", "source", "locator", "confidence")


#: Reserved top-level key: figures several parts share (:func:`_family_figures`).
_FAMILIES = "families"
_FAMILY_KEYS = {"about", "parts", "figures"}
_PART_NOTE_KEYS = {"note", "confidence"}


@dataclass(frozen=True)
class FigureSource:
    """Where one part's figure comes from in ``data/hardware/low_precision_rates.yaml``.

    Attributes:
        key_path: the figure's entry in the file (``H100-SXM.measured_max_matmul_fp8_flops_per_s`` or
            ``families.<family>.figures.<figure>``).
        entry: the entry as written (``{value, source, locator, confidence, ...}``; the first where
            sources disagree); for a family figure with the part's ``confidence`` where the family
            lowers it.
        note: why a family's figure holds for the part (its derivation); "" for the part's own entry.
    """

    key_path: str
    entry: Mapping[str, object]
    note: str = ""


@cache
def low_precision_rate_sources(path: Path | None = None) -> Mapping[str, Mapping[str, FigureSource]]:
    """Per catalog name, per figure of ``path`` (default ``data/hardware/low_precision_rates.yaml``):
    where the figure comes from, the part's own block or a family of ``families`` (a figure the part
    writes itself overrides its family's). Keys and provenance are checked, values are not
    (:func:`load_low_precision_rates` does).

    Raises:
        InputError: malformed file or family, unknown key, missing provenance, a part given one figure
            by two families (file, key path).
    """
    path = Path(path) if path is not None else data_dir() / "hardware" / "low_precision_rates.yaml"
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise InputError(str(path), "", type(doc).__name__, "a mapping of catalog name -> rates")
    out: dict[str, dict[str, FigureSource]] = {}
    for name, entries in doc.items():
        if name == _FAMILIES:
            continue
        if not isinstance(entries, dict):
            raise InputError(str(path), str(name), type(entries).__name__, "a mapping of figure -> {value, source, ...}")
        out[str(name)] = {str(key): FigureSource(f"{name}.{key}", _sourced_entry(path, f"{name}.{key}", key, entry))
                          for key, entry in entries.items()}
    inherited: dict[tuple[str, str], str] = {}
    for part, key, source in _family_figures(path, doc.get(_FAMILIES, {})):
        if (part, key) in inherited:
            raise InputError(str(path), source.key_path, part,
                             f"a part in one family per figure ({inherited[(part, key)]} gives {part} {key} too)")
        inherited[(part, key)] = source.key_path
        out.setdefault(part, {}).setdefault(key, source)
    return MappingProxyType({name: MappingProxyType(figures) for name, figures in out.items()})


def _family_figures(path: Path, families: object) -> Iterator[tuple[str, str, FigureSource]]:
    """(part, figure, source) for every part and figure of every family of ``families``.

    Raises:
        InputError: a family, its ``parts`` or ``figures`` malformed (file, key path).
    """
    if not isinstance(families, dict):
        raise InputError(str(path), _FAMILIES, type(families).__name__, "a mapping of family name -> {about, parts, figures}")
    for family, body in families.items():
        where = f"{_FAMILIES}.{family}"
        if not isinstance(body, dict) or set(body) != _FAMILY_KEYS:
            raise InputError(str(path), where, sorted(body) if isinstance(body, dict) else type(body).__name__,
                             "keys " + ", ".join(sorted(_FAMILY_KEYS)))
        parts, figures = body["parts"], body["figures"]
        if not isinstance(parts, dict) or not parts:
            raise InputError(str(path), f"{where}.parts", parts, "a mapping of catalog name -> {note[, confidence]}")
        if not isinstance(figures, dict) or not figures:
            raise InputError(str(path), f"{where}.figures", figures, "a mapping of figure -> {value, source, locator, confidence}")
        checked = {str(key): _sourced_entry(path, f"{where}.figures.{key}", key, entry) for key, entry in figures.items()}
        for part, note in parts.items():
            if (not isinstance(note, dict) or "note" not in note or not set(note) <= _PART_NOTE_KEYS
                    or not all(isinstance(v, str) for v in note.values())):
                raise InputError(str(path), f"{where}.parts.{part}", note, "{note: text[, confidence: text]}")
            for key, entry in checked.items():
                yield str(part), key, FigureSource(f"{where}.figures.{key}", {**entry, **note}, note["note"])


def _sourced_entry(path: Path, key_path: str, key: object, entry: object) -> Mapping[str, object]:
    """The provenance entry of figure ``key`` at ``key_path`` (the first where sources disagree).

    Raises:
        InputError: ``key`` is not a figure of the file, or the entry lacks {value, source, locator, confidence}.
    """
    if key not in {*_KNOWN_UNUSED, *_FIELDS, *_FLAGS, *_COUNTS, *_SHARES, *_RATIOS}:
        raise InputError(str(path), key_path, "<unknown key>",
                         "one of " + ", ".join(sorted({*_FIELDS, *_FLAGS, *_COUNTS, *_SHARES, *_RATIOS, *_KNOWN_UNUSED})))
    first = entry[0] if isinstance(entry, list) and entry else entry
    if not isinstance(first, dict) or any(k not in first for k in _PROVENANCE):
        raise InputError(str(path), key_path, "<missing provenance>", "{value, source, locator, confidence}")
    return first


@cache
def load_low_precision_rates(path: Path | None = None) -> Mapping[str, LowPrecisionRates]:
    """Rates per catalog name (read-only mapping): each part's own figures and those of the families
    that list it (:func:`low_precision_rate_sources`).

    Raises:
        InputError: malformed file, unknown key, missing provenance or a bad unit (file, key path).
    """
    path = Path(path) if path is not None else data_dir() / "hardware" / "low_precision_rates.yaml"
    out: dict[str, LowPrecisionRates] = {}
    for name, figures in low_precision_rate_sources(path).items():
        values: dict[str, float | bool] = {}
        for key, source in figures.items():
            if key not in _KNOWN_UNUSED:
                field, values[field] = _figure_value(path, key, source)
        out[name] = LowPrecisionRates(name=name, **values)  # type: ignore[arg-type]
    return MappingProxyType(out)


def _figure_value(path: Path, key: str, source: FigureSource) -> tuple[str, float | bool]:
    """(LowPrecisionRates field, value) of figure ``key`` from ``source``.

    Raises:
        InputError: a flag that is not true / false, a share outside (0, 1], a ratio below 1, a negative count, a rate
            without a FLOP/s unit (file, key path ``<source.key_path>.value``, value).
    """
    value, where = source.entry["value"], f"{source.key_path}.value"
    if key in _FLAGS:
        if not isinstance(value, bool):
            raise InputError(str(path), where, value, "true or false")
        return _FLAGS[key], value
    if key in _SHARES:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            raise InputError(str(path), where, value, "a share of peak HBM bandwidth in (0, 1]")
        return _SHARES[key], float(value)
    if key in _RATIOS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1:
            raise InputError(str(path), where, value, "a rate ratio >= 1 (FP8 over BF16)")
        return _RATIOS[key], float(value)
    if key in _COUNTS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise InputError(str(path), where, value, "a number >= 0")
        return _COUNTS[key], float(value)
    return _FIELDS[key], parse_quantity(value, "flops_rate", file=str(path), key_path=where, non_negative=True)


_RECIPE_BYTES = ("cast_bytes_tn_only", "cast_bytes_any_layout", "norm_cast_bytes_tn_only", "norm_cast_bytes_any_layout",
                 "tp_grad_regather_bytes", "weight_copy_bytes_tn_only", "weight_copy_bytes_any_layout",
                 "fp8_param_copy_bytes_tn_only", "fp8_param_copy_bytes_any_layout", "fp8_param_gather_bytes")
#: GEMM kernel rate of the recipe over the per-tensor FP8 kernels: a ratio in (0, 1.5].
_RECIPE_RATE = "gemm_rate_vs_per_tensor"
#: Kernels per split of TransformerEngine's split_quantize (grouped MoE GEMM operands): counts >= 0.
_RECIPE_KERNELS = ("split_quantize_kernels_tn_only", "split_quantize_kernels_any_layout")
#: Sourced true / false: the recipe's published runs overlap the TP collectives (every recipe states it).
_RECIPE_OVERLAP = "tp_comm_overlap"


@cache
def load_low_precision_recipes(path: Path | None = None) -> Mapping[str, LowPrecisionRecipe]:
    """Recipes by name (read-only mapping): every name of :data:`RECIPE_NAMES`, each byte figure
    ``{value, source, locator, confidence}`` (bytes per element, >= 0), the GEMM rate over the
    per-tensor FP8 kernels (``gemm_rate_vs_per_tensor``, a ratio in (0, 1.5]) and the kernels per split
    of a grouped GEMM operand's quantisation (``split_quantize_kernels_*``, whole numbers >= 0).

    Raises:
        InputError: missing or unknown recipe or key, missing provenance, a bad value (file, key path).
    """
    path = Path(path) if path is not None else data_dir() / "calibration" / "low_precision_recipes.yaml"
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise InputError(str(path), "", type(doc).__name__, "a mapping of recipe name -> figures")
    missing = [n for n in RECIPE_NAMES if n not in doc]
    unknown = [str(n) for n in doc if n not in RECIPE_NAMES]
    if missing or unknown:
        raise InputError(str(path), "", ", ".join(unknown) or "<missing " + ", ".join(missing) + ">",
                         "exactly the recipes " + ", ".join(RECIPE_NAMES))
    out: dict[str, LowPrecisionRecipe] = {}
    for name in RECIPE_NAMES:
        entries = doc[name]
        if not isinstance(entries, dict) or set(entries) != {"gemm_dtype", *_RECIPE_BYTES, _RECIPE_RATE, *_RECIPE_KERNELS,
                                                              _RECIPE_OVERLAP}:
            got = sorted(entries) if isinstance(entries, dict) else type(entries).__name__
            raise InputError(str(path), name, got,
                             "keys gemm_dtype, " + ", ".join((*_RECIPE_BYTES, _RECIPE_RATE, *_RECIPE_KERNELS, _RECIPE_OVERLAP)))
        if entries["gemm_dtype"] not in ("fp8", "nvfp4"):
            raise InputError(str(path), f"{name}.gemm_dtype", entries["gemm_dtype"], "fp8 or nvfp4")
        values: dict[str, float] = {}
        for key in _RECIPE_BYTES:
            values[key] = _sourced_value(path, name, key, entries[key], False, lambda v: v >= 0,
                                         "a number of bytes per element >= 0")
        for key in _RECIPE_KERNELS:
            values[key] = _sourced_value(path, name, key, entries[key], True, lambda v: v >= 0,
                                         "a whole number of kernels >= 0")
        values[_RECIPE_RATE] = _sourced_value(path, name, _RECIPE_RATE, entries[_RECIPE_RATE], False,
                                              lambda v: 0 < v <= 1.5, "a rate ratio in (0, 1.5]")
        overlap = entries[_RECIPE_OVERLAP]
        if not isinstance(overlap, dict) or any(k not in overlap or (k != "value" and not overlap[k]) for k in _PROVENANCE):
            raise InputError(str(path), f"{name}.{_RECIPE_OVERLAP}", "<missing provenance>",
                             "{value, source, locator, confidence}")
        if not isinstance(overlap["value"], bool):
            raise InputError(str(path), f"{name}.{_RECIPE_OVERLAP}.value", overlap["value"], "true or false")
        out[name] = LowPrecisionRecipe(name=name, gemm_dtype=entries["gemm_dtype"], tp_comm_overlap=overlap["value"],
                                       **values)
    return MappingProxyType(out)


def _sourced_value(path: Path, name: str, key: str, entry: object, whole: bool,
                   ok: Callable[[float], bool], allowed: str) -> float:
    """``{value, source, locator, confidence}`` of ``name.key`` in ``path``: its value as a float, a
    number (an integer where ``whole``; not a bool) for which ``ok`` holds.

    Raises:
        InputError: provenance missing, or a value that is not such a number (``allowed`` says what is).
    """
    if not isinstance(entry, dict) or any(k not in entry for k in _PROVENANCE):
        raise InputError(str(path), f"{name}.{key}", "<missing provenance>", "{value, source, locator, confidence}")
    value = entry["value"]
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)) or not ok(value):
        raise InputError(str(path), f"{name}.{key}.value", value, allowed)
    return float(value)


def fp4_native_accelerators(path: Path | None = None) -> frozenset[str]:
    """Catalog parts whose matrix engines run FP4 natively: those with a published dense FP4 or
    NVFP4 peak in ``data/hardware/low_precision_rates.yaml`` (every Blackwell part, AMD CDNA4
    MI355X, Rubin, RTX PRO 6000). Hopper, Ada and Ampere have none (FP4 weights are dequantised to
    the compute precision). One list for the serving what-if and the serving validation."""
    return frozenset(name for name, rates in load_low_precision_rates(path).items()
                     if rates.peak_fp4_flops_per_s or rates.peak_nvfp4_flops_per_s)
