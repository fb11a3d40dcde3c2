"""data/calibration/low_precision_recipes.yaml loader: errors name the file, key path and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsweep.load.low_precision import load_low_precision_rates, load_low_precision_recipes
from archsweep.load.paths import data_dir
from archsweep.spec.errors import InputError


def _copy(tmp_path: Path, old: str, new: str, name: str = "low_precision_recipes.yaml",
          sub: str = "calibration") -> Path:
    text = (data_dir() / sub / name).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_shipped_recipes_load():
    assert set(load_low_precision_recipes()) == {"delayed", "current", "mxfp8", "nvfp4"}


def test_negative_bytes_rejected(tmp_path: Path):
    path = _copy(tmp_path, "cast_bytes_tn_only: {value: 4.0,", "cast_bytes_tn_only: {value: -4.0,")
    with pytest.raises(InputError, match=r"delayed\.cast_bytes_tn_only\.value"):
        load_low_precision_recipes(path)


def test_unknown_recipe_rejected(tmp_path: Path):
    path = _copy(tmp_path, "\nmxfp8:\n", "\nmxfp9:\n")
    with pytest.raises(InputError, match="mxfp9"):
        load_low_precision_recipes(path)


def test_bad_gemm_dtype_rejected(tmp_path: Path):
    path = _copy(tmp_path, "gemm_dtype: nvfp4", "gemm_dtype: fp6")
    with pytest.raises(InputError, match=r"nvfp4\.gemm_dtype"):
        load_low_precision_recipes(path)


def test_part_flag_must_be_boolean(tmp_path: Path):
    path = _copy(tmp_path, 'fp8_gemm_any_layout: {"value": true', 'fp8_gemm_any_layout: {"value": "yes"',
                 name="low_precision_rates.yaml", sub="hardware")
    with pytest.raises(InputError, match=r"fp8_gemm_any_layout\.value"):
        load_low_precision_rates(path)


@pytest.mark.parametrize("bad", ["0.0", "1.6", "true"])
def test_recipe_gemm_rate_out_of_range_rejected(tmp_path: Path, bad: str):
    path = _copy(tmp_path, "gemm_rate_vs_per_tensor: {value: 0.951,", f"gemm_rate_vs_per_tensor: {{value: {bad},")
    with pytest.raises(InputError, match=r"mxfp8\.gemm_rate_vs_per_tensor\.value"):
        load_low_precision_recipes(path)


def test_recipe_gemm_rate_is_required(tmp_path: Path):
    text = (data_dir() / "calibration" / "low_precision_recipes.yaml").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines(keepends=True) if not ln.startswith("  gemm_rate_vs_per_tensor: {value: 1.0,")]
    path = tmp_path / "low_precision_recipes.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InputError, match="gemm_rate_vs_per_tensor"):
        load_low_precision_recipes(path)


@pytest.mark.parametrize("bad", ["-1", "1.5", "true"])
def test_split_quantize_kernels_must_be_a_whole_count(tmp_path: Path, bad: str):
    path = _copy(tmp_path, "split_quantize_kernels_tn_only: {value: 3,", f"split_quantize_kernels_tn_only: {{value: {bad},")
    with pytest.raises(InputError, match=r"current\.split_quantize_kernels_tn_only\.value"):
        load_low_precision_recipes(path)


def test_negative_regather_bytes_rejected(tmp_path: Path):
    path = _copy(tmp_path, "tp_grad_regather_bytes: {value: 1.03125,", "tp_grad_regather_bytes: {value: -1.0,")
    with pytest.raises(InputError, match=r"mxfp8\.tp_grad_regather_bytes\.value"):
        load_low_precision_recipes(path)


@pytest.mark.parametrize("bad", ["0.0", "1.2", "true"])
def test_quantize_hbm_share_must_be_a_share(tmp_path: Path, bad: str):
    path = _copy(tmp_path, 'quantize_hbm_share_mxfp8: {"value": 0.622,', f'quantize_hbm_share_mxfp8: {{"value": {bad},',
                 name="low_precision_rates.yaml", sub="hardware")
    # written once for the Blackwell parts (B200, GB200, B300, GB300): the error names the family's key path
    with pytest.raises(InputError, match=r"families\.blackwell-quantize\.figures\.quantize_hbm_share_mxfp8\.value"):
        load_low_precision_rates(path)


def test_every_recipe_states_its_tp_comm_overlap_with_a_source(tmp_path: Path):
    """No unsourced default (s13-jobopts): each recipe states tp_comm_overlap with source, locator, confidence;
    only NVFP4's published recipes switch it off (Megatron-Bridge llama3_llm_pretrain.py)."""
    text = (data_dir() / "calibration" / "low_precision_recipes.yaml").read_text(encoding="utf-8")
    assert text.count("\n  tp_comm_overlap: {value: ") == 4
    assert {n: r.tp_comm_overlap for n, r in load_low_precision_recipes().items()} == {
        "delayed": True, "current": True, "mxfp8": True, "nvfp4": False}
    lines = [ln for ln in text.splitlines(keepends=True) if not ln.startswith("  tp_comm_overlap: {value: true, source: \"MLCommons")]
    (tmp_path / "low_precision_recipes.yaml").write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InputError, match=r"low_precision_recipes\.yaml.*delayed.*tp_comm_overlap"):
        load_low_precision_recipes(tmp_path / "low_precision_recipes.yaml")
    path = _copy(tmp_path, "tp_comm_overlap: {value: true, source: \"MLCommons", "tp_comm_overlap: {value: true, source: \"\", x: \"")
    with pytest.raises(InputError, match=r"delayed\.tp_comm_overlap.*missing provenance"):
        load_low_precision_recipes(path)
