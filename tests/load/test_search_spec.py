"""The search section: parsing, SI values, and clear errors before any trial runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsweep.load.searchspec import parse_search_spec
from archsweep.load.study import load_study
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.search import SearchSpec

GOOD = {
    "parameters": {
        "clock_hz": {"range": ["1 GHz", "2 GHz"], "scale": "log"},
        "compute_units": {"range": [64, 256], "step": 16},
        "hbm_generation": {"values": ["HBM3", "HBM3e"]},
    },
    "trials": 100,
    "sampler": {"name": "tpe", "options": {"n_startup_trials": 10}},
    "batch_size": 8,
    "workers": 2,
}


def test_parses_with_defaults_and_si_values() -> None:
    spec = parse_search_spec(GOOD, file="s.yaml")
    assert isinstance(spec, SearchSpec)
    assert spec.names == ("clock_hz", "compute_units", "hbm_generation")
    clock = spec.parameters[0]
    assert (clock.low, clock.high, clock.scale) == (1e9, 2e9, "log")
    assert spec.sampler.name == "tpe" and spec.sampler.option_dict() == {"n_startup_trials": 10}
    assert (spec.trials, spec.batch_size, spec.workers, spec.seed) == (100, 8, 2, 0)
    assert spec.storage == "journal" and spec.aggregate == "mean"
    default = parse_search_spec({"parameters": {"tdp_w": {"values": ["700 W"]}}, "trials": 1}, file="s.yaml")
    assert default.sampler.name == "nsga2" and default.parameters[0].values == (700.0,)


@pytest.mark.parametrize("raw,key_path,fragment", [
    ({"parameters": {"clock_hz": {"range": ["2 GHz", "1 GHz"]}}, "trials": 5},
     "search.parameters.clock_hz.range", "empty range"),
    ({"parameters": {"clock_hz": {"values": [1e9]}}, "trials": 5, "sampler": {"name": "cmaes"}},
     "search.sampler.name", "nsga2"),
    ({"parameters": {"warp_drive": {"values": [1]}}, "trials": 5},
     "search.parameters.warp_drive", "a hardware parameter"),
    ({"parameters": {"clock_hz": {"range": ["1 GHz", "2 GHz"]}}, "trials": 5, "sampler": {"name": "grid"}},
     "search.parameters.clock_hz", "discrete"),
    ({"parameters": {"clock_hz": {"values": ["1 GW"]}}, "trials": 5},
     "search.parameters.clock_hz.values[0]", "frequency"),
    ({"parameters": {"clock_hz": {"values": [1e9]}}, "trials": 5, "sampler": {"name": "random", "options": {"population_size": 4}}},
     "search.sampler.options.population_size", "an option of sampler random: local_search_start"),
    ({"parameters": {"clock_hz": {"values": [1e9]}}, "trials": 0}, "search.trials", ">="),
])
def test_bad_specs_name_key_path(raw: dict, key_path: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse_search_spec(raw, file="s.yaml")
    assert info.value.problem.key_path == key_path
    assert fragment in info.value.problem.allowed
    assert info.value.problem.file == "s.yaml"


def test_several_problems_reported_at_once() -> None:
    raw = {"parameters": {"clock_hz": {"range": ["2 GHz", "1 GHz"]}, "nope": {"values": [1]}}, "trials": 5}
    with pytest.raises(InputErrors) as info:
        parse_search_spec(raw, file="s.yaml")
    assert {p.key_path for p in info.value.problems} == {"search.parameters.clock_hz.range", "search.parameters.nope"}


def test_study_file_with_search_section(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nworkloads: [llama3-8b]\nbase: H100-SXM\n"
        "objectives: [{column: tokens_per_s, direction: maximize}]\n"
        "search:\n  parameters: {clock_hz: {range: ['1 GHz', '2 GHz']}}\n  trials: 10\n"
    )
    study = load_study(path)
    assert isinstance(study.search, SearchSpec) and study.search.trials == 10
    path.write_text(path.read_text().replace("trials: 10", "trials: 10\n  sampler: {name: cmaes}"))
    with pytest.raises(InputError, match="search.sampler.name"):
        load_study(path)


def test_storage_url_takes_passwords_from_the_environment(monkeypatch):
    from archsweep.search.storage import _expand_url
    from archsweep.spec.errors import InputError

    monkeypatch.setenv("ARCHSWEEP_TEST_PW", "s3cret")
    assert _expand_url("postgresql://u:${ARCHSWEEP_TEST_PW}@h/db", "s.yaml") == "postgresql://u:s3cret@h/db"
    monkeypatch.delenv("ARCHSWEEP_TEST_PW")
    with pytest.raises(InputError, match="ARCHSWEEP_TEST_PW"):
        _expand_url("postgresql://u:${ARCHSWEEP_TEST_PW}@h/db", "s.yaml")
