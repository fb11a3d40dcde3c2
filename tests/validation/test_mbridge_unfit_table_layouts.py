"""Three Megatron-Bridge rows state their release preset's layout, not the table line's, which cannot have run
(data/validation/derive/mbridge_unfit_table_layouts.py, s20-F): the writer and its refusals on a given preset text
(no mirror needed), what the data now states, and the physics: at the table's cells each stated mapping exceeds HBM
in the model, at the preset's it fits."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from archsweep.load.paths import data_dir
from archsweep.validation.cells import read_measurements
from archsweep.validation.run import validate_rows

ROWS = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
PRESETS = ("BASE_LLAMA3_70B_CONFIG_GBS256 = WorkloadBaseConfig(\n    num_gpus=64,\n    global_batch_size=256,\n)\n\n"
           "LLAMA3_70B_PRETRAIN_CONFIG_GB300_FP8_MX_V2 = replace(\n    BASE_LLAMA3_70B_CONFIG_GBS256,\n"
           "    pipeline_model_parallel_size=4,\n    virtual_pipeline_model_parallel_size=5,\n)\n")
#: run_id -> the table line's layout cells (pp, vpp, micro_batch, dp) as the archive @067f987df states them
TABLE = {"mbridge-fwd_26.02.01_DGX-GB300_LLAMA3-70B_NVFP4_64": ("1", "n/a", "2", "64"),
         "mbridge-fwd_26.02.01_DGX-GB300_LLAMA3-70B_MXFP8_64": ("4", "n/a", "2", "16"),
         "mbridge_25.11_DGX-H100_GPT_OSS_120B_BF16_64": ("4", "1", "4", "16")}


@pytest.fixture()
def script(derive_script: Callable[[str], ModuleType]) -> ModuleType:
    return derive_script("mbridge_unfit_table_layouts")


def _mxfp8(script: ModuleType):
    return next(f for f in script.FIXES if f.preset == "LLAMA3_70B_PRETRAIN_CONFIG_GB300_FP8_MX_V2")


def test_apply_writes_the_preset_layout_once(script: ModuleType) -> None:
    row = {"run_id": "x", "tp": "1", "cp": "1", "pp": "4", "vpp": "n/a", "micro_batch": "2", "dp": "16",
           "num_accels": "64", "global_batch_seqs": "256", "derived": "dp = GPUs/(TP*PP*CP)", "confidence": "low"}
    found = script.presets(PRESETS)
    script.apply(_mxfp8(script), found, "9c9dd84896", row)
    first = dict(row)
    assert (row["pp"], row["vpp"], row["micro_batch"], row["dp"]) == ("4", "5", "1", "16")
    assert row["derived"].startswith("dp = GPUs/(TP*PP*CP); layout pp 4 vpp 5 micro_batch 1 dp 16 from the v0.3.1")
    script.apply(_mxfp8(script), found, "9c9dd84896", row)  # idempotent: the note is replaced, not appended
    assert row == first and row["derived"].count("mbridge_unfit_table_layouts.py") == 1


def test_apply_refuses_another_preset_layout_or_another_run(script: ModuleType) -> None:
    row = {"tp": "1", "cp": "1", "num_accels": "64", "global_batch_seqs": "256", "derived": ""}
    with pytest.raises(SystemExit, match="PP / VP / MBS"):
        script.apply(_mxfp8(script), script.presets(PRESETS.replace("size=5", "size=10")), "c", dict(row))
    with pytest.raises(SystemExit, match="no preset"):
        script.apply(_mxfp8(script), script.presets(PRESETS.replace("FP8_MX_V2", "FP8_MX_V3")), "c", dict(row))
    with pytest.raises(SystemExit, match="tp 2 is not the preset's 1"):
        script.apply(_mxfp8(script), script.presets(PRESETS), "c", dict(row, tp="2"))


def test_the_rows_state_the_preset_layout_and_keep_the_table_figures() -> None:
    want = {"mbridge-fwd_26.02.01_DGX-GB300_LLAMA3-70B_NVFP4_64": ("4", "5", "1", "16", "7002"),
            "mbridge-fwd_26.02.01_DGX-GB300_LLAMA3-70B_MXFP8_64": ("4", "5", "1", "16", "4798"),
            "mbridge_25.11_DGX-H100_GPT_OSS_120B_BF16_64": ("4", "1", "1", "16", "5630")}
    for run_id, cells in want.items():
        row = ROWS[run_id]
        assert (row["pp"], row["vpp"], row["micro_batch"], row["dp"], row["tokens_per_s_per_gpu"]) == cells
        assert row["derived"].count("mbridge_unfit_table_layouts.py") == 1
        assert row["confidence"].startswith("medium")


def test_the_table_layouts_exceed_hbm_and_the_presets_fit() -> None:
    """The physics behind the choice: at the table's cells the model puts each stated mapping over HBM (the 70B
    NVFP4 one by ~2x: BF16 weights and gradients alone fill the GB300), at the preset's each fits."""
    rows = [ROWS[run_id] for run_id in TABLE]
    table = [dict(r, pp=pp, vpp=vpp, micro_batch=mb, dp=dp) for r, (pp, vpp, mb, dp) in zip(rows, TABLE.values(), strict=True)]
    for stated, carried in zip(validate_rows(rows), validate_rows(table), strict=True):
        assert stated.status == "ok" and "exceeds HBM" not in stated.reason, stated
        assert "memory exceeds HBM by" in carried.reason, carried
