"""``moe_host_s_per_token`` (s15-moehost) is seconds per token: like its per-call sibling
``moe_layer_host_overhead_s`` it takes a time with its unit ("122.0703125 ns" = 0.5 ms / 4096), a plain number in
seconds as before, and a quantity of another dimension is an error naming the file, the key path, the value and
what is allowed (s16-review)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsweep.load import calibration as calibration_module
from archsweep.load.calibration import load_calibration
from archsweep.spec.errors import InputError


def _stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> Path:
    path = tmp_path / "software_stacks.yaml"
    path.write_text("teststack:\n  description: a test stack\n  moe_host_s_per_token:\n"
                    f"    value: {value}\n    source: test\n    locator: test\n    confidence: low\n", encoding="utf-8")
    monkeypatch.setattr(calibration_module, "stacks_path", lambda: path)
    load_calibration.cache_clear()
    return path


@pytest.fixture(autouse=True)
def _fresh_cache():
    load_calibration.cache_clear()
    yield
    load_calibration.cache_clear()


@pytest.mark.parametrize("value", ['"122.0703125 ns"', "1.220703125e-7", '"0.1220703125 us"'])
def test_per_token_host_time_takes_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    _stack(tmp_path, monkeypatch, value)
    assert load_calibration(stack="teststack").moe_host_s_per_token == pytest.approx(0.5e-3 / 4096, rel=1e-12)


def test_per_token_host_time_of_another_dimension_is_a_clear_error(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = _stack(tmp_path, monkeypatch, '"5 GB"')
    with pytest.raises(InputError) as err:
        load_calibration(stack="teststack")
    problem = err.value.problem
    assert problem.file == str(path) and problem.key_path == "teststack.moe_host_s_per_token.value"
    assert "time" in problem.allowed and "5 GB" in str(problem.value)
