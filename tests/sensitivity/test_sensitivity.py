"""Sensitivity: tornado and 2-D grids around a base design, netCDF with units, DuckDB table, plots."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from archsweep.cli.app import main
from archsweep.load.calibration import load_calibration
from archsweep.load.sensitivity import parse_sensitivity
from archsweep.load.study import load_study
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.results import store
from archsweep.sensitivity import grid_dataset, tornado_dataset
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.hardware import HARDWARE_PARAMETERS, HardwareArrays


@pytest.fixture(scope="module")
def tiny():
    return load_study("tiny")


def test_default_tornado_spans_what_the_study_explores(tiny) -> None:
    spec = parse_sensitivity(None, tiny)
    settings = {p.name: (p.low, p.high) for p in spec.tornado}
    assert settings["compute_units"] == (66.0, 198.0)
    assert settings["hbm_generation"] == ("HBM3", "HBM3e")
    assert spec.workloads == tiny.workloads


def test_bad_sections_name_key_and_allowed(tiny) -> None:
    with pytest.raises((InputError, InputErrors), match=r"sensitivity.tornado.warp_drive"):
        parse_sensitivity({"tornado": {"warp_drive": None}}, tiny)
    with pytest.raises((InputError, InputErrors), match=r"sensitivity.outputs\[0\]"):
        parse_sensitivity({"outputs": ["happiness"]}, tiny)
    with pytest.raises((InputError, InputErrors), match=r"relative"):
        parse_sensitivity({"relative": 2}, tiny)


def test_tornado_matches_the_model_and_moves_the_right_way(tiny) -> None:
    spec = parse_sensitivity({"tornado": {"compute_units": None, "clock_hz": ["1.5 GHz", "2 GHz"]},
                              "base": {"accelerator_count": 64}}, tiny)
    wl, tech, cal = load_workload("llama3-8b"), load_technology(), load_calibration()
    ds = tornado_dataset(spec, wl, tech=tech, calibration=cal)
    base = evaluate_design_batch(HardwareArrays.from_columns({p.name: np.asarray([spec.base[p.name]])
                                                              for p in HARDWARE_PARAMETERS}), wl,
                                 tech=tech, calibration=cal)
    assert float(ds["base_tokens_per_s"]) == pytest.approx(float(base["tokens_per_s"][0]), rel=1e-12)
    tps = ds["tokens_per_s"]
    assert float(tps.sel(parameter="clock_hz", setting="high")) > float(tps.sel(parameter="clock_hz", setting="low"))
    rel = ds["relative_change_tokens_per_s"].values
    assert rel == pytest.approx(tps.values / float(ds["base_tokens_per_s"]) - 1)
    assert ds["usd_per_million_tokens"].attrs["units"] == "USD/Mtoken"
    assert "per million" in ds["usd_per_million_tokens"].attrs["description"]


def test_grid_holds_the_base_design_at_the_base_cell(tiny) -> None:
    spec = parse_sensitivity({"base": {"accelerator_count": 64}, "tornado": {},
                              "grids": [{"x": {"hbm_generation": {"values": ["HBM3", "HBM3e"]}},
                                         "y": {"compute_units": {"values": [66, 132]}}}]}, tiny)
    wl, tech, cal = load_workload("llama3-8b"), load_technology(), load_calibration()
    ds = grid_dataset(spec, spec.grids[0], wl, tech=tech, calibration=cal)
    assert ds["mfu"].dims == ("hbm_generation", "compute_units") and ds["mfu"].shape == (2, 2)
    tornado = tornado_dataset(spec, wl, tech=tech, calibration=cal)
    cell = ds["tokens_per_s"].sel(hbm_generation="HBM3", compute_units=132)   # H100-SXM: HBM3, 132 SMs
    assert float(cell) == pytest.approx(float(tornado["base_tokens_per_s"]), rel=1e-12)
    # HBM3e brings its own per-stack bandwidth: more tokens/s at the same compute
    assert float(ds["tokens_per_s"].sel(hbm_generation="HBM3e", compute_units=132)) >= float(cell)


def test_cli_writes_netcdf_with_units_the_table_and_plots(tmp_path) -> None:
    assert main(["sensitivity", "tiny", "--directory", str(tmp_path)]) == 0
    folder = tmp_path / "results" / "tiny" / "sensitivity"
    ds = xr.open_dataset(folder / "tornado_llama3-8b.nc", engine="scipy")
    assert ds["energy_per_token_j"].attrs["units"] == "J/token"
    assert set(ds["parameter"].values) == {"compute_units", "clock_hz", "hbm_generation", "scaleup_domain_size",
                                           "accelerator_count"}
    assert len(list(folder.glob("tornado_llama3-8b_*.png"))) == 4
    con = store.connect(tmp_path / "results" / "tiny" / "archsweep.duckdb", read_only=True)
    rows = con.execute("SELECT output, count(*) FROM sensitivity WHERE study = 'tiny' GROUP BY output").fetchall()
    assert dict(rows) == {o: 10 for o in ("tokens_per_s", "usd_per_million_tokens", "energy_per_token_j", "mfu")}
    value = con.execute("SELECT value FROM sensitivity WHERE parameter = 'clock_hz' AND setting = 'high' "
                        "AND output = 'tokens_per_s'").fetchone()[0]
    assert value == pytest.approx(float(ds["tokens_per_s"].sel(parameter="clock_hz", setting="high")))
