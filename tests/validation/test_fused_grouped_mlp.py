"""Rows whose Megatron-Bridge v0.5.x preset sets ``cutedsl_fused_grouped_mlp`` run gpt-oss's clamped GLU and
expert biases inside TransformerEngine's fused grouped MLP (review s12 finding 4, branch s12-m1;
archsweep.validation.fused_mlp): the column ``moe_fused_grouped_mlp`` and what the model drops for it."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.paths import data_dir
from archsweep.validation.cells import read_measurements
from archsweep.validation.fused_mlp import FUSED_AWAY, FUSED_GROUPED_MLP, fused_grouped_mlp_calibration

ROWS = read_measurements(data_dir() / "validation" / "training_runs.csv")
GPT_OSS_FUSED = {f"mbridge-fwd_{c}_DGX-{s}_GPT_OSS_120B_MXFP8_64" for c in ("26.06", "26.06.01") for s in ("GB300", "GB200")}


def test_the_v05_gb300_gb200_mxfp8_presets_state_the_fused_grouped_mlp() -> None:
    fused = {r["run_id"] for r in ROWS if r.get(FUSED_GROUPED_MLP) == "yes"}
    assert GPT_OSS_FUSED <= fused
    assert {r["run_id"] for r in ROWS if r["model"] == "GPT OSS 120B" and r["run_id"] in fused} == GPT_OSS_FUSED
    for row in ROWS:
        if row["run_id"] in fused:  # only presets read at v0.5.0 / v0.5.1 set it
            assert row["moe_recipe_source"].startswith(("v0.5.0 ", "v0.5.1 ")) and "_FP8_MX_" in row["moe_recipe_source"]
            assert "cutedsl_fused_grouped_mlp=True" in row["derived"]


def test_the_calibration_of_a_fused_row_drops_the_clamp_and_bias_costs() -> None:
    cal = load_calibration(stack="megatron-core-flex")
    fused = fused_grouped_mlp_calibration({FUSED_GROUPED_MLP: "yes"}, cal)
    assert all(getattr(fused, key) == 0.0 for key in FUSED_AWAY)
    assert fused.moe_layer_host_overhead_s == cal.moe_layer_host_overhead_s
    assert fused_grouped_mlp_calibration({FUSED_GROUPED_MLP: "no"}, cal) is cal
    assert fused_grouped_mlp_calibration({}, cal) is cal


def test_a_fused_gpt_oss_row_is_predicted_faster_than_the_same_row_unfused() -> None:
    from archsweep.validation.run import validate_rows

    [row] = [r for r in ROWS if r["run_id"] == "mbridge-fwd_26.06_DGX-GB200_GPT_OSS_120B_MXFP8_64"]
    fused, unfused = validate_rows([row, {**row, FUSED_GROUPED_MLP: "no", "run_id": "unfused"}])
    assert fused.status == unfused.status == "ok"
    assert fused.predicted > unfused.predicted * 1.01  # tokens/s/GPU: the clamp chain and bias passes are gone


def test_the_derive_script_reads_the_preset_flag(derive_script: Callable[[str], ModuleType]) -> None:
    script = derive_script("mbridge_archive_rows")
    found = script.presets("from utils.utils import WorkloadBaseConfig\n"
                           "A = WorkloadBaseConfig(num_gpus=8)\nB = replace(A, cutedsl_fused_grouped_mlp=True)\n")
    assert script.fused_grouped_mlp(found["A"]) == "no" and script.fused_grouped_mlp(found["B"]) == "yes"


@pytest.mark.parametrize("cell", ["maybe"])
def test_a_bad_cell_skips_the_row(cell: str) -> None:
    from archsweep.validation.types import Skip

    with pytest.raises(Skip, match=FUSED_GROUPED_MLP):
        fused_grouped_mlp_calibration({FUSED_GROUPED_MLP: cell}, load_calibration())
