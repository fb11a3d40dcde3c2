"""data/hardware/low_precision_rates.yaml ``families``: a figure several parts share is written once;
each part still gets it, with its source and the part's own derivation note traceable, and its own
entry overrides the family's (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsweep.load.low_precision import load_low_precision_rates, low_precision_rate_sources
from archsweep.load.paths import data_dir
from archsweep.spec.errors import InputError

RATES = data_dir() / "hardware" / "low_precision_rates.yaml"

#: Every figure the families give, per part, as the per-part blocks wrote it before (main 99145be), and the sm_100
#: GEMM law figures (s16-gemmlaw; None: the part has none).
SHARED = {
    "quantize_hbm_share_delayed": {"H200-NVL": 0.85, "H100-SXM": 0.85, "H200": 0.85, "GH200": 0.85, "H800": 0.85,
                                   "B300": 0.94, "B200": 0.94, "GB200": 0.94, "GB300": 0.94},
    "quantize_hbm_share_current": {"H200-NVL": 0.828, "H100-SXM": 0.828, "H200": 0.828, "GH200": 0.828, "H800": 0.828,
                                   "B300": 0.665, "B200": 0.665, "GB200": 0.665, "GB300": 0.665},
    "quantize_hbm_share_mxfp8": {"B300": 0.622, "B200": 0.622, "GB200": 0.622, "GB300": 0.622},
    "quantize_hbm_share_nvfp4": {"B300": 0.566, "B200": 0.566, "GB200": 0.566, "GB300": 0.566},
    "gemm_k_half_bf16": {"H100-SXM": 192.0, "H200": 192.0, "B200": 384.0, "GB200": 384.0, "B300": None},
    "gemm_k_half_fp8": {"H100-SXM": 384.0, "H200": 384.0, "B200": 534.0, "GB200": 534.0, "B300": None},
    "gemm_k_reference": {"H100-SXM": 13312.0, "H200": 13312.0, "B200": 3072.0, "GB200": 2048.0, "B300": None},
    "gemm_tile_m": {"B200": 256.0, "GB200": 256.0, "B300": None, "GB300": None, "H100-SXM": None},
    "gemm_tile_n": {"B200": 256.0, "GB200": 256.0, "B300": None, "GB300": None, "H100-SXM": None},
    "gemm_tile_units": {"B200": 2.0, "GB200": 2.0, "B300": None, "GB300": None, "H100-SXM": None},
    "softmax_exponentials_per_cycle_per_unit": {"H100-SXM": 16.0, "H200": 16.0, "GH200": 16.0, "B200": 16.0,
                                                "GB200": 16.0, "B300": 32.0, "GB300": 32.0},
    "fp8_gemm_any_layout": {"H100-SXM": False, "H200": False, "B200": True, "GB200": True, "B300": True, "GB300": True},
}


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = RATES.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "low_precision_rates.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_every_part_gets_the_figures_it_had():
    rates = load_low_precision_rates()
    got = {key: {part: getattr(rates[part], key) for part in parts} for key, parts in SHARED.items()}
    assert got == SHARED
    assert rates["H800"].gemm_k_half_bf16 is None  # a family gives only its listed parts
    assert rates["GH200"].fp8_gemm_any_layout is False and rates["GH200"].gemm_k_half_fp8 is None


def test_a_derived_figure_names_its_measurement_and_the_parts_derivation():
    source = low_precision_rate_sources()["H800"]["quantize_hbm_share_current"]
    assert source.key_path == "families.gh100-quantize.figures.quantize_hbm_share_current"
    assert source.entry["value"] == 0.828 and "TransformerEngine" in str(source.entry["source"])
    assert "H200 NVL per-layer autocast FP8 CurrentScaling 20.285 ms" in str(source.entry["locator"])
    assert source.entry["confidence"] == "low" and "H800" in source.note  # the part's own, lower, confidence
    measured = low_precision_rate_sources()["H200-NVL"]["quantize_hbm_share_current"]
    assert measured.entry["confidence"] == "medium" and measured.note == "measured on this part"
    own = low_precision_rate_sources()["H100-SXM"]["measured_max_matmul_fp8_flops_per_s"]
    assert own.key_path == "H100-SXM.measured_max_matmul_fp8_flops_per_s" and own.note == ""


def test_a_parts_own_entry_overrides_its_family(tmp_path: Path):
    own = ('H200:\n  quantize_hbm_share_delayed: {"value": 0.5, "source": "s", "locator": "l", "confidence": "low"}\n'
           '  measured_max_matmul_fp8_flops_per_s:')
    path = _edited(tmp_path, "H200:\n  measured_max_matmul_fp8_flops_per_s:", own)
    rates = load_low_precision_rates(path)
    assert rates["H200"].quantize_hbm_share_delayed == 0.5
    assert rates["H100-SXM"].quantize_hbm_share_delayed == 0.85
    assert low_precision_rate_sources(path)["H200"]["quantize_hbm_share_delayed"].key_path == "H200.quantize_hbm_share_delayed"


def test_one_figure_from_two_families_is_an_error(tmp_path: Path):
    path = _edited(tmp_path, '      B200: {"note": "B200"}\n', '      B200: {"note": "B200"}\n      B300: {"note": "B300"}\n')
    with pytest.raises(InputError, match=r"families\.blackwell-ultra-sfu\.figures\.softmax_exponentials_per_cycle_per_unit: "
                                         r"got .B300.*blackwell-sfu\.figures\.softmax_exponentials_per_cycle_per_unit gives B300"):
        load_low_precision_rates(path)


@pytest.mark.parametrize(("old", "new", "key_path"), [
    ('      H200: {"note": "H200: GH100 SM (the H100 SXM figures)"}', '      H200: "GH100 SM"', r"families\.h100-gemm\.parts\.H200"),
    ("  gh100-sfu:\n    about:", "  gh100-sfu:\n    abut:", r"families\.gh100-sfu: got \['abut'"),
    ("      gemm_k_half_fp8: {", "      gemm_k_half_fp16: {", r"families\.h100-gemm\.figures\.gemm_k_half_fp16: got <unknown key>"),
    ('      gemm_k_reference: {"value": 13312, "source"', '      gemm_k_reference: {"value": 13312, "origin"',
     r"families\.h100-gemm\.figures\.gemm_k_reference: got <missing provenance>"),
])
def test_malformed_families_name_file_key_path_and_value(tmp_path: Path, old: str, new: str, key_path: str):
    path = _edited(tmp_path, old, new)
    with pytest.raises(InputError, match=key_path) as info:
        load_low_precision_rates(path)
    assert info.value.problem.file == str(path)
