"""MLPerf llama2_70b_lora rows carry the layout of the submitter's launch config (issue 10)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from measured_runs import runs_by_id

from archsweep.validation.metrics import measured_of
from archsweep.validation.row_workload import workload_of
from archsweep.validation.rows import mapping_of


def _rows() -> dict[str, dict[str, str]]:
    return runs_by_id(lambda r: r["source_group"] == "mlperf" and r["run_id"].endswith("llama2_70b_lora"))


def test_filled_layouts_multiply_to_the_gpu_count_and_batch() -> None:
    """tp*pp*cp*dp = GPUs and the global batch is a whole number of micro-batches per DP rank."""
    filled = [r for r in _rows().values() if "mlperf_lora_layout.py" in r["derived"]]
    assert len(filled) >= 30
    for r in filled:
        tp, pp, cp, dp, mb = (int(r[k]) for k in ("tp", "pp", "cp", "dp", "micro_batch"))
        assert tp * pp * cp * dp == int(r["num_accels"]), r["run_id"]
        assert int(r["global_batch_seqs"]) % (dp * mb) == 0, r["run_id"]
        assert "config_" in r["derived"] and "FP8" in r["precision"], r["run_id"]


def test_nvidia_multi_node_rows_run_tp4_cp2_one_sequence_per_rank() -> None:
    """NVIDIA's config_DGXH100_8x8x1xtp4pp1cp2.sh / 128x8x1: TP4 CP2, MINIBS 1, no recomputation."""
    rows = _rows()
    for run in ("mlperf_train_v4.1_NVIDIA_eos_n8_ngc24.09_nemo_llama2_70b_lora",
                "mlperf_train_v4.0_NVIDIA_eos_n128_ngc24.04_nemo_llama2_70b_lora"):
        r = rows[run]
        assert (r["tp"], r["pp"], r["cp"], r["micro_batch"], r["act_recompute"]) == ("4", "1", "2", "1", "none")
        assert int(r["dp"]) == int(r["global_batch_seqs"])
        metric, _ = measured_of(r)
        notes: list[str] = []
        _, strategies, _, source = mapping_of(r, workload_of(r, metric, notes), metric, notes)
        assert "tp=4" in strategies[0] and "cp=2" in strategies[0] and "recompute=none" in strategies[0]
        assert source in ("given", "partial")


_IMPL = "Sub/benchmarks/llama2_70b_lora/implementations"
_COMMON = "export TP=1\nexport PP=1\nexport MBS=1\nexport FP8=True\nexport FP8_DPA=1\n"


def _config(nodes: int, cp: int, common: bool = True) -> str:
    """A NeMo launch config of ``nodes`` x 8 GPUs, MINIBS 1, CP ``cp``, sourcing ``config_common.sh``."""
    head = "source $(dirname ${BASH_SOURCE[0]})/config_common.sh\n" if common else ""
    return head + f"export MINIBS=1\nexport CP={cp}\nexport DGXNNODES={nodes}\nexport DGXNGPU=8\n"


def _row(folder: str, gpus: int, accel: str = "B200") -> dict[str, str]:
    return {"num_accels": str(gpus), "global_batch_seqs": "8", "accelerator_canonical": accel, "run_id": folder}


def test_the_result_folder_extending_an_implementation_folder_takes_its_config(derive_script: Callable[[str], ModuleType]) -> None:
    """s20-A: ``results/hpg.dgxb200x8.n8`` is filed under ``implementations/hpg.dgxb200x8`` (University of Florida
    v5.1); the same file name in another folder (``b200_nemo``) is not the result's own."""
    from fake_mirror import FakeMirror

    script = derive_script("mlperf_lora_layout")
    assert script.is_own_folder("hpg.dgxb200x8", "hpg.dgxb200x8.n8")
    assert script.is_own_folder("nemo", "nemo") and not script.is_own_folder("hpg", "hpg2.n8")
    mirror = FakeMirror({f"{_IMPL}/b200_nemo/config_common.sh": _COMMON,
                         f"{_IMPL}/b200_nemo/config_DGXB200_8x8x1xtp1pp1cp8.sh": _config(8, 8),
                         f"{_IMPL}/hpg.dgxb200x8/config_DGXB200_8x8x1xtp1pp1cp8.sh": _config(8, 8, common=False),
                         "Sub/systems/hpg.dgxb200x8.n8.json": "{}"})
    path, lay = script.find_config(mirror, "Sub", "hpg.dgxb200x8.n8", _row("hpg.dgxb200x8.n8", 64))
    assert path == f"{_IMPL}/hpg.dgxb200x8/config_DGXB200_8x8x1xtp1pp1cp8.sh"
    assert (lay["tp"], lay["pp"], lay["cp"]) == (1, 1, 8)


def test_configs_agreeing_on_the_layout_but_not_on_fp8_fill_the_layout_and_leave_precision(derive_script: Callable[[str], ModuleType]) -> None:
    """s20-A: two folders' copies of one config, one of which misses the ``config_common.sh`` it sources (FP8
    unset there): the layout is filled, ``precision`` left as it was, the note names both readings."""
    from fake_mirror import FakeMirror

    script = derive_script("mlperf_lora_layout")
    mirror = FakeMirror({f"{_IMPL}/a_nemo/config_common.sh": _COMMON,
                         f"{_IMPL}/a_nemo/config_DGXB200_1x8x1xtp1pp1cp1.sh": _config(1, 1),
                         f"{_IMPL}/b_nemo/config_DGXB200_1x8x1xtp1pp1cp1.sh": _config(1, 1, common=False)})
    path, lay = script.find_config(mirror, "Sub", "other", _row("other", 8))
    assert "FP8=True" in lay["precision_open"] and "FP8=False" in lay["precision_open"]
    row = {**_row("other", 8), "precision": "as stated", "derived": ""}
    script.fill(row, "v5.1", path, lay)
    assert (row["tp"], row["cp"], row["dp"], row["precision"]) == ("1", "1", "8", "as stated")
    assert "precision left as is" in row["derived"]
    # a layout difference (TP2, MINIBS 2: the same global batch) is still a disagreement: nothing chosen
    mirror.files[f"{_IMPL}/b_nemo/config_DGXB200_1x8x1xtp1pp1cp1.sh"] = _config(1, 1).replace("MINIBS=1", "MINIBS=2\nexport TP=2")
    mirror.files[f"{_IMPL}/b_nemo/config_common.sh"] = _COMMON
    assert script.find_config(mirror, "Sub", "other", _row("other", 8)).startswith("configs disagree")


def test_configs_naming_another_accelerator_or_another_system_are_left_out(derive_script: Callable[[str], ModuleType]) -> None:
    """s20-A: a B200 row takes no MI355X / GB300 / B300 config; a config named after another system of the
    submitter (Dell ``XE9680`` for the ``1xXE9680L`` row) is that system's, but a system the row's name contains
    (Supermicro ``AS-A126GS-TNBR`` for ``AS-A126GS-TNBR_N1``) is the row's own."""
    from fake_mirror import FakeMirror

    script = derive_script("mlperf_lora_layout")
    for other in ("config_MI355X_1x8x1.sh", "config_GB300_2x4x1xtp1pp1cp1.sh", "config_DGXB300_1x8x1xtp1pp1cp1.sh"):
        assert script._names_other_accel(f"{_IMPL}/x/{other}", "B200"), other
    assert not script._names_other_accel(f"{_IMPL}/x/config_DGXB200_1x8x1xtp1pp1cp1.sh", "B200")
    systems = ["1xXE9680Lx8H200-SXM-141GB", "1xXE9680x8H200-SXM-141GB"]
    assert script.names_other_system("config_XE9680x8H200-SXM-141GB_1x8x2xtp1pp1cp2.sh",
                                     "1xXE9680Lx8H200-SXM-141GB", systems)
    assert not script.names_other_system("config_XE9680x8H200-SXM-141GB_1x8x2xtp1pp1cp2.sh",
                                         "1xXE9680x8H200-SXM-141GB", systems)
    assert not script.names_other_system("config_AS-A126GS-TNBR_1x8x1xtp1pp1cp1.sh", "AS-A126GS-TNBR_N1",
                                         ["AS-A126GS-TNBR", "AS-A126GS-TNBR_N1"])
    mirror = FakeMirror({f"{_IMPL}/nemo/config_common.sh": _COMMON,
                         f"{_IMPL}/nemo/config_XE9680x8H200-SXM-141GB_1x8x2xtp1pp1cp2.sh": _config(1, 1),
                         "Sub/systems/1xXE9680Lx8H200-SXM-141GB.json": "{}", "Sub/systems/1xXE9680x8H200-SXM-141GB.json": "{}"})
    found = script.find_config(mirror, "Sub", "1xXE9680Lx8H200-SXM-141GB", _row("x", 8, "H200"))
    assert isinstance(found, str) and found.startswith("no config")


def test_a_readme_pointing_to_another_folder_supplies_the_sourced_files(derive_script: Callable[[str], ModuleType]) -> None:
    """s20-A: University of Florida v5.1 ``hpg.dgxb200x8/README.md`` "Please refer to the implementation directory
    [b200_nemo](../b200_nemo)": a config there sourcing ``config_common.sh`` (not shipped beside it) reads
    b200_nemo's, and its NeMo ``conf/`` is b200_nemo's; a folder without such a README reads neither."""
    from fake_mirror import FakeMirror

    common = derive_script("_mlperf_common")
    mirror = FakeMirror({f"{_IMPL}/b200_nemo/config_common.sh": _COMMON,
                         f"{_IMPL}/b200_nemo/conf/megatron_gpt_peft_tuning_config.yaml": "fp8: true\n",
                         f"{_IMPL}/hpg/README.md": "Please refer to the implementation directory [b200_nemo](../b200_nemo) "
                                                   "for the details.\n",
                         f"{_IMPL}/hpg/config_DGXB200_1x8x1xtp1pp1cp1.sh": _config(1, 1),
                         f"{_IMPL}/lone/config_DGXB200_1x8x1xtp1pp1cp1.sh": _config(1, 1)})
    assert common.pointed_folder(mirror, f"{_IMPL}/hpg") == f"{_IMPL}/b200_nemo"
    assert common.pointed_folder(mirror, f"{_IMPL}/lone") is None
    config = f"{_IMPL}/hpg/config_DGXB200_1x8x1xtp1pp1cp1.sh"
    env = common.parse_config(mirror, config, set(mirror.ls(f"{_IMPL}/hpg/")))
    assert (env["FP8"], env["FP8_DPA"], env["CP"]) == ("True", "1", "1")
    assert common.nemo_conf_paths(mirror, config) == [f"{_IMPL}/b200_nemo/conf/megatron_gpt_peft_tuning_config.yaml"]
    lone = f"{_IMPL}/lone/config_DGXB200_1x8x1xtp1pp1cp1.sh"
    assert "FP8" not in common.parse_config(mirror, lone, set(mirror.ls(f"{_IMPL}/lone/")))
