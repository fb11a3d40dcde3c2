"""``archsweep eval --recompute-modules`` end to end (issue 10 follow-up of s6-modrecomp): DeepSeek-V3 with
``recompute=selective`` over moe_act and layernorm lies between no and full recompute in time and memory,
and leaving the flag out is the default list (the attention core), bit for bit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from archsweep.cli.app import main

STRATEGY = "tp=2,pp=16,ep=64,vpp=1,mb=1,zero=1,sp=on,fa=on"
BASE = ["eval", "--model", "deepseek-v3", "--accelerator", "H100-SXM", "--count", "1024", "--json"]


def _eval(capsys: pytest.CaptureFixture[str], recompute: str, *extra: str) -> dict[str, Any]:
    assert main([*BASE, "--strategy", f"{STRATEGY},recompute={recompute}", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_module_recompute_lies_between_none_and_full(capsys: pytest.CaptureFixture[str]) -> None:
    none = _eval(capsys, "none")
    full = _eval(capsys, "full")
    mods = _eval(capsys, "selective", "--recompute-modules", "moe_act,layernorm")
    assert mods["recompute_modules"] == "layernorm,moe_act" and mods["recompute"] == "selective"
    assert none["recompute_time_s"] == 0.0 < mods["recompute_time_s"] < full["recompute_time_s"]
    assert none["step_time_s"] < mods["step_time_s"] < full["step_time_s"]
    assert (full["memory_per_accelerator_bytes"] < mods["memory_per_accelerator_bytes"]
            < none["memory_per_accelerator_bytes"])
    # the modules' forward is a small part of a layer's: far nearer none than full in time
    assert mods["recompute_time_s"] < 0.1 * full["recompute_time_s"]


def test_flag_absent_is_the_default_list_bit_for_bit(capsys: pytest.CaptureFixture[str]) -> None:
    for recompute in ("selective", "full"):
        absent = _eval(capsys, recompute)
        explicit = _eval(capsys, recompute, "--recompute-modules", "core_attn")
        assert absent == explicit and absent["recompute_modules"] == "core_attn"
    # with flash attention the default list re-runs nothing: selective is no recompute, as before
    sel, none = _eval(capsys, "selective"), _eval(capsys, "none")
    assert {k: v for k, v in sel.items() if k != "recompute"} == {k: v for k, v in none.items() if k != "recompute"}
