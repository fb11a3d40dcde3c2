"""``archsweep eval --exhaustive``: the reference mapping search prints exactly the pruned search's numbers."""

from __future__ import annotations

import json

import pytest

from archsweep.cli.app import main


def _eval(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert main(["eval", *extra]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(("model", "accelerator", "count"), [("llama3-70b", "H100-SXM", "1024"),
                                                               ("mixtral-8x7b", "H100-SXM", "256")])
def test_eval_exhaustive_prints_identical_numbers(capsys, model, accelerator, count):
    args = ("--model", model, "--accelerator", accelerator, "--count", count)
    pruned, reference = _eval(capsys, *args, "--json"), _eval(capsys, *args, "--json", "--exhaustive")
    assert json.loads(pruned)["step_time_s"] > 0
    assert pruned == reference  # every column, byte for byte
    assert _eval(capsys, *args) == _eval(capsys, *args, "--exhaustive")  # the tables too
