"""Pareto local search sampler (``local_search_start``): proposes only unevaluated in-grid
neighbours of the feasible non-dominated trials, in bounds and on the steps, deterministic by
seed, cooperating through the study's trials only; the study options are validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from search_study import write_search_study
from search_toy_space import AXES, SPACE, grid_index, objectives

from archsweep.load.study import load_study
from archsweep.search.localsearch import GridAxis, ParetoLocalSearchSampler, grid_axes, neighbours
from archsweep.search.storage import create_search_study, make_sampler, search_storage
from archsweep.search.worker import run_search_worker
from archsweep.spec.errors import InputError, InputErrors

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _run(seed: int, *, trials: int = 120, batch: int = 4, start: int = 40, check: bool = False,
         axes: int = 2) -> list[dict[str, Any]]:
    sampler = ParetoLocalSearchSampler(optuna.samplers.RandomSampler(seed=seed), SPACE, start=start, axes=axes, seed=seed)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    asked: list[dict[str, Any]] = []
    while len(asked) < trials:
        batch_trials = []
        for _ in range(batch):
            before = study.get_trials(deepcopy=False)
            trial = study.ask(SPACE)
            batch_trials.append(trial)
            asked.append(dict(trial.params))
            if check:
                _check_proposal(before, trial.params, start, axes)
        for trial in batch_trials:
            values, constraint = objectives(trial.params)
            trial.set_constraint("limit", constraint)
            study.tell(trial, values)
    return asked


def _check_proposal(before: list[optuna.trial.FrozenTrial], params: dict[str, Any], start: int, axes: int) -> None:
    """A local-phase proposal: on the grid, never a point asked before (finished or running), a
    one- or two-axis neighbour of a feasible non-dominated finished trial."""
    finished = [t for t in before if t.state == optuna.trial.TrialState.COMPLETE]
    if len({grid_index(t.params) for t in finished}) < start:
        return
    index = grid_index(params)
    sizes = [len(AXES[name].values) for name in sorted(AXES)]
    assert all(0 <= i < s for i, s in zip(index, sizes))
    feasible = [t for t in finished if all(v <= 0 for v in t.constraints.values())]
    values = np.array([t.values for t in feasible])
    front = [t for t, v in zip(feasible, values) if not np.any(np.all(values <= v, axis=1) & np.any(values < v, axis=1))]
    asked_before = {grid_index(t.params) for t in before}
    if index in asked_before:  # only the global fallback may repeat: every front neighbour is then known
        for t in front:
            one, two = neighbours(grid_index(t.params), sizes, axes)
            assert set(one + two) <= asked_before
        return
    reachable = set()
    for t in front:
        one, two = neighbours(grid_index(t.params), sizes, axes)
        reachable.update(one + two)
    assert index in reachable


def test_grid_axes_steps_and_order() -> None:
    axes = grid_axes({**SPACE, "d": FloatDistribution(1.0, 2.0)})  # continuous: not an axis
    assert [a.name for a in axes] == ["a", "b", "c"]
    assert axes[0].values == tuple(range(10)) and all(isinstance(v, int) for v in axes[0].values)
    assert axes[1].values == (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
    assert axes[2].values == ("x", "y", "z")
    assert axes[1].index(0.75) == 3 and axes[1].index(0.8) is None and axes[2].index("w") is None


def test_neighbours_in_bounds_one_step() -> None:
    one, two = neighbours((0, 4, 2), (10, 9, 3), 2)
    assert sorted(one) == sorted([(1, 4, 2), (0, 3, 2), (0, 5, 2), (0, 4, 1)])  # a and c at their ends
    for n in one + two:
        assert all(0 <= i < s for i, s in zip(n, (10, 9, 3)))
        moved = [abs(x - y) for x, y in zip(n, (0, 4, 2))]
        assert max(moved) == 1 and sum(moved) == (1 if n in one else 2)
    assert len(two) == 2 + 1 + 2  # (a,b): +a x +-b; (a,c): +a x -c; (b,c): +-b x -c
    assert neighbours((0, 4, 2), (10, 9, 3), 1)[1] == []


def test_local_phase_proposes_unevaluated_grid_neighbours_of_the_front() -> None:
    asked = _run(0, check=True)
    local = asked[40:]
    assert len({grid_index(p) for p in local}) == len(local)  # the grid has 270 points: no fallback needed here


def test_one_axis_mode() -> None:
    _run(3, trials=80, axes=1, check=True)


def test_deterministic_by_seed() -> None:
    assert _run(5, trials=64) == _run(5, trials=64)
    assert _run(5, trials=64) != _run(6, trials=64)


def test_local_search_improves_on_random_on_the_toy_front() -> None:
    """The same budget finds more of the exact front than random sampling (seeds 0-2)."""
    grid = [{"a": a, "b": b, "c": c} for a in AXES["a"].values for b in AXES["b"].values for c in AXES["c"].values]
    feasible = [p for p in grid if objectives(p)[1] <= 0]
    values = np.array([objectives(p)[0] for p in feasible])
    exact = {tuple(v) for v in values if not np.any(np.all(values <= v, axis=1) & np.any(values < v, axis=1))}

    def found(asked: list[dict[str, Any]]) -> int:
        return len({tuple(objectives(p)[0]) for p in asked if objectives(p)[1] <= 0} & exact)

    local = [found(_run(s, trials=100, start=40)) for s in range(3)]
    plain = [found(_run(s, trials=100, start=10_000)) for s in range(3)]  # never starts: random only
    assert sum(local) > sum(plain)


def test_parameters_off_the_grid_go_to_the_global_sampler() -> None:
    space = {**SPACE, "d": FloatDistribution(1.0, 2.0)}
    sampler = ParetoLocalSearchSampler(optuna.samplers.RandomSampler(seed=0), space, start=5, seed=0)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    for _ in range(30):
        trial = study.ask(space)
        assert 1.0 <= trial.params["d"] <= 2.0
        study.tell(trial, objectives(trial.params)[0])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="axes: got 3"):
        ParetoLocalSearchSampler(optuna.samplers.RandomSampler(), SPACE, start=1, axes=3)
    with pytest.raises(ValueError, match="start: got -1"):
        ParetoLocalSearchSampler(optuna.samplers.RandomSampler(), SPACE, start=-1)
    assert GridAxis("a", (1, 2)).index(3) is None


# ---------------------------------------------------------------------------------------
# Study file: options, validation, the real worker
# ---------------------------------------------------------------------------------------

_CLOCK = '{range: ["1.2 GHz", "1.8 GHz"], step: "0.2 GHz"}'


def _study(folder: Path, sampler: str, compute_units: str = "{values: [66, 99, 132]}", clock_hz: str = _CLOCK) -> Path:
    return write_search_study(folder, "lstest", power_max="800 W", description="Local-search option tests.",
                              parameters={"compute_units": compute_units, "clock_hz": clock_hz}, sampler=sampler,
                              trials=10, batch_size=4, seed=2)


def test_worker_runs_with_local_search(tmp_path: Path) -> None:
    path = _study(tmp_path, "{name: tpe, options: {multivariate: true, local_search_start: 0.4, local_search_axes: 1}}")
    study = load_study(path)
    assert isinstance(make_sampler(study.search, 0), ParetoLocalSearchSampler)  # type: ignore[arg-type]
    results = tmp_path / "results"
    create_search_study(study, results=results)
    report = run_search_worker(path, 0, results=results, progress=False)
    trials = optuna.load_study(study_name=study.name, storage=search_storage(study, results)).get_trials()
    assert report.told == 10
    evaluated = [t for t in trials if "duplicate_of" not in t.user_attrs]
    assert len({tuple(sorted(t.params.items())) for t in evaluated}) == 10


@pytest.mark.parametrize(("sampler", "key", "allowed"), [
    ("{name: tpe, options: {local_search_start: 1.5}}", "search.sampler.options.local_search_start", "got 1.5; allowed: a number <= 1"),
    ("{name: nsga2, options: {local_search_axes: 3}}", "search.sampler.options.local_search_axes", "1, 2"),
    ("{name: grid, options: {local_search_start: 0.5}}", "search.sampler.options.local_search_start", "none"),
    ("{name: tpe, options: {group: true}}", "search.sampler.options.group", "multivariate: true"),
])
def test_bad_options_name_key_value_and_allowed(tmp_path: Path, sampler: str, key: str, allowed: str) -> None:
    path = _study(tmp_path, sampler)
    with pytest.raises((InputError, InputErrors)) as info:
        load_study(path)
    text = str(info.value)
    assert str(path) in text and key in text and allowed in text


def test_local_search_needs_a_discrete_parameter(tmp_path: Path) -> None:
    path = _study(tmp_path, "{name: tpe, options: {local_search_start: 0.5}}", compute_units="{range: [66, 132]}",
                  clock_hz='{range: ["1.2 GHz", "1.8 GHz"]}')
    with pytest.raises((InputError, InputErrors), match=r"local_search_start.*at least one discrete parameter"):
        load_study(path)


def test_state_is_read_back_from_the_study(tmp_path: Path) -> None:
    """Two workers on one storage never get the same new point in a batch, and a sampler made
    afresh on a study in progress (a restarted worker) proposes what the running one would."""
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "j.log")))
    optuna.create_study(study_name="s", storage=storage, directions=["minimize", "minimize"])

    def handle(seed: int) -> optuna.Study:
        sampler = ParetoLocalSearchSampler(optuna.samplers.RandomSampler(seed=seed), SPACE, start=30, seed=seed)
        return optuna.load_study(study_name="s", storage=storage, sampler=sampler)

    workers = [handle(0), handle(1)]
    for _ in range(15):
        batch = [w.ask(SPACE) for w in workers for _ in range(2)]
        indices = [grid_index(t.params) for t in batch]
        if len({grid_index(t.params) for t in workers[0].get_trials() if t.state.is_finished()}) >= 30:
            assert len(set(indices)) == len(indices)  # local phase: every point in flight differs
        for w, t in zip([workers[0]] * 2 + [workers[1]] * 2, batch):
            values, constraint = objectives(t.params)
            t.set_constraint("limit", constraint)
            w.tell(t, values)
    running, fresh = handle(0), handle(0)
    running.ask(SPACE)  # warm the memo of one handle, then compare on the next trial number
    trial_a = running.ask(SPACE)
    running.tell(trial_a, state=optuna.trial.TrialState.FAIL)
    proposal_a = running.sampler._propose(running, running.get_trials()[-1])  # type: ignore[attr-defined]
    proposal_b = fresh.sampler._propose(fresh, fresh.get_trials()[-1])  # type: ignore[attr-defined]
    assert proposal_a == proposal_b and proposal_a is not None


def test_default_sampler_adds_the_local_search_on_a_grid_only() -> None:
    from archsweep.load.searchspec import parse_search_spec

    grid = parse_search_spec({"parameters": {"tdp_w": {"values": ["700 W", "800 W"]}}, "trials": 10}, file="s.yaml")
    assert grid.sampler.name == "nsga2" and grid.sampler.option_dict() == {"local_search_start": 0.5}
    sampler = make_sampler(grid, 0)
    assert isinstance(sampler, ParetoLocalSearchSampler) and sampler._start == 5
    continuous = parse_search_spec({"parameters": {"clock_hz": {"range": ["1 GHz", "2 GHz"]}}, "trials": 10}, file="s.yaml")
    assert continuous.sampler.option_dict() == {}
    assert isinstance(make_sampler(continuous, 0), optuna.samplers.NSGAIISampler)
