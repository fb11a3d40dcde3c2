"""The local search's ``gain`` parent rule (``local_search_parents: gain``, :mod:`archsweep.search.parentgain`):
the predicted child undoes the step model's transform exactly, the predicted gain is the hypervolume the
point adds (0 when dominated or outside the box), and the sampler proposes the free neighbour with the
largest predicted gain over every parent's."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
import pytest
from search_toy_space import SPACE, asked_and_told, grid_index, objectives, told_study

from archsweep.results.hypervolume import hypervolume
from archsweep.search.localsearch import ParetoLocalSearchSampler
from archsweep.search.parentgain import GainData, memoised_gains, predicted_children, predicted_gain
from archsweep.search.proposing import to_global
from archsweep.search.stepmodel import StepModel, objective_transform

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_predicted_children_invert_the_step_models_transform() -> None:
    """A maximised objective (negated: all < 0), a positive one in log space and a linear one (mixed
    signs): the transform of the predicted child minus the parent's is the step, on every column."""
    values = np.array([[-400.0, 2.0, -1.0], [-250.0, 0.5, 3.0], [-900.0, 7.0, 0.0]])
    transformed, logged = objective_transform(values)
    assert logged.tolist() == [True, True, False]
    step = np.array([[0.1, -0.2, 0.5], [-0.3, 0.4, -1.0], [0.0, 0.05, 2.0]])
    children = predicted_children(values, step, logged)
    assert np.all(children[:, 0] < 0) and np.all(children[:, 1] > 0)  # signs kept on the log columns
    child_transformed = np.where(logged, np.sign(children) * np.log(np.abs(children)), children)
    assert np.allclose(child_transformed - transformed, step, rtol=0, atol=1e-12)
    # a larger transformed value is worse (minimised): throughput 400 -> 400 e^-0.1
    assert children[0, 0] == pytest.approx(-400.0 * np.exp(-0.1))


def test_predicted_gain_is_the_added_hypervolume() -> None:
    front = np.array([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0]])
    reference = np.array([5.0, 5.0])
    children = np.array([
        [1.5, 2.5],  # fills the corner between the first two points: adds 0.5 x 1.5 = 0.75
        [0.5, 4.5],  # a new extreme: 0.5 x 0.5 = 0.25
        [3.0, 3.0],  # dominated by (2, 2): 0
        [2.0, 2.0],  # equal to a front point (weakly dominated): 0
        [6.0, 0.5],  # outside the reference box: 0
        [np.nan, 1.0],  # not finite: 0
    ])
    gains = predicted_gain(children, front, reference)
    base = hypervolume(front, reference)
    expected = [hypervolume(np.vstack([front, c[None]]), reference) - base for c in children[:2]]
    assert np.allclose(gains[:2], expected) and np.allclose(gains[:2], [0.75, 0.25])
    assert gains[2:].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert predicted_gain(children[:1], np.zeros((0, 2)), reference)[0] == pytest.approx(3.5 * 2.5)


def test_memoised_gains_compute_each_pair_once() -> None:
    """The step model moves the first axis by one unit of the first objective per level: a child one
    level up from a front point adds what predicted_gain says, and a second call reads the memo."""
    effects = (np.array([[0.0, 0.0], [-0.5, 0.0], [-1.0, 0.0]]), np.zeros((2, 2)))
    model = StepModel(effects)
    front = np.array([[2.0, 1.0], [1.0, 2.0]])
    data = GainData(front, np.array([3.0, 3.0]), np.array([False, False]), {})
    wanted = [(0, [(1, 0), (0, 1)]), (1, [(2, 1)])]
    gains = memoised_gains(data, model, [(0, 0), (1, 1)], wanted)
    assert gains[0][0] == pytest.approx(predicted_gain(np.array([[1.5, 1.0]]), front, data.reference)[0])
    assert gains[0][1] == 0.0  # the second axis has no effect: the child equals its parent
    assert gains[1][0] == pytest.approx(predicted_gain(np.array([[0.5, 2.0]]), front, data.reference)[0])
    data.memo[(0, (1, 0))] = 99.0  # memoised: not recomputed
    assert memoised_gains(data, model, [(0, 0), (1, 1)], wanted)[0][0] == 99.0


def _gain_sampler(seed: int, **options: Any) -> ParetoLocalSearchSampler:
    return ParetoLocalSearchSampler(optuna.samplers.RandomSampler(seed=seed), SPACE, start=30, seed=seed,
                                    parents="gain", **options)


@pytest.mark.parametrize("options", [{}, {"model": True, "global_share": 0.5}])
def test_gain_rule_proposes_new_grid_points_reproducibly(options: dict[str, Any]) -> None:
    asked = asked_and_told(_gain_sampler(0, **options), 100, objectives)
    indices = [grid_index(p) for p in asked]
    share = options.get("global_share", 0.0)
    start = next(b for b in range(0, 100, 4) if len(set(indices[:b])) >= 30)
    local = [n for n in range(start, 100) if not to_global(n, share)]
    assert len(local) >= 20 and all(indices[n] not in indices[:n] for n in local)
    assert asked == asked_and_told(_gain_sampler(0, **options), 100, objectives)
    assert asked != asked_and_told(_gain_sampler(1, **options), 100, objectives)


def test_gain_rule_proposes_the_neighbour_with_the_largest_predicted_gain() -> None:
    """After 40 finished trials, the next local proposal is, among every free one-axis neighbour of every
    front point (none in flight), the one whose predicted gain (the sampler's own fitted step model) is
    the largest, when some gain is positive."""
    sampler = _gain_sampler(3)
    study = told_study(sampler, 40, objectives, batch=1)
    finished = study.get_trials(deepcopy=False)
    parents = sampler._parents(study, finished)
    assert parents.gain is not None and parents.model is not None
    known = {grid_index(t.params) for t in finished}
    sizes = (10, 9, 3)
    wanted = []
    for k, parent in enumerate(parents.indices):
        free = [n for n in _one_axis(parent, sizes) if n not in known]
        if free:
            wanted.append((k, free))
    gains = memoised_gains(parents.gain, parents.model, parents.indices, wanted)
    top = max(max(g) for g in gains)
    assert top > 0
    best = {child for (_, free), g in zip(wanted, gains) for child, v in zip(free, g) if v == top}
    assert grid_index(study.ask(SPACE).params) in best


def _one_axis(index: tuple[int, ...], sizes: tuple[int, ...]) -> list[tuple[int, ...]]:
    out = []
    for a, size in enumerate(sizes):
        for d in (-1, 1):
            if 0 <= index[a] + d < size:
                out.append(tuple(i + d if j == a else i for j, i in enumerate(index)))
    return out
