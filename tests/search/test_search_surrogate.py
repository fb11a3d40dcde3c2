"""Gaussian-process surrogate proposals (``surrogate_share``, issue 14's seventh session): the GP fits
and predicts a smooth function, its likelihood gradient is right, the sampler proposes new grid
points only (never a finished or in-flight one), after its start and before its stop, the same seed
gives the same trials, and the options reach it and are validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from search_study import sampler_options_error
from search_toy_space import AXES, SPACE, asked_and_told

from archsweep.load.searchspec import parse_search_spec
from archsweep.results.pareto import non_dominated_mask
from archsweep.search.gp import _neg_log_likelihood, fit_gp
from archsweep.search.localsearch import ParetoLocalSearchSampler
from archsweep.search.storage import make_sampler
from archsweep.search.surrogate import SurrogateSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)
NAMES = sorted(AXES)


def _objectives(p: dict[str, Any]) -> tuple[list[float], float]:
    c = "xyz".index(p["c"])
    return [1 + p["a"] + 2 * p["b"] + c, 1 + (9 - p["a"]) ** 2 + (2 - p["b"]) * 3 + (2 - c) * 0.5], float(p["a"] + p["b"] - 10)


def _index(p: dict[str, Any]) -> tuple[int, ...]:
    return tuple(AXES[name].index(p[name]) for name in NAMES)  # type: ignore[misc]


def _run(sampler: optuna.samplers.BaseSampler, trials: int, batch: int = 4) -> list[dict[str, Any]]:
    return asked_and_told(sampler, trials, _objectives, batch)


# -- the Gaussian process ------------------------------------------------------------------------

def test_gp_predicts_a_smooth_function_and_knows_where_it_has_not_looked() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((60, 2)) * np.array([1.0, 0.5])  # nothing seen at x1 > 0.5

    def f(z: np.ndarray) -> np.ndarray:
        return np.sin(3 * z[:, 0]) + z[:, 1] ** 2

    gp = fit_gp(x, f(x))
    inside = rng.random((200, 2)) * np.array([1.0, 0.5])
    mean, sd = gp.predict(inside)
    assert np.abs(mean - f(inside)).max() < 0.02
    far = np.column_stack([rng.random(50), np.full(50, 1.0)])
    assert gp.predict(far)[1].mean() > 5 * sd.mean()
    assert np.array_equal(gp.predict(inside, std=False)[0], mean)


def test_gp_likelihood_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.random((25, 3)), rng.normal(size=25)
    diffs = (x.T[:, :, None] - x.T[:, None, :]) ** 2
    theta = np.array([np.log(0.4), np.log(0.7), np.log(1.3), 0.2, np.log(1e-2)])
    _, grad = _neg_log_likelihood(theta, y, diffs)
    for j in range(len(theta)):
        step = np.zeros_like(theta)
        step[j] = 1e-6
        numeric = (_neg_log_likelihood(theta + step, y, diffs)[0] - _neg_log_likelihood(theta - step, y, diffs)[0]) / 2e-6
        assert grad[j] == pytest.approx(numeric, rel=1e-4, abs=1e-6)


def test_gp_rejects_too_few_points() -> None:
    with pytest.raises(ValueError, match="n >= 2"):
        fit_gp(np.zeros((1, 2)), np.zeros(1))


# -- the sampler ----------------------------------------------------------------------------------

class _Recording(SurrogateSampler):
    """Remembers the trial numbers the surrogate proposed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.proposed: list[int] = []

    def _propose(self, study: optuna.Study, trial: Any) -> dict[str, Any] | None:
        proposal = super()._propose(study, trial)
        if proposal is not None:
            self.proposed.append(trial.number)
        return proposal


def _surrogate(seed: int = 0, **kwargs: Any) -> _Recording:
    options = {"start": 12, "share": 1.0, **kwargs}
    return _Recording(optuna.samplers.RandomSampler(seed=seed), SPACE, seed=seed, **options)


def test_surrogate_proposes_new_points_that_extend_the_front() -> None:
    sampler = _surrogate(beta=0.0)
    asked = _run(sampler, 60)
    indices = [_index(p) for p in asked]
    assert len(sampler.proposed) > 30
    for n in sampler.proposed:  # never a point finished or in flight (every earlier trial)
        assert indices[n] not in indices[:n]

    # Most proposals are (this function being smooth) non-dominated by every point finished before
    # their batch was asked: random draws manage far fewer.
    def extended(order: list[dict[str, Any]], numbers: list[int]) -> int:
        hits = 0
        for n in numbers:
            start = n - n % 4
            seen = np.array([_objectives(p)[0] for p in order[:start] if _objectives(p)[1] <= 0])
            values, limit = _objectives(order[n])
            hits += limit <= 0 and bool(non_dominated_mask(np.vstack([seen, values]))[-1])
        return hits

    random_order = _run(optuna.samplers.RandomSampler(seed=0), 60)
    assert extended(asked, sampler.proposed) >= 2 * extended(random_order, sampler.proposed)


def test_surrogate_is_reproducible_and_respects_start_stop_and_share() -> None:
    assert _run(_surrogate(seed=3), 40) == _run(_surrogate(seed=3), 40)
    sampler = _surrogate(share=0.5, stop=32)
    _run(sampler, 48)
    proposed = sampler.proposed
    assert proposed and min(proposed) >= 12 and max(proposed) < 36  # asked before 32 finished (batches of 4)
    assert all(n % 2 == 1 for n in proposed)  # every other trial


def test_surrogate_argument_errors() -> None:
    with pytest.raises(ValueError, match="share"):
        _surrogate(share=0.0)
    with pytest.raises(ValueError, match="start"):
        _surrogate(start=1)
    with pytest.raises(ValueError, match="beta"):
        _surrogate(beta=-1.0)


# -- options --------------------------------------------------------------------------------------

def _spec(options: dict[str, Any], name: str = "tpe", trials: int = 100) -> Any:
    return parse_search_spec({"parameters": {"tdp_w": {"values": ["700 W", "800 W", "900 W"]},
                                             "compute_units": {"range": [66, 132], "step": 22}},
                              "sampler": {"name": name, "options": options}, "trials": trials}, file="s.yaml")


def test_options_reach_the_sampler() -> None:
    sampler = make_sampler(_spec({"multivariate": True, "local_search_start": 0.5, "surrogate_share": 0.5,
                                  "surrogate_start": 0.1, "surrogate_stop": 0.6, "surrogate_beta": 0.5}), 2)
    assert isinstance(sampler, SurrogateSampler) and isinstance(sampler._main, ParetoLocalSearchSampler)
    assert (sampler._start, sampler._stop, sampler._share, sampler._beta, sampler._seed) == (10, 60, 0.5, 0.5, 2)
    plain = make_sampler(_spec({"surrogate_share": 1.0}, name="random"), 0)
    assert isinstance(plain, SurrogateSampler) and plain._start == 25 and plain._stop is None and plain._beta == 1.0


@pytest.mark.parametrize(("options", "parameters", "key", "allowed"), [
    ({"surrogate_share": 1.5}, None, "surrogate_share: got 1.5", "a number <= 1"),
    ({"surrogate_beta": 1.0}, None, "surrogate_beta: got 1.0", "surrogate_share > 0 alongside"),
    ({"surrogate_share": 0.5, "surrogate_start": 0.4, "surrogate_stop": 0.3}, None, "surrogate_stop: got 0.3",
     "a fraction above surrogate_start (0.4)"),
    ({"surrogate_share": 0.5, "surrogate_stop": 0.2}, None, "surrogate_stop: got 0.2",
     "a fraction above surrogate_start (0.25)"),
    ({"surrogate_share": 0.5}, {"clock_hz": {"range": ["1 GHz", "2 GHz"]}}, "surrogate_share: got 0.5",
     "a search with at least one discrete parameter"),
])
def test_bad_options(tmp_path: Path, options: dict[str, Any], parameters: dict[str, Any] | None, key: str,
                     allowed: str) -> None:
    path, text = sampler_options_error(tmp_path, options, parameters)
    assert f"{path}: search.sampler.options.{key}; allowed: {allowed}" in text
