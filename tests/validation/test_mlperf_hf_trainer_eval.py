"""MLPerf llama2_70b_lora submissions on the HuggingFace-Trainer reference train.py state their own
evaluation schedule (``--eval_steps`` optimizer steps, the first after ``int(0.125 GBS + 2)`` of them):
JuniperNetworks' one-node run (GBS 8) evaluates the 173 samples every 96 training samples, not every
384 as the NeMo reference does, which is what made its wall-clock step 1.7x the model's (s9-dense); its
evaluations add ~50 % to the model's step (the forward time of a batch over the step with full recompute, s9-m1)."""

from __future__ import annotations

import shutil

import pytest
import yaml
from measured_runs import runs_by_id

from archsweep.load.paths import data_dir
from archsweep.load.validation_data import load_mlperf_eval_rules
from archsweep.spec.errors import ArchsweepError
from archsweep.validation.mlperf import _schedule
from archsweep.validation.run import validate_rows

ROWS = runs_by_id(lambda r: r["run_id"].endswith("_llama2_70b_lora"))
JUNIPER = {n: f"mlperf_train_v4.0_JuniperNetworks_{n}_ngc24.1_pytorch_deepspeed_llama2_70b_lora"
           for n in ("h100_n1", "h100_n4", "a100_n8")}


def test_juniper_schedule_scales_with_the_global_batch():
    rule = load_mlperf_eval_rules()["llama2_70b_lora"]
    got = {n: _schedule(ROWS[run], rule)[:2] for n, run in JUNIPER.items()}
    assert got == {"h100_n1": (96, 288), "h100_n4": (384, 2304), "a100_n8": (768, 7680)}
    # One node evaluates 173 samples every 96: more evaluation than training samples over its run.
    assert _schedule(ROWS[JUNIPER["h100_n1"]], rule)[2] > 1.5
    nvidia = next(r for run, r in ROWS.items() if "_NVIDIA_" in run)
    assert _schedule(nvidia, rule) == (384, 1536, rule.eval_per_train_sample)


def test_juniper_rows_with_their_own_schedule():
    """Errors (%) with the evaluation costed at the model's forward time over its step (recompute=full: a
    forward share of 0.23-0.29 of the step, s9-m1), measured on e215cb1 + s9-m1; h100_n1 evaluates 1.7
    samples per training sample, and the model's step is 23 % short of its wall clock with them."""
    results = {r.run_id: r for r in validate_rows([ROWS[run] for run in JUNIPER.values()])}
    got = {n: results[run].error_pct for n, run in JUNIPER.items()}
    assert got == pytest.approx({"h100_n1": -22.97, "h100_n4": -5.61, "a100_n8": 1.75}, abs=0.5), got


def test_eval_steps_below_one_is_rejected_with_the_file(tmp_path, monkeypatch):
    shutil.copytree(data_dir() / "validation", tmp_path / "validation", ignore=shutil.ignore_patterns("*.csv"))
    path = tmp_path / "validation" / "mlperf_eval_rules.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["llama2_70b_lora"]["hf_trainer"]["eval_steps"]["JuniperNetworks"] = 0
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ArchsweepError) as err:
        load_mlperf_eval_rules(path)
    assert "mlperf_eval_rules.yaml" in str(err.value) and "eval_steps" in str(err.value)
