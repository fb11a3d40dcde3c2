"""Scenario expansion: every candidate row carries its scenario and the scenario's parameter
values; ids differ between scenarios; evaluation uses the scenario's technology and limits."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from archsweep.candidates.shard_evaluation import evaluate_shard
from archsweep.candidates.space import expand_space, write_space_shards
from archsweep.load.roadmap import load_scenario
from archsweep.load.study import parse_study


def _study(**extra: object):
    document = {"name": "s", "workloads": ["llama3-8b"], "base": "B200", "sampling": {"method": "grid"}, "shards": 2,
                "scenarios": [2025, 2027, 2029],
                "parameters": {"compute_units": {"values": [148, 222]},
                               "process_node": {"values": ["N4", "N3", "N2", "A16"]},
                               "accelerator_count": {"values": [64]}},
                "objectives": [{"column": "tokens_per_s", "direction": "maximize"}], **extra}
    return parse_study(document, file="s.yaml")


def test_rows_carry_scenario_values_and_ids_differ_between_scenarios() -> None:
    study = _study()
    table = expand_space(study).to_pylist()
    assert len(table) == 3 * 2 * 2  # two allowed nodes per scenario
    by = {}
    for row in table:
        scenario = load_scenario(row["scenario"])
        assert row["process_node"] in scenario.allowed["process_node"].values
        for name in ("hbm_generation", "hbm_bw_per_stack_bytes_per_s", "hbm_capacity_per_stack_bytes",
                     "scaleup_bw_bytes_per_s", "scaleout_bw_bytes_per_s", "scaleup_domain_size"):
            expected = scenario.hardware[name].value
            assert row[name] == expected if isinstance(expected, str) else np.isclose(row[name], expected), name
        assert row["compute_units"] in (148, 222)  # the varied parameter keeps the study's values
        by.setdefault((row["compute_units"], row["process_node"]), []).append(row)
    ids = [r["candidate_id"] for r in table]
    assert len(set(ids)) == len(ids)
    shared = by[(148, "N3")]  # N3 is offered in 2025 and 2027: same varied values, two candidates
    assert {r["scenario"] for r in shared} == {"2025", "2027"}
    assert len({r["candidate_id"] for r in shared}) == 2
    assert sorted({r["shard"] for r in table}) == [0, 1]
    assert expand_space(study).equals(expand_space(study))  # deterministic


def test_no_scenarios_keeps_the_space_unchanged() -> None:
    plain = parse_study({"name": "s", "workloads": ["llama3-8b"], "base": "B200", "sampling": {"method": "grid"},
                         "parameters": {"compute_units": {"values": [148, 222]}},
                         "objectives": [{"column": "tokens_per_s", "direction": "maximize"}]}, file="s.yaml")
    table = expand_space(plain)
    assert "scenario" not in table.column_names
    assert table.column("process_node").to_pylist() == ["N4", "N4"]  # the base design's own node


def test_evaluation_uses_each_scenario_technology_and_limits(tmp_path) -> None:
    study = _study()
    paths = write_space_shards(study, tmp_path)
    rows = [r for p in paths for r in evaluate_shard(study, p, "run").to_pylist()]
    assert {r["scenario"] for r in rows} == {"2025", "2027", "2029"}
    assert all("violation_scenario_package_area_mm2_max" in r for r in rows)
    for r in rows:
        limit = load_scenario(r["scenario"]).limits["package_area_mm2"].value
        assert np.isclose(r["violation_scenario_package_area_mm2_max"], (r["package_area_mm2"] - limit) / limit)
        if r["violation_scenario_package_area_mm2_max"] > 0:
            assert not r["feasible"]
    # HBM4 costs 13.2 $/GB under 2029 and 12 $/GB under 2027: same stacks and capacity would cost more;
    # the 2029 A16 package costs more than the 2027 N3 package at the same compute-unit count
    cost = {(r["scenario"], r["process_node"], r["compute_units"]): r["accelerator_cost_usd"] for r in rows}
    assert cost[("2029", "A16", 148)] > cost[("2027", "N3", 148)]
    assert pq.read_table(paths[0]).column("scenario").to_pylist()
