"""MLPerf llama2_70b_lora rows compare with the steady-state step between evaluations (issue 10)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from measured_runs import runs

from archsweep.validation.metrics import measured_of
from archsweep.validation.mlperf import eval_schedule

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "data" / "validation" / "derive"))
from mlperf_steady_step import steady_step, steady_step_stamps  # noqa: E402

_HF = "train_loss stamps"  # the derived note of the rows timed by steady_step_stamps


def _rows() -> list[dict[str, str]]:
    return runs(lambda r: r["source_group"] == "mlperf" and r["run_id"].endswith("llama2_70b_lora"))


def test_steady_step_is_below_the_wallclock_step_by_the_evaluation_share() -> None:
    """The wall-clock step holds evaluations and warm-up: 1.1-1.6 x the steady step in the logs."""
    with_steady = [r for r in _rows() if r["steady_step_time_s"] and _HF not in r["derived"]]
    assert len(with_steady) >= 40
    for r in with_steady:
        ratio = float(r["step_time_s"]) / float(r["steady_step_time_s"])
        assert 1.10 <= ratio <= 1.60, (r["run_id"], ratio)
    # One 8-GPU node: evaluations add ~13 % (the rule in validation/mlperf.py); 1024 GPUs at GBS 128: ~50 %.
    by_id = {r["run_id"]: r for r in with_steady}
    one = by_id["mlperf_train_v4.1_NVIDIA_eos_ngc24.09_nemo_llama2_70b_lora"]
    big = by_id["mlperf_train_v4.1_NVIDIA_eos_n128_ngc24.09_nemo_llama2_70b_lora"]
    assert abs(float(one["step_time_s"]) / float(one["steady_step_time_s"]) - 1.136) < 0.02
    assert float(big["step_time_s"]) / float(big["steady_step_time_s"]) > 1.4


def test_validation_uses_the_steady_step_and_no_evaluation_factor() -> None:
    row = next(r for r in _rows() if r["steady_step_time_s"])
    metric, value = measured_of(row)
    assert (metric, value) == ("step_time_s", float(row["steady_step_time_s"]))
    per_sample, note = eval_schedule(row)
    assert per_sample == 0.0 and note is not None and "steady-state" in note


def test_rows_without_a_steady_step_keep_the_evaluation_factor() -> None:
    row = next(r for r in _rows() if "_NVIDIA_" in r["run_id"])
    per_sample, note = eval_schedule({**row, "steady_step_time_s": ""})
    assert abs(per_sample - 5 * 173 / 3072) < 1e-12 and note is not None and "forward pass" in note


_HF_LOG = "\n".join(f':::MLLOG {{"time_ms": {t}, "key": "{k}", "value": {v}, "metadata": {{"samples_count": {n}}}}}'
                     for t, k, v, n in [(0, "global_batch_size", 8, 0), (154_200, "train_loss", 3.7, 80),
                                        (288_100, "train_loss", 2.4, 160), (416_100, "train_loss", 1.6, 240),
                                        (655_400, "train_loss", 1.5, 320),  # holds the unlogged first evaluation
                                        (782_400, "train_loss", 1.4, 400),
                                        (900_000, "block_stop", 0, 480), (900_000, "block_start", 0, 60),
                                        (1_500_000, "train_loss", 1.3, 560)])


def test_hf_trainer_stamps_give_the_step_between_evaluations() -> None:
    """Juniper 1 x 8 H100 result_0.txt's shape: stamps every 10 steps at 12.6-13.4 s a step, one interval with the
    Trainer's first (unlogged) evaluation, block markers written together after each later one (no timing)."""
    assert steady_step(_HF_LOG) is None
    assert steady_step_stamps(_HF_LOG) == pytest.approx(13.095)  # median of 13.39, 12.80, 23.93, 12.70 s
    # two intervals, one holding the evaluation: no median can leave it out, so no value
    short = "\n".join(line for line in _HF_LOG.splitlines() if '"samples_count": 320' not in line
                       and '"samples_count": 400' not in line)
    assert steady_step_stamps(short) is None


def test_the_deepspeed_and_gaudi_lora_rows_carry_their_stamped_steady_step() -> None:
    """The four HuggingFace-Trainer rows (mlcommons/training_results_v4.0 result_*.txt): the steady step is below
    the wall-clock step by their evaluations (1 x 8 H100 every 48 steps, 4 x 8 H100 every 12, 8 x 8 A100 every 12
    at GBS 64, little; Gaudi 2 every 48), and the same-work twins differ: one node is 1.28 x four nodes' step."""
    rows = {r["run_id"].split("_v4.0_")[1].removesuffix("_llama2_70b_lora"): r for r in _rows() if _HF in r["derived"]}
    steady = {k: float(r["steady_step_time_s"]) for k, r in rows.items()}
    assert steady == {"Intel-HabanaLabs_HLS-Gaudi2-PT": 10.2, "JuniperNetworks_a100_n8_ngc24.1_pytorch_deepspeed": 21.17,
                      "JuniperNetworks_h100_n1_ngc24.1_pytorch_deepspeed": 12.65,
                      "JuniperNetworks_h100_n4_ngc24.1_pytorch_deepspeed": 9.879}
    for k, r in rows.items():
        assert 1.03 <= float(r["step_time_s"]) / steady[k] <= 1.20, k
        assert measured_of(r) == ("step_time_s", steady[k])
