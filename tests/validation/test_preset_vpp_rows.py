"""The virtual-pipeline size of the Megatron-Bridge rows whose table says VP "n/a" with a pipeline (s11-vpp, issue 10):
the preset's value, written by data/validation/derive/mbridge_preset_vpp.py (its docstring gives the lines read), and
what ``validate`` does with a vpp cell that stays unstated (the mapping search picks it)."""

from __future__ import annotations

from measured_runs import runs

from archsweep.validation.rows import _vpp

_SCRIPT = "data/validation/derive/mbridge_preset_vpp.py"
_BRIDGE = ("mbridge_", "mbridge-fwd_")


def _piped_bridge_rows() -> list[dict[str, str]]:
    return runs(lambda r: r["source_group"] in ("nemo", "mbridge-forward") and r["run_id"].startswith(_BRIDGE)
                and bool(r["pp"]) and int(r["pp"]) > 1)


def test_every_megatron_bridge_row_with_a_pipeline_and_a_named_preset_states_a_vpp() -> None:
    rows = [r for r in _piped_bridge_rows() if r["moe_recipe_source"]]
    assert rows and all(r["vpp"].isdigit() for r in rows), [r["run_id"] for r in rows if not r["vpp"].isdigit()]


def test_the_rows_read_from_their_preset_run_without_interleaving() -> None:
    """DeepSeek-V3 B200 / B300 (PP 16 at v0.3.0 .. v0.4.0, PP 8 at v0.4.2 / v0.5.0), GPT-OSS 120B H100 (PP 4) and
    Qwen3-235B-A22B (PP 4 / 8) presets set no virtual_pipeline_model_parallel_size: 20 rows, vpp 1, the note names
    the tag, the preset and the script."""
    written = [r for r in _piped_bridge_rows() if _SCRIPT in r["derived"]]
    assert len(written) == 20
    assert {r["vpp"] for r in written} == {"1"}
    assert {r["model"] for r in written} == {"DeepSeekV3", "GPT OSS 120B", "Qwen3_235B_a22B"}
    for r in written:
        tag, preset = r["moe_recipe_source"].split(" ")[0], r["moe_recipe_source"].split(":")[-1]
        assert f"vpp 1: Megatron-Bridge {tag} (" in r["derived"] and preset in r["derived"], r["run_id"]


def test_the_rows_with_nothing_to_read_stay_unstated_and_the_search_picks_their_vpp() -> None:
    """The NeMo 24.03.01 long-sequence Llama 2 7B row is no Megatron-Bridge run: its vpp stays empty / "n/a", which
    ``validate`` reads as not stated (``_vpp`` None: the mapping search's choice). The 26.02.01 Llama 3 70B MXFP8
    GB300 row, whose table layout (PP 4, VP n/a, MBS 2) has no preset at v0.3.1, states its release preset's VP 5
    since s20-F (mbridge_unfit_table_layouts.py: the table's layout cannot have run)."""
    unstated = runs(lambda r: r["source_group"] in ("nemo", "mbridge-forward") and bool(r["pp"]) and int(r["pp"]) > 1
                    and r["vpp"].strip().lower() in ("", "n/a"))
    assert {r["run_id"] for r in unstated} == {"nemo_longseq_h100_llama2_7b_8k"}
    assert _vpp({"vpp": "n/a"}) is None and _vpp({"vpp": ""}) is None
    assert _vpp({"vpp": "1"}) == 1
