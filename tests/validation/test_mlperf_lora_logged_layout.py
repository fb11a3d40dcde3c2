"""MLPerf llama2_70b_lora rows whose layout was searched now state it (issue 10, s8-mlperf): GigaComputing and
Quanta ship their launch configs under ``benchmark/`` (read by data/validation/derive/mlperf_lora_layout.py),
Red Hat v4.0 and Fujitsu v4.1 ship none but print the resolved NeMo config in their result files (read by
data/validation/derive/mlperf_lora_logged_layout.py)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from measured_runs import runs_by_id

# The printed NeMo config of a result file as Fujitsu v4.1 writes it (srun rank prefix, hydra indentation);
# the values are the ones of training_results_v4.1 Fujitsu/results/GX2560M7_H100_SXM_80GBx4/llama2_70b_lora/result_0.txt.
_DUMP = """0: model:
0:   tensor_model_parallel_size: 4
0:   pipeline_model_parallel_size: 1
0:   context_parallel_size: 1
0:   micro_batch_size: 1
0:   sequence_parallel: 1
0:   activations_checkpoint_granularity: null
0:   fp8: true
0:   fp8_params: true
0:   activation_func_fp8_input_store: 0
0:   ub_tp_comm_overlap: 0
0:   enable_cuda_graph: false
0:   optim:
0:     name: mcore_distributed_optim
0:   data:
0:     micro_batch_size: 2
"""


def test_the_printed_config_is_read_key_by_key_first_occurrence_wins(derive_script: Callable[[str], ModuleType]) -> None:
    """The script reads through _mlperf_common's one reader of the printed config (s23-M): each key's first line, in
    the order printed, and the optimizer's name right under ``optim:``."""
    script = derive_script("mlperf_lora_logged_layout")
    got = derive_script("_mlperf_common").printed_settings(_DUMP, (*script._KEYS, script._OPTIM))
    assert list(got.items()) == [
        ("tensor_model_parallel_size", "4"), ("pipeline_model_parallel_size", "1"), ("context_parallel_size", "1"),
        ("micro_batch_size", "1"), ("sequence_parallel", "1"), ("activations_checkpoint_granularity", "null"),
        ("fp8", "true"), ("fp8_params", "true"), ("activation_func_fp8_input_store", "0"), ("ub_tp_comm_overlap", "0"),
        ("enable_cuda_graph", "false"), ("optim.name", "mcore_distributed_optim")]


def test_a_nested_key_is_read_only_right_under_its_parent(derive_script: Callable[[str], ModuleType]) -> None:
    common = derive_script("_mlperf_common")
    assert common.printed_settings("  optim:\n    name: fused_adam\n", ("optim.name",)) == {"optim.name": "fused_adam"}
    assert common.printed_settings("  optim:\n    lr: 1\n    name: fused_adam\n", ("optim.name",)) == {}
    assert common.printed_settings("  data:\n    name: squad\n", ("optim.name",)) == {}


def test_logged_rows_state_what_their_result_files_print() -> None:
    rows = runs_by_id()
    expected = {  # (tp, cp, dp, tp_comm_overlap, fp8_params, fsdp_zero starts with)
        "mlperf_train_v4.0_Red_Hat_AS-8125GS-TNHR-RHEL9.4_llama2_70b_lora": ("4", "1", "2", "no", "yes", "ZeRO-0"),
        "mlperf_train_v4.1_Fujitsu_GX2560M7_H100_SXM_80GBx4_llama2_70b_lora": ("4", "1", "1", "no", "yes", "distributed"),
    }
    for run, (tp, cp, dp, overlap, fp8p, zero) in expected.items():
        r = rows[run]
        assert (r["tp"], r["pp"], r["cp"], r["dp"], r["sp"], r["micro_batch"], r["act_recompute"]) == (tp, "1", cp, dp, "yes", "1", "none")
        assert (r["tp_comm_overlap"], r["fp8_params"], r["layer_cuda_graphs"], r["fp8_act"]) == (overlap, fp8p, "no", "no")
        assert r["fsdp_zero"].startswith(zero)
        assert "mlperf_lora_logged_layout.py" in r["derived"] and "result_*.txt (all alike" in r["derived"]


def test_benchmark_folder_submitters_take_their_launch_configs() -> None:
    rows = runs_by_id()
    for run, tp in (("mlperf_train_v4.0_GigaComputing_G593-SD1_pytorch_llama2_70b_lora", "4"),
                    ("mlperf_train_v4.0_Quanta_Cloud_Technology_D74H-7U_llama2_70b_lora", "4"),
                    ("mlperf_train_v4.1_GigaComputing_G593-ZD1_pytorch_llama2_70b_lora", "2"),
                    ("mlperf_train_v4.1_Quanta_Cloud_Technology_D74H-7U_llama2_70b_lora", "4")):
        r = rows[run]
        assert (r["tp"], r["cp"], r["tp_comm_overlap"], r["fp8_params"]) == (tp, "1", "yes", "yes"), run
        assert "/benchmark/llama2_70b_lora/implementations/pytorch/configs/config_" in r["derived"], run
        assert "mlperf_lora_layout.py" in r["derived"] and "mlperf_stated_layouts.py" in r["derived"], run


def test_asustek_v4_0_reads_its_ft_llm_folder() -> None:
    """ASUSTeK v4.0 files the benchmark's code as benchmarks/ft-llm/ (every config there: TP4 CP1, TP overlap)."""
    r = runs_by_id()["mlperf_train_v4.0_ASUSTeK_ESC_N8A-E12_llama2_70b_lora"]
    assert (r["tp"], r["cp"], r["dp"], r["tp_comm_overlap"], r["fp8_params"]) == ("4", "1", "2", "yes", "yes")
    assert "ASUSTeK/benchmarks/ft-llm/implementations/pytorch/configs/config_" in r["derived"]


def test_only_rows_with_no_published_layout_stay_searched() -> None:
    """Dell v4.1 2x / 4x XE9680: no config of 16 / 32 GPUs shipped and no config printed in their result files."""
    searched = sorted(k for k, r in runs_by_id().items()
                      if r["source_group"] == "mlperf" and k.endswith("llama2_70b_lora") and not r["tp"])
    assert searched == ["mlperf_train_v4.1_Dell_2xXE9680x8H100-SXM-80GB_llama2_70b_lora",
                        "mlperf_train_v4.1_Dell_4xXE9680x8H100-SXM-80GB_llama2_70b_lora"]


def test_fill_keeps_its_note_in_place_and_refuses_a_fractional_dp(derive_script: Callable[[str], ModuleType]) -> None:
    """Review finding 7: a re-run rewrites the script's note where it stands (runs_table.set_note), and a GPU count
    that tp x pp x cp does not divide is an error, not a floored dp."""
    script = derive_script("mlperf_lora_logged_layout")
    cfg = {"tensor_model_parallel_size": "4", "micro_batch_size": "1", "optim": "fused_adam"}
    old = f"tp/pp/cp/dp/sp/micro_batch/act_recompute/tp_comm_overlap/... from an earlier run, {script._NOTE}"
    row = {"run_id": "r", "num_accels": "8", "derived": f"base; {old}; a later script's note"}
    script.fill(row, "v4.0", "S/results/x/llama2_70b_lora", cfg)
    assert row["dp"] == "2" and row["fsdp_zero"].startswith("ZeRO-0")
    assert row["derived"].startswith("base; tp/pp/cp/dp/sp/micro_batch/act_recompute/tp_comm_overlap/fp8_params")
    assert row["derived"].endswith(f"{script._NOTE}; a later script's note") and row["derived"].count(script._NOTE) == 1
    with pytest.raises(SystemExit, match="num_accels 6 is not a multiple of tp x pp x cp = 4 x 1 x 1"):
        script.fill(row | {"num_accels": "6"}, "v4.0", "S/results/x/llama2_70b_lora", cfg)
