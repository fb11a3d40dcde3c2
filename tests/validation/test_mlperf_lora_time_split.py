"""The MLPerf llama2_70b_lora rows' time to train split from their own logs: the model is compared with the step,
and the step is what the too-fast rows miss (issue 10, s13-lora)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
from measured_runs import runs, runs_by_id

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "data" / "validation" / "derive"))
from mlperf_lora_time_split import FIELDS, file_split  # noqa: E402

SPLIT = ROOT / "data" / "validation" / "mlperf_lora_time_split.csv"


def _split() -> dict[str, dict[str, str]]:
    with SPLIT.open(newline="") as handle:
        return {r["run_id"]: r for r in csv.DictReader(handle)}


def _event(t: int, key: str, n: int | None = None, value: str = "null") -> str:
    meta = "{}" if n is None else f'{{"samples_count": {n}}}'
    return f':::MLLOG {{"time_ms": {t}, "key": "{key}", "value": {value}, "metadata": {meta}}}'


# One synthetic NeMo log: GBS 8, init 50 s, first block 192 steps at 0.5 s + 10 s of warm-up, two evaluations of
# 8 s, a second block of 48 steps at 0.5 s with a tracked throughput of 16 samples/s (0.5 s a step).
_LOG = "\n".join([
    _event(0, "init_start"), _event(0, "global_batch_size", value="8"), _event(50_000, "init_stop"),
    _event(50_000, "run_start"), _event(50_000, "block_start", 0), _event(156_000, "block_stop", 1536),
    _event(156_000, "eval_start", 1536), _event(164_000, "eval_stop", 1536), _event(164_000, "block_start", 1536),
    _event(188_000, "tracked_stats", value='{"throughput": 16.0}'), _event(188_000, "block_stop", 1920),
    _event(188_000, "eval_start", 1920), _event(196_000, "eval_stop", 1920), _event(196_000, "run_stop", 1920),
])


def test_file_split_of_a_synthetic_log() -> None:
    s = file_split(_LOG)
    assert s is not None
    assert s["init_s"] == pytest.approx(50.0) and s["time_to_train_s"] == pytest.approx(146.0)
    assert s["steps"] == pytest.approx(240) and s["steady_step_s"] == pytest.approx(0.5)
    assert s["tracked_step_s"] == pytest.approx(0.5) and s["evaluations"] == 2 and s["eval_s"] == pytest.approx(16.0)
    assert s["warmup_s"] == pytest.approx(10.0) and s["other_s"] == pytest.approx(0.0, abs=1e-9)
    assert s["step_share"] == pytest.approx(120.0 / 146.0)


def test_back_to_back_blocks_give_no_split() -> None:
    """HuggingFace-Trainer logs (block markers at one instant) hold no block timing."""
    flat = "\n".join(line for line in _LOG.splitlines() if '"block_' not in line)
    assert file_split(flat) is None


def test_the_data_file_reproduces_the_rows_steady_step() -> None:
    """Every NeMo llama2_70b_lora row with a steady step has its split; the split's steady step is the row's
    ``steady_step_time_s`` and the callback's own tracked_stats agree within 1.5 % (v4.0 eos n128: 0.97 %)."""
    split = _split()
    assert list(next(iter(split.values())).keys()) == list(FIELDS)
    rows = runs(lambda r: r["source_group"] == "mlperf" and r["run_id"].endswith("llama2_70b_lora"))
    timed = [r for r in rows if r["steady_step_time_s"] and "train_loss stamps" not in r["derived"]]
    assert len(timed) == len(split) == 47
    for r in timed:
        s = split[r["run_id"]]
        assert float(s["steady_step_s"]) == pytest.approx(float(r["steady_step_time_s"]), rel=1e-3), r["run_id"]
        assert float(s["tracked_step_s"]) == pytest.approx(float(s["steady_step_s"]), rel=0.015), r["run_id"]
        assert "(commit " in s["source_locator"]


def test_the_gap_is_not_outside_the_step() -> None:
    """What the rows' wall clock holds besides steps (evaluations, the first block's warm-up) is not in the compared
    step: the too-fast v4.0 TP4 CP2 rows spend 66-83 % of their time to train in steady steps, and the steady step
    itself is 0.63-0.67 s at 64-1024 GPUs where the v4.1 graphed rows of the same layout take 0.54-0.56 s."""
    split = _split()
    v40 = [split[f"mlperf_train_v4.0_{k}_llama2_70b_lora"] for k in (
        "NVIDIA_eos_n8_ngc24.04_nemo", "NVIDIA_eos_n128_ngc24.04_nemo", "Supermicro_SYS-421GE-TNHR2-LCC-8")]
    v41 = [split[f"mlperf_train_v4.1_{k}_llama2_70b_lora"] for k in (
        "NVIDIA_eos_n8_ngc24.09_nemo", "NVIDIA_eos_n128_ngc24.09_nemo", "Oracle_64xBM.GPU.H100.8")]
    for s in v40:
        assert 0.62 <= float(s["steady_step_s"]) <= 0.68 and 0.65 <= float(s["step_share"]) <= 0.83
    for s in v41:
        assert 0.53 <= float(s["steady_step_s"]) <= 0.56


def test_lora_step_gap_micro_batches() -> None:
    """benchmarks/lora_step_gap.py: micro-batches a step = GBS / (dp x micro_batch) of the row's plan; dp from the GPU
    count when the row states tp / pp / cp only; nothing for a searched row."""
    from conftest import load_benchmark

    from archsweep.validation.run import plan_row

    gap = load_benchmark("lora_step_gap")
    rows = runs_by_id()
    hpe_n2 = plan_row(rows["mlperf_train_v4.0_HPE_HPE-Cray-XD670-Gen11-H100-SXM5-80GB_n2_pytorch_24.04_llama2_70b_lora"])
    eos_n128 = plan_row(rows["mlperf_train_v4.1_NVIDIA_eos_n128_ngc24.09_nemo_llama2_70b_lora"])
    dell_searched = plan_row(rows["mlperf_train_v4.1_Dell_2xXE9680x8H100-SXM-80GB_llama2_70b_lora"])
    assert gap.micro_batches(hpe_n2) == 4  # HPE n2: TP4 CP2 on 16 GPUs, DP 2, GBS 8: four micro-batches
    assert gap.micro_batches(eos_n128) == 1  # TP4 CP2 on 1,024 GPUs: DP 128 = GBS 128
    assert gap.micro_batches(dell_searched) is None
