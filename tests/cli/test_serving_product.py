"""Serving around the model: `archsweep eval --serving`, `archsweep validate` on the inference CSV,
serving entries of a study, and a tiny serving study end to end through Snakemake."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import numpy as np
import pytest
import yaml

from archsweep.cli.app import main
from archsweep.load.paths import repo_root
from archsweep.load.study import load_study, parse_study
from archsweep.spec.columns import OUTPUT_COLUMNS
from archsweep.spec.errors import InputError, InputErrors

ROOT = repo_root()
EVAL = ["eval", "--serving", "--model", "llama3-70b", "--accelerator", "H200", "--count", "8", "--input-tokens", "2048",
        "--output-tokens", "256", "--ttft-max", "2s", "--tpot-max", "50ms", "--precision", "fp8"]


def test_eval_serving_json_is_one_flat_object(capsys):
    assert main([*EVAL, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("ttft_s", "tpot_s", "e2e_latency_s", "output_tokens_per_s", "output_tokens_per_s_per_accelerator",
                "tokens_per_s_per_user", "requests_per_s", "energy_per_token_j", "usd_per_million_tokens",
                "violation_ttft", "violation_tpot", "tp", "pp", "ep", "dp", "concurrency", "prefill_accelerators",
                "decode_accelerators", "feasible"):
        assert key in out, key
    assert not any(isinstance(v, (dict, list)) for v in out.values())
    assert out["feasible"] and out["ttft_s"] <= 2.0 and out["tpot_s"] <= 0.05
    assert out["output_tokens_per_s_per_accelerator"] == pytest.approx(out["output_tokens_per_s"] / 8)


def test_eval_serving_qps_load_serves_what_is_offered(capsys):
    assert main([*EVAL, "--qps", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["requests_per_s"] == pytest.approx(2.0)


@pytest.mark.parametrize("extra,option", [(["--input-tokens", "-3"], "--input-tokens"), (["--tpot-max", "fast"], "--tpot-max"),
                                          (["--precision", "fp16"], "--precision"), (["--kv-precision", "int4"], "--kv-precision")])
def test_eval_serving_bad_input_exit_2(capsys, extra, option):
    assert main([*EVAL, *extra]) == 2
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_validate_accepts_the_inference_layout(capsys, tmp_path):
    out_csv = tmp_path / "rows.csv"
    assert main(["validate", "--measurements", str(ROOT / "data/validation/inference_runs.csv"), "--output", str(out_csv)]) == 0
    text = capsys.readouterr().out
    assert "modelled" in text and "output tok/s" in text
    assert out_csv.read_text().count("\n") == 477  # header + 476 rows


def _study(workloads) -> dict:
    return {"name": "s", "workloads": workloads, "base": "H100-SXM", "parameters": {"clock_hz": {"values": ["1.5 GHz"]}},
            "sampling": {"method": "grid"}, "objectives": [{"column": "tokens_per_s_per_accelerator", "direction": "maximize"},
                                                         {"column": "usd_per_million_tokens", "direction": "minimize"}]}


def test_study_serving_entries_next_to_training():
    study = parse_study(_study(["llama3-8b", {"model": "llama3-70b", "serving": {
        "input_tokens": 1024, "output_tokens": 256, "ttft_max": "2 s", "tpot_max": "50 ms", "load": {"qps": 4}, "precision": "fp8"}}]),
        file="<t>")
    assert study.workloads == ("llama3-8b", "llama3-70b-serving-1024-256")
    sw = study.serving_workload("llama3-70b-serving-1024-256")
    assert sw.job.qps == 4 and sw.job.tpot_max_s == pytest.approx(0.05) and sw.job.kv_precision == "fp8"
    assert study.serving_workload("llama3-8b") is None
    for column in ("tokens_per_s_per_accelerator", "usd_per_million_tokens", "energy_per_token_j", "ttft_s", "tpot_s"):
        assert column in OUTPUT_COLUMNS


def test_study_serving_entry_errors_name_the_key():
    with pytest.raises((InputError, InputErrors)) as exc:
        parse_study(_study([{"model": "llama3-70b", "serving": {"input_tokens": 1024, "output_tokens": 256,
                                                                  "tpot_max": "soon"}}]), file="f.yaml")
    assert "workloads[0].serving.tpot_max" in str(exc.value)
    with pytest.raises((InputError, InputErrors)) as exc:
        parse_study(_study([{"model": "nope", "serving": {"input_tokens": 1, "output_tokens": 1}}]), file="f.yaml")
    assert "workloads[0].model" in str(exc.value)


def test_shipped_serving_study_loads():
    study = load_study(ROOT / "spaces" / "serving.yaml")
    assert len(study.serving) == 3 and study.grid_size() == 16


@pytest.mark.slow
def test_tiny_serving_study_end_to_end(tmp_path):
    doc = yaml.safe_load((ROOT / "spaces" / "serving.yaml").read_text())
    doc["name"] = "serving-tiny"
    doc["workloads"] = [doc["workloads"][0], doc["workloads"][2]]
    doc["parameters"] = {"hbm_bw_per_stack_bytes_per_s": {"values": ["0.8 TB/s", "1.2 TB/s"]},
                         "scaleup_domain_size": {"values": [8, 16]}, "accelerator_count": {"values": [16]}}
    path = tmp_path / "serving-tiny.yaml"
    path.write_text(yaml.safe_dump(doc))
    done = subprocess.run([sys.executable, "-m", "archsweep.cli", "run", str(path), "--cores", "2"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    con = duckdb.connect(str(tmp_path / "results" / "serving-tiny" / "archsweep.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT workload, hbm_bw_per_stack_bytes_per_s, scaleup_domain_size, tokens_per_s_per_accelerator, "
                           "ttft_s, tpot_s, usd_per_million_tokens, energy_per_token_j, feasible, "
                           "effective_clock_hz < clock_hz FROM evaluations").fetchall()
        pareto = con.execute("SELECT count(*) FROM pareto WHERE rank = 0").fetchone()[0]
    finally:
        con.close()
    assert len(rows) == 8 and pareto >= 2
    assert any(r[8] for r in rows)
    assert all(r[4] <= 2.0 and r[5] <= 0.05 for r in rows if r[8])  # a feasible row meets the SLO
    by = {(r[0], r[1], r[2]): r[3] for r in rows}
    throttled = {(r[0], r[1], r[2]): r[9] for r in rows}
    for (w, bw, su), tps in by.items():  # more HBM bandwidth never lowers throughput at the SLO...
        if bw < 1e12 and not throttled[(w, 1.2e12, su)]:  # ...unless its power meets the TDP (DVFS lowers the clock)
            assert by[(w, 1.2e12, su)] >= tps * (1 - 1e-9)
    assert np.all(np.isfinite([r[6] for r in rows])) and (tmp_path / "results" / "serving-tiny" / "report" / "report.md").exists()
    assert list((tmp_path / "results" / "serving-tiny" / "report").glob("serving_curve_*.png"))
