"""The EP all-to-all overlap is a stack setting (``moe_a2a_overlap``) and a job's request; the former
validation-only pp = 1 switch (``moe_a2a_overlap_without_pipeline``, s9-m2: the job's request now covers
pp = 1) is an unknown key with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsweep.load import calibration as calibration_module
from archsweep.load.calibration import load_calibration
from archsweep.spec.errors import InputError, Problem

_ENTRY = "    value: 1\n    source: test\n    locator: test\n    confidence: low\n"


@pytest.fixture
def stacks_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a one-stack software_stacks.yaml holding the given key and point the loader at it."""
    def write(key: str) -> Path:
        path = tmp_path / "software_stacks.yaml"
        path.write_text(f"teststack:\n  description: a test stack\n  {key}:\n" + _ENTRY,
                        encoding="utf-8")
        return path

    load_calibration.cache_clear()
    yield write, monkeypatch
    load_calibration.cache_clear()


def test_the_removed_no_pipeline_switch_is_an_unknown_key(stacks_file):
    write, monkeypatch = stacks_file
    path = write("moe_a2a_overlap_without_pipeline")
    monkeypatch.setattr(calibration_module, "stacks_path", lambda: path)
    with pytest.raises(InputError) as err:
        load_calibration(stack="teststack")
    problem = err.value.problem
    assert problem.file == str(path) and problem.key_path == "teststack.moe_a2a_overlap_without_pipeline"
    assert "moe_a2a_overlap" in problem.allowed


def test_the_stack_overlap_itself_stays_a_stack_setting(stacks_file):
    write, monkeypatch = stacks_file
    path = write("moe_a2a_overlap")
    monkeypatch.setattr(calibration_module, "stacks_path", lambda: path)
    assert load_calibration(stack="teststack").moe_a2a_overlap == 1.0


def test_no_shipped_stack_has_the_removed_switch():
    for stack in calibration_module.software_stacks():
        assert not hasattr(load_calibration(stack=stack), "moe_a2a_overlap_without_pipeline")


@pytest.mark.parametrize("key", ["fp8_weight_copy_bytes_per_param", "fp8_weight_copy_bytes_per_param_any_layout",
                                 "param_gather_bytes_per_param"])
def test_a_per_job_recipe_figure_is_not_a_stack_setting(stacks_file, key):
    """s18-H: the quantised weight copies and the FP8-parameter gather bytes are set per job from the recipe
    (load.part_physics.job_calibration); a stack value was accepted and then overwritten, or read by a job without
    FP8 parameters in place of its weights' bytes."""
    write, monkeypatch = stacks_file
    path = write(key)
    monkeypatch.setattr(calibration_module, "stacks_path", lambda: path)
    with pytest.raises(InputError) as err:
        load_calibration(stack="teststack")
    problem = err.value.problem
    assert problem.file == str(path) and problem.key_path == f"teststack.{key}"
    assert "low_precision_recipes.yaml" in problem.allowed


def _stack_value_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, value: str) -> tuple[Path, Problem]:
    """(file, problem) of loading a one-stack software_stacks.yaml whose ``key`` has ``value``."""
    path = tmp_path / "software_stacks.yaml"
    path.write_text(f"teststack:\n  {key}:\n    value: {value}\n    source: test\n    locator: test\n"
                    "    confidence: low\n", encoding="utf-8")
    monkeypatch.setattr(calibration_module, "stacks_path", lambda: path)
    load_calibration.cache_clear()
    try:
        with pytest.raises(InputError) as err:
            load_calibration(stack="teststack")
    finally:
        load_calibration.cache_clear()
    return path, err.value.problem


@pytest.mark.parametrize(("value", "allowed"), [("-0.1", "at least 0"), ("1.5", "a share in [0, 1]")])
def test_an_overlap_interference_outside_0_1_is_rejected(tmp_path, monkeypatch, value, allowed):
    """s18-R: ``overlap_interference`` is a share (0 = perfect overlap, 1 = serial; negative constants are refused for
    every constant). Above 1 an overlapped collective would cost more than running it serially."""
    _, problem = _stack_value_problem(tmp_path, monkeypatch, "overlap_interference", value)
    assert problem.key_path == "teststack.overlap_interference.value" and allowed in problem.allowed


@pytest.mark.parametrize(("value", "allowed"), [("2", "0 or 1"), ("0.5", "0 or 1"), ("true", "a plain number")])
def test_the_a2a_p2p_backward_switch_is_0_or_1(tmp_path, monkeypatch, value, allowed):
    """s27-Q: ``te_a2a_p2p_backward_sends_output`` is a switch (1: TransformerEngine up to v2.14.1, 0: v2.15+)."""
    path, problem = _stack_value_problem(tmp_path, monkeypatch, "te_a2a_p2p_backward_sends_output", value)
    assert problem.file == str(path) and problem.key_path == "teststack.te_a2a_p2p_backward_sends_output.value"
    assert allowed in problem.allowed


@pytest.mark.parametrize("key", ["attention_fwd_tail_share", "attention_bwd_tail_share"])
def test_an_attention_tail_share_above_1_is_rejected(tmp_path, monkeypatch, key):
    """s32: the causal schedule law's tail is a share of the longest block's time (archsweep.model.attention_kernel
    .causal_schedule_efficiency); above 1 the tail would outlast the block itself."""
    path, problem = _stack_value_problem(tmp_path, monkeypatch, key, "1.5")
    assert problem.file == str(path) and problem.key_path == f"teststack.{key}.value"
    assert "a share in [0, 1]" in problem.allowed and "1.5" in problem.value
