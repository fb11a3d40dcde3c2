"""Hypervolume (moocore) against Optuna's private helper and brute force."""

from __future__ import annotations

import numpy as np
import pytest

from archsweep.results.hypervolume import hypervolume, hypervolume_history


def _grid_volume(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact volume for integer points: count unit cells [c, c+1) dominated by a point."""
    k = points.shape[1]
    low = points.min(axis=0).astype(int)
    axes = [np.arange(low[j], int(ref[j])) for j in range(k)]
    cells = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, k)
    covered = np.zeros(len(cells), dtype=bool)
    for p in points:
        covered |= np.all(cells >= p, axis=1)
    return float(covered.sum())


@pytest.mark.parametrize("k", [2, 3, 4])
def test_matches_integer_cell_count(k: int) -> None:
    rng = np.random.default_rng(k)
    for _ in range(10):
        points = rng.integers(0, 7, (int(rng.integers(1, 25)), k)).astype(float)
        ref = np.full(k, 7.0)
        assert hypervolume(points, ref) == pytest.approx(_grid_volume(points, ref), rel=1e-12)


@pytest.mark.parametrize("k,n", [(2, 300), (3, 150), (4, 60)])
def test_matches_optuna(k: int, n: int) -> None:
    wfg = pytest.importorskip("optuna._hypervolume")  # private API: used only as a test oracle
    rng = np.random.default_rng(n)
    points = rng.dirichlet(np.ones(k), size=n)
    ref = np.full(k, 1.05)
    assert hypervolume(points, ref) == pytest.approx(wfg.compute_hypervolume(points, ref), rel=1e-10)


def test_monte_carlo_3d() -> None:
    rng = np.random.default_rng(1)
    points = rng.random((30, 3))
    ref = np.ones(3)
    samples = rng.random((400_000, 3))
    covered = np.zeros(len(samples), dtype=bool)
    for p in points:
        covered |= np.all(samples >= p, axis=1)
    assert hypervolume(points, ref) == pytest.approx(covered.mean(), abs=0.005)


def test_points_outside_reference_and_nan_add_nothing() -> None:
    ref = np.array([2.0, 2.0])
    assert hypervolume(np.array([[1.0, 1.0]]), ref) == 1.0
    assert hypervolume(np.array([[1.0, 1.0], [3.0, 0.0], [np.nan, 0.0], [2.0, 0.0]]), ref) == 1.0
    assert hypervolume(np.empty((0, 2)), ref) == 0.0
    with pytest.raises(ValueError, match="reference_point"):
        hypervolume(np.ones((1, 3)), ref)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_history_equals_prefix_volumes(k: int) -> None:
    rng = np.random.default_rng(k)
    points = rng.random((40, k))
    points[3] = np.nan
    points[7] = 2.0  # outside the reference box
    points[9] = points[8]  # duplicate
    ref = np.full(k, 1.0)
    history = hypervolume_history(points, ref)
    expected = [hypervolume(points[: i + 1], ref) for i in range(len(points))]
    np.testing.assert_allclose(history, expected, rtol=1e-10, atol=1e-15)
    assert np.all(np.diff(history) >= -1e-15)
