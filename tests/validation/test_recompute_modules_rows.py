"""Rows whose Megatron-Bridge preset sets ``recompute_modules`` (column ``moe_recompute_modules``) run
selective recompute of exactly those modules (Megatron-Bridge scripts/performance/utils/overrides.py
``_set_recompute_overrides``); "none" or empty leaves recompute as the row states (or searched)."""

from __future__ import annotations

import pytest
from measured_runs import runs_by_id

from archsweep.validation.run import plan_row
from archsweep.validation.types import Skip

ROWS = runs_by_id()


def test_stated_modules_run_selective_recompute_of_those_modules():
    plan = plan_row(ROWS["mbridge_25.09_DGX-H100_DeepSeekV3_(dropless)_FP8_(per-tensor)_1024"])
    assert plan.workload.training.recompute_modules == ("mla_up_proj", "mlp")
    assert all("recompute=selective" in s for s in plan.strategies)
    gpt_oss = plan_row(ROWS["mbridge_26.02_DGX-H100_GPT_OSS_120B_BF16_64"])
    assert gpt_oss.workload.training.recompute_modules == ("layernorm", "moe_act")


def test_none_keeps_the_default_and_searches_recompute():
    plan = plan_row(ROWS["mbridge_26.02_DGX-H100_Qwen3_30B_a3B_FP8_16"])
    assert plan.workload.training.recompute_modules == ("core_attn",)
    assert not any("recompute=" in s for s in plan.strategies)


def test_unmodelled_module_is_a_skip_naming_the_allowed_ones():
    row = dict(ROWS["mbridge_26.02_DGX-H100_GPT_OSS_120B_BF16_64"], moe_recompute_modules="moe+moe_act")
    with pytest.raises(Skip, match="moe_recompute_modules.*allowed: core_attn"):
        plan_row(row)
