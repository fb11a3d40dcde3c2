"""Loaders of the validation's sourced inputs (``data/validation/*.yaml``) into frozen types.

``mlperf_eval_rules.yaml`` -> :class:`~archsweep.spec.validation_data.EvalRule` per MLPerf
benchmark. Each file is checked against its shipped JSON Schema first, so a bad
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
from archsweep.spec.validation_data import EvalRule

__all__ = ["load_mlperf_eval_rules", "mlperf_eval_rules_path"]


def mlperf_eval_rules_path() -> Path:
    return data_dir() / "validation" / "mlperf_eval_rules.yaml"


def _document(path: Path, schema: str) -> dict[str, Any]:
    doc = load_yaml(path)
    validate_document(doc, schema, str(path))
    return doc


@cache
def _eval_rules(path: Path) -> Mapping[str, EvalRule]:
    doc = _document(path, "mlperf_eval_rules")
    return MappingProxyType({name: EvalRule(benchmark=name, **entry) for name, entry in doc.items()})


def load_mlperf_eval_rules(path: Path | None = None) -> Mapping[str, EvalRule]:
    """Evaluation schedule per MLPerf benchmark id (default ``data/validation/mlperf_eval_rules.yaml``).

    Raises:
        InputError / InputErrors: unreadable file or a schema violation (file, key path, value, allowed).
    """
    return _eval_rules(Path(path) if path is not None else mlperf_eval_rules_path())
