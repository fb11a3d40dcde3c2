"""``archsweep eval`` (:mod:`archsweep.whatif`) and the ``archsweep validate`` command."""

from __future__ import annotations

import csv
import json
import time

import pytest

from archsweep.cli.app import main
from archsweep.load.paths import data_dir
from archsweep.spec.errors import InputError
from archsweep.validation.cells import read_measurements
from archsweep.validation.types import OUTPUT_COLUMNS
from archsweep.whatif import WorkloadOverrides, what_if

ISSUE_OUTPUTS = ("step_time_s", "compute_time_s", "bubble_time_s", "tp_comm_exposed_s", "dp_comm_exposed_s",
                 "pp_comm_exposed_s", "ep_comm_exposed_s", "cp_comm_exposed_s", "optimizer_time_s", "mfu", "hfu",
                 "tokens_per_s", "memory_per_accelerator_bytes", "feasible", "tp", "pp", "dp", "cp", "ep", "vpp",
                 "micro_batch", "recompute", "zero_stage")


def test_what_if_is_flat_plain_and_fast():
    what_if("llama3-8b", "H100-SXM", 8)  # warm caches (catalog, technology, workload files)
    start = time.perf_counter()
    result = what_if("llama3-405b", "H100-SXM", 16384)
    assert time.perf_counter() - start < 1.0
    assert set(ISSUE_OUTPUTS) <= set(result)
    assert all(isinstance(v, (int, float, str, bool)) or v is None for v in result.values())
    assert isinstance(result["tp"], int) and isinstance(result["feasible"], bool)
    assert result["tp"] * result["pp"] * result["cp"] * result["dp"] == 16384
    assert 0 < result["mfu"] <= 1 and result["step_time_s"] > 0
    assert result["mapping_source"] == "searched"
    parts = sum(result[k] for k in ("memory_weights_bytes", "memory_gradients_bytes", "memory_optimizer_bytes",
                                    "memory_activations_bytes", "memory_recompute_working_bytes",
                                    "memory_delayed_wgrad_bytes", "memory_moe_combine_grad_bytes", "memory_reserved_bytes"))
    assert parts == pytest.approx(result["memory_per_accelerator_bytes"])
    json.dumps(result, allow_nan=False)


def test_given_strategy_is_used():
    result = what_if("llama3-405b", "H100", 16384, "tp=8,pp=16,cp=1,vpp=2,mb=1,recompute=full,zero=1")
    assert (result["tp"], result["pp"], result["cp"], result["vpp"], result["dp"]) == (8, 16, 1, 2, 128)
    assert result["recompute"] == "full" and result["zero_stage"] == 1
    assert result["mapping_source"] == "given"
    assert what_if("llama3-405b", "H100", 16384, "tp=8")["mapping_source"] == "partial"


def test_overrides():
    base = what_if("llama3-8b", "H100-SXM", 64)
    changed = what_if("llama3-8b", "H100-SXM", 64, None,
                      WorkloadOverrides(global_batch_seqs=256, seq_len=4096, precision="fp8"))
    assert (changed["global_batch_seqs"], changed["seq_len"], changed["precision"]) == (256, 4096, "fp8")
    assert changed["step_time_s"] < base["step_time_s"]
    with pytest.raises(InputError, match="precision"):
        what_if("llama3-8b", "H100-SXM", 8, None, WorkloadOverrides(precision="fp3"))
    with pytest.raises(InputError, match="global-batch"):
        what_if("llama3-8b", "H100-SXM", 8, None, WorkloadOverrides(global_batch_seqs=0))


@pytest.mark.parametrize("argv, fragment", [
    (["--model", "no-such-model", "--accelerator", "H100", "--count", "8"], "no-such-model"),
    (["--model", "llama3-8b", "--accelerator", "XPU-9000", "--count", "8"], "XPU-9000"),
    (["--model", "llama3-8b", "--accelerator", "H100", "--count", "8", "--strategy", "tp=8,bogus=1"], "bogus"),
    (["--model", "llama3-8b", "--accelerator", "H100", "--count", "8", "--strategy", "tp=3"], "tp=3"),
    (["--model", "llama3-8b", "--accelerator", "H100", "--count", "0"], "--count"),
])
def test_eval_bad_input_is_one_line_exit_2(argv, fragment, capsys):
    assert main(["eval", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("archsweep: error:") and fragment in err and "\n" not in err


def test_eval_json_and_table(capsys):
    assert main(["eval", "--model", "gpt3-175b", "--accelerator", "A100-SXM4", "--count", "1024", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["accelerator"] == "A100-SXM4" and payload["accelerator_count"] == 1024
    assert set(ISSUE_OUTPUTS) <= set(payload)
    assert main(["eval", "--model", "gpt3-175b", "--accelerator", "A100", "--count", "1024",
                 "--strategy", "tp=8,pp=8,mb=1"]) == 0
    out = capsys.readouterr().out
    for name in ("step_time_s", "bubble_time_s", "memory_activations_bytes", "tp", "zero_stage"):
        assert name in out


def test_validate_command(tmp_path, capsys):
    rows = read_measurements(data_dir() / "validation" / "training_runs.csv")
    keep = [r for r in rows if r["run_id"] in ("korthikanti_22B_seqsel", "megatron21_1T_bw",
                                               "mpt_001_70b_h100_80gb_2048_512gpu_amp_bf16")]
    korthikanti = next(r for r in keep if r["run_id"] == "korthikanti_22B_seqsel")
    unknown = {**korthikanti, "run_id": "future_chip", "accelerator_canonical": "Z1000", "accelerator": "Z1000"}
    measurements = tmp_path / "m.csv"
    with measurements.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*keep, unknown])
    out = tmp_path / "out.csv"
    assert main(["validate", "--measurements", str(measurements), "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "validated 4 rows: 2 ok, 2 skipped" in text and "MAPE" in text
    with out.open() as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames[:7]) == OUTPUT_COLUMNS
        written = {r["run_id"]: r for r in reader}
    assert written["future_chip"]["status"] == "skipped" and "Z1000" in written["future_chip"]["reason"]
    assert main(["validate", "--measurements", str(tmp_path / "missing.csv")]) == 2
