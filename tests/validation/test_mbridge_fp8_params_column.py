"""``fp8_params`` of the Megatron-Bridge per-tensor FP8 and MXFP8 rows is the precision preset of the release each
row ran (data/validation/derive/mbridge_fp8_params.py; issue 10, s17-H2): every ``bf16_with_fp8_*`` /
``bf16_with_mxfp8_mixed`` preset sets ``fp8_param_gather = True`` at v0.1.0rc3 .. v0.5.1; the one performance config
of a row's model that overrides it is Kimi K2's (s33: ``set_kimi_k2_common_configs`` turns it off for Muon + MXFP8,
the four Kimi K2 rows)."""

from __future__ import annotations

import pytest
from measured_runs import runs_by_id

_SCRIPT = "mbridge_fp8_params.py"


def test_every_mbridge_fp8_row_holds_fp8_parameters_and_says_where_from():
    rows = {k: r for k, r in runs_by_id().items() if k.startswith(("mbridge_", "mbridge-fwd_"))}
    fp8 = {k: r for k, r in rows.items() if r["precision"] not in ("BF16", "NVFP4")}
    assert len(fp8) == 168  # s33: + 4 Kimi K2 MXFP8 rows (164 before)
    kimi = {k for k in fp8 if "_Kimi_K2_" in k}
    assert len(kimi) == 4 and {fp8[k]["fp8_params"] for k in kimi} == {"no"}  # Muon + MXFP8: the pretrain script's switch
    assert all("kimi_llm_pretrain.py L44 set_kimi_k2_common_configs: fp8_param_gather = False" in fp8[k]["derived"]
               for k in kimi)
    assert {r["fp8_params"] for k, r in fp8.items() if k not in kimi} == {"yes"}
    assert all(_SCRIPT in r["derived"] for r in fp8.values())
    assert {r["fp8_params"] for k, r in rows.items() if k not in fp8} == {""}  # BF16, NVFP4: no FP8 parameters
    row = runs_by_id()["mbridge-fwd_26.06.01_DGX-GB300_GPT_OSS_120B_MXFP8_64"]
    assert ("fp8_params yes: Megatron-Bridge v0.5.1 (5cb3444c4, NeMo 26.06.01) "
            "src/megatron/bridge/training/mixed_precision.py bf16_with_mxfp8_mixed cfg.fp8_param_gather = True") \
        in row["derived"]
    row = runs_by_id()["mbridge_25.09_DGX-B200_LLAMA3.1-405B_FP8-MX_128"]
    assert "fp8_params yes: Megatron-Bridge v0.1.0rc3 (bf71eba07, NeMo 25.09)" in row["derived"]


_MIXED = '''
def bf16_with_mxfp8_mixed():
    cfg = bf16_mixed()
    cfg.fp8_param_gather = False
    cfg.fp8_param_gather = True
    return cfg
def bf16_mixed():
    return MixedPrecisionConfig()
'''
_CONFIGS = '''
def get_small_precision_config(precision):
    cfg = get_precision_config(precision)
    cfg.fp8_param_gather = False
    return cfg
def llama3_8b_pretrain_config_b200(precision):
    cfg.mixed_precision = get_small_precision_config(precision)
def llama3_70b_pretrain_config_b200(precision):
    if precision == "fp8_mx":
        cfg.mixed_precision.fp8_param_gather = False
    if precision == "fp8_cs":
        cfg.mixed_precision.fp8_param_gather = True
'''


def test_a_preset_is_its_last_assignment_and_an_override_in_the_row_function_or_a_callee_wins(derive_script,
                                                                                            monkeypatch):
    script = derive_script("mbridge_fp8_params")
    assert script.preset_values(_MIXED) == {"bf16_with_mxfp8_mixed": True}
    files = {"scripts/performance/configs/llama/p.py": _CONFIGS}
    monkeypatch.setattr(script, "git_text", lambda repo, cmd, *args: "\n".join(files) if cmd == "ls-tree"
                        else files[args[-1].split(":", 1)[1]])
    found = script.overrides("repo", "c")
    assert found["llama3_70b_pretrain_config_b200"][1] == [("fp8_mx", False, 10), ("fp8_cs", True, 12)]
    assert found["get_small_precision_config"][1] == [("*", False, 4)]
    assert "get_small_precision_config" in found["llama3_8b_pretrain_config_b200"][2]
    files["scripts/performance/x.yaml"] = "fp8_param_gather: true"
    with pytest.raises(SystemExit, match="names fp8_param in yaml"):
        script.overrides("repo", "c")
