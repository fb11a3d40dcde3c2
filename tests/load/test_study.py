"""Tests of archsweep.load.study: schema, cross-field checks, typed spec, constraints."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from archsweep.load.paths import spaces_dir
from archsweep.load.study import load_study, parse_column_value, parse_study
from archsweep.results.objectives import constraint_violations
from archsweep.spec.columns import OUTPUT_COLUMNS, column_dimension
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.hardware import HARDWARE_PARAMETERS
from archsweep.spec.parameters import ParameterSpace
from archsweep.spec.study import MAX_GRID_SIZE, Constraint, MappingChoice, Objective

BAD = Path(__file__).parents[1] / "data" / "bad_studies"

MINIMAL: dict[str, Any] = {
    "name": "t",
    "workloads": ["llama3-8b"],
    "base": "H100-SXM",
    "parameters": {"clock_hz": {"values": ["1.5 GHz", "1.98 GHz"]}},
    "sampling": {"method": "grid"},
    "objectives": [{"column": "tokens_per_s", "direction": "maximize"}],
}


def study_from(**changes: Any):
    doc = copy.deepcopy(MINIMAL)
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return parse_study(doc, file="<test>")


# --- shipped studies -------------------------------------------------------------------

def test_default_study_parses_with_a_realistic_grid():
    study = load_study("default")
    assert study.name == "default"
    assert study.workloads == ("llama3-405b", "deepseek-v3")
    assert study.base == "B200"
    assert study.sampling_method == "grid" and study.shards == 8
    assert 2_000 <= study.grid_size() <= 10_000
    assert {"compute_units", "clock_hz", "process_node", "hbm_generation", "hbm_stacks", "scaleup_domain_size",
            "scaleup_bw_bytes_per_s", "scaleout_bw_bytes_per_s", "accelerator_count"} <= set(study.varied)
    scaleup = next(p for p in study.parameters if p.name == "scaleup_domain_size")
    assert set(scaleup.values) == {8, 72}
    assert study.objectives[0] == Objective("usd_per_million_tokens", "minimize")
    assert Constraint("power_busiest_w", max=1500.0) in study.constraints  # a package limit: the busiest stage
    assert study.mapping == MappingChoice(search=True, objective="step_time_s")


def test_tiny_study_is_small():
    study = load_study("tiny")
    assert study.workloads == ("llama3-8b",)
    assert study.grid_size() == 24 and study.shards == 2


def test_stem_and_path_give_the_same_study():
    assert load_study("tiny") == load_study(spaces_dir() / "tiny.yaml")


def test_unknown_stem_lists_available_studies():
    with pytest.raises(InputError) as info:
        load_study("no-such-study")
    assert "tiny" in info.value.problem.allowed


# --- parsing ---------------------------------------------------------------------------

def test_unit_strings_become_si_floats():
    study = study_from(parameters={
        "clock_hz": {"values": ["1.5 GHz", 1.98e9]},
        "sram_bytes": {"values": ["50 MiB"]},
        "scaleup_bw_bytes_per_s": {"range": ["300 GB/s", "1.8 TB/s"], "points": 6, "scale": "log"},
    })
    clock, sram, bw = study.parameters
    assert clock.values == (1.5e9, 1.98e9)
    assert sram.values == (50 * 2**20,)
    assert (bw.low, bw.high, bw.points, bw.scale) == (300e9, 1.8e12, 6, "log")
    grid = bw.grid_values()
    assert len(grid) == 6 and grid[0] == pytest.approx(300e9) and grid[-1] == pytest.approx(1.8e12)
    assert np.allclose(grid[1:] / grid[:-1], grid[1] / grid[0])  # geometric


def test_step_grid_is_inclusive():
    study = study_from(parameters={"compute_units": {"range": [66, 264], "step": 22}})
    assert study.parameters[0].grid_values().tolist() == [66, 88, 110, 132, 154, 176, 198, 220, 242, 264]
    assert study.grid_size() == 10


def test_float_step_grid_includes_high_despite_rounding():
    study = study_from(parameters={"clock_hz": {"range": ["1.0 GHz", "1.3 GHz"], "step": "0.1 GHz"}})
    assert study.parameters[0].grid_values() == pytest.approx([1.0e9, 1.1e9, 1.2e9, 1.3e9])


def test_integer_parameters_are_rounded_and_deduplicated():
    study = study_from(parameters={"hbm_stacks": {"range": [4, 6], "points": 5}})
    assert study.parameters[0].grid_values().tolist() == [4, 5, 6]


def test_defaults():
    study = study_from()
    assert study.shards == 1 and study.seed == 0 and study.samples is None
    assert study.constraints == () and study.search is None and study.description == ""
    assert study.mapping == MappingChoice(search=True, objective="step_time_s", strategy=None)


def test_fixed_mapping_strategy():
    study = study_from(mapping={"strategy": "tp=4,pp=2,dp=auto,mb=1,recompute=selective,zero=1"})
    assert study.mapping.search is False
    assert study.mapping.strategy == "tp=4,pp=2,dp=auto,mb=1,recompute=selective,zero=1"


def test_random_sampling_needs_samples():
    with pytest.raises(InputError):
        study_from(sampling={"method": "random"})
    study = study_from(sampling={"method": "sobol", "samples": 64, "seed": 7})
    assert (study.sampling_method, study.samples, study.seed) == ("sobol", 64, 7)


def test_continuous_range_is_allowed_for_random_sampling():
    study = study_from(parameters={"clock_hz": {"range": ["1 GHz", "2 GHz"]}},
                       sampling={"method": "random", "samples": 10})
    assert study.parameters[0].is_continuous and study.parameters[0].size == 0


def test_log_scale_needs_positive_bounds_and_no_step():
    with pytest.raises(InputError) as info:
        study_from(parameters={"clock_hz": {"range": ["1 GHz", "2 GHz"], "step": "0.5 GHz", "scale": "log"}})
    assert info.value.problem.key_path == "parameters.clock_hz.scale"


def test_choice_parameter_rejects_range():
    with pytest.raises(InputError) as info:
        study_from(parameters={"hbm_generation": {"range": ["HBM3", "HBM4"]}})
    assert "HBM3e" in info.value.problem.allowed


def test_search_section_is_parsed_by_searchspec_when_present():
    pytest.importorskip("archsweep.load.searchspec")
    # Only the contract is checked here: a bad search section is an input error, not a crash.
    with pytest.raises(ValueError):
        study_from(search={"no_such_key": 1})


def test_output_columns_cover_hardware_and_model_outputs():
    assert len(OUTPUT_COLUMNS) == len(set(OUTPUT_COLUMNS))
    assert {p.name for p in HARDWARE_PARAMETERS} <= set(OUTPUT_COLUMNS)
    assert {"tokens_per_s", "power_w", "die_area_mm2", "hbm_bw_bytes_per_s", "step_time_s"} <= set(OUTPUT_COLUMNS)


def test_duplicate_objective_is_rejected():
    with pytest.raises(InputError) as info:
        study_from(objectives=[{"column": "power_w", "direction": "minimize"},
                               {"column": "power_w", "direction": "maximize"}])
    assert info.value.problem.key_path == "objectives[1].column"


# --- bad inputs: one fixture file each -------------------------------------------------

BAD_CASES = [
    # fixture, key path of the (first) problem, text expected in "allowed"
    ("malformed_yaml", "line 3, column 5", "well-formed YAML"),
    ("duplicate_key", "line 9: clock_hz", "duplicate key"),
    ("unknown_key", "shard", "known keys"),
    ("missing_required", "objectives", "required"),
    ("sweep_without_sampling", "", "sampling"),
    ("negative_bandwidth", "parameters.scaleup_bw_bytes_per_s.values[0]", "greater than 0"),
    ("zero_bandwidth", "parameters.scaleout_bw_bytes_per_s.range[0]", "greater than 0"),
    ("unit_typo", "parameters.hbm_bw_per_stack_bytes_per_s.values[0]", "TB/s"),
    ("unknown_workload", "workloads[1]", "llama3-8b"),
    ("unknown_base", "base", "H100-SXM"),
    ("empty_space", "parameters.compute_units.values", "empty space"),
    ("empty_range", "parameters.clock_hz.range", "low <= high"),
    ("choice_not_allowed", "parameters.hbm_generation.values[1]", "HBM4"),
    ("unknown_parameter", "parameters.clock_speed", "clock_hz"),
    ("grid_too_large", "sampling.method", "random or sobol"),
    ("continuous_in_grid", "parameters.clock_hz", "random/sobol"),
    ("unknown_objective_column", "constraints[0].column", "power_w"),
    ("bad_constraint_unit", "constraints[0].max", "power"),
]


@pytest.mark.parametrize(("fixture", "key_path", "allowed"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_study_is_reported_with_file_key_value_and_allowed(fixture, key_path, allowed):
    path = BAD / f"{fixture}.yaml"
    with pytest.raises(InputError) as info:
        load_study(path)
    problem = info.value.problem
    assert problem.file == str(path)
    assert problem.key_path == key_path
    assert problem.value
    assert allowed in problem.allowed
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value)


def test_every_bad_fixture_has_a_test():
    assert {p.stem for p in BAD.glob("*.yaml")} == {c[0] for c in BAD_CASES} | {"several_problems"}


def test_unit_typo_names_the_value():
    with pytest.raises(InputError) as info:
        load_study(BAD / "unit_typo.yaml")
    assert "3.35 TB/z" in info.value.problem.value


def test_several_problems_are_reported_together():
    with pytest.raises(InputErrors) as info:
        load_study(BAD / "several_problems.yaml")
    paths = [p.key_path for p in info.value.problems]
    assert paths == ["workloads[0]", "parameters.clock_hz.values[0]", "parameters.hbm_stacks.values[0]"]


def test_errors_survive_pickling():
    with pytest.raises(InputError) as info:
        load_study(BAD / "zero_bandwidth.yaml")
    again = pickle.loads(pickle.dumps(info.value))
    assert again.problem == info.value.problem and str(again) == str(info.value)


def test_grid_limit_constant():
    assert MAX_GRID_SIZE == 50_000_000


# --- units of output columns -----------------------------------------------------------

@pytest.mark.parametrize(("column", "dimension"), [
    ("power_w", "power"), ("tdp_w", "power"), ("step_time_s", "time"), ("time_to_train_s", "time"),
    ("tokens_per_s", "dimensionless"), ("tokens_per_s_per_w", "dimensionless"), ("mfu", "dimensionless"),
    ("die_area_mm2", "area"), ("hbm_bw_bytes_per_s", "bandwidth"), ("memory_per_accelerator_bytes", "bytes"),
    ("energy_per_token_j", "energy"), ("system_capex_usd", "cost"), ("usd_per_million_tokens", "dimensionless"),
    ("clock_hz", "frequency"), ("compute_units", "count"), ("scaleup_latency_s", "time"),
])
def test_column_dimension(column, dimension):
    assert column_dimension(column) == dimension


def test_column_values_are_in_the_column_unit():
    assert parse_column_value("1.2 kW", "power_w", file="f", key_path="k") == 1200.0
    assert parse_column_value(858, "die_area_mm2", file="f", key_path="k") == 858.0
    assert parse_column_value("1 cm2", "die_area_mm2", file="f", key_path="k") == pytest.approx(100.0)
    assert parse_column_value("2 ms", "step_time_s", file="f", key_path="k") == pytest.approx(2e-3)
    with pytest.raises(InputError):
        parse_column_value("10 GB", "power_w", file="f", key_path="k")


# --- constraints -----------------------------------------------------------------------

def test_constraint_violation_is_relative_and_positive_when_violated():
    c = Constraint("power_w", max=1000.0)
    v = c.violation(np.array([500.0, 1000.0, 1500.0, np.nan]))
    assert v.tolist() == [-0.5, 0.0, 0.5, np.inf]
    low = Constraint("tokens_per_s", min=200.0)
    assert low.violation(np.array([100.0, 400.0])).tolist() == [0.5, -1.0]


def test_constraint_with_zero_bound_uses_the_absolute_difference():
    assert Constraint("mfu", max=0.0).violation(np.array([-0.25, 0.5])).tolist() == [-0.25, 0.5]


def test_constraint_with_both_bounds_takes_the_worse():
    c = Constraint("power_w", max=1000.0, min=500.0)
    assert c.violation(np.array([250.0, 750.0, 2000.0])).tolist() == [0.5, -0.25, 1.0]


def test_constraint_violations_columns():
    study = study_from(constraints=[{"column": "power_w", "max": "1 kW", "min": "100 W"},
                                    {"column": "die_area_mm2", "max": 858}])
    out = constraint_violations(study, {"power_w": np.array([50.0, 2000.0]), "die_area_mm2": np.array([900.0, 800.0])})
    assert set(out) == {"violation_power_w_max", "violation_power_w_min", "violation_die_area_mm2_max"}
    assert out["violation_power_w_max"].tolist() == [-0.95, 1.0]
    assert out["violation_power_w_min"].tolist() == [0.5, -19.0]
    assert out["violation_die_area_mm2_max"] == pytest.approx([42 / 858, -58 / 858])
    with pytest.raises(InputError) as info:
        constraint_violations(study, {"power_w": np.array([1.0])})
    assert info.value.problem.key_path == "constraints[1].column"


def test_constraint_min_above_max_is_rejected():
    with pytest.raises(InputError):
        study_from(constraints=[{"column": "power_w", "max": 100, "min": 200}])


def test_parameter_space_is_frozen():
    p = ParameterSpace("clock_hz", "values", values=(1e9,))
    with pytest.raises(AttributeError):
        p.values = ()  # type: ignore[misc]
