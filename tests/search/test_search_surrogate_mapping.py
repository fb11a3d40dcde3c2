"""Each workload's chosen mapping as a trial attribute and the surrogate's mapping-aware models
(``surrogate_mapping``, issue 14, s20-E): the worker records the mapping the model chose (duplicates too),
the features and the nearest-trial prediction of a candidate's mapping on a toy, a GP given the mapping
models a step the grid alone smooths, and the sampler stays reproducible per seed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from search_study import sampler_options_error, write_search_study
from search_toy_space import AXES, SPACE

from archsweep.load.study import load_study
from archsweep.search.gp import fit_gp
from archsweep.search.grid import GridAxis
from archsweep.search.mappingattrs import MAPPING_ATTR, mapping_attrs, mapping_features
from archsweep.search.rateaxes import rate_coordinates
from archsweep.search.storage import create_search_study, make_sampler, search_storage
from archsweep.search.surrogate import SurrogateSampler
from archsweep.search.surrogatemapping import MappingInputs, averaged_rows, axis_weights, mapping_inputs
from archsweep.search.surrogatepool import unit
from archsweep.search.worker import batch_context, evaluate_batch, run_search_worker

optuna.logging.set_verbosity(optuna.logging.WARNING)
NAMES = sorted(AXES)


def _mapping(tp: int, pp: int = 1, dp: int = 8, micro_batch: int = 1, recompute: str = "none") -> dict[str, Any]:
    return {"tp": tp, "pp": pp, "dp": dp, "micro_batch": micro_batch, "recompute": recompute}


# -- the attribute ---------------------------------------------------------------------------------

def test_worker_records_each_workloads_chosen_mapping(tmp_path: Path) -> None:
    path = write_search_study(tmp_path, "mapattr", power_max="800 W", sampler="{name: random}", trials=5,
                              batch_size=4, seed=1, parameters={
                                  "compute_units": "{values: [66, 132]}",
                                  "scaleup_bw_bytes_per_s": '{values: ["300 GB/s", "900 GB/s"]}',
                                  "hbm_generation": "{values: [HBM3, HBM3e]}"})
    results = tmp_path / "results"
    study = load_study(path)
    create_search_study(study, results=results)
    run_search_worker(path, 0, results=results, progress=False)
    trials = optuna.load_study(study_name=study.name, storage=search_storage(study, results)).get_trials()
    per_workload = evaluate_batch(batch_context(study), [t.params for t in trials])
    assert len(trials) >= 5
    for row, trial in enumerate(trials):  # duplicates too: told the evaluated trial's mapping
        recorded = trial.user_attrs[MAPPING_ATTR]
        assert list(recorded) == list(study.workloads)
        for name, cols in zip(study.workloads, per_workload):
            assert recorded[name] == {"tp": int(cols["tp"][row]), "pp": int(cols["pp"][row]), "dp": int(cols["dp"][row]),
                                      "micro_batch": int(cols["micro_batch"][row]), "recompute": str(cols["recompute"][row])}


def test_mapping_attrs_and_features() -> None:
    cols = {"candidate_id": np.array(["a", "b"]), "tp": np.array([1.0, 4.0]), "pp": np.array([2.0, 1.0]),
            "dp": np.array([128.0, 64.0]), "micro_batch": np.array([1.0, 2.0]), "recompute": np.array(["none", "full"]),
            "mapping_found": np.array([True, False])}
    attrs = mapping_attrs(["w"], [cols])
    assert attrs == [{"w": _mapping(1, 2, 128, 1)}, {"w": None}]
    assert mapping_features(attrs[0], ["w"]) == pytest.approx([0.0, 1.0, 7.0, 0.0, 0.0])
    assert mapping_features({"w": _mapping(4, recompute="full")}, ["w"])[-1] == 2.0
    assert mapping_features(attrs[1], ["w"]) is None  # no mapping found: the surrogate models the grid alone
    assert mapping_features(None, ["w"]) is None


# -- predicting a candidate's mapping --------------------------------------------------------------

def test_a_candidate_takes_the_mapping_of_its_nearest_finished_trials() -> None:
    x = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 1.0], [0.9, 1.0]])
    attrs = [{"w": _mapping(1)}, {"w": _mapping(1)}, {"w": _mapping(4, dp=2)}, {"w": _mapping(4, dp=2, micro_batch=2)}]
    inputs = mapping_inputs(attrs, x)
    assert isinstance(inputs, MappingInputs)
    # tp, dp and micro-batch vary; pp and recompute are constant on these trials and left out; scaled to [0, 1]
    assert inputs.features.shape == (4, 3) and inputs.features.min() == 0.0 and inputs.features.max() == 1.0
    query = np.array([[0.05, 0.1], [0.97, 0.95]])
    nearest, owner = inputs.augment(query, "nearest")
    assert owner.tolist() == [0, 1]
    assert np.array_equal(nearest[:, 2:], inputs.features[[0, 2]])  # the first-found of two equally near
    optimistic, owner = inputs.augment(query, "optimistic")
    # each candidate's four nearest hold three mappings, kept nearest first
    assert owner.tolist() == [0, 0, 0, 1, 1, 1]
    assert np.array_equal(optimistic[:3, 2:], inputs.features[[0, 3, 2]])
    assert np.array_equal(optimistic[3:, 2:], inputs.features[[2, 3, 1]])
    assert mapping_inputs([{"w": _mapping(1)}, None], x[:2]) is None  # a trial without the attribute
    assert mapping_inputs([{"w": _mapping(1)}, {"w": _mapping(1)}], x[:2]) is None  # one mapping: nothing to add


def test_axis_weights_drop_an_axis_the_mapping_does_not_depend_on() -> None:
    # s21-F: the mapping switches along axis 1 only (the HBM stacks of grid 1), never along axis 0 (its TDP);
    # unweighted, a query's nearest trial is as often one axis-0 step away (same mapping) as one axis-1 step
    # away (another); the leave-one-out weights give axis 0 nothing and predict every grid point right.
    grid = np.array([[i / 4, j / 4] for i in range(5) for j in range(5)])
    label = (grid[:, 1] >= 0.5).astype(float)
    seen = [5 * i + j for i in (0, 4) for j in range(5)] + [5 * 2 + 1]  # two columns and one point between
    attrs = [{"w": _mapping(4 if s else 1)} for s in label[seen]]
    inputs = mapping_inputs(attrs, grid[seen])
    assert inputs is not None
    weights = axis_weights(inputs.x, inputs.features)
    assert weights[0] == 0.0 and weights[1] > 0
    weighted = MappingInputs(inputs.x, inputs.features, weights)
    predicted = weighted.augment(grid, "weighted")[0][:, 2]
    plain = inputs.augment(grid, "nearest")[0][:, 2]
    assert np.array_equal(predicted, label)
    assert not np.array_equal(plain, label)
    assert np.array_equal(axis_weights(grid[:2], label[:2, None]), [1.0, 1.0])  # too few trials: unweighted


def _rate_grid() -> tuple[tuple[GridAxis, ...], np.ndarray]:
    axes = (GridAxis("clock_hz", tuple(float(f) for f in np.linspace(1.2e9, 2.1e9, 10))),
            GridAxis("compute_units", tuple(range(66, 266, 22))),
            GridAxis("scaleup_bw_bytes_per_s", tuple(float(b) for b in np.linspace(3e11, 2.4e12, 8))))
    return axes, np.array([(i, j, k) for i in range(10) for j in range(10) for k in range(8)])


def test_rate_coordinates_span_the_grid_and_need_the_three_axes() -> None:
    axes, grid = _rate_grid()
    rates = rate_coordinates(axes, grid)
    assert rates is not None and rates.shape == (len(grid), 2)
    assert np.allclose(rates.min(axis=0), 0.0) and np.allclose(rates.max(axis=0), 1.0)
    # more units or clock: a higher rate and ratio; more scale-up bandwidth: the same rate, a lower ratio
    assert rates[grid.tolist().index([0, 1, 0]), 0] > rates[0, 0] and rates[grid.tolist().index([0, 0, 1]), 1] < rates[0, 1]
    assert rate_coordinates(axes[:2], grid[:, :2]) is None
    assert rate_coordinates((axes[0], axes[1], GridAxis("scaleup_bw_bytes_per_s", ("a", "b"))), grid[:, :3] % 2) is None


def test_rates_predict_a_mapping_that_switches_along_the_compute_to_scaleup_ratio() -> None:
    # s23-S: at one HBM capacity, grid 1's Llama-3 70B mapping turns on units x clock against the scale-up
    # bandwidth, a diagonal of the grid that per-axis weights cannot follow; with the rate coordinates (their
    # weights chosen by the same leave-one-out rule) the nearest trial's mapping is right more often.
    axes, grid = _rate_grid()
    values = {a.name: np.asarray(a.values)[grid[:, i]] for i, a in enumerate(axes)}
    ratio = np.log(values["compute_units"] * values["clock_hz"] / values["scaleup_bw_bytes_per_s"])
    label = ratio > np.median(ratio)
    x = grid / np.array([9.0, 9.0, 7.0])
    extra = rate_coordinates(axes, grid)
    assert extra is not None
    wrong = np.zeros((4, 2), dtype=int)  # per draw of the finished trials: (grid positions alone, with the rates)
    for draw in range(4):
        seen = np.random.default_rng(draw).choice(len(grid), 120, replace=False)
        plain = mapping_inputs([{"w": _mapping(4 if s else 1)} for s in label[seen]], x[seen])
        assert plain is not None
        for column, (inputs, extra_q) in enumerate(((plain, None), (replace(plain, extra=extra[seen]), extra))):
            inputs = replace(inputs, weights=axis_weights(inputs.coordinates, inputs.features))
            predicted = inputs.augment(x, "weighted", extra_q)[0][:, 3] > 0.5
            wrong[draw, column] = int((predicted != label).sum())
    assert np.all(wrong[:, 1] < wrong[:, 0]) and wrong[:, 1].sum() < 0.6 * wrong[:, 0].sum()
    with_rates = replace(plain, extra=extra[seen])
    with pytest.raises(ValueError, match="extra_q"):
        with_rates.nearest(x[:2], 1)



@pytest.mark.parametrize("mode", ["nearest", "weighted", "optimistic", "averaged"])
def test_every_mode_reads_the_candidates_extra_coordinates_where_the_trials_have_them(mode: str) -> None:
    # s24-N: ``augment`` takes ``extra_q`` for every mode; "optimistic" / "averaged" dropped it and then refused,
    # asking for it: the candidate at a finished trial's rates takes that trial's mapping first in each mode
    x = np.zeros((4, 1))  # one grid position: the extra coordinates alone tell the trials apart
    extra = np.array([[0.0, 0.0], [1.0, 1.0], [0.2, 0.2], [0.9, 0.9]])
    inputs = MappingInputs(x, np.array([[0.0], [1.0], [0.0], [1.0]]), extra=extra)
    rows, owner = inputs.augment(np.zeros((2, 1)), mode, np.array([[1.0, 1.0], [0.0, 0.0]]))
    first = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    assert owner[first].tolist() == [0, 1] and rows[first, 1].tolist() == [1.0, 0.0]

def test_a_gp_given_the_mapping_models_the_step_where_it_switches() -> None:
    # A toy of s19-T's switch: past a threshold that moves with the other axis, the mapping changes and the
    # objective falls by a step; the grid-only GP smooths it, the mapping-aware one does not.
    grid = np.array([[i / 9, j / 9] for i in range(10) for j in range(10)])
    switched = grid[:, 0] + 0.5 * grid[:, 1] >= 0.7
    y = grid[:, 0] * 0.2 + grid[:, 1] * 0.1 - 0.5 * switched
    features = switched[:, None].astype(float)
    rng = np.random.default_rng(0)
    seen = rng.choice(len(grid), 45, replace=False)
    unseen = np.setdiff1d(np.arange(len(grid)), seen)
    plain = fit_gp(grid[seen], y[seen]).predict(grid[unseen], std=False)[0]
    aware = fit_gp(np.hstack([grid, features])[seen], y[seen]).predict(np.hstack([grid, features])[unseen], std=False)[0]
    assert np.abs(aware - y[unseen]).max() < 0.5 * np.abs(plain - y[unseen]).max()


# -- the sampler ------------------------------------------------------------------------------------

def _toy(p: dict[str, Any]) -> tuple[list[float], float, dict[str, Any]]:
    """Two objectives with a step where the toy's "mapping" switches (a + 2 b >= 7), a constraint, the attribute."""
    c = "xyz".index(p["c"])
    switched = p["a"] + 2 * p["b"] >= 7
    values = [1 + p["a"] + 2 * p["b"] + c, 1 + (9 - p["a"]) ** 2 + (2 - p["b"]) * 3 + (2 - c) * 0.5 - 8.0 * switched]
    return values, float(p["a"] + p["b"] - 10), {"w": _mapping(4 if switched else 1, dp=2 if switched else 8)}


def _asked(mode: str, seed: int, trials: int = 48, space: dict[str, Any] | None = None,
           toy: Callable[[dict[str, Any]], tuple[list[float], float, dict[str, Any]]] = _toy,
           ) -> tuple[list[dict[str, Any]], SurrogateSampler]:
    """The trials' parameters and the sampler after ``trials`` trials of ``toy`` over ``space`` (None: SPACE), asked
    four at a time before any is told."""
    space = SPACE if space is None else space
    sampler = SurrogateSampler(optuna.samplers.RandomSampler(seed=seed), space, start=12, share=1.0, seed=seed,
                               mapping=mode)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    while len(study.trials) < trials:
        batch = [study.ask(space) for _ in range(4)]
        for trial in batch:
            values, limit, attr = toy(trial.params)
            trial.set_constraint("limit", limit)
            trial.set_user_attr(MAPPING_ATTR, attr)
            study.tell(trial, values)
    return [dict(t.params) for t in study.trials], sampler


@pytest.mark.parametrize("mode", ["nearest", "optimistic", "weighted", "averaged", "rates"])
def test_surrogate_mapping_is_reproducible_and_proposes_new_points(mode: str) -> None:
    asked, sampler = _asked(mode, 3)
    assert asked == _asked(mode, 3)[0]
    model = sampler._memo[1] if sampler._memo is not None else None
    assert model is not None and model.mapping is not None
    assert model.gps[0].x.shape[1] == len(NAMES) + 2  # the grid and the varying features (tp, dp)
    indices = [tuple(AXES[n].index(p[n]) for n in NAMES) for p in asked]
    assert len(set(indices[12:])) > 0.8 * len(indices[12:])  # the surrogate's trials: new points (random ones may repeat)



_RATE_SPACE = {"clock_hz": CategoricalDistribution([1.2e9, 1.6e9, 2.0e9]),
               "compute_units": CategoricalDistribution([66, 100, 132, 200]),
               "scaleup_bw_bytes_per_s": CategoricalDistribution([3e11, 9e11, 1.8e12]),
               "c": CategoricalDistribution(["x", "y", "z"])}


def _rate_toy(p: dict[str, Any]) -> tuple[list[float], float, dict[str, Any]]:
    """Two objectives with a step where the mapping switches along units x clock / scale-up, no constraint violated."""
    rate, c = p["compute_units"] * p["clock_hz"], "xyz".index(p["c"])
    switched = rate / p["scaleup_bw_bytes_per_s"] > 132 * 1.6e9 / 9e11
    values = [1e12 / rate + c + 0.3 * switched, p["compute_units"] / 50 + p["scaleup_bw_bytes_per_s"] / 1e12 + (2 - c) * 0.5]
    return values, -1.0, {"w": _mapping(4 if switched else 1, dp=2 if switched else 8)}


def test_rates_on_a_grid_with_the_three_rate_axes_take_the_rate_coordinates_and_stay_reproducible() -> None:
    # s24-N: the sampler-level test above runs "rates" on a grid without the rate axes (weighted's path); here the
    # model's trials carry the two rate coordinates, their weights are chosen with the grid's, and in-flight trials
    # (asked four at a time) are believed at a mean predicted with them
    trials, sampler = _asked("rates", 2, 40, _RATE_SPACE, _rate_toy)
    model = sampler._memo[1] if sampler._memo is not None else None
    assert model is not None and model.mapping is not None and model.mapping.extra is not None
    assert model.mapping.extra.shape == (len(model.mapping.x), 2) and model.mapping.weights is not None
    assert len(model.mapping.weights) == len(_RATE_SPACE) + 2
    assert sampler._believed  # in-flight trials predicted with their rate coordinates
    assert trials == _asked("rates", 2, 40, _RATE_SPACE, _rate_toy)[0]


def test_averaged_rows_keep_each_candidates_mean_point() -> None:
    owner = np.array([0, 0, 0, 1, 1, 2])
    points = np.arange(12.0).reshape(6, 2)
    keep, mean = averaged_rows(owner, points)
    assert keep.tolist() == [0, 3, 5] and np.allclose(mean, [[2.0, 3.0], [7.0, 8.0], [10.0, 11.0]])


def _models(modes: tuple[str, ...], seed: int = 5, trials: int = 40) -> dict[str, tuple[Any, SurrogateSampler]]:
    """Each mode's model (and its sampler) on the same finished trials of the toy (random proposals)."""
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(trials):
        trial = study.ask(SPACE)
        values, limit, attr = _toy(trial.params)
        trial.set_constraint("limit", limit)
        trial.set_user_attr(MAPPING_ATTR, attr)
        study.tell(trial, values)
    finished = study.get_trials(deepcopy=False)
    out = {}
    for mode in modes:
        sampler = SurrogateSampler(optuna.samplers.RandomSampler(), SPACE, start=4, share=1.0, seed=seed, mapping=mode)
        out[mode] = (sampler._model(study, finished), sampler)
    return out


def test_averaged_scores_a_candidate_at_the_mean_of_its_neighbours_mappings() -> None:
    # s22-Q: "weighted" takes the nearest trial's mapping (weighted distance), "averaged" the mean of the optimistic
    # points predicted with each of the 4 nearest trials' mappings: equal where the 4 agree, different next to the
    # toy's mapping switch (a + 2 b = 7), where they disagree.
    models = _models(("weighted", "averaged"))
    weighted, (averaged, sampler) = models["weighted"][0], models["averaged"]
    assert weighted is not None and averaged is not None and averaged.mapping is not None
    assert np.array_equal(weighted.pool, averaged.pool)  # one row per candidate, in the same order
    rows = averaged.mapping.nearest(unit(averaged.pool, sampler._sizes), 4)
    agree = np.array([len(np.unique(averaged.mapping.features[r], axis=0)) == 1 for r in rows])
    assert agree.any() and (~agree).any()
    assert np.allclose(averaged.optimistic[agree], weighted.optimistic[agree])
    assert not np.allclose(averaged.optimistic[~agree], weighted.optimistic[~agree])


def test_surrogate_mapping_option_reaches_the_sampler_and_is_validated(tmp_path: Path) -> None:
    from archsweep.load.searchspec import parse_search_spec

    spec = parse_search_spec({"parameters": {"compute_units": {"range": [66, 132], "step": 22}},
                              "sampler": {"name": "tpe", "options": {"surrogate_share": 0.5,
                                                                      "surrogate_mapping": "optimistic"}},
                              "trials": 100}, file="s.yaml")
    sampler = make_sampler(spec, 0)
    assert isinstance(sampler, SurrogateSampler) and sampler._mapping == "optimistic"
    with pytest.raises(ValueError, match="mapping: got 'always'"):
        SurrogateSampler(optuna.samplers.RandomSampler(), SPACE, start=4, share=1.0, mapping="always")
    path, text = sampler_options_error(tmp_path, {"surrogate_share": 0.5, "surrogate_mapping": "always"})
    assert f"{path}: search.sampler.options.surrogate_mapping: got 'always'" in text
