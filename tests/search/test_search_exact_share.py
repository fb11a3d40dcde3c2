"""Exact design objectives on a late share of the surrogate's trials (``surrogate_exact_share``, issue 14, s26-S):
which trials the exact-design surrogate proposes, that the search is the plain surrogate's before them, and the
sampler's argument checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
import yaml

from archsweep.load.study import load_study
from archsweep.search.acquisition import best_candidate
from archsweep.search.exactshare import EXACT_SHARE_START, WIDEN, ExactShareSampler
from archsweep.search.proposing import to_global
from archsweep.search.storage import distributions, make_sampler, search_spec
from archsweep.search.surrogate import SurrogateSampler
from archsweep.search.worker import batch_context, design_objectives

optuna.logging.set_verbosity(optuna.logging.WARNING)

_PARAMETERS = {"compute_units": {"values": [66, 110, 154, 198, 242]}, "hbm_stacks": {"values": [4, 5, 6]},
               "scaleup_bw_bytes_per_s": {"values": ["450 GB/s", "900 GB/s", "1800 GB/s"]}}
_SURROGATE = {"surrogate_share": 0.5, "surrogate_start": 0.1, "surrogate_pool": "both", "surrogate_grid_share": 0.5}


def _study(folder: Path, options: dict[str, object], trials: int = 40) -> Path:
    """A llama3-8b search study on H100-SXM variants: tokens/s up, the package price and energy down."""
    path = folder / "share.yaml"
    path.write_text(yaml.safe_dump({
        "name": "exactshare", "description": "exact design objectives on a share", "workloads": ["llama3-8b"],
        "base": "H100-SXM",
        "objectives": [{"column": "tokens_per_s", "direction": "maximize"},
                       {"column": "accelerator_cost_usd", "direction": "minimize"},
                       {"column": "energy_per_token_j", "direction": "minimize"}],
        "search": {"parameters": _PARAMETERS, "trials": trials, "batch_size": 4, "seed": 3,
                   "sampler": {"name": "random", "options": options}}}))
    return path


def _values(params: dict[str, Any]) -> list[float]:
    """Synthetic objectives of a point (tokens/s, price, energy): the surrogate reads only the told values."""
    units, stacks, bandwidth = params["compute_units"], params["hbm_stacks"], params["scaleup_bw_bytes_per_s"]
    return [units * (1 + 0.1 * stacks), 50.0 * units + 300.0 * stacks + bandwidth / 1e9, 1.0 / units + 0.01 * stacks]


def _asked(sampler: optuna.samplers.BaseSampler, space: dict[str, Any], trials: int) -> list[dict[str, Any]]:
    study = optuna.create_study(directions=["maximize", "minimize", "minimize"], sampler=sampler)
    out = []
    while len(out) < trials:
        batch = [study.ask(space) for _ in range(4)]
        for trial in batch:
            out.append(dict(trial.params))
            study.tell(trial, _values(trial.params))
    return out


def test_the_search_is_the_plain_surrogates_before_the_start(tmp_path: Path) -> None:
    """Before half the trials are finished the option proposes what the plain surrogate proposes; it runs to the
    end and reaches the exact-design surrogate."""
    study = load_study(_study(tmp_path, {**_SURROGATE, "surrogate_exact_share": 0.25}))
    spec = search_spec(study)
    design = design_objectives(batch_context(study))
    shared = make_sampler(spec, 0, objectives=3, design=design)
    assert isinstance(shared, ExactShareSampler)
    calls: list[int] = []
    inner = shared._exact_sampler
    original = inner._propose
    inner._propose = lambda s, t: (calls.append(t.number), original(s, t))[1]  # type: ignore[method-assign]
    with_option = _asked(shared, distributions(spec), 40)
    plain = load_study(_study(tmp_path, dict(_SURROGATE)))
    without = _asked(make_sampler(search_spec(plain), 0, objectives=3), distributions(spec), 40)
    start = round(EXACT_SHARE_START * 40)
    assert with_option[:start] == without[:start]
    assert calls and min(calls) >= start
    for number in calls:
        rank = int((number + 1) * 0.5) - 1
        assert to_global(number, 0.5) and to_global(rank, 0.25) and to_global(rank, 0.5)  # whole-grid trials


def test_exact_trials_are_the_share_of_the_surrogates_own_by_rank(tmp_path: Path) -> None:
    """``is_exact``: a surrogate trial (share 0.5: the odd numbers) whose rank r has floor((r + 1) x) > floor(r x),
    once ``start`` distinct points are finished."""
    study = load_study(_study(tmp_path, {**_SURROGATE, "surrogate_exact_share": 0.25}))
    space = distributions(search_spec(study))
    main = optuna.samplers.RandomSampler(seed=0)
    plain = SurrogateSampler(main, space, start=2, share=0.5)
    sampler = ExactShareSampler(main, space, plain=plain, exact=plain, share=0.5, exact_share=0.25, start=8)
    ostudy = optuna.create_study(directions=["maximize", "minimize", "minimize"], sampler=sampler)
    exact = []
    for _ in range(24):
        trial = ostudy.ask(space)
        frozen = ostudy._storage.get_trial(trial._trial_id)
        exact.append(sampler.is_exact(ostudy, frozen))
        ostudy.tell(trial, _values(trial.params))
    assert [n for n, e in enumerate(exact) if e] == [n for n in range(8, 24) if n % 8 == 7]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"exact_share": 0.0}, "exact_share: got 0.0"), ({"exact_share": 1.5}, "exact_share: got 1.5"),
    ({"share": 0.0}, "share: got 0.0"), ({"start": -1}, "start: got -1"),
])
def test_arguments_are_checked(tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    space = distributions(search_spec(load_study(_study(tmp_path, dict(_SURROGATE)))))
    main = optuna.samplers.RandomSampler(seed=0)
    plain = SurrogateSampler(main, space, start=2, share=0.5)
    arguments: dict[str, Any] = {"share": 0.5, "exact_share": 0.25, "start": 8, **kwargs}
    with pytest.raises(ValueError, match=match):
        ExactShareSampler(main, space, plain=plain, exact=plain, **arguments)


def test_make_sampler_needs_the_design_objectives(tmp_path: Path) -> None:
    study = load_study(_study(tmp_path, {**_SURROGATE, "surrogate_exact_share": 0.25}))
    with pytest.raises(ValueError, match="surrogate_exact_share"):
        make_sampler(search_spec(study), 0, objectives=3)
    assert not np.isnan(EXACT_SHARE_START)


def test_the_wide_reference_credits_a_design_beyond_the_found_nadir() -> None:
    """A candidate cheaper than every found point but slower than the found front's slowest, by more than 10 % of
    its range, is outside the usual reference (no gain, nothing proposed) and inside the wide one (proposed)."""
    found = np.array([[-10.0, 5.0], [-8.0, 4.0], [-6.0, 3.0]])  # (-tokens/s, price), minimised
    cheap = np.array([[-4.0, 1.0]])  # 2.0 slower than the slowest found: one range (4.0) past the nadir is -2.0
    args = (found, found, cheap, np.ones(1), np.ones(1, dtype=bool), 0.0)
    assert best_candidate(*args) is None
    assert best_candidate(*args, WIDEN) == 0
