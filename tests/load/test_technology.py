"""Technology data: loads, covers every node/HBM generation, every constant has a source."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from archsweep.load.paths import data_dir
from archsweep.load.technology import TECHNOLOGY_FILES, load_technology
from archsweep.load.yamlio import load_yaml
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.hardware import HBM_GENERATIONS, PROCESS_NODES

TECH = load_technology()


def test_covers_nodes_and_memories_with_si_values() -> None:
    assert set(PROCESS_NODES) <= set(TECH.nodes) and set(HBM_GENERATIONS) <= set(TECH.memories)
    assert TECH.nodes["N2"].projected and TECH.nodes["A16"].projected and not TECH.nodes["N5"].projected
    assert TECH.memories["HBM4"].projected and not TECH.memories["HBM3"].projected
    h3 = TECH.memories["HBM3"]
    assert math.isclose(h3.bw_per_stack_bytes_per_s, 819e9) and math.isclose(h3.capacity_per_stack_bytes, 24 * 2**30)
    assert math.isclose(h3.pin_rate_bps, 6.4e9) and math.isclose(h3.energy_j_per_bit, 3.0e-12)
    assert math.isclose(TECH.packaging.reticle_limit_mm2, 858.0)
    assert load_technology() is TECH  # cached


def test_energy_scaling_rule_documented_and_applied() -> None:
    for node in TECH.nodes.values():
        s = math.sqrt(7.7 / node.logic_density_mtr_per_mm2) * (node.vdd_v / 0.9) ** 2
        assert math.isclose(node.energy_scale_vs_45nm, s, rel_tol=1e-3)
        assert math.isclose(node.mac_bf16_j, 2.0e-12 * s, rel_tol=1e-3)
        assert math.isclose(node.fma_fp32_j, 4.6e-12 * s, rel_tol=1e-3)
    order = [TECH.nodes[n].mac_bf16_j for n in ("N7", "N5", "N3", "N2")]
    assert order == sorted(order, reverse=True)


def test_every_constant_has_a_source() -> None:
    directory = data_dir() / "technology"
    count = 0
    for file in TECHNOLOGY_FILES.values():
        def walk(node: object) -> None:
            nonlocal count
            if isinstance(node, dict):
                if "value" in node:
                    count += 1
                    assert node["source"].strip() and node["locator"].strip() and node["confidence"].strip()
                else:
                    for v in node.values():
                        walk(v)
        walk(load_yaml(directory / file))
    assert count == len(TECH.provenance) > 150
    assert all(p.source and p.locator and p.confidence for p in TECH.provenance.values())
    assert "nodes.N7.mac_bf16_j" in TECH.provenance and "reliability.restart_overhead_s" in TECH.provenance


def test_bad_files_report_file_key_and_allowed(tmp_path: Path) -> None:
    target = tmp_path / "technology"
    shutil.copytree(data_dir() / "technology", target)
    text = (target / "packaging.yaml").read_text().replace("value: 858.0", "value: '858 parsecs'")
    (target / "packaging.yaml").write_text(text)
    with pytest.raises(InputError) as err:
        load_technology(target)
    assert "packaging.yaml" in str(err.value) and "reticle_limit_mm2" in str(err.value)
    text = (target / "packaging.yaml").read_text().replace("value: '858 parsecs'", "value: 858.0").replace(
        "confidence: high", "confidence: sure")
    (target / "packaging.yaml").write_text(text)
    with pytest.raises((InputError, InputErrors)):
        load_technology(target)
