"""What the Megatron-Bridge preset readers share (data/validation/derive/_mbridge_presets.py, s18-H: one copy of
the release table, the model prefixes, a row's release and the ``precision ==`` test instead of two or three):
every performance row of the data names a known container and model; an unknown one stops the script naming it."""

from __future__ import annotations

import ast
from collections.abc import Callable
from types import ModuleType

import pytest
from measured_runs import runs_by_id


@pytest.fixture()
def presets(derive_script: Callable[[str], ModuleType]) -> ModuleType:
    return derive_script("_mbridge_presets")


def test_every_performance_row_has_a_release_a_model_prefix_and_a_compute_dtype(presets: ModuleType) -> None:
    rows = [r for k, r in runs_by_id().items() if k.startswith(("mbridge_", "mbridge-fwd_"))]
    released = [(r, presets.row_release(r)) for r in rows]
    assert sum(ran is not None for _, ran in released) == 214  # the rows mbridge_grad_reduce.py reads (s33: + 4 Kimi K2 rows)
    for row, ran in released:
        if ran is not None:
            assert ran[1] == presets.RELEASES[ran[0]] and ran[2] == ran[2].lower()
            assert presets.preset_model(row)
    assert {presets.compute_dtype(r["precision"]) for r in rows} == {"bf16", "fp8_cs", "fp8_mx", "nvfp4"}
    row = runs_by_id()["mbridge-fwd_26.06.01_DGX-GB300_GPT_OSS_120B_MXFP8_64"]
    assert presets.row_release(row) == ("26.06.01", "v0.5.1", "gb300")
    assert presets.row_release({"run_id": "mlperf_v4.0_x", "model": "GPT3"}) is None


def test_an_unknown_container_or_model_stops_the_script_naming_it(presets: ModuleType) -> None:
    with pytest.raises(SystemExit, match="container 27.01 not in .*_mbridge_presets.py RELEASES"):
        presets.row_release({"run_id": "mbridge_27.01_DGX-B300_LLAMA3-8B_FP8_8", "model": "LLAMA3-8B"})
    with pytest.raises(SystemExit, match="model 'Nemotron_3_Nano' has no preset prefix"):
        presets.preset_model({"run_id": "mbridge_26.04_DGX-B200_Nemotron_3_Nano_FP8_8", "model": "Nemotron_3_Nano"})
    assert presets.preset_model({"model": "Kimi_K2"}) == "kimi_k2"  # s33: the Kimi K2 rows


def test_the_precision_test_and_the_config_functions(presets: ModuleType,
                                                     derive_script: Callable[[str], ModuleType]) -> None:
    source = '''
def a(precision):
    if precision == "fp8_mx":
        b(cfg)
    if precision != "bf16":
        pass
def b(cfg):
    cfg.x = True
'''
    tests = [n.test for n in ast.walk(ast.parse(source)) if isinstance(n, ast.If)]
    assert [presets.precision_test(t) for t in tests] == ["fp8_mx", None]
    found = presets.config_functions({"p.py": source}, lambda path, node: [(path, node.lineno)])
    assert found == {"a": ("p.py", [("p.py", 2)], {"b"}), "b": ("p.py", [("p.py", 7)], set())}
    # mbridge_param_gather.py reads the first three containers only
    assert derive_script("mbridge_param_gather")._RELEASES == {
        c: presets.RELEASES[c] for c in ("25.09", "25.11", "26.02")}
