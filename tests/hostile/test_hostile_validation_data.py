"""A bad data/validation/*.yaml through ``archsweep validate``: exit 2, one message naming the file,
key path, value and what is allowed, no traceback, nothing written (the contract of test_hostile)."""

from __future__ import annotations

import pytest
import yaml
from test_hostile import ROOT, _refused, data_with, sandbox  # noqa: F401  (sandbox is a fixture)

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
    doc = yaml.safe_load((ROOT / "data" / "validation" / name).read_text(encoding="utf-8"))
    mutate(doc)
    data = data_with(tmp_path, "validation", name, doc)
    monkeypatch.setenv("ARCHSWEEP_DATA_DIR", str(data))
    argv = ["validate", "--measurements", str(ROOT / "data" / "validation" / table), "--summary-only"]
    err = _refused(argv, fragment, capsys, (*sandbox, data))
    assert f"validation/{name}" in err
