"""``param_gather_overlap`` of the Megatron-Bridge performance rows is the preset of the release each row
ran (data/validation/derive/mbridge_param_gather.py; issue 10, s8-presets): NeMo 25.09 ships
Megatron-Bridge 0.1.0rc3, 25.11 ships 0.2.0, 26.02 ships 0.3.0 (docs/releases/software-versions.md @v0.3.0);
only v0.2.0's ``fp8_mx`` presets of Llama3 70B / Llama3.1 405B / Qwen3 235B B200 / DeepSeek-V3 GB200-GB300
switch the overlap off. The forward rows carry the 26.02 row's cell, but the four Kimi K2 rows (s33), which have
none: Muon's layer-wise distributed optimizer gathers after the step, the recipe turns the overlap off (read at each
row's tag by mbridge_archive_rows.py)."""

from __future__ import annotations

import pytest
from measured_runs import runs_by_id


def test_every_mbridge_row_is_filled_with_its_source():
    rows = [r for k, r in runs_by_id().items() if k.startswith("mbridge_")]
    assert len(rows) == 77
    assert {r["param_gather_overlap"] for r in rows} == {"yes", "no"}
    assert all("mbridge_param_gather.py" in r["derived"] for r in rows)
    others = [r for k, r in runs_by_id().items() if not k.startswith(("mbridge_", "mbridge-fwd_"))
              and not k.endswith("_llama31_405b")]
    assert {r["param_gather_overlap"] for r in others} == {""}
    # the MLPerf v5.0 / v5.1 llama31_405b rows (s18-D, s19-I) state their launch config's OVERLAP_PARAM_GATHER
    big = [r for k, r in runs_by_id().items() if k.endswith("_llama31_405b")]
    assert len(big) == 14 + 6 and all("mlperf_llama31_405b_rows.py" in r["derived"] for r in big)
    # the forward-test rows (mbridge_archive_rows.py) carry the 26.02 row's cell and say so
    forward = [r for k, r in runs_by_id().items() if k.startswith("mbridge-fwd_")]
    pretrain = [r for r in forward if "fine-tuning" not in r["notes"]]
    assert pretrain and {r["param_gather_overlap"] for r in pretrain} <= {"yes", "no"}
    muon = [r for r in pretrain if r["optimizer"] == "muon"]  # s33: + 4 Kimi K2 rows, read at their tag
    assert len(muon) == 4 and all(r["param_gather_overlap"] == "no" and "ddp.overlap_param_gather = False" in r["derived"]
                                  for r in muon)
    assert all("param_gather_overlap" in r["derived"] and "carried from mbridge_26.02_" in r["derived"]
               for r in pretrain if r not in muon)
    assert {r["param_gather_overlap"] for r in forward if r not in pretrain} == {""}  # SFT / LoRA: not stated


def test_25_09_fp8_mx_ran_v0_1_0rc3_which_keeps_the_overlap():
    row = runs_by_id()["mbridge_25.09_DGX-B200_LLAMA3.1-405B_FP8-MX_128"]
    assert row["param_gather_overlap"] == "yes"
    assert "param_gather_overlap yes: Megatron-Bridge v0.1.0rc3 (bf71eba07, NeMo 25.09)" in row["derived"]


def test_25_11_fp8_mx_ran_v0_2_0_which_switches_it_off():
    rows = runs_by_id()
    row = rows["mbridge_25.11_DGX-B200_LLAMA3.1-405B_FP8-MX_128"]
    assert row["param_gather_overlap"] == "no"
    assert ("Megatron-Bridge v0.2.0 (7af9601c9, NeMo 25.11) scripts/performance/configs/llama31/llama31_llm_pretrain.py "
            "llama31_405b_b200_config: if precision == 'fp8_mx': cfg.comm_overlap.overlap_param_gather = False") in row["derived"]
    off = sorted(k for k, r in rows.items() if r["param_gather_overlap"] == "no" and r["optimizer"] != "muon")
    assert off == ["mbridge_25.11_DGX-B200_LLAMA3.1-405B_FP8-MX_128", "mbridge_25.11_DGX-B200_Qwen3_235B_a22B_FP8-MX_64",
                   "mbridge_25.11_DGX-GB200_DeepSeekV3_(w/o_MTP)_FP8-MX_256",
                   "mbridge_25.11_DGX-GB300_DeepSeekV3_(w/o_MTP)_FP8-MX_256"]
    # the same release's block-scaled Llama3 8B preset does not touch it
    assert rows["mbridge_25.11_DGX-B200_LLAMA3-8B_FP8-MX_8"]["param_gather_overlap"] == "yes"


def test_26_02_mxfp8_ran_v0_3_0_which_keeps_the_overlap():
    row = runs_by_id()["mbridge_26.02_DGX-GB200_LLAMA3.1-405B_MXFP8_256"]
    assert row["param_gather_overlap"] == "yes"
    assert "param_gather_overlap yes: Megatron-Bridge v0.3.0 (21b02e0cf, NeMo 26.02)" in row["derived"]


_PRESETS = '''
def llama3_70b_b200_config(precision):
    if precision == "fp8_mx":
        cfg.comm_overlap.overlap_param_gather = False
        cfg.ddp.overlap_param_gather = False
def llama3_8b_b200_config(precision):
    cfg.ddp.overlap_param_gather = False
'''


def test_comm_overlap_decides_a_ddp_value_alone_is_refused(derive_script, monkeypatch):
    """CommOverlapConfig copies ``cfg.comm_overlap`` over ``cfg.ddp`` (Megatron-Bridge @7af9601c9
    src/megatron/bridge/training/comm_overlap.py ``setup``): the script keys on ``comm_overlap`` and refuses a
    preset that sets only ``ddp`` (review finding 5)."""
    script = derive_script("mbridge_param_gather")
    files = {"scripts/performance/configs/llama3/p.py": _PRESETS}
    monkeypatch.setattr(script, "git_text", lambda repo, cmd, *args: "\n".join(files) if cmd == "ls-tree"
                        else files[args[-1].split(":", 1)[1]])
    offs = script.preset_offs("repo", "c")
    assert offs == {("llama3_70b_b200_config", "fp8_mx"): ("scripts/performance/configs/llama3/p.py",
                                                           frozenset({"comm_overlap", "ddp"})),
                    ("llama3_8b_b200_config", "*"): ("scripts/performance/configs/llama3/p.py", frozenset({"ddp"}))}
    header = ["run_id", "model", "precision", "derived", "param_gather_overlap"]
    row = {"run_id": "mbridge_25.11_DGX-B200_LLAMA3-70B_FP8-MX_64", "model": "LLAMA3-70B", "precision": "FP8-MX",
           "derived": "base; param_gather_overlap yes: Megatron-Bridge old, data/validation/derive/"
                      "mbridge_param_gather.py; later note", "param_gather_overlap": "yes"}
    written = []
    monkeypatch.setattr(script, "read_runs", lambda new: (header, [row]))
    monkeypatch.setattr(script, "write_runs", lambda h, rows: written.append(rows))
    monkeypatch.setattr(script, "preset_offs", lambda repo, commit: offs)
    monkeypatch.setattr(script, "mbridge_commits", lambda repo, refs: {ref: "7af9601c9" + "0" * 31 for ref in refs})
    script.main("repo")
    assert row["param_gather_overlap"] == "no"
    assert row["derived"].startswith("base; param_gather_overlap no: Megatron-Bridge v0.2.0")  # in its place
    assert row["derived"].endswith("cfg.comm_overlap.overlap_param_gather = False, "
                                   "data/validation/derive/mbridge_param_gather.py; later note")
    row |= {"run_id": "mbridge_25.11_DGX-B200_LLAMA3-8B_FP8-MX_8", "model": "LLAMA3-8B"}
    with pytest.raises(SystemExit, match="sets ddp.overlap_param_gather = False but not comm_overlap"):
        script.main("repo")
