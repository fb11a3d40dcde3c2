"""Tests of the hardware catalog (data/hardware/catalog.yaml, archsweep.load.catalog).

Published numbers are checked with stated tolerances: dense peaks computed from the
parameters within 1% of the vendor figure, HBM bandwidth/capacity from stacks within 2%.
"""

from __future__ import annotations

import csv
import dataclasses
import pickle
from pathlib import Path

import pytest

from archsweep.load.catalog import (
    ALIASES,
    PUBLISHED_FIGURES,
    default_catalog_path,
    get_accelerator,
    load_catalog,
    normalize_name,
)
from archsweep.load.paths import data_dir
from archsweep.load.schema import load_schema
from archsweep.spec.catalog import CatalogEntry
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.hardware import CATALOG_PARAMETERS, HARDWARE_PARAMETERS, HardwareArrays

REQUIRED = ("A100-SXM4", "A100-SXM4-40GB", "H100-SXM", "H200", "B200", "GB200", "MI300X", "TPU v4", "TPU v5p")
CONFIDENCE = {"high", "medium-high", "medium", "low"}
PARAMETER_NAMES = [p.name for p in CATALOG_PARAMETERS]  # the part physics come from low_precision_rates.yaml


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _arrays(entry: CatalogEntry) -> HardwareArrays:
    return HardwareArrays.from_designs(entry.design)


def _validation_csv(name: str) -> list[dict[str, str]]:
    with open(data_dir() / "validation" / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def test_catalog_loads_with_required_accelerators(catalog):
    for name in REQUIRED:
        assert name in catalog
        assert catalog[name].name == name
    assert len(catalog) >= len(REQUIRED)


def test_every_entry_has_exactly_every_parameter(catalog):
    for entry in catalog.values():
        assert list(entry.provenance) == PARAMETER_NAMES
        design = entry.design.as_dict()
        assert list(design) == [p.name for p in HARDWARE_PARAMETERS]
        for p in CATALOG_PARAMETERS:
            value = design[p.name]
            assert entry.provenance[p.name].value == value
            if p.kind == "choice":
                assert value in p.choices, (entry.name, p.name, value)
            elif p.kind == "int":
                assert isinstance(value, int) and value >= 1, (entry.name, p.name, value)
            else:
                assert isinstance(value, float)
                assert value > 0 if p.positive else value >= 0, (entry.name, p.name, value)


def test_schema_parameters_match_hardware_parameters():
    schema = load_schema("hardware")
    params = schema["$defs"]["entry"]["properties"]["parameters"]
    assert params["additionalProperties"] is False
    assert sorted(params["required"]) == sorted(PARAMETER_NAMES)
    assert sorted(params["properties"]) == sorted(PARAMETER_NAMES)
    for p in CATALOG_PARAMETERS:
        if p.kind == "choice":
            enum = params["properties"][p.name]["allOf"][1]["properties"]["value"]["enum"]
            assert tuple(enum) == p.choices
    published = schema["$defs"]["entry"]["properties"]["published"]["properties"]
    assert sorted(published) == sorted(PUBLISHED_FIGURES)


@pytest.mark.parametrize("figure, prop", [
    ("peak_dense_bf16_flops_per_s", "peak_matrix_flops_bf16"),
    ("peak_dense_fp8_flops_per_s", "peak_matrix_flops_fp8"),
    ("peak_vector_fp32_flops_per_s", "peak_vector_flops"),
])
def test_peaks_from_parameters_match_published_within_1pct(catalog, figure, prop):
    checked = 0
    for entry in catalog.values():
        if figure in entry.published:
            computed = float(getattr(_arrays(entry), prop))
            assert _rel(computed, entry.published[figure].value) < 0.01, (entry.name, computed)
            checked += 1
    assert checked >= 5


def test_every_entry_publishes_a_bf16_peak(catalog):
    for entry in catalog.values():
        assert "peak_dense_bf16_flops_per_s" in entry.published, entry.name


def test_h100_peak_is_the_whitepaper_number(catalog):
    h100 = _arrays(catalog["H100-SXM"])
    assert float(h100.peak_matrix_flops_bf16) == pytest.approx(989.4e12, rel=1e-3)
    assert float(h100.peak_matrix_flops_fp8) == pytest.approx(1978.9e12, rel=1e-3)
    a100 = _arrays(catalog["A100-SXM4"])
    assert float(a100.peak_matrix_flops_fp8) == float(a100.peak_matrix_flops_bf16)  # no FP8 on Ampere


def test_matrix_efficiency_reproduces_measured_max_matmul_within_1pct(catalog):
    checked = 0
    for entry in catalog.values():
        measured = entry.published.get("measured_max_matmul_bf16_flops_per_s")
        if measured is None:
            continue
        computed = float(_arrays(entry).peak_matrix_flops_bf16) * entry.design.matrix_efficiency
        assert _rel(computed, measured.value) < 0.01, (entry.name, computed, measured.value)
        checked += 1
    assert checked >= 5
    for entry in catalog.values():
        assert 0.3 < entry.design.matrix_efficiency <= 1.0


def test_hbm_bandwidth_and_capacity_from_stacks_match_published_within_2pct(catalog):
    for entry in catalog.values():
        arrays = _arrays(entry)
        bw = entry.published["hbm_bandwidth_bytes_per_s"].value
        cap = entry.published["hbm_capacity_bytes"].value
        assert _rel(float(arrays.hbm_bw_bytes_per_s), bw) < 0.02, entry.name
        assert _rel(float(arrays.hbm_capacity_bytes), cap) < 0.02, entry.name


def test_known_si_values(catalog):
    h100 = catalog["H100-SXM"].design
    assert h100.scaleup_bw_bytes_per_s == pytest.approx(450e9)  # 900 GB/s bidirectional
    assert h100.scaleout_bw_bytes_per_s == pytest.approx(50e9)  # 8 x 400 Gb/s per 8 GPUs
    assert h100.hbm_capacity_per_stack_bytes == 16 * 2**30
    assert h100.process_node == "N4" and h100.hbm_generation == "HBM3"
    assert h100.scaleup_latency_s == pytest.approx(2e-6)
    gb200 = catalog["GB200"].design
    assert gb200.scaleup_domain_size == 72 and gb200.scaleup_bw_bytes_per_s == pytest.approx(900e9)
    tpu = catalog["TPU v4"].design
    assert tpu.scaleup_topology == "torus3d" and tpu.scaleup_domain_size == 4096
    assert catalog["MI300X"].design.process_node == "N5"
    assert catalog["A100-SXM4"].design.process_node == "N7"
    assert catalog["H100-SXM"].published["die_area_mm2"].value == pytest.approx(814.0)
    assert catalog["H100-SXM"].published["system_power_w"].value == pytest.approx(10.2e3)


def test_every_value_has_a_source(catalog):
    for entry in catalog.values():
        for group in (entry.provenance, entry.published):
            for key, sv in group.items():
                assert sv.source.strip() and sv.locator.strip(), (entry.name, key)
                assert sv.confidence in CONFIDENCE, (entry.name, key, sv.confidence)
                if sv.source == "estimate":
                    assert sv.confidence == "low", (entry.name, key)


def test_system_info(catalog):
    for entry in catalog.values():
        s = entry.system
        assert s.name and s.scaleup_fabric and s.scaleout_nic
        assert entry.design.accelerator_count % s.node_size == 0
        assert entry.design.scaleup_domain_size <= entry.design.accelerator_count
    assert catalog["GB200"].system.name == "GB200 NVL72"


def test_names_match_validation_csvs(catalog):
    training = {row["accelerator_canonical"] for row in _validation_csv("training_runs.csv")}
    assert {"A100-SXM4", "A100-SXM4-40GB", "H100-SXM"} <= training
    assert training <= set(catalog)
    inference = {row["accelerator_canonical"] for row in _validation_csv("inference_runs.csv")}
    assert {"H100-SXM", "H200", "A100-SXM4", "B200", "GB200"} <= inference & set(catalog)
    specs = {row["accelerator_canonical"] for row in _validation_csv("hardware_specs.csv")}
    assert set(catalog) <= specs


def test_published_peaks_and_mamf_appear_in_hardware_specs_csv(catalog):
    rows = _validation_csv("hardware_specs.csv")
    for entry in catalog.values():
        mine = [r for r in rows if r["accelerator_canonical"] == entry.name]
        for figure, spec in (("peak_dense_bf16_flops_per_s", "peak_dense_tflops"),
                             ("measured_max_matmul_bf16_flops_per_s", "measured_max_achievable_matmul_tflops")):
            sv = entry.published.get(figure)
            if sv is None or "knowledge" in sv.source:
                continue
            values = []
            for r in mine:
                if r["spec"] == spec and "bf16" in r["precision_or_scope"].lower():
                    try:
                        values.append(float(r["value"]) * 1e12)
                    except ValueError:
                        pass
            if figure == "measured_max_matmul_bf16_flops_per_s" and not values:
                continue  # H200: the source lists it on the H100 row ("H200 is the same")
            assert any(_rel(sv.value, v) < 1e-3 for v in values), (entry.name, figure, sv.value, values)


def test_get_accelerator_exact_loose_and_aliases(catalog):
    assert get_accelerator("H100-SXM", catalog).name == "H100-SXM"
    assert get_accelerator("h100-sxm", catalog).name == "H100-SXM"
    assert get_accelerator("TPUv4", catalog).name == "TPU v4"
    assert get_accelerator("tpu_v5p", catalog).name == "TPU v5p"
    assert get_accelerator("H100", catalog).name == "H100-SXM"
    assert get_accelerator("A100", catalog).name == "A100-SXM4"
    assert get_accelerator("A100-80GB", catalog).name == "A100-SXM4"
    assert get_accelerator("A100-SXM4-80GB", catalog).name == "A100-SXM4"
    assert get_accelerator("a100-40gb", catalog).name == "A100-SXM4-40GB"
    assert get_accelerator("GB200-NVL72").name == "GB200"  # default catalog
    for alias, canonical in ALIASES.items():
        assert canonical in catalog, alias
        assert get_accelerator(alias, catalog).name == canonical


def test_canonical_names_are_distinct_after_normalisation(catalog):
    assert len({normalize_name(n) for n in catalog}) == len(catalog)


def test_unknown_name_lists_known_names(catalog):
    with pytest.raises(InputError) as info:
        get_accelerator("H1000", catalog)
    err = info.value
    assert isinstance(err, ValueError)
    for name in catalog:
        assert name in err.problem.allowed
    assert "H1000" in str(err)
    again = pickle.loads(pickle.dumps(err))
    assert again.problem == err.problem


def test_entries_are_frozen_and_cached(catalog):
    assert load_catalog() is catalog
    assert load_catalog(default_catalog_path()) is catalog
    entry = catalog["H100-SXM"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.vendor = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        entry.published["tdp_w"] = None  # type: ignore[index]
    with pytest.raises(TypeError):
        catalog["X"] = entry  # type: ignore[index]
    assert entry.as_dict() == entry.design.as_dict()


# --- errors on bad catalog copies -----------------------------------------------------

def _copy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _text() -> str:
    return default_catalog_path().read_text(encoding="utf-8")


def test_duplicate_key_rejected(tmp_path):
    text = _text()
    line = "    tdp_w: {value: \"700 W\", source: \"x\", locator: \"y\", confidence: low}\n"
    marker = "    scaleup_domain_size: {value: 8, source: \"NVIDIA dgxc-benchmarking"
    assert marker in text
    path = _copy(tmp_path, text.replace(marker, line + marker, 1))
    with pytest.raises(InputError) as info:
        load_catalog(path)
    assert "duplicate" in info.value.problem.allowed
    assert "tdp_w" in info.value.problem.key_path


def test_duplicate_entry_rejected(tmp_path):
    text = _text()
    start = text.index("\nH100-SXM:\n")
    end = text.index("\nH800:\n")
    path = _copy(tmp_path, text + text[start:end])
    with pytest.raises(InputError) as info:
        load_catalog(path)
    assert "H100-SXM" in info.value.problem.key_path


def test_bad_unit_names_file_and_key_path(tmp_path):
    text = _text().replace('clock_hz: {value: "1.83 GHz"', 'clock_hz: {value: "1.83 GB/s"', 1)
    path = _copy(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_catalog(path)
    problem = info.value.problem
    assert problem.file == str(path.resolve())
    assert problem.key_path == "H100-SXM.parameters.clock_hz.value"
    assert "frequency" in problem.allowed


def test_schema_reports_every_problem(tmp_path):
    text = _text()
    text = text.replace("    scaleout_oversubscription: {value: 1.0, source: \"estimate\", locator: \"none\", confidence: low}\n", "")
    text = text.replace("hbm_generation: {value: HBM2e,", "hbm_generation: {value: HBM9,", 1)
    text = text.replace("confidence: medium-high}", "confidence: sure}", 1)
    text = text.replace("  vendor: AMD\n", "  vendor: AMD\n  transistor_budget: 3\n", 1)
    with pytest.raises(InputErrors) as info:
        load_catalog(_copy(tmp_path, text))
    paths = [p.key_path for p in info.value.problems]
    assert "TPU v4.parameters.scaleout_oversubscription" in paths
    assert "A100-SXM4.parameters.hbm_generation.value" in paths
    assert any(p.endswith(".confidence") for p in paths)
    assert "MI300X.transistor_budget" in paths
    assert any("HBM3e" in p.allowed for p in info.value.problems)


def test_unknown_parameter_rejected(tmp_path):
    text = _text().replace("    clock_hz: {value: \"1.41 GHz\"", "    clock_ghz: {value: 1.41, source: \"x\", locator: \"y\", confidence: low}\n    clock_hz: {value: \"1.41 GHz\"", 1)
    with pytest.raises(InputError) as info:
        load_catalog(_copy(tmp_path, text))
    assert info.value.problem.key_path == "A100-SXM4.parameters.clock_ghz"


def test_cross_field_problem_reported(tmp_path):
    text = _text().replace("accelerator_count: {value: 72,", "accelerator_count: {value: 70,", 1)
    with pytest.raises(InputErrors) as info:
        load_catalog(_copy(tmp_path, text))
    paths = {p.key_path for p in info.value.problems}
    assert "GB200.parameters.accelerator_count.value" in paths  # not a multiple of node_size 4
    assert "GB200.parameters.scaleup_domain_size.value" in paths  # 72 > 70


def test_validation_data_copied_with_provenance():
    folder = data_dir() / "validation"
    for name in ("hardware_specs.csv", "tech_constants.csv", "kernel_benchmarks.csv",
                 "training_runs.csv", "inference_runs.csv", "SOURCE.md"):
        assert (folder / name).is_file(), name
    first = (folder / "SOURCE.md").read_text(encoding="utf-8").splitlines()[0]
    assert "Copied verbatim" in first and "/work/shared/reference/validation" in first
    # 2026-11-30 copy (nemo + mlperf groups added): 474; + 4 mcore-moe rows (s7-moedata), + 2 MLPerf v5.0
    # llama2_70b_lora rows and + 4 Megatron-Bridge 25.09 rows (s7-rows): 484; + 4 MLPerf v5.1 llama31_8b rows
    # (s8-gb200): 488 (SOURCE.md); + the no-overlap twin of the mcore-moe EP32 row (s8-m3): 489;
    # + 133 mbridge-forward rows (s10-forward, mbridge_archive_rows.py): 622; + 2 NVIDIA dgxc-benchmarking
    # Nemotron-4 15B rows (s15-denseopt, SOURCE.md): 624; + 53 mlperf-forward rows (s18-D, SOURCE.md): 677;
    # + 9 AMD Instinct mlperf-forward rows (s19-D) + 42 MLPerf v5.1 mlperf-forward rows (s19-I, SOURCE.md): 728;
    # s33: + 4 Kimi K2 rows (mbridge-forward, mbridge_archive_rows.py): 732
    assert len(_validation_csv("training_runs.csv")) == 732
    assert len(_validation_csv("hardware_specs.csv")) == 576
