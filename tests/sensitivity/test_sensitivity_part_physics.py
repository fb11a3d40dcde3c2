"""``archsweep sensitivity`` over part-physics columns (issue 10): a tornado and an xarray grid over
``fp8_matrix_efficiency_ratio`` and ``host_link_bw_bytes_per_s`` on a study's ``{model, training}`` entries
(an FP8 job, a BF16 job offloading activations to host memory) and a plain models/ stem, end to end through
the command line. The response is the physics: FP8 GEMMs at a larger share of the FP8 peak make an FP8 step
shorter and leave a BF16 step alone; a faster host link hides more of the offload copies (never slower,
flat once they hide) and leaves a job that offloads nothing alone; no host link makes offloading infeasible."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from archsweep.cli.app import main
from archsweep.load.sensitivity import parse_sensitivity
from archsweep.load.study import load_study
from archsweep.spec.errors import InputError, InputErrors

STUDY = """name: physics-sens
base: H100-SXM
workloads:
  - model: llama3-8b
    name: l8-fp8
    training: {global_batch: {sequences: 64}, precision: fp8, low_precision_recipe: current}
  - model: llama3-8b
    name: l8-offload
    training: {global_batch: {sequences: 64}, activation_offload_layers: 8}
  - llama3-8b
objectives:
  - {column: tokens_per_s, direction: maximize}
parameters:
  accelerator_count: {values: [8]}
sampling: {method: grid}
sensitivity:
  base: {accelerator_count: 8}
  tornado:
    fp8_matrix_efficiency_ratio: [0.8, 1.2]
    host_link_bw_bytes_per_s: ["8 GB/s", "128 GB/s"]
  grids:
    - x: {fp8_matrix_efficiency_ratio: {values: [0.8, 0.9, 1.0, 1.1, 1.2]}}
      y: {host_link_bw_bytes_per_s: {values: ["0 GB/s", "4 GB/s", "16 GB/s", "55 GB/s", "64 GB/s", "256 GB/s"]}}
  outputs: [step_time_s, tokens_per_s]
"""
GRID = "fp8_matrix_efficiency_ratio__host_link_bw_bytes_per_s"
H100_HOST_LINK = 55e9  # the base part's host link: measured PCIe Gen5 x16 rate per direction (data/hardware/catalog.yaml)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("physics-sens")
    (root / "physics-sens.yaml").write_text(STUDY)
    assert main(["sensitivity", str(root / "physics-sens.yaml"), "--directory", str(root)]) == 0
    folder = root / "results" / "physics-sens" / "sensitivity"

    def read(kind: str, workload: str) -> xr.Dataset:
        name = f"tornado_{workload}.nc" if kind == "tornado" else f"grid_{GRID}_{workload}.nc"
        return xr.load_dataset(folder / name, engine="scipy")
    return read


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    path = tmp_path_factory.mktemp("study") / "physics-sens.yaml"
    path.write_text(STUDY)
    return load_study(path)


def test_the_tornado_starts_from_the_base_part_physics(study):
    base = parse_sensitivity({"base": {"accelerator_count": 8}}, study).base
    assert base["host_link_bw_bytes_per_s"] == H100_HOST_LINK
    assert base["fp8_matrix_efficiency_ratio"] == pytest.approx(0.8827, abs=1e-4)  # MAMF FP8 / BF16 share


def test_a_higher_fp8_efficiency_shortens_an_fp8_step_and_leaves_bf16_alone(written):
    fp8 = written("grid", "l8-fp8")["step_time_s"]
    assert fp8.dims == ("fp8_matrix_efficiency_ratio", "host_link_bw_bytes_per_s")
    steps = fp8.values
    assert np.all(np.isfinite(steps))  # nothing offloaded: no host link needed
    assert np.all(np.diff(steps, axis=0) < 0)  # strictly faster along the ratio
    assert np.all(steps == steps[:, :1])  # the host link does not matter to a job that offloads nothing
    # 0.8 -> 1.2 is 1.5x the FP8 GEMM rate: the step shrinks, by less than the GEMM share can give
    assert 1.0 < steps[0, 0] / steps[-1, 0] < 1.5
    tornado = written("tornado", "l8-fp8")
    tps = tornado["tokens_per_s"].sel(parameter="fp8_matrix_efficiency_ratio")
    assert float(tps.sel(setting="high")) > float(tornado["base_tokens_per_s"]) > float(tps.sel(setting="low"))
    for workload in ("l8-offload", "llama3-8b"):  # BF16 jobs: FP8 physics do not apply
        bf16 = written("grid", workload)["step_time_s"].values
        assert np.array_equal(bf16, np.broadcast_to(bf16[:1, :], bf16.shape), equal_nan=True), workload


def test_a_faster_host_link_hides_more_offload_copies(written):
    grid = written("grid", "l8-offload")["step_time_s"].sel(fp8_matrix_efficiency_ratio=1.0)
    links = grid["host_link_bw_bytes_per_s"].values
    steps = grid.values
    assert links[0] == 0 and np.isnan(steps[0])  # no host link: offloading is infeasible, not timed
    assert np.all(np.diff(steps[1:]) <= 0)  # never slower with a faster link
    assert steps[1] > steps[2] > steps[-1]  # 4 -> 16 GB/s -> 256 GB/s: exposed copies shrink
    tornado = written("tornado", "l8-offload")["step_time_s"].sel(parameter="host_link_bw_bytes_per_s")
    assert float(tornado.sel(setting="low")) > float(tornado.sel(setting="high"))  # 8 vs 128 GB/s
    plain = written("tornado", "llama3-8b")["relative_change_step_time_s"].sel(parameter="host_link_bw_bytes_per_s")
    assert np.all(plain.values == 0.0)  # the default job offloads nothing


def test_the_grid_and_the_tornado_agree_at_the_same_design(written):
    """The xarray grid (evaluate_grid) and the tornado batch (evaluate_design_batch) read the columns alike."""
    for workload in ("l8-fp8", "l8-offload"):
        grid = written("grid", workload)["step_time_s"]
        tornado = written("tornado", workload)["step_time_s"]
        cell = grid.sel(fp8_matrix_efficiency_ratio=0.8, host_link_bw_bytes_per_s=H100_HOST_LINK)
        low = tornado.sel(parameter="fp8_matrix_efficiency_ratio", setting="low")  # 0.8 at the base host link
        assert float(cell) == pytest.approx(float(low), rel=1e-12), workload


def test_sensitivity_workloads_name_a_training_entry_or_a_model(study):
    assert parse_sensitivity(None, study).workloads == ("l8-fp8", "l8-offload", "llama3-8b")
    assert parse_sensitivity({"workloads": ["l8-offload"]}, study).workloads == ("l8-offload",)
    with pytest.raises((InputError, InputErrors), match=r"sensitivity.workloads\[0\].*l8-fp8, l8-offload"):
        parse_sensitivity({"workloads": ["l8-nope"]}, study)
