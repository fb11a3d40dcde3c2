"""Typed loaders of data/validation/mlperf_eval_rules.yaml and trtllm_bench_precisions.yaml:
the shipped files load; a bad entry is refused naming file, key path, value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from archsweep.load.paths import data_dir
from archsweep.load.validation_data import load_bench_precisions, load_mlperf_eval_rules
from archsweep.spec.errors import InputError, InputErrors


def _write(tmp_path: Path, name: str, doc: object) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _shipped(name: str) -> dict:
    return yaml.safe_load((data_dir() / "validation" / name).read_text(encoding="utf-8"))


def test_shipped_files_load_typed() -> None:
    rules = load_mlperf_eval_rules()
    lora = rules["llama2_70b_lora"]
    assert (lora.every_samples, lora.eval_samples, lora.first_eval_samples, lora.train_samples) == (384, 173, 1536, 3072)
    assert "gpt3" not in rules  # compared as measured (inconsistent sources, see the file)
    entries = {e.prefix: e for e in load_bench_precisions()}
    # Qwen3-30B before Qwen3: the first matching prefix wins (its Blackwell KV is FP8, Qwen3-235B's BF16).
    assert list(entries) == ["DeepSeek-R1", "GPT-OSS", "Qwen3-30B", "Qwen3", "Llama-4"]
    # s20-D: DeepSeek's own FP8 checkpoint is 128x128 block-scaled (its MoE gathers BF16); no other entry is
    ds = entries["DeepSeek-R1"]
    assert ds.fp8_block_scales and (ds.other.weight, ds.fp4_native.weight) == ("fp8", "fp4")
    assert not any(e.fp8_block_scales for k, e in entries.items() if k != "DeepSeek-R1")
    assert (entries["Qwen3-30B"].fp4_native.kv, entries["Qwen3"].fp4_native.kv, entries["Llama-4"].fp4_native.kv) == ("fp8", "bf16", "fp8")
    gpt = entries["GPT-OSS"]
    assert (gpt.fp4_native.weight, gpt.other.weight, gpt.non_expert_weight) == ("fp4", "int4", "bf16")
    assert entries["Qwen3"].non_expert_weight is None and entries["Qwen3"].confidence == "low"
    assert gpt.checkpoint == "mxfp4" and entries["Qwen3"].checkpoint is None  # None: implied by the weight precision


def test_bad_checkpoint_format_names_file_key_value_and_allowed(tmp_path: Path) -> None:
    doc = _shipped("trtllm_bench_precisions.yaml")
    doc["GPT-OSS"]["checkpoint"] = "mxfp6"
    with pytest.raises(InputError, match=r"GPT-OSS\.checkpoint: got 'mxfp6'; allowed: one of bf16"):
        load_bench_precisions(_write(tmp_path, "p.yaml", doc))


def test_bad_precision_names_file_key_value_and_allowed(tmp_path: Path) -> None:
    doc = _shipped("trtllm_bench_precisions.yaml")
    doc["Qwen3"]["other"]["kv"] = "fp6"
    path = _write(tmp_path, "trtllm_bench_precisions.yaml", doc)
    with pytest.raises(InputError) as exc:
        load_bench_precisions(path)
    p = exc.value.problem
    assert (p.file, p.key_path, p.value) == (str(path), "Qwen3.other.kv", "'fp6'")
    assert p.allowed == "one of bf16, fp8, fp4"


def test_missing_source_and_unknown_key_reported_together(tmp_path: Path) -> None:
    doc = _shipped("trtllm_bench_precisions.yaml")
    del doc["GPT-OSS"]["source"]
    doc["Llama-4"]["fp4_native"]["weights"] = "fp4"
    path = _write(tmp_path, "trtllm_bench_precisions.yaml", doc)
    with pytest.raises(InputErrors) as exc:
        load_bench_precisions(path)
    found = {(p.key_path, p.value) for p in exc.value.problems}
    assert ("GPT-OSS.source", "<missing>") in found
    assert ("Llama-4.fp4_native.weights", "<unknown key 'weights'>") in found


def test_non_expert_weight_only_bf16(tmp_path: Path) -> None:
    doc = _shipped("trtllm_bench_precisions.yaml")
    doc["GPT-OSS"]["non_expert_weight"] = "fp8"
    with pytest.raises(InputError, match=r"GPT-OSS\.non_expert_weight: got 'fp8'; allowed: one of bf16"):
        load_bench_precisions(_write(tmp_path, "p.yaml", doc))


def test_not_a_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"got <list>; allowed: a YAML mapping \(a trtllm_bench_precisions document"):
        load_bench_precisions(_write(tmp_path, "p.yaml", ["GPT-OSS"]))


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


def test_fp8_block_scales_must_be_a_boolean(tmp_path: Path) -> None:
    doc = _shipped("trtllm_bench_precisions.yaml")
    doc["DeepSeek-R1"]["fp8_block_scales"] = "yes"
    with pytest.raises(InputError, match=r"DeepSeek-R1\.fp8_block_scales"):
        load_bench_precisions(_write(tmp_path, "p.yaml", doc))
