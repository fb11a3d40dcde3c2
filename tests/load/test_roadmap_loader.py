"""The roadmap scenario loader: the shipped generations load with their sources; bad files are
rejected with file, key path, value and what is allowed."""

from __future__ import annotations

import pytest

from archsweep.load.roadmap import list_scenarios, load_scenario, parse_scenario
from archsweep.load.study import parse_study
from archsweep.load.technology import load_technology
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.roadmap import scenario_technology

GOOD = {
    "year": 2027, "description": "test generation",
    "hardware": {"hbm_bw_per_stack_bytes_per_s": {"value": "2048 GB/s", "source": "data/validation/hardware_specs.csv",
                                                  "locator": "HBM4 row", "confidence": "medium"},
                 "process_node": {"value": "N3", "projection": True, "basis": "vendor announcement", "confidence": "low"}},
    "allowed": {"process_node": {"values": ["N3", "N2"], "source": "nodes.yaml", "locator": "x", "confidence": "low"}},
    "technology": {"nodes.N2.wafer_cost_usd": {"value": 25000, "projection": True, "basis": "price falls with maturity",
                                               "confidence": "low"}},
    "limits": {"package_area_mm2": {"max": 4719, "projection": True, "basis": "5.5 reticles of 858 mm2",
                                    "confidence": "low"}},
}


def _problems(document: dict) -> list[tuple[str, str, str]]:
    with pytest.raises((InputError, InputErrors)) as info:
        parse_scenario(document, file="bad.yaml", name="bad")
    err = info.value
    problems = err.problems if isinstance(err, InputErrors) else [err.problem]
    assert all(p.file == "bad.yaml" for p in problems)
    return [(p.key_path, str(p.value), p.allowed) for p in problems]


def test_shipped_generations_load_with_sources_and_projections() -> None:
    assert {"2025", "2027", "2029"} <= set(list_scenarios())
    years = [load_scenario(n).year for n in (2025, 2027, 2029)]
    assert years == [2025, 2027, 2029]
    for name in ("2025", "2027", "2029"):
        s = load_scenario(name)
        assert {"process_node", "hbm_generation", "hbm_bw_per_stack_bytes_per_s", "hbm_capacity_per_stack_bytes",
                "scaleup_bw_bytes_per_s", "scaleout_bw_bytes_per_s"} <= set(s.hardware)
        assert "package_area_mm2" in s.limits
        assert any(k.endswith("wafer_cost_usd") for k in s.technology)
        assert any(k.endswith("cost_usd_per_gb") for k in s.technology)
        for v in (*s.hardware.values(), *s.technology.values(), *s.limits.values()):
            assert v.source and v.locator
            if v.projection:
                assert v.confidence == "low" and v.source == "projection"
    # published figures: NVLink 5 900 GB/s and NVLink 6 1.8 TB/s per direction, HBM4 2048 GB/s per stack
    assert load_scenario(2025).hardware["scaleup_bw_bytes_per_s"].value == pytest.approx(900e9)
    assert load_scenario(2027).hardware["scaleup_bw_bytes_per_s"].value == pytest.approx(1.8e12)
    assert load_scenario(2027).hardware["hbm_bw_per_stack_bytes_per_s"].value == pytest.approx(2.048e12)
    # interposer limits grow with the reticle multiple (3.3x, 5.5x, 9x of 858 mm2)
    limits = [load_scenario(n).limits["package_area_mm2"].value for n in (2025, 2027, 2029)]
    assert limits == pytest.approx([3.3 * 858, 5.5 * 858, 9 * 858], rel=1e-3)


def test_good_document_parses_and_overrides_technology_without_touching_the_rest() -> None:
    s = parse_scenario(GOOD, file="good.yaml", name="good")
    assert s.hardware["process_node"].projection and s.hardware["process_node"].locator == "vendor announcement"
    assert s.allowed["process_node"].values == ("N3", "N2")
    base = load_technology()
    tech = scenario_technology(base, s)
    assert tech.nodes["N2"].wafer_cost_usd == 25000 and base.nodes["N2"].wafer_cost_usd == 30000
    assert tech.nodes["N3"] is base.nodes["N3"]
    assert tech.memories["HBM4"].pin_rate_bps == base.memories["HBM4"].pin_rate_bps  # no second __post_init__
    assert tech.provenance["nodes.N2.wafer_cost_usd"].source == "projection"


@pytest.mark.parametrize(("patch", "key", "allowed"), [
    ({"hardware": {"clock_speed": {"value": 1, "source": "abc", "locator": "x", "confidence": "low"}}},
     "hardware.clock_speed", "a hardware parameter"),
    ({"hardware": {"process_node": {"value": "N1", "source": "abc", "locator": "x", "confidence": "low"}}},
     "hardware.process_node.value", "one of N7"),
    ({"hardware": {"scaleup_bw_bytes_per_s": {"value": "3 GHz", "source": "abc", "locator": "x", "confidence": "low"}}},
     "hardware.scaleup_bw_bytes_per_s.value", ""),
    ({"technology": {"nodes.N9.wafer_cost_usd": {"value": 1, "source": "abc", "locator": "x", "confidence": "low"}}},
     "technology.nodes.N9.wafer_cost_usd", "one of N7"),
    ({"technology": {"memories.HBM4.bw_per_stack_bytes_per_s": {"value": 1, "source": "abc", "locator": "x",
                                                                 "confidence": "low"}}},
     "technology.memories.HBM4.bw_per_stack_bytes_per_s", "hardware.hbm_bw_per_stack_bytes_per_s"),
    ({"technology": {"nodes.N2.scaleup_link": {"value": "nvlink9", "source": "abc", "locator": "x", "confidence": "low"}}},
     "technology.nodes.N2.scaleup_link.value", "a link lane"),
    ({"limits": {"process_node": {"max": 3, "source": "abc", "locator": "x", "confidence": "low"}}},
     "limits.process_node", "a numeric output column"),
    ({"allowed": {"hbm_generation": {"values": ["HBM9"], "source": "abc", "locator": "x", "confidence": "low"}}},
     "allowed.hbm_generation.values", "one of HBM2"),
    ({"allowed": {"process_node": {"values": ["N2"], "source": "abc", "locator": "x", "confidence": "low"}}},
     "hardware.process_node.value", "allowed.process_node"),
])
def test_bad_documents_name_key_value_and_allowed(patch: dict, key: str, allowed: str) -> None:
    document = {**GOOD, **{k: {**GOOD.get(k, {}), **v} for k, v in patch.items()}}
    problems = _problems(document)
    assert any(k == key and allowed in a for k, _, a in problems), problems


def test_schema_rejects_a_projection_without_basis_or_with_high_confidence() -> None:
    document = {**GOOD, "hardware": {"process_node": {"value": "N3", "projection": True, "confidence": "high"}}}
    keys = {k for k, _, _ in _problems(document)}
    assert any(k.startswith("hardware.process_node") for k in keys)
    unsourced = {**GOOD, "hardware": {"process_node": {"value": "N3", "confidence": "low"}}}
    assert any("source" in k or "locator" in k for k, _, _ in _problems(unsourced))


def _study(**extra: object) -> dict:
    return {"name": "s", "workloads": ["llama3-8b"], "base": "B200", "sampling": {"method": "grid"},
            "parameters": {"process_node": {"values": ["N4", "N3"]}, "accelerator_count": {"values": [64]}},
            "objectives": [{"column": "tokens_per_s", "direction": "maximize"}], **extra}


def test_study_names_scenarios_and_bad_names_are_reported() -> None:
    study = parse_study(_study(scenarios=[2025, "2027"]), file="s.yaml")
    assert [s.name for s in study.scenarios] == ["2025", "2027"]
    with pytest.raises((InputError, InputErrors)) as info:
        parse_study(_study(scenarios=[2031]), file="s.yaml")
    assert "scenarios[0]" in str(info.value) and "2025" in str(info.value)
    with pytest.raises((InputError, InputErrors)) as info:  # 2029 offers N2 and A16 only
        parse_study(_study(scenarios=[2029]), file="s.yaml")
    assert "parameters.process_node" in str(info.value) and "scenarios[0]" in str(info.value)
