"""``shards: auto``: the estimate from the measured rates (data/sizing/throughput_rates.yaml)."""

from __future__ import annotations

import random

import pytest
import yaml

from archsweep.candidates.shard_groups import SHARD_GROUP_FIELDS
from archsweep.load.sharding import (
    MAX_AUTO_SHARDS,
    MAX_CANDIDATES_PER_SHARD,
    POWER_COST_ONLY_PARAMETERS,
    PPA_MAPPING_OBJECTIVES,
    SizedWorkload,
    auto_shard_count,
    estimated_seconds,
)
from archsweep.load.study import parse_study
from archsweep.load.throughput import load_throughput_rates, throughput_rates_path
from archsweep.model.driver import PPA_OBJECTIVES
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HARDWARE_PARAMETERS
from archsweep.spec.study import ShardSizing

STUDY = {
    "name": "sizing",
    "workloads": ["llama3-8b"],
    "base": "H100-SXM",
    "parameters": {
        "compute_units": {"values": [66, 99, 132, 198]},
        "clock_hz": {"values": ["1.4 GHz", "1.6 GHz", "1.83 GHz"]},
        "hbm_generation": {"values": ["HBM3", "HBM3e"]},
        "scaleup_domain_size": {"values": [8, 32]},
        "accelerator_count": {"values": [64]},
    },
    "sampling": {"method": "grid"},
    "shards": {"target_seconds_per_job": 0.001},
    "mapping": {"search": "best", "objective": "step_time_s"},
    "objectives": [{"column": "tokens_per_s", "direction": "maximize"}],
}


def _study(**changes: object) -> dict:
    doc = yaml.safe_load(yaml.safe_dump(STUDY))
    doc.update(changes)
    return doc


def test_rate_file_is_measured_data_with_provenance():
    rates = load_throughput_rates()
    assert rates.search_rate("deepseek-v3", "moe") < rates.search_rate("llama3-70b", "dense")
    assert rates.search_rate("some-new-moe", "moe") == rates.search_by_kind["moe"]
    assert rates.search_rate("llama3-70b", "dense", exhaustive=True) < rates.search_rate("llama3-70b", "dense")
    doc = yaml.safe_load(throughput_rates_path().read_text())
    assert "benchmarks/" in doc["candidates_per_second"]["source"]


def test_moe_gets_more_shards_than_dense_at_equal_candidates():
    # 60 s jobs: with the 2026-12-01 rates a 600 s job holds ~1M MoE candidates, where the memory cap
    # (one shard per 1M candidates) already sets the count for both kinds.
    rates, sizing = load_throughput_rates(), ShardSizing(target_seconds_per_job=60.0)
    for n in (10**6, 3 * 10**6, 10**7):
        dense = auto_shard_count(n, estimated_seconds(n, n, [SizedWorkload("llama3-70b", "dense")], rates), sizing)
        moe = auto_shard_count(n, estimated_seconds(n, n, [SizedWorkload("deepseek-v3", "moe")], rates), sizing)
        assert moe > dense, n
    # through the study file: one continuous axis, so every sample is its own performance row
    doc = _study(parameters={"clock_hz": {"range": ["1.2 GHz", "2.0 GHz"]}, "accelerator_count": {"values": [1024]}},
                 sampling={"method": "sobol", "samples": 200_000, "seed": 1}, shards={"target_seconds_per_job": 60})
    dense = parse_study(_study(**{**doc, "workloads": ["llama3-70b"]}), file="s.yaml").shards
    moe = parse_study(_study(**{**doc, "workloads": ["deepseek-v3"]}), file="s.yaml").shards
    assert moe > dense >= 1


def test_power_cost_axes_give_fewer_shards_than_performance_axes_at_equal_candidates():
    perf = parse_study(_study(), file="s.yaml")  # 48 candidates, 48 performance rows
    params = {k: v for k, v in STUDY["parameters"].items() if k != "hbm_generation"}
    ppa = parse_study(_study(parameters={**params, "tdp_w": {"values": ["500 W", "700 W"]}}), file="s.yaml")
    assert ppa.shards < perf.shards  # 48 candidates, 24 performance rows
    # a power/cost mapping objective searches every candidate: no saving
    ppa_obj = parse_study(_study(parameters={**params, "tdp_w": {"values": ["500 W", "700 W"]}},
                                 mapping={"search": "best", "objective": "energy_per_token_j"}), file="s.yaml")
    assert ppa_obj.shards == perf.shards


def test_exhaustive_search_gets_more_shards():
    pruned = parse_study(_study(), file="s.yaml").shards
    exhaustive = parse_study(_study(mapping={"search": "best", "objective": "step_time_s", "exhaustive": True}),
                             file="s.yaml").shards
    assert exhaustive > pruned


def test_never_more_shards_than_candidates_or_groups_and_deterministic():
    rng = random.Random(14)
    for _ in range(2000):
        n = rng.choice([0, 1, 2, 7, 100, 10**4, 10**6, 5 * 10**7])
        groups = rng.randint(0, n) if n else 0
        seconds = rng.choice([0.0, 1e-3, 1.0, 1e3, 1e6, 1e9])
        sizing = ShardSizing(target_seconds_per_job=rng.choice([1e-3, 1.0, 600.0]))
        k = auto_shard_count(n, seconds, sizing, groups=groups)
        assert 1 <= k <= max(1, min(n, groups, MAX_AUTO_SHARDS))
        assert k == auto_shard_count(n, seconds, sizing, groups=groups)
    # the memory cap still splits a fast space
    assert auto_shard_count(10**7, 1.0, ShardSizing()) == 10**7 // MAX_CANDIDATES_PER_SHARD
    assert parse_study(_study(), file="s.yaml").shards == parse_study(_study(), file="s.yaml").shards
    with pytest.raises(ValueError):
        auto_shard_count(10, 1.0, ShardSizing(target_seconds_per_job=0))


def test_flat_rate_in_the_study_replaces_the_estimate():
    study = parse_study(_study(shards={"target_seconds_per_job": 2, "evaluations_per_second": 10}), file="s.yaml")
    assert study.shards == 3  # 48 evaluations at 20 per job
    assert study.shard_sizing == ShardSizing(2.0, 10.0)


def test_rate_file_is_not_an_evaluate_input():
    # it changes the shard count only (which the fingerprints hold), not a result: re-measuring the
    # rates must not re-run the evaluations of a study whose shard count stays the same
    from archsweep.load.paths import data_dir
    from archsweep.workflow.fingerprint import EVALUATE_DATA, SPACE_DATA

    folder = throughput_rates_path().relative_to(data_dir()).parts[0]
    assert folder not in EVALUATE_DATA and folder not in SPACE_DATA


def test_the_sizing_constants_agree_with_the_model():
    performance = set(SHARD_GROUP_FIELDS) | {"hbm_generation"}
    assert POWER_COST_ONLY_PARAMETERS == {p.name for p in HARDWARE_PARAMETERS} - performance
    assert PPA_MAPPING_OBJECTIVES == set(PPA_OBJECTIVES)


def _entry(**changes: object) -> dict:
    return {"value": 100, "source": "python benchmarks/x.py", "locator": "line", "date": "2026-11-30",
            "confidence": "low", **changes}


def _rate_doc() -> dict:
    table = {"workloads": {"a": _entry()}, "kinds": {"dense": _entry(), "moe": _entry(), "serving": _entry()}}
    return {"search_rows_per_second": table, "exhaustive_search_rows_per_second": yaml.safe_load(yaml.safe_dump(table)),
            "candidates_per_second": _entry()}


@pytest.mark.parametrize("break_it,key_path,fragment", [
    (lambda d: d["candidates_per_second"].update(value=-3), "candidates_per_second.value", "> 0"),
    (lambda d: d["candidates_per_second"].update(value="fast"), "candidates_per_second.value", "> 0"),
    (lambda d: d["search_rows_per_second"]["kinds"].pop("moe"), "search_rows_per_second.kinds.moe", "dense, moe, serving"),
    (lambda d: d["search_rows_per_second"]["workloads"]["a"].pop("source"), "search_rows_per_second.workloads.a.source",
     "source"),
    (lambda d: d["exhaustive_search_rows_per_second"]["kinds"]["dense"].update(confidence="sure"),
     "exhaustive_search_rows_per_second.kinds.dense.confidence", "low, medium, high"),
    (lambda d: d["search_rows_per_second"]["kinds"]["dense"].update(date="last week"),
     "search_rows_per_second.kinds.dense.date", "YYYY-MM-DD"),
    (lambda d: d.pop("exhaustive_search_rows_per_second"), "exhaustive_search_rows_per_second", "kinds"),
])
def test_bad_rate_file_is_a_clear_error(tmp_path, break_it, key_path, fragment):
    doc = _rate_doc()
    break_it(doc)
    path = tmp_path / "rates.yaml"
    path.write_text(yaml.safe_dump(doc).replace("'2026-11-30'", "2026-11-30"))
    with pytest.raises(InputError) as info:
        load_throughput_rates(path)
    message = str(info.value)
    assert str(path) in message and key_path in message and fragment in message
