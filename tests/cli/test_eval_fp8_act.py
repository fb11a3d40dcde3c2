"""``archsweep eval --fp8-act`` end to end (s7-fp8act): Llama 2 70B keeps its SwiGLU input in FP8, the memory
falls by the FC1 output's second byte, and (s19-B) the step pays the two casts Megatron-Core runs for it (a little
slower, model/activation_store.py); a GELU model is refused (exit 2)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from archsweep.cli.app import main

BASE = ["eval", "--model", "llama2-70b", "--accelerator", "H100-SXM", "--count", "64", "--json",
        "--strategy", "tp=8,pp=2,vpp=1,mb=1,recompute=none,zero=1,sp=on,fa=on"]


def _eval(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    assert main([*BASE, *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_flag_lowers_memory_and_pays_its_casts(capsys: pytest.CaptureFixture[str]) -> None:
    off, on = _eval(capsys), _eval(capsys, "--fp8-act")
    assert off == _eval(capsys, "--no-fp8-act") and not off["activation_fp8_input_store"]
    # two HBM-bound casts per layer and micro-batch over the FC1 output: slower, by well under 2 % here
    assert on["activation_fp8_input_store"] and off["step_time_s"] < on["step_time_s"] < 1.02 * off["step_time_s"]
    # 80 layers / pp 2 = 40 on stage 1, min(pp, m) = 2 micro-batches in flight, 4096 tokens, ffn 28672, tp 8
    saved = 40 * 2 * 2.0 * 4096 * 28672 / 8
    assert off["memory_per_accelerator_bytes"] - on["memory_per_accelerator_bytes"] == pytest.approx(saved, rel=1e-9)


def test_gelu_model_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--model", "gpt3-5b", "--accelerator", "H100-SXM", "--count", "8", "--fp8-act"]) == 2
    assert "--fp8-act" in capsys.readouterr().err
