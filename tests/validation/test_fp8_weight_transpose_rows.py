"""Issue 10: MLPerf Llama 2 70B LoRA rows held in FP8 (``fp8_params``) pay the FP8 weight transpose in
every backward, as the benchmark's NeMo implementation runs (mlperf_eval_rules.yaml ``fp8_weights``:
``disable_parameter_transpose_cache: True``); Blackwell parts, whose FP8 GEMMs take any layout, do not.
The row sets ``TrainingJob.fp8_weight_transpose_cached``; ``job_calibration`` (the one path of eval,
studies and validation) resolves it per part."""

from __future__ import annotations

from dataclasses import replace

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.part_physics import job_calibration
from archsweep.load.technology import load_technology
from archsweep.load.validation_data import load_mlperf_eval_rules
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.training import TrainingJob
from archsweep.validation.mlperf import transpose_cached

CAL = load_calibration()
LORA = {"run_id": "mlperf_train_v4.0_NVIDIA_eos_n8_ngc24.04_nemo_llama2_70b_lora", "source_group": "mlperf",
        "fp8_params": "yes"}


def test_the_lora_benchmark_states_an_uncached_fp8_weight_transpose_with_its_source():
    rule = load_mlperf_eval_rules()["llama2_70b_lora"]
    assert rule.fp8_weights is not None and rule.fp8_weights.transpose_cached is False
    assert "disable_parameter_transpose_cache" in rule.fp8_weights.locator


def test_only_the_lora_benchmark_rows_state_an_uncached_transpose():
    assert transpose_cached(LORA) is False
    gpt3 = {**LORA, "run_id": "mlperf_train_v4.0_NVIDIA_eos_n64_ngc24.04_nemo_gpt3"}
    assert transpose_cached(gpt3) is True
    nemo = {**LORA, "source_group": "nemo", "run_id": "nemo2407_LLAMA2-70B_LoRA_8gpu"}
    assert transpose_cached(nemo) is True


def test_fp8_weights_uncached_pay_two_bytes_per_weight_on_single_layout_parts_only():
    job = TrainingJob(global_batch_seqs=8, seq_len=8192, precision="fp8", fp8_params=True,
                      fp8_weight_transpose_cached=False)
    h100, b200 = get_accelerator("H100-SXM"), get_accelerator("B200")
    assert job_calibration(CAL, h100, job).fp8_weight_transpose_bytes_per_element == 2.0
    # The job's bytes; the model drops them on a part whose FP8 GEMMs take any layout (fp8_gemm_layouts).
    assert (h100.design.fp8_gemm_layouts, b200.design.fp8_gemm_layouts) == ("tn_only", "any")
    for entry, slower in ((h100, True), (b200, False)):
        hw = HardwareArrays.from_designs(entry.design.replace(accelerator_count=8))
        wl = replace(load_workload("llama3-8b"), training=job)
        uncached, cached_t = (float(evaluate_design_batch(hw, wl, tech=load_technology(), calibration=c,
                                                          strategy="tp=1,pp=1,cp=1,mb=1,recompute=none,zero=1",
                                                          infeasible="least_violating")["step_time_s"][0])
                              for c in (job_calibration(CAL, entry, job),
                                        job_calibration(CAL, entry, replace(job, fp8_weight_transpose_cached=True))))
        assert (uncached > cached_t) if slower else (uncached == cached_t), entry.name
    cached = TrainingJob(global_batch_seqs=8, seq_len=8192, precision="fp8", fp8_params=True)
    assert job_calibration(CAL, h100, cached).fp8_weight_transpose_bytes_per_element == 0.0
    bf16_weights = TrainingJob(global_batch_seqs=8, seq_len=8192, precision="fp8", fp8_weight_transpose_cached=False)
    assert job_calibration(CAL, h100, bf16_weights).fp8_weight_transpose_bytes_per_element == 0.0
