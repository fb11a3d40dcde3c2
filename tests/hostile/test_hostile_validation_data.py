"""A bad data/validation/*.yaml through ``archsweep validate``: exit 2, one message naming the file,
key path, value and what is allowed, no traceback, nothing written (the contract of test_hostile)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from test_hostile import ROOT, _refused, sandbox  # noqa: F401  (sandbox is a fixture)


def _data_with(tmp_path: Path, name: str, mutate: Callable[[dict], None]) -> Path:
    """A data directory linking to the checkout's, with ``validation/<name>`` mutated."""
    data = tmp_path / "data"
    (data / "validation").mkdir(parents=True)
    for entry in (ROOT / "data").iterdir():
        if entry.name != "validation":
            (data / entry.name).symlink_to(entry)
    for entry in (ROOT / "data" / "validation").iterdir():
        if entry.name != name:
            (data / "validation" / entry.name).symlink_to(entry)
    doc = yaml.safe_load((ROOT / "data" / "validation" / name).read_text(encoding="utf-8"))
    mutate(doc)
    (data / "validation" / name).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return data


_CASES = {
    "precision_kv_unknown": ("trtllm_bench_precisions.yaml", "inference_runs.csv",
                             lambda d: d["Qwen3"]["other"].update(kv="fp6"),
                             "Qwen3.other.kv: got 'fp6'; allowed: one of bf16, fp8, fp4"),
    "precision_entry_not_a_mapping": ("trtllm_bench_precisions.yaml", "inference_runs.csv",
                                      lambda d: d.update({"Llama-4": "fp8"}), "Llama-4: got 'fp8'; allowed: type object"),
    "eval_rule_every_zero": ("mlperf_eval_rules.yaml", "training_runs.csv",
                             lambda d: d["llama2_70b_lora"].update(every_samples=0),
                             "llama2_70b_lora.every_samples: got 0; allowed: a number >= 1"),
}


@pytest.mark.parametrize("case", sorted(_CASES))
def test_bad_validation_data_file_is_refused(case, sandbox, capsys, monkeypatch, tmp_path):  # noqa: F811
    name, table, mutate, fragment = _CASES[case]
    data = _data_with(tmp_path, name, mutate)
    monkeypatch.setenv("ARCHSWEEP_DATA_DIR", str(data))
    argv = ["validate", "--measurements", str(ROOT / "data" / "validation" / table), "--summary-only"]
    err = _refused(argv, fragment, capsys, (*sandbox, data))
    assert f"validation/{name}" in err
