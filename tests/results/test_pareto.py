"""Pareto filtering and ranking: brute force, Optuna's best_trials, edge cases."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from archsweep.results.pareto import (
    non_dominated_mask,
    pareto_front_indices,
    pareto_ranks,
    to_minimization,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _brute_mask(values: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(values).any(axis=1)
    out = np.zeros(len(values), dtype=bool)
    for j in np.flatnonzero(ok):
        others = values[ok]
        dominated = np.all(others <= values[j], axis=1) & np.any(others < values[j], axis=1)
        out[j] = not dominated.any()
    return out


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("integer", [False, True])
def test_mask_matches_brute_force(k: int, integer: bool) -> None:
    rng = np.random.default_rng(k + 10 * integer)
    for _ in range(20):
        n = int(rng.integers(1, 400))
        values = rng.integers(0, 5, (n, k)).astype(float) if integer else rng.random((n, k))
        values[rng.random(n) < 0.05, 0] = np.nan
        np.testing.assert_array_equal(non_dominated_mask(values), _brute_mask(values))


@pytest.mark.parametrize("k", [3, 4])
def test_large_inputs_exercise_prefilter_and_divide_and_conquer(k: int) -> None:
    rng = np.random.default_rng(7)
    for values in (rng.random((30_000, k)), rng.dirichlet(np.ones(k), size=3_000)):
        mask = non_dominated_mask(values)
        front = values[mask]
        # no front point is dominated by any point; every other point is dominated by a front point
        for chunk in np.array_split(np.arange(len(values)), 30):
            q = values[chunk]
            dom = (np.all(front[None] <= q[:, None], 2) & np.any(front[None] < q[:, None], 2)).any(1)
            np.testing.assert_array_equal(dom, ~mask[chunk])


def test_duplicates_all_on_front_and_nan_never() -> None:
    values = np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0], [2.0, 2.0], [np.nan, 0.0], [0.5, np.nan]])
    np.testing.assert_array_equal(non_dominated_mask(values), [True, True, True, False, False, False])
    v3 = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 2.0], [np.nan, 0, 0]])
    np.testing.assert_array_equal(non_dominated_mask(v3), [True, True, False, False])


def test_infinite_values_are_ordinary() -> None:
    values = np.array([[np.inf, 0.0, 0.0], [0.0, np.inf, 0.0], [1.0, 1.0, 1.0], [2.0, 2.0, np.inf]])
    np.testing.assert_array_equal(non_dominated_mask(values), [True, True, True, False])


@pytest.mark.parametrize("directions", [["minimize", "maximize"], ["maximize", "minimize", "maximize"],
                                        ["minimize", "minimize", "maximize", "maximize"]])
def test_agrees_with_optuna_best_trials(directions: list[str]) -> None:
    rng = np.random.default_rng(len(directions))
    values = rng.integers(0, 8, (300, len(directions))).astype(float)
    study = optuna.create_study(directions=directions)
    study.add_trials([optuna.trial.create_trial(values=list(v)) for v in values])
    expected = sorted(t.number for t in study.best_trials)
    assert pareto_front_indices(values, directions).tolist() == expected


def test_to_minimization_is_the_flip() -> None:
    values = np.array([[1.0, 2.0], [3.0, -4.0]])
    np.testing.assert_array_equal(to_minimization(values, ["maximize", "minimize"]), [[-1.0, 2.0], [-3.0, -4.0]])
    with pytest.raises(ValueError, match="directions\\[1\\]"):
        to_minimization(values, ["minimize", "biggest"])
    with pytest.raises(ValueError, match="one direction per column"):
        to_minimization(values, ["minimize"])


def test_ranks_are_successive_fronts() -> None:
    rng = np.random.default_rng(3)
    values = rng.random((200, 3))
    values[5] = np.nan
    ranks = pareto_ranks(values, ["minimize"] * 3)
    assert ranks[5] == -1
    remaining = np.flatnonzero(ranks >= 0)
    rank = 0
    while remaining.size:
        front = _brute_mask(values[remaining])
        assert np.all(ranks[remaining[front]] == rank)
        remaining = remaining[~front]
        rank += 1
    capped = pareto_ranks(values, ["minimize"] * 3, max_rank=1)
    np.testing.assert_array_equal(capped, np.where(ranks > 1, 2, ranks))


def test_moocore_path_equals_reference_on_ties_infinities_and_large_inputs() -> None:
    """The library path gives the same front as the pure-numpy reference: duplicates, +/-inf,
    NaN rows, discrete (tied) values, and a 50k-row input that exercises the prefilter."""
    from archsweep.results.pareto_reference import reference_mask

    rng = np.random.default_rng(3)
    for n, k in [(200, 2), (200, 3), (300, 4), (50_000, 3)]:
        values = rng.integers(0, 12, (n, k)).astype(float)
        values[rng.random((n, k)) < 0.02] = np.inf
        values[rng.random(n) < 0.01, 0] = np.nan
        values[: n // 10] = values[n // 10: 2 * (n // 10)]  # duplicates
        np.testing.assert_array_equal(non_dominated_mask(values), reference_mask(values))


def _peeled_ranks(values: np.ndarray, depth: int) -> np.ndarray:
    """Ranks 0..depth by peeling the reference front (rows deeper: depth + 1; NaN rows: -1)."""
    from archsweep.results.pareto_reference import reference_mask

    ranks = np.full(len(values), -1)
    remaining = np.flatnonzero(~np.isnan(values).any(axis=1))
    for rank in range(depth + 1):
        front = reference_mask(values[remaining])
        ranks[remaining[front]] = rank
        remaining = remaining[~front]
    ranks[remaining] = depth + 1
    return ranks


@pytest.mark.parametrize("seed", range(6))
def test_the_sampled_pivot_prefilter_keeps_front_and_ranks_exact(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The depth prefilter (pivots of the deepest front of a random sample, applied before peeling) changes no
    rank and no front row: correlated objectives as a sweep gives them, ties, +/-inf, NaN rows and duplicates,
    2 to 4 objectives, depths 0 to 4; the sample shrunk to 500 rows so that 2,000-40,000 rows take that path
    (several rounds of sampling)."""
    monkeypatch.setattr("archsweep.results.pareto._PIVOT_SAMPLE_ROWS", 500)
    rng = np.random.default_rng(seed)
    n, k, depth = int(rng.integers(2_000, 40_000)), int(rng.integers(2, 5)), int(rng.integers(0, 5))
    size = rng.lognormal(0.0, 1.0, n)
    values = np.column_stack([size ** -1.0] + [size ** rng.uniform(0.3, 1.0) for _ in range(k - 1)])
    values *= rng.lognormal(0.0, rng.uniform(0.05, 0.5), (n, k))
    if seed % 2:
        values = np.round(values, 1)  # ties
    values[rng.integers(0, n, 20), rng.integers(0, k)] = np.inf
    values[rng.integers(0, n, 20), 0] = np.nan
    values[: n // 20] = values[n // 20: 2 * (n // 20)]  # duplicates
    directions = ["minimize"] * k
    np.testing.assert_array_equal(pareto_ranks(values, directions, max_rank=depth), _peeled_ranks(values, depth))
    np.testing.assert_array_equal(non_dominated_mask(values), _peeled_ranks(values, 0) == 0)


def test_the_pivot_prefilter_with_no_front_that_deep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every row on the front, or every row equal: the sample has no rank-``depth`` row, no pivot, no row dropped."""
    monkeypatch.setattr("archsweep.results.pareto._PIVOT_SAMPLE_ROWS", 500)
    x = np.random.default_rng(0).random(5_000)
    for values in (np.column_stack([x, 1.0 - x, np.zeros_like(x)]), np.ones((5_000, 3))):
        np.testing.assert_array_equal(pareto_ranks(values, ["minimize"] * 3, max_rank=3), np.zeros(5_000, dtype=int))
        assert non_dominated_mask(values).all()
