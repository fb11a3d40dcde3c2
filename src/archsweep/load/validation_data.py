"""Loaders of the validation's sourced inputs (``data/validation/*.yaml``) into frozen types.

``mlperf_eval_rules.yaml`` -> :class:`~archsweep.spec.validation_data.EvalRule` per MLPerf
benchmark; ``trtllm_bench_precisions.yaml`` -> :class:`~archsweep.spec.validation_data.BenchPrecisions`
per model-name prefix. Each file is checked against its shipped JSON Schema first, so a bad
entry is reported with file, key path, value and what is allowed (exit 2 through the CLI).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from archsweep.load.paths import data_dir
from archsweep.load.schema import validate_document
from archsweep.load.yamlio import load_yaml
from archsweep.spec.training import expand_lora_targets
from archsweep.spec.validation_data import (
    BenchPrecisions,
    EvalRule,
    Fp8WeightHandling,
    HfTrainerSchedule,
    LoraRecipe,
    PrecisionTriple,
)

__all__ = ["load_mlperf_eval_rules", "load_bench_precisions", "mlperf_eval_rules_path", "bench_precisions_path"]


def mlperf_eval_rules_path() -> Path:
    return data_dir() / "validation" / "mlperf_eval_rules.yaml"


def bench_precisions_path() -> Path:
    return data_dir() / "validation" / "trtllm_bench_precisions.yaml"


def _document(path: Path, schema: str) -> dict[str, Any]:
    doc = load_yaml(path)
    validate_document(doc, schema, str(path))
    return doc


@cache
def _eval_rules(path: Path) -> Mapping[str, EvalRule]:
    doc = _document(path, "mlperf_eval_rules")
    rules = {}
    for name, entry in doc.items():
        entry = dict(entry)
        lora = entry.pop("lora", None)
        recipe = None if lora is None else LoraRecipe(
            rank=lora["rank"], targets=expand_lora_targets(lora["targets"]), dropout=float(lora["dropout"]),
            a2a=lora["a2a"], source=lora["source"], locator=lora["locator"], confidence=lora["confidence"])
        fp8 = entry.pop("fp8_weights", None)
        handling = None if fp8 is None else Fp8WeightHandling(
            transpose_cached=fp8["transpose_cached"], source=fp8["source"], locator=fp8["locator"],
            confidence=fp8["confidence"])
        hf = entry.pop("hf_trainer", None)
        schedule = None if hf is None else HfTrainerSchedule(
            eval_steps={str(k): int(v) for k, v in hf["eval_steps"].items()}, source=hf["source"],
            locator=hf["locator"], confidence=hf["confidence"])
        rules[name] = EvalRule(benchmark=name, lora=recipe, fp8_weights=handling, hf_trainer=schedule, **entry)
    return MappingProxyType(rules)


def load_mlperf_eval_rules(path: Path | None = None) -> Mapping[str, EvalRule]:
    """Evaluation schedule per MLPerf benchmark id (default ``data/validation/mlperf_eval_rules.yaml``).

    Raises:
        InputError / InputErrors: unreadable file or a schema violation (file, key path, value, allowed).
    """
    return _eval_rules(Path(path) if path is not None else mlperf_eval_rules_path())


def _triple(raw: Mapping[str, str]) -> PrecisionTriple:
    return PrecisionTriple(weight=raw["weight"], activation=raw["activation"], kv=raw["kv"])  # type: ignore[arg-type]


@cache
def _bench_precisions(path: Path) -> tuple[BenchPrecisions, ...]:
    doc = _document(path, "trtllm_bench_precisions")
    return tuple(
        BenchPrecisions(prefix=str(prefix), fp4_native=_triple(e["fp4_native"]), other=_triple(e["other"]),
                        non_expert_weight=e.get("non_expert_weight"), source=e["source"], locator=e["locator"],
                        confidence=e["confidence"], checkpoint=e.get("checkpoint"),
                        fp8_block_scales=bool(e.get("fp8_block_scales", False)))
        for prefix, e in doc.items())


def load_bench_precisions(path: Path | None = None) -> tuple[BenchPrecisions, ...]:
    """Precisions of TensorRT-LLM runs by model-name prefix, in file order (the first matching prefix wins).

    Default ``data/validation/trtllm_bench_precisions.yaml``.

    Raises:
        InputError / InputErrors: unreadable file or a schema violation (file, key path, value, allowed).
    """
    return _bench_precisions(Path(path) if path is not None else bench_precisions_path())
