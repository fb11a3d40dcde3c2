"""Typed loader of data/validation/mlperf_eval_rules.yaml:
the shipped file loads; a bad entry is refused naming file, key path, value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from archsweep.load.paths import data_dir
from archsweep.load.validation_data import load_mlperf_eval_rules
from archsweep.spec.errors import InputError


def _write(tmp_path: Path, name: str, doc: object) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _shipped(name: str) -> dict:
    return yaml.safe_load((data_dir() / "validation" / name).read_text(encoding="utf-8"))


def test_shipped_rules_load_typed() -> None:
    rules = load_mlperf_eval_rules()
    lora = rules["llama2_70b_lora"]
    assert (lora.every_samples, lora.eval_samples, lora.first_eval_samples, lora.train_samples) == (384, 173, 1536, 3072)
    assert lora.source and lora.locator and lora.confidence == "medium"
    assert "gpt3" not in rules  # compared as measured (inconsistent sources, see the file)


@pytest.mark.parametrize(("key", "value", "allowed"), [
    ("every_samples", 0, "a number >= 1"),
    ("eval_samples", 17.3, "type integer"),
    ("confidence", "certain", "text matching"),
])
def test_bad_eval_rule_is_refused(tmp_path: Path, key: str, value: object, allowed: str) -> None:
    doc = _shipped("mlperf_eval_rules.yaml")
    doc["llama2_70b_lora"][key] = value
    path = _write(tmp_path, "mlperf_eval_rules.yaml", doc)
    with pytest.raises(InputError) as exc:
        load_mlperf_eval_rules(path)
    p = exc.value.problem
    assert (p.file, p.key_path, p.value) == (str(path), f"llama2_70b_lora.{key}", repr(value))
    assert allowed in p.allowed
