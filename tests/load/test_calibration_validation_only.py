"""A validation-only calibration field (``moe_a2a_overlap_without_pipeline``, set per row by
archsweep.validation.moe_graphs) is refused in software_stacks.yaml with a clear error (review B
finding 13); model.yaml never took it."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsweep.load import calibration as calibration_module
from archsweep.load.calibration import load_calibration
from archsweep.spec.errors import InputError

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


def test_a_stack_may_not_set_the_no_pipeline_overlap(stacks_file):
    write, monkeypatch = stacks_file
    path = write("moe_a2a_overlap_without_pipeline")
    monkeypatch.setattr(calibration_module, "_stacks_path", lambda: path)
    with pytest.raises(InputError) as err:
        load_calibration(stack="teststack")
    problem = err.value.problem
    assert problem.file == str(path) and problem.key_path == "teststack.moe_a2a_overlap_without_pipeline"
    assert "validation sets it per row" in problem.allowed


def test_the_stack_overlap_itself_stays_a_stack_setting(stacks_file):
    write, monkeypatch = stacks_file
    path = write("moe_a2a_overlap")
    monkeypatch.setattr(calibration_module, "_stacks_path", lambda: path)
    assert load_calibration(stack="teststack").moe_a2a_overlap == 1.0


def test_no_shipped_stack_sets_it():
    for stack in calibration_module.software_stacks():
        assert load_calibration(stack=stack).moe_a2a_overlap_without_pipeline == 0.0
