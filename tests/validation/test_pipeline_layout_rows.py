"""The ``pipeline_layout`` column (issue 10, s12-layout; Kimi K2 since s33): the Megatron-Core layout each
Megatron-Bridge DeepSeek-V3 or Kimi K2 preset runs, written by data/validation/derive/pipeline_layout.py (its docstring gives the rule and the files read),
and what ``validate`` does with it (the row's job states it; "w/o MTP" rows have no MTP layer)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from derive_rerun import rerun_on_a_copy
from measured_runs import runs

from archsweep.load.paths import data_dir
from archsweep.spec.pipeline_layout import parse_layout
from archsweep.validation.row_workload import _mtp_layers

CLONE = Path("/work/.mirror/NVIDIA-NeMo+Megatron-Bridge/repo")
_RECIPE = '''
def _common(model_cfg):
    mtp_layers = 1
    last_layer = ["mtp"] * mtp_layers + ["loss"]
    layout_map = {
        (1, 1): None,
        (8, 1): [["embedding"] + ["decoder"] * 8] + [["decoder"] * 8] * 6 + [["decoder"] * 5 + last_layer],
        (16, 1): [["embedding"] + ["decoder"] * 4] + [["decoder"] * 4] * 14 + [["decoder"] + last_layer],
    }
'''


def test_the_recipe_map_is_read_and_written_in_megatron_cores_string_form(derive_script: Callable[[str], ModuleType]):
    script = derive_script("pipeline_layout")
    pp16 = script.recipe_map(_RECIPE, 16, 1, 1)
    assert pp16 == "Et*4|" + "t*4|" * 14 + "tmL"
    assert parse_layout(pp16).stages == parse_layout("Et*4|(t*4|)*14tmL").stages
    assert script.recipe_map(_RECIPE, 8, 1, 0) == "Et*8|" + "t*8|" * 6 + "t*5L"  # "w/o MTP": no m
    assert script.recipe_map(_RECIPE, 2, 4, 1) == "" and script.recipe_map(_RECIPE, 1, 1, 1) == ""  # no entry / None


def test_every_deepseek_v3_bridge_row_but_the_mapless_ones_states_a_layout_that_fits():
    rows = runs(lambda r: r["run_id"].startswith(("mbridge_", "mbridge-fwd_")) and "deepseek" in r["model"].lower())
    assert len(rows) == 28
    stated = [r for r in rows if r["pipeline_layout"]]
    assert len(stated) == 25
    assert {r["run_id"] for r in rows if not r["pipeline_layout"]} == {  # pp 2 x vpp 4, pp 8 x vpp 4: no map entry
        "mbridge_25.11_DGX-GB300_DeepSeekV3_(w/o_MTP)_BF16_256", "mbridge_25.11_DGX-GB300_DeepSeekV3_(w/o_MTP)_FP8-MX_256",
        "mbridge_25.11_DGX-GB200_DeepSeekV3_(w/o_MTP)_FP8-MX_256"}
    for r in stated:
        layout = parse_layout(r["pipeline_layout"])
        assert layout.stage_count == int(r["pp"]) * int(r["vpp"]) and layout.runs_on(int(r["pp"])), r["run_id"]
        mtp = 0 if "w/o" in r["model"] else 1
        layout.check_model(61, mtp, r["run_id"])
    assert all(not r["pipeline_layout"] for r in runs(lambda r: not any(k in r["model"].lower()
                                                                         for k in ("deepseek", "kimi"))))


def test_the_kimi_k2_rows_state_the_recipes_pp4_vp4_layout():
    """s33: the four Kimi K2 GB300 rows (PP 4 x VP 4, no preset pp_layout) run the recipe's map entry (4, 4):
    src/megatron/bridge/recipes/kimi/kimi_k2.py ``_get_kimi_k2_pipeline_layout``, the embedding with 4 layers, 14
    stages of 4, the last layer with the loss: 61 layers, no MTP."""
    rows = runs(lambda r: "kimi" in r["model"].lower())
    assert len(rows) == 4
    for r in rows:
        layout = parse_layout(r["pipeline_layout"])
        assert layout.stages == parse_layout("Et*4|(t*4|)*14tL").stages
        layout.check_model(61, 0, r["run_id"])


def test_the_rows_named_without_mtp_have_none():
    class _Base:
        mtp_num_layers = 1
    assert _mtp_layers("DeepSeekV3 (w/o MTP)", _Base()) == 0  # type: ignore[arg-type]
    assert _mtp_layers("DeepSeekV3 (w/ MTP)", _Base()) == 1  # type: ignore[arg-type]
    assert _mtp_layers("DeepSeekV3", _Base()) == 1  # type: ignore[arg-type]


@pytest.mark.skipif(not CLONE.exists() or shutil.which("git") is None, reason="needs the Megatron-Bridge clone")
def test_the_script_reproduces_the_column_byte_for_byte(tmp_path: Path):
    csv = data_dir() / "validation" / "training_runs.csv"
    assert rerun_on_a_copy(tmp_path, [("pipeline_layout.py", [CLONE])]) == csv.read_bytes()
