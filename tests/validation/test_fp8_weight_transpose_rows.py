"""Issue 10: MLPerf Llama 2 70B LoRA rows held in FP8 (``fp8_params``) pay the FP8 weight transpose in
every backward, as the benchmark's NeMo implementation runs (mlperf_eval_rules.yaml ``fp8_weights``:
``disable_parameter_transpose_cache: True``); Blackwell parts, whose FP8 GEMMs take any layout, do not."""

from __future__ import annotations

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.validation_data import load_mlperf_eval_rules
from archsweep.validation.run import part_calibration, row_calibration

CAL = load_calibration()
LORA = {"run_id": "mlperf_train_v4.0_NVIDIA_eos_n8_ngc24.04_nemo_llama2_70b_lora", "source_group": "mlperf",
        "fp8_params": "yes"}


def test_the_lora_benchmark_states_an_uncached_fp8_weight_transpose_with_its_source():
    rule = load_mlperf_eval_rules()["llama2_70b_lora"]
    assert rule.fp8_weights is not None and rule.fp8_weights.transpose_cached is False
    assert "disable_parameter_transpose_cache" in rule.fp8_weights.locator


def test_mlperf_lora_rows_with_fp8_weights_pay_two_bytes_per_weight():
    assert row_calibration(CAL, LORA).fp8_weight_transpose_bytes_per_element == 2.0
    # no FP8-held weights, or a benchmark without the statement (gpt3), or not an MLPerf row: nothing
    assert row_calibration(CAL, {**LORA, "fp8_params": "no"}).fp8_weight_transpose_bytes_per_element == 0.0
    gpt3 = {**LORA, "run_id": "mlperf_train_v4.0_NVIDIA_eos_n64_ngc24.04_nemo_gpt3"}
    assert row_calibration(CAL, gpt3).fp8_weight_transpose_bytes_per_element == 0.0
    nemo = {**LORA, "source_group": "nemo", "run_id": "nemo2407_LLAMA2-70B_LoRA_8gpu"}
    assert row_calibration(CAL, nemo).fp8_weight_transpose_bytes_per_element == 0.0


def test_parts_with_any_layout_fp8_gemms_need_no_transpose():
    cal = row_calibration(CAL, LORA)
    assert part_calibration(cal, get_accelerator("H100-SXM")).fp8_weight_transpose_bytes_per_element == 2.0
    assert part_calibration(cal, get_accelerator("B200")).fp8_weight_transpose_bytes_per_element == 0.0
