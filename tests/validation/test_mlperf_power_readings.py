"""The model's per-GPU power at the training_runs.csv rows that MLPerf Training power submissions match
(data/validation/mlperf_power_readings.csv, s11-energy; docs/model-accuracy.md).

Stated tolerance: the model's power per GPU at the matched row lies inside the reading's bracket, from 5 % below
``gpu_power_low_w`` (the GPUs' rise over the node floor: a lower bound, the floors being one-second samples) to
``gpu_power_high_w`` (the whole node given to its GPUs) and the part's TDP. The readings the model misses today
(H100: the model's power 31-35 % below the rise of the 1-node and Dell LoRA runs, 7-8 % below the GPT-3 and 8-node
SMC LoRA runs') are pinned as the open gap of issue 10, with the energy per LoRA sample B200 / H100 (measured 0.52, model 0.86): a
model change that moves them re-pins them here and says so.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest
from measured_runs import runs_by_id

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import load_catalog
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.validation.moe_graphs import graph_scope_calibration
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import evaluate_plan, plan_row

READINGS = data_dir() / "validation" / "mlperf_power_readings.csv"
#: Readings the model's power lies within (stated tolerance above).
WITHIN = ("v5.0_lenovo_1x8_b200_lora",)
#: Readings it misses: model power / ``gpu_power_low_w`` today, +- 0.02 (main 65bc413 + s11-energy; re-pinned by
#: s13-energy, where ``power_w`` became the average device's work (the job's over its GPUs: the GPT-3 run's output
#: layer on one stage of eight, 0.94 -> 0.92) and LoRA's frozen weights left the optimizer's HBM sweep, which
#: ``optimizer_time_s`` never priced (SMC 8x8 LoRA 1.03 -> 0.93, out of its bracket; 1x8 0.70 -> 0.69; Dell 0.66 -> 0.65);
#: re-pinned by s14-energy (every link byte read from and written to HBM, the pipeline sends per device, the output
#: layer's HBM: GPT-3 0.920 -> 0.927, SMC 8x8 0.930 -> 0.941, Dell 0.654 -> 0.662, 1x8 0.686 -> 0.694); s15-energy (the
#: TP / DP rings at 3 HBM bytes per link byte, the DP bytes on the fabric they run on) moves them within the pins:
#: 0.930, 0.946, 0.665, 0.698 (energy per LoRA sample B200 / H100 0.857 -> 0.853).
GAP = {"v4.0_smc_1x8_h100_lora": 0.69, "v4.0_smc_64x8_h100_gpt3": 0.93, "v4.1_dell_8x8_h100_lora": 0.66,
       "v4.0_smc_8x8_h100_lora": 0.94}
LOW_TOLERANCE = 0.05


def _readings() -> dict[str, dict[str, str]]:
    with READINGS.open(newline="") as handle:
        return {r["reading_id"]: r for r in csv.DictReader(handle)}


def _model_row(run_id: str) -> tuple[dict[str, np.ndarray], float]:
    """(the row's result as ``archsweep validate`` chooses it, the part's TDP W)."""
    row = runs_by_id()[run_id]
    plan = plan_row(row, load_catalog())
    cal = graph_scope_calibration(row, load_calibration(stack=calibration_stack(row)), plan.workload.architecture)
    tech, cache = load_technology(), {}
    results = [evaluate_plan(plan, s, cache, tech, cal) for s in plan.strategies]
    valid = [r for r in results if float(np.ravel(r["violation_mapping"])[0]) <= 0] or results
    return min(valid, key=lambda r: float(np.ravel(r["step_time_s"])[0])), float(plan.entry.design.tdp_w)


def _w(result: dict[str, np.ndarray], key: str) -> float:
    return float(np.ravel(result[key])[0])


def test_every_reading_names_a_row_of_its_part() -> None:
    rows = runs_by_id()
    readings = _readings()
    assert set(readings) == set(WITHIN) | set(GAP)
    for reading in readings.values():
        row = rows[reading["matched_run_id"]]
        assert row["accelerator_canonical"] == reading["accelerator"]
        eff, gpus = float(reading["conversion_eff"]), float(reading["gpus_per_node"])
        in_run, floor = float(reading["node_in_run_w"]), float(reading["node_floor_w"])
        assert float(reading["gpu_power_low_w"]) == pytest.approx((in_run - floor) * eff / gpus, abs=1.0)
        assert float(reading["gpu_power_high_w"]) == pytest.approx(in_run * eff / gpus, abs=1.0)


@pytest.mark.parametrize("reading_id", WITHIN)
def test_model_power_lies_within_the_reading(reading_id: str) -> None:
    reading = _readings()[reading_id]
    result, tdp = _model_row(reading["matched_run_id"])
    power = _w(result, "power_w")
    low, high = float(reading["gpu_power_low_w"]), float(reading["gpu_power_high_w"])
    assert (1 - LOW_TOLERANCE) * low <= power <= min(high, tdp) * (1 + 1e-9)


@pytest.mark.parametrize("reading_id", sorted(GAP))
def test_model_power_gap_to_the_h100_readings_is_pinned(reading_id: str) -> None:
    """The open gap: the model's H100 power below the GPUs' measured rise alone (a lower bound)."""
    reading = _readings()[reading_id]
    result, _ = _model_row(reading["matched_run_id"])
    assert _w(result, "power_w") / float(reading["gpu_power_low_w"]) == pytest.approx(GAP[reading_id], abs=0.02)


def test_energy_per_lora_sample_b200_over_h100() -> None:
    """Same benchmark, 8 GPUs, 8 samples per step: measured rise energy per sample (the readings' lower bound x
    the rows' measured steady step) B200 / H100 = 0.52; the model's (power x its step) 0.86 (0.86 before s13-energy, 0.87
    before s14-energy, whose link-byte HBM traffic raises the H100 row's power more than the capped B200 row's),
    pinned."""
    readings, rows = _readings(), runs_by_id()
    ratio = {}
    for kind, reading_id in (("b200", "v5.0_lenovo_1x8_b200_lora"), ("h100", "v4.0_smc_1x8_h100_lora")):
        reading = readings[reading_id]
        row = rows[reading["matched_run_id"]]
        gpus, samples = float(row["num_accels"]), float(row["global_batch_seqs"])
        measured = float(reading["gpu_power_low_w"]) * gpus * float(row["steady_step_time_s"]) / samples
        result, _ = _model_row(reading["matched_run_id"])
        model = _w(result, "power_w") * gpus * _w(result, "step_time_s") / samples
        ratio[kind] = (measured, model)
    assert ratio["b200"][0] / ratio["h100"][0] == pytest.approx(0.52, abs=0.02)
    assert ratio["b200"][1] / ratio["h100"][1] == pytest.approx(0.86, abs=0.02)


def test_reading_row_brackets_one_gpu(derive_script: Callable[[str], ModuleType]) -> None:
    """The derive script's bracket on two synthetic runs: AC analyser, logged efficiency 0.9, no after-run tail."""
    logs, script = derive_script("mlperf_power_logs"), derive_script("mlperf_power_readings")
    node = lambda w, low: logs.NodeSummary(readings=10, in_run_median_w=w, lowest_w=low,  # noqa: E731
                                           after_run_median_w=None, conversion_eff=0.9)
    runs = [logs.RunSummary("r0", 600.0, [node(9000.0, 3000.0)], [], 0),
            logs.RunSummary("r1", 600.0, [node(9200.0, 3200.0)], [], 0)]
    row = script.reading_row("x", "v5.0", "S/results/sys/llama2_70b_lora", "B200", "AC", "run", "", runs, "0" * 40)
    assert row["floor_kind"].startswith("lowest")
    assert float(row["gpu_power_low_w"]) == pytest.approx((9100 - 3100) * 0.9 / 8, abs=0.5)
    assert float(row["gpu_power_high_w"]) == pytest.approx(9100 * 0.9 / 8, abs=0.5)
