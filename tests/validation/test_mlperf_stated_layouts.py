"""MLPerf gpt3 and DeepSpeed LoRA rows carry the layout the submitter's code states; rows state TP comm overlap
and FP8-held weights (issue 10, MLPerf group; data/validation/derive/mlperf_stated_layouts.py)."""

from __future__ import annotations

import pytest
from measured_runs import runs_by_id

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.part_physics import job_calibration
from archsweep.validation.cells import cell_yes_no
from archsweep.validation.metrics import measured_of
from archsweep.validation.row_workload import workload_of
from archsweep.validation.rows import calibration_stack, mapping_of
from archsweep.validation.run import validate_rows
from archsweep.validation.types import Skip


def _mlperf() -> dict[str, dict[str, str]]:
    return runs_by_id(lambda r: r["source_group"] == "mlperf")


def _strategy(row: dict[str, str]) -> str:
    metric, _ = measured_of(row)
    notes: list[str] = []
    return mapping_of(row, workload_of(row, metric, notes), metric, notes)[1][0]


def test_stated_gpt3_layouts_multiply_to_the_gpu_count() -> None:
    """tp*pp*dp = GPUs, whole micro-batches per DP rank, whole layers per virtual stage (96 layers)."""
    rows = [r for r in _mlperf().values() if r["run_id"].endswith("gpt3") and "mlperf_stated_layouts.py" in r["derived"]]
    assert len(rows) >= 17  # NVIDIA v3.1-v4.1, Azure v3.1, Intel-Habana v3.1 / v4.0
    for r in rows:
        tp, pp, dp, vpp, mb = (int(r[k]) for k in ("tp", "pp", "dp", "vpp", "micro_batch"))
        assert tp * pp * dp == int(r["num_accels"]), r["run_id"]
        assert int(r["global_batch_seqs"]) % (dp * mb) == 0, r["run_id"]
        assert 96 % (pp * vpp) == 0, r["run_id"]


def test_nvidia_gpt3_configs_tp4_pp8_interleaved_and_habana_n48_pp6() -> None:
    rows = _mlperf()
    eos = rows["mlperf_train_v4.1_NVIDIA_eos_n64_ngc24.09_nemo_gpt3"]  # config_DGXH100_64x8x128x4x8_mbs2.sh
    assert (eos["tp"], eos["pp"], eos["vpp"], eos["micro_batch"], eos["fp8_params"]) == ("4", "8", "6", "2", "yes")
    v40 = rows["mlperf_train_v4.0_NVIDIA_eos_n64_ngc24.04_nemo_gpt3"]  # README-named config, MINIBS overridden (GBS 2304)
    assert (v40["tp"], v40["pp"], v40["vpp"], v40["dp"], v40["micro_batch"]) == ("4", "8", "4", "16", "2")
    n48 = rows["mlperf_train_v3.1_Intel-HabanaLabs_HLS-Gaudi2-N48-PT_gpt3"]  # README: --pipeline-model-parallel-size 6
    assert (n48["tp"], n48["pp"], n48["dp"], n48["micro_batch"]) == ("8", "6", "8", "2")


def test_oracle_v4_1_gpt3_rows_state_the_launch_config_outside_implementations() -> None:
    """s20-A: Oracle v4.1 ships NVIDIA's NeMo gpt3 launch configs under ``benchmarks/gpt3/DGXH100_<...>_mbs2/`` (no
    ``implementations/``): 192 x 8 GPUs MINIBS 64 and 384 x 8 MINIBS 32, TP4 PP8 VPP4 micro-batch 2 (global batch
    3072 both), FP8 with FP8_PARAMS=True (config_common.sh); searched before."""
    rows = _mlperf()
    for run, dp in (("mlperf_train_v4.1_Oracle_1536xBM.GPU.H100.8_gpt3", "48"),
                    ("mlperf_train_v4.1_Oracle_3072xBM.GPU.H100.8_gpt3", "96")):
        r = rows[run]
        assert (r["tp"], r["pp"], r["vpp"], r["dp"], r["micro_batch"], r["fp8_params"]) == ("4", "8", "4", dp, "2", "yes")
        assert "Oracle/benchmarks/gpt3/DGXH100_128x8x64x4x8_mbs2/config_DGXH100_" in r["derived"]
        assert "tp=4" in _strategy(r) and "pp=8" in _strategy(r) and "vpp=4" in _strategy(r)


def test_deepspeed_lora_rows_run_zero3_full_recompute_without_model_parallelism() -> None:
    rows = [r for k, r in _mlperf().items() if "Juniper" in k or ("Habana" in k and "lora" in k)]
    assert len(rows) == 4
    for r in rows:
        assert (r["tp"], r["pp"], r["cp"], r["micro_batch"]) == ("1", "1", "1", "1")
        gaudi = "Gaudi" in r["accelerator_canonical"]
        assert calibration_stack(r) == ("hf-deepspeed-zero3-gaudi" if gaudi else "hf-deepspeed-zero3")
        assert "zero=3" in _strategy(r) and "recompute=full" in _strategy(r)
        # configs/ds_zero3.json (Habana) overlap_comm false, configs/ds_lora_config.json (Juniper) true
        assert f"dp_overlap={'off' if gaudi else 'on'}" in _strategy(r)
    juniper = [r for r in rows if "Juniper" in r["run_id"]]
    assert all(r["precision"].startswith("BF16") for r in juniper)  # run_single_node.sh: --bf16, no FP8 flag


def test_yes_no_cells() -> None:
    assert cell_yes_no({"x": "yes"}, "x") is True
    assert cell_yes_no({"x": "False"}, "x") is False
    assert cell_yes_no({"x": ""}, "x") is None
    with pytest.raises(Skip, match="x='maybe'"):
        cell_yes_no({"x": "maybe"}, "x")


def test_stated_tp_comm_overlap_beats_the_nemo_default() -> None:
    rows = _mlperf()
    l40s = rows["mlperf_train_v4.0_NVIDIA_l40s_n16_ngc24.04_nemo_llama2_70b_lora"]  # config_L40S_*: TP_COMM_OVERLAP=False
    assert l40s["tp_comm_overlap"] == "no" and "tp_overlap=off" in _strategy(l40s)
    assert "tp_overlap=on" in _strategy({**l40s, "tp_comm_overlap": ""})  # NeMo recipe default


def test_fp8_params_hold_weights_in_one_byte() -> None:
    """The row's fp8_params becomes the job's (TrainingJob.fp8_params); job_calibration, the one path of
    eval, studies and validate, holds such weights in 1 byte."""
    cal, entry = load_calibration(stack="megatron-core"), get_accelerator("H100-SXM")
    assert cal.weight_bytes_per_param == 2
    jobs = {}
    for cell in ("yes", "no", ""):
        row = {**_mlperf()[next(iter(_mlperf()))], "fp8_params": cell}
        jobs[cell] = workload_of(row, measured_of(row)[0], []).training
    assert jobs["yes"].fp8_params and not jobs["no"].fp8_params and not jobs[""].fp8_params
    assert job_calibration(cal, entry, jobs["yes"]).weight_bytes_per_param == 1
    assert job_calibration(cal, entry, jobs["no"]).weight_bytes_per_param == 2
    assert job_calibration(cal, entry, jobs[""]) == job_calibration(cal, entry, jobs["no"])


def test_l40s_lora_rows_fit_without_sharding_and_are_modelled_within_10_percent() -> None:
    """NeMo's LoRA keeps the frozen base weights in FP8 (fp8_params: ${FP8}) and runs fused_adam (no
    sharding): 70B / TP4 = 17.5 GB per 48 GB L40S. Before, the model sharded them with ZeRO-3 over PCIe
    and hid no TP communication: +39 / +50 %."""
    rows = _mlperf()
    picked = [rows[k] for k in ("mlperf_train_v4.0_NVIDIA_l40s_n16_ngc24.04_nemo_llama2_70b_lora",
                                "mlperf_train_v4.0_NVIDIA_l40s_n96_ngc24.04_nemo_llama2_70b_lora")]
    for result in validate_rows(picked):
        assert result.status == "ok" and not result.reason, result
        assert abs(result.error_pct) < 10.0, result
