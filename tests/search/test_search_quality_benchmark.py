"""The search-quality benchmark's own helpers (benchmarks/search_quality.py): its curve, its grid
indexing and its sampler syntax, on tiny inputs (no model evaluation)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import load_benchmark

from archsweep.load.study import load_study
from archsweep.results.hypervolume import hypervolume

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("search_quality")


def test_curve_grows_to_one_with_the_whole_front_and_ignores_infeasible_rows(bench):
    front = np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]])
    reference = front.max(axis=0)  # the front's nadir, as the benchmark uses
    exact = hypervolume(front, reference)
    assert exact == pytest.approx(3.0)  # unit squares under the staircase: 1 + 1 + 1
    dominated = np.array([[2.5, 2.5], [-1.0, -1.0]])  # the second one dominates all but is infeasible
    rows = np.vstack([dominated, front[1:3], front[[0, 3]]])
    feasible = np.array([True, False, True, True, True, True])
    curve = bench.hypervolume_curve(rows, feasible, [1, 2, 3, 4, 6], reference, exact)
    assert curve[0] == pytest.approx(0.25 / 3.0)  # (3 - 2.5) x (3 - 2.5)
    assert curve[1] == curve[0]
    assert np.all(np.diff(curve) >= 0)
    assert curve[-1] == pytest.approx(1.0)


def test_grid_index_inverts_the_grid_order_even_with_float_noise(bench):
    study = load_study(ROOT / "benchmarks" / "spaces" / "search-quality.yaml")
    axes = bench.grid_axes(study)
    total = math.prod(len(v) for _, v in axes)
    assert total == 80_000  # the size the benchmark's README figures were measured on
    flat = np.array([0, 1, 4999, 40_000, total - 1])
    params = [bench._grid_params(axes, int(i), int(i) + 1)[0] for i in flat]
    noisy = [{k: v * (1 + 1e-12) if isinstance(v, float) else v for k, v in p.items()} for p in params]
    assert np.array_equal(bench.grid_index(axes, noisy), flat)


def test_sampler_text(bench):
    assert bench.parse_sampler("nsga2") == {"name": "nsga2"}
    assert bench.parse_sampler("tpe:multivariate=true,n_startup_trials=50") == {
        "name": "tpe", "options": {"multivariate": True, "n_startup_trials": 50}}


def test_variant_file_overrides_the_batch_size_only_when_asked(bench, tmp_path):
    import yaml

    doc = yaml.safe_load((ROOT / "benchmarks" / "spaces" / "search-quality.yaml").read_text())
    kept = load_study(bench.variant_file(doc, tmp_path, sampler="tpe:multivariate=true", seed=1, trials=80,
                                         strategy=None))
    small = load_study(bench.variant_file(doc, tmp_path, sampler="tpe:multivariate=true", seed=1, trials=80,
                                          strategy=None, batch_size=16))
    assert kept.search is not None and small.search is not None
    assert kept.search.batch_size == doc["search"]["batch_size"] == 64
    assert small.search.batch_size == 16
    assert small.search.sampler.option_dict() == {"multivariate": True} and small.search.seed == 1
    assert kept.name != small.name  # separate Optuna studies in one storage folder
