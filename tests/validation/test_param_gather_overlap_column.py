"""``param_gather_overlap`` of the Megatron-Bridge performance rows is the preset of the release each row
ran (data/validation/derive/mbridge_param_gather.py; issue 10, s8-presets): NeMo 25.09 ships
Megatron-Bridge 0.1.0rc3, 25.11 ships 0.2.0, 26.02 ships 0.3.0 (docs/releases/software-versions.md @v0.3.0);
only v0.2.0's ``fp8_mx`` presets of Llama3 70B / Llama3.1 405B / Qwen3 235B B200 / DeepSeek-V3 GB200-GB300
switch the overlap off."""

from __future__ import annotations

from measured_runs import runs_by_id


def test_every_mbridge_row_is_filled_with_its_source():
    rows = [r for k, r in runs_by_id().items() if k.startswith("mbridge_")]
    assert len(rows) == 77
    assert {r["param_gather_overlap"] for r in rows} == {"yes", "no"}
    assert all("mbridge_param_gather.py" in r["derived"] for r in rows)
    others = [r for k, r in runs_by_id().items() if not k.startswith("mbridge_")]
    assert {r["param_gather_overlap"] for r in others} == {""}


def test_25_09_fp8_mx_ran_v0_1_0rc3_which_keeps_the_overlap():
    row = runs_by_id()["mbridge_25.09_DGX-B200_LLAMA3.1-405B_FP8-MX_128"]
    assert row["param_gather_overlap"] == "yes"
    assert "param_gather_overlap yes: Megatron-Bridge v0.1.0rc3 (bf71eba07, NeMo 25.09)" in row["derived"]


def test_25_11_fp8_mx_ran_v0_2_0_which_switches_it_off():
    rows = runs_by_id()
    row = rows["mbridge_25.11_DGX-B200_LLAMA3.1-405B_FP8-MX_128"]
    assert row["param_gather_overlap"] == "no"
    assert ("Megatron-Bridge v0.2.0 (7af9601c9, NeMo 25.11) scripts/performance/configs/llama31/llama31_llm_pretrain.py "
            "llama31_405b_b200_config: if precision == 'fp8_mx': cfg.ddp.overlap_param_gather = False") in row["derived"]
    off = sorted(k for k, r in rows.items() if r["param_gather_overlap"] == "no")
    assert off == ["mbridge_25.11_DGX-B200_LLAMA3.1-405B_FP8-MX_128", "mbridge_25.11_DGX-B200_Qwen3_235B_a22B_FP8-MX_64",
                   "mbridge_25.11_DGX-GB200_DeepSeekV3_(w/o_MTP)_FP8-MX_256",
                   "mbridge_25.11_DGX-GB300_DeepSeekV3_(w/o_MTP)_FP8-MX_256"]
    # the same release's block-scaled Llama3 8B preset does not touch it
    assert rows["mbridge_25.11_DGX-B200_LLAMA3-8B_FP8-MX_8"]["param_gather_overlap"] == "yes"


def test_26_02_mxfp8_ran_v0_3_0_which_keeps_the_overlap():
    row = runs_by_id()["mbridge_26.02_DGX-GB200_LLAMA3.1-405B_MXFP8_256"]
    assert row["param_gather_overlap"] == "yes"
    assert "param_gather_overlap yes: Megatron-Bridge v0.3.0 (21b02e0cf, NeMo 26.02)" in row["derived"]
