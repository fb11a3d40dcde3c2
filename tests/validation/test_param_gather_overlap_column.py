"""``param_gather_overlap`` of the Megatron-Bridge performance rows is the preset of the release each row
ran (data/validation/derive/mbridge_param_gather.py; issue 10, s8-presets): NeMo 25.09 ships
Megatron-Bridge 0.1.0rc3, 25.11 ships 0.2.0, 26.02 ships 0.3.0 (docs/releases/software-versions.md @v0.3.0);
only v0.2.0's ``fp8_mx`` presets of Llama3 70B / Llama3.1 405B / Qwen3 235B B200 / DeepSeek-V3 GB200-GB300
switch the overlap off. The forward rows carry the 26.02 row's cell, but the four Kimi K2 rows (s33), which have
none: Muon's layer-wise distributed optimizer gathers after the step, the recipe turns the overlap off (read at each
row's tag by mbridge_archive_rows.py); and the rows whose pretrain function at their tag turns it off for their
precision and config variant (mbridge_archive_rows.py ``gather_off``: v0.4.2 / v0.5.0
``llama31_405b_pretrain_config_gb200`` calls ``disable_param_gather_overlap(cfg)`` for nvfp4 + v2, Megatron-Bridge
issue 3714: the 26.04.01 and 26.06 GB200 NVFP4 Llama 3.1 405B rows)."""

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
    read = [r for r in pretrain if r not in muon and "param_gather_overlap no: Megatron-Bridge" in r["derived"]]
    assert {r["run_id"] for r in read} == {  # read at the tag, not carried: the only other forward "no" cells
        f"mbridge-fwd_{c}_DGX-GB200_LLAMA3.1-405B_NVFP4_256" for c in ("26.04.01", "26.06")}
    assert {r["param_gather_overlap"] for r in read} == {"no"}
    assert {r["param_gather_overlap"] for r in pretrain if r not in muon and r not in read} == {"yes"}
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
    assert off == ["mbridge-fwd_26.04.01_DGX-GB200_LLAMA3.1-405B_NVFP4_256",  # test_..._v2_preset_... below
                   "mbridge-fwd_26.06_DGX-GB200_LLAMA3.1-405B_NVFP4_256",
                   "mbridge_25.11_DGX-B200_LLAMA3.1-405B_FP8-MX_128", "mbridge_25.11_DGX-B200_Qwen3_235B_a22B_FP8-MX_64",
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


def test_26_04_01_and_26_06_gb200_nvfp4_ran_the_v2_preset_which_switches_it_off():
    """Megatron-Bridge v0.4.2 (NeMo 26.04.01) and v0.5.0 (26.06) ``llama31_405b_pretrain_config_gb200``: ``if
    precision == "nvfp4" and config_variant.lower() == "v2": disable_param_gather_overlap(cfg)`` (issue 3714,
    out of memory); the table's layout (256 GPUs, GBS 1536) is the ``_V2`` preset's (``_V1``: 128 GPUs, GBS 64) and
    ``--config_variant`` defaults to "v2". v0.3.1 (26.02.01) and v0.4.0 (26.04) have no such call, and the GB300
    function none at any tag: those rows keep the carried "yes"."""
    rows = runs_by_id()
    for container, tag in (("26.04.01", "v0.4.2"), ("26.06", "v0.5.0")):
        row = rows[f"mbridge-fwd_{container}_DGX-GB200_LLAMA3.1-405B_NVFP4_256"]
        assert row["param_gather_overlap"] == "no"
        assert (f"param_gather_overlap no: Megatron-Bridge {tag} scripts/performance/configs/llama/llama31_llm_pretrain.py "
                "L124 llama31_405b_pretrain_config_gb200: if precision == 'nvfp4' and config_variant.lower() == 'v2': "
                "disable_param_gather_overlap(cfg) (L52 ddp.overlap_param_gather = False, L53 optimizer."
                "overlap_param_gather = False, L54 comm_overlap.overlap_param_gather = False), config_variant v2 (the "
                "preset of the table's layout is LLAMA31_405B_PRETRAIN_CONFIG_GB200_NVFP4_V2)") in row["derived"]
        assert "fp8_params, fp8_act, layer_cuda_graphs carried from mbridge_26.02_DGX-GB200" in row["derived"]
    for container in ("26.02.01", "26.04", "26.04.01", "26.06"):
        assert rows[f"mbridge-fwd_{container}_DGX-GB300_LLAMA3.1-405B_NVFP4_256"]["param_gather_overlap"] == "yes"
    for container in ("26.02.01", "26.04"):
        assert rows[f"mbridge-fwd_{container}_DGX-GB200_LLAMA3.1-405B_NVFP4_256"]["param_gather_overlap"] == "yes"


_PRETRAIN = '''
def disable_param_gather_overlap(cfg):
    cfg.ddp.overlap_param_gather = False
    cfg.optimizer.overlap_param_gather = False
    cfg.comm_overlap.overlap_param_gather = False
def llama31_405b_pretrain_config_gb200(precision="bf16", mock=True, config_variant="v1"):
    cfg.comm_overlap.tp_comm_overlap = False if precision == "nvfp4" else cfg.comm_overlap.tp_comm_overlap
    if precision == "nvfp4" and config_variant.lower() == "v2":
        disable_param_gather_overlap(cfg)
def llama31_405b_pretrain_config_gb300(precision="bf16", mock=True, config_variant="v1"):
    if precision == "fp8_mx":
        disable_param_gather_overlap(cfg)
        cfg.comm_overlap.overlap_param_gather = True
def llama31_405b_pretrain_config_b200(precision="bf16", mock=True, config_variant="v1"):
    if config_variant == "V1":
        cfg.ddp.overlap_param_gather = False
'''
_COMM = """
                if user_value is not None:
                    setattr(comm_overlap_cfg, field.name, user_value)
            self._apply_cfgs(comm_overlap_cfg, optimizer_config)
            self._apply_cfgs(comm_overlap_cfg, ddp_config)
"""


def test_the_reader_follows_a_call_under_precision_and_variant_tests(derive_script, monkeypatch):
    """mbridge_archive_rows.py ``gather_off`` on a synthetic pretrain script: a function that calls a helper setting
    ``comm_overlap.overlap_param_gather = False`` under ``precision == "nvfp4" and config_variant.lower() == "v2"``
    turns the overlap off for an NVFP4 row of the V2 preset only; a later ``comm_overlap`` True wins; an unknown
    variant, variants that disagree and a ``ddp`` value alone stop the script."""
    presets = derive_script("_mbridge_presets")
    found = presets.gather_settings(_PRETRAIN)
    gb200 = found["llama31_405b_pretrain_config_gb200"]
    assert [(s.config, s.value, s.dtype, s.variant, s.line, s.via) for s in gb200] == [
        ("ddp", False, "nvfp4", "v2", 9, (("disable_param_gather_overlap", 3),)),
        ("optimizer", False, "nvfp4", "v2", 9, (("disable_param_gather_overlap", 4),)),
        ("comm_overlap", False, "nvfp4", "v2", 9, (("disable_param_gather_overlap", 5),))]
    assert gb200[0].test == "precision == 'nvfp4' and config_variant.lower() == 'v2'"
    assert [(s.config, s.value) for s in found["llama31_405b_pretrain_config_gb300"]][-1] == ("comm_overlap", True)
    assert found["llama31_405b_pretrain_config_b200"][0].variant == "v1"  # the test's value in lower case
    script = derive_script("mbridge_archive_rows")
    sources = {"scripts/performance/configs/llama/llama31_llm_pretrain.py": _PRETRAIN,
               "src/megatron/bridge/training/comm_overlap.py": _COMM}
    monkeypatch.setattr(script, "_show", lambda repo, ref, path: sources[path])
    bare = "LLAMA31_405B_PRETRAIN_CONFIG_GB200_NVFP4"
    both = {f"{bare}_V1": {}, f"{bare}_V2": {}}
    assert script.config_variants(f"{bare}_V2", bare, both) == {"v2"}
    assert script.config_variants(f"{bare}_V1", bare, both) == {"v1"}
    assert script.config_variants(f"{bare}_V1", bare, {f"{bare}_V1": {}}) == {"v1", "v2"}  # default v2 falls back
    assert script.config_variants(f"{bare}_GBS15360", bare, both) == {"gbs15360"}
    assert script.config_variants(bare, bare, {bare: {}}) is None

    def off(gpu: str, precision: str, variants: set[str] | None) -> str | None:
        return script.gather_off("repo", "v0.4.2", "LLAMA3.1_405B", "LLAMA3.1-405B", gpu, precision,
                                 None if variants is None else frozenset(variants), f"{bare}_V2")

    note = off("GB200", "NVFP4", {"v2"})
    assert note == ("param_gather_overlap no: Megatron-Bridge v0.4.2 scripts/performance/configs/llama/"
                    "llama31_llm_pretrain.py L9 llama31_405b_pretrain_config_gb200: if precision == 'nvfp4' and "
                    "config_variant.lower() == 'v2': disable_param_gather_overlap(cfg) (L3 ddp.overlap_param_gather = "
                    "False, L4 optimizer.overlap_param_gather = False, L5 comm_overlap.overlap_param_gather = False), "
                    f"config_variant v2 (the preset of the table's layout is {bare}_V2), "
                    "src/megatron/bridge/training/comm_overlap.py L3 (the recipe's comm_overlap values override "
                    "CommOverlapConfig's DP > 1 default) and L5 (copied onto the DDP config)")
    assert off("GB200", "NVFP4", {"v1"}) is None
    assert off("GB200", "MXFP8", {"v2"}) is None and off("GB200", "MXFP8", None) is None
    assert off("GB300", "MXFP8", {"v2"}) is None  # the later comm_overlap True wins
    with pytest.raises(SystemExit, match="variant is not known"):
        off("GB200", "NVFP4", None)
    with pytest.raises(SystemExit, match="could be any of"):
        off("GB200", "NVFP4", {"v1", "v2"})
    with pytest.raises(SystemExit, match="but not comm_overlap"):
        off("B200", "FP8", {"v1"})
    with pytest.raises(SystemExit, match="no function llama31_405b_pretrain_config_h100"):
        off("H100", "FP8", {"v2"})
    sources["src/megatron/bridge/training/comm_overlap.py"] = "pass"
    with pytest.raises(SystemExit, match="comm_overlap.py"):
        off("GB200", "NVFP4", {"v2"})
