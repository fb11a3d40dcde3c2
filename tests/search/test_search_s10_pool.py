"""The surrogate over the whole grid and per-constraint feasibility models (``surrogate_pool: grid``,
``surrogate_constraints: each``; issue 14's tenth session): the product-kernel grid mean equals the GP's
own prediction, the sampler proposes only points never asked before (each proposal one evaluation), the
same seed gives the same trials, the options reach it, and bad values get clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
import yaml
from search_toy_space import SPACE, asked_and_told, grid_index, objectives

from archsweep.load.searchspec import parse_search_spec
from archsweep.load.study import load_study
from archsweep.search.gp import fit_gp, grid_mean
from archsweep.search.storage import make_sampler
from archsweep.search.surrogate import SurrogateSampler
from archsweep.spec.errors import InputError, InputErrors

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_grid_mean_equals_the_gp_prediction_at_every_grid_point() -> None:
    sizes = (4, 1, 3, 5)
    rng = np.random.default_rng(0)
    grid = np.stack(np.unravel_index(np.arange(int(np.prod(sizes))), sizes), axis=1) / np.maximum(np.array(sizes) - 1, 1)
    rows = rng.choice(len(grid), 25, replace=False)
    gp = fit_gp(grid[rows], np.sin(grid[rows] @ np.array([2.0, 0.0, 1.0, -1.5])))
    assert np.allclose(grid_mean(gp, sizes), gp.predict(grid, std=False)[0], rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="one per input"):
        grid_mean(gp, sizes[:3])


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
    options = {"start": 12, "share": 1.0, "pool": "grid", "constraints": "each", **kwargs}
    return _Recording(optuna.samplers.RandomSampler(seed=seed), SPACE, seed=seed, **options)


@pytest.mark.parametrize("constraints", ["each", "max"])
def test_whole_grid_proposals_are_new_points_and_seeded(constraints: str) -> None:
    sampler = _surrogate(constraints=constraints)
    asked = asked_and_told(sampler, 80, objectives)
    indices = [grid_index(p) for p in asked]
    assert len(sampler.proposed) > 40
    for n in sampler.proposed:  # never a point finished or in flight: every proposal is one new evaluation
        assert indices[n] not in indices[:n]
    again = _surrogate(constraints=constraints)
    assert asked_and_told(again, 80, objectives) == asked and again.proposed == sampler.proposed
    assert asked_and_told(_surrogate(seed=1, constraints=constraints), 80, objectives) != asked


def test_per_constraint_model_proposes_mostly_feasible_points() -> None:
    sampler = _surrogate()
    asked = asked_and_told(sampler, 80, objectives)
    feasible = [objectives(asked[n])[1] <= 0 for n in sampler.proposed]
    assert sum(feasible) >= 0.8 * len(feasible)


def test_argument_errors() -> None:
    with pytest.raises(ValueError, match="pool: got 'all'; allowed: neighbours or grid"):
        _surrogate(pool="all")
    with pytest.raises(ValueError, match="constraints: got 'sum'; allowed: max or each"):
        _surrogate(constraints="sum")


def _spec(options: dict[str, Any]) -> Any:
    return parse_search_spec({"parameters": {"tdp_w": {"values": ["700 W", "800 W", "900 W"]},
                                             "compute_units": {"range": [66, 132], "step": 22}},
                              "sampler": {"name": "tpe", "options": options}, "trials": 100}, file="s.yaml")


def test_options_reach_the_sampler() -> None:
    sampler = make_sampler(_spec({"surrogate_share": 0.5, "surrogate_pool": "grid", "surrogate_constraints": "each"}), 0)
    assert isinstance(sampler, SurrogateSampler) and sampler._whole and sampler._each
    plain = make_sampler(_spec({"surrogate_share": 0.5}), 0)
    assert isinstance(plain, SurrogateSampler) and not plain._whole and not plain._each


@pytest.mark.parametrize(("options", "key", "allowed"), [
    ({"surrogate_share": 0.5, "surrogate_pool": "all"}, "surrogate_pool: got 'all'", "one of"),
    ({"surrogate_share": 0.5, "surrogate_constraints": 1}, "surrogate_constraints: got 1", "one of"),
    ({"surrogate_pool": "grid"}, "surrogate_pool: got 'grid'", "surrogate_share > 0 alongside"),
    ({"surrogate_constraints": "each"}, "surrogate_constraints: got 'each'", "surrogate_share > 0 alongside"),
])
def test_bad_options(tmp_path: Path, options: dict[str, Any], key: str, allowed: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({
        "name": "s10opt", "description": "options", "workloads": ["llama3-8b"], "base": "H100-SXM",
        "objectives": [{"column": "tokens_per_s", "direction": "maximize"}, {"column": "power_w", "direction": "minimize"}],
        "search": {"parameters": {"tdp_w": {"values": ["700 W", "800 W"]}}, "trials": 10,
                   "sampler": {"name": "tpe", "options": options}}}))
    with pytest.raises((InputError, InputErrors)) as info:
        load_study(path)
    assert f"{path}: search.sampler.options.{key}" in str(info.value)
    assert allowed in str(info.value)
