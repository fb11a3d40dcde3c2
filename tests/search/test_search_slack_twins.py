"""``slack_twins`` (issue 14, twelfth session): the grid points a finished trial implies through a TDP that
does not bind. The model gives identical outputs at every TDP the power fits under (the physics the rule
rests on); the rule implies exactly those levels; with the option the local search and the surrogate never
propose an implied twin, without it they do (same seeds), and the option's absence changes nothing; the
option reaches both samplers; bad specs get clear errors (file, key path, value, what is allowed)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from search_study import sampler_options_error

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.searchspec import parse_search_spec
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.search.grid import GridAxis, grid_axes
from archsweep.search.localsearch import ParetoLocalSearchSampler
from archsweep.search.storage import make_sampler
from archsweep.search.surrogate import SurrogateSampler
from archsweep.search.twins import SLACK, implied_twins
from archsweep.spec.hardware import HardwareArrays

optuna.logging.set_verbosity(optuna.logging.WARNING)

TDP = GridAxis("tdp_w", (600.0, 800.0, 1000.0, 1200.0))
UNITS = GridAxis("compute_units", (100, 140))


def test_model_outputs_do_not_depend_on_a_tdp_that_does_not_bind() -> None:
    """H100-SXM derivatives on Llama-3 8B (64 accelerators): where violation_tdp < -SLACK at one TDP, every
    TDP at or above 1 + SLACK times that power gives the same throughput, energy per token, price and power;
    a TDP that binds (violation_tdp ~0) lowers the throughput at the TDP below it."""
    h100 = get_accelerator("H100-SXM").design
    tdps = (500.0, 700.0, 900.0, 1100.0, 1300.0)
    designs = [replace(h100, accelerator_count=64, compute_units=u, clock_hz=c, tdp_w=w)
               for u in (100, 200) for c in (1.4e9, 2.0e9) for w in tdps]
    out = evaluate_design_batch(HardwareArrays.from_designs(designs), load_workload("llama3-8b"),
                                tech=load_technology(), calibration=load_calibration())
    columns = ("tokens_per_s", "energy_per_token_j", "accelerator_cost_usd", "power_w")
    table = {k: np.asarray(out[k], dtype=np.float64).reshape(4, len(tdps)) for k in (*columns, "violation_tdp")}
    implied = binding = 0
    for row in range(4):
        for k, limit in enumerate(tdps):
            v = table["violation_tdp"][row, k]
            if v < -SLACK:
                for j, other in enumerate(tdps):
                    if other >= (1 + v) * limit * (1 + SLACK):
                        implied += 1
                        assert all(table[c][row, j] == table[c][row, k] for c in columns), (row, k, j)
            else:
                binding += 1
                if k + 1 < len(tdps):
                    assert table["tokens_per_s"][row, k] < table["tokens_per_s"][row, k + 1]
    assert implied >= 20 and binding >= 2


def test_implied_twins_are_the_levels_the_used_power_fits_under() -> None:
    axes = [UNITS, TDP]
    # 600 W using 300 W: every other level; 1,000 W using 750 W: 800 W and 1,200 W, not 600 W
    assert implied_twins([((0, 0), {"violation_tdp": -0.5})], axes) == {(0, 1), (0, 2), (0, 3)}
    assert implied_twins([((1, 2), {"violation_tdp": -0.25})], axes) == {(1, 1), (1, 3)}
    # a TDP that binds (DVFS leaves the power a little below it) or a violated one implies nothing
    for v in (-1e-8, -0.9 * SLACK, 0.0, 0.3, float("nan")):
        assert implied_twins([((0, 1), {"violation_tdp": v})], axes) == set()
    # a level only just above the used power is not a twin (the slack's margin), and no limit axis: nothing
    used = 800.0 * (1 - 0.1)
    assert implied_twins([((0, 1), {"violation_tdp": used / 800.0 - 1})], axes) == {(0, 2), (0, 3)}
    assert implied_twins([((0, 0), {"violation_tdp": -0.5})], [UNITS, GridAxis("clock_hz", (1e9, 2e9))]) == set()
    assert implied_twins([((0, 0), {"other": -0.5})], axes) == set()


SPACE = {"units": IntDistribution(1, 9, step=1), "tdp_w": FloatDistribution(600.0, 1200.0, step=200.0)}


def _toy(params: dict[str, Any]) -> tuple[list[float], dict[str, float]]:
    """Throughput (negated: minimised) and price of a toy part whose power (100 W a unit) is clamped to its
    TDP by lowering the clock; violation_tdp as the model reports it; the price does not depend on the TDP."""
    power, tdp = 100.0 * params["units"], params["tdp_w"]
    clock = min(1.0, tdp / power)
    return [-params["units"] * clock, float(params["units"]) ** 1.5], {"violation_tdp": min(power, tdp) / tdp - 1}


def _asked(sampler: optuna.samplers.BaseSampler, trials: int) -> tuple[list[tuple[int, ...]], int]:
    """(the grid index of every trial asked, how many were twins implied by the trials finished before it)."""
    axes = grid_axes(SPACE)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    asked: list[tuple[int, ...]] = []
    finished: list[tuple[tuple[int, ...], dict[str, float]]] = []
    twins = 0
    while len(asked) < trials:
        batch = [study.ask(SPACE) for _ in range(4)]
        implied = implied_twins(finished, axes)
        for trial in batch:
            index = tuple(int(axis.index(trial.params[axis.name])) for axis in axes)  # type: ignore[arg-type]
            twins += index in implied and index not in {i for i, _ in finished}
            asked.append(index)
            values, constraints = _toy(trial.params)
            for name, value in constraints.items():
                trial.set_constraint(name, value)
            study.tell(trial, values)
            finished.append((index, constraints))
    return asked, twins


def _local(twins: bool, seed: int) -> ParetoLocalSearchSampler:
    return ParetoLocalSearchSampler(optuna.samplers.RandomSampler(seed=seed), SPACE, start=6, seed=seed,
                                    fresh=True, twins=twins)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_local_search_skips_implied_twins(seed: int) -> None:
    _, with_option = _asked(_local(True, seed), 24)
    _, without = _asked(_local(False, seed), 24)
    assert without > 0
    assert with_option < without


def _surrogate(twins: bool, seed: int) -> SurrogateSampler:
    return SurrogateSampler(_local(twins, seed), SPACE, start=6, share=1.0, seed=seed, pool="both",
                            constraints="each_screened", twins=twins)


@pytest.mark.parametrize("seed", [0, 1])
def test_surrogate_skips_implied_twins(seed: int) -> None:
    _, with_option = _asked(_surrogate(True, seed), 24)
    _, without = _asked(_surrogate(False, seed), 24)
    assert with_option < without


def test_off_by_default_changes_nothing() -> None:
    default = SurrogateSampler(ParetoLocalSearchSampler(optuna.samplers.RandomSampler(seed=3), SPACE, start=6,
                                                        seed=3, fresh=True), SPACE, start=6, share=1.0, seed=3,
                               pool="both", constraints="each_screened")
    assert _asked(default, 24) == _asked(_surrogate(False, 3), 24)


def _spec(options: dict[str, Any], parameters: dict[str, Any] | None = None) -> Any:
    return parse_search_spec({"parameters": parameters or {"tdp_w": {"values": ["700 W", "800 W", "900 W"]},
                                                          "compute_units": {"range": [66, 132], "step": 22}},
                              "sampler": {"name": "tpe", "options": options}, "trials": 100}, file="s.yaml")


def test_option_reaches_both_samplers() -> None:
    sampler = make_sampler(_spec({"local_search_start": 0.5, "surrogate_share": 0.5, "slack_twins": True}), 0)
    assert isinstance(sampler, SurrogateSampler) and isinstance(sampler._main, ParetoLocalSearchSampler)
    assert sampler._twins and sampler._main._twins
    plain = make_sampler(_spec({"local_search_start": 0.5, "surrogate_share": 0.5}), 0)
    assert isinstance(plain, SurrogateSampler) and isinstance(plain._main, ParetoLocalSearchSampler)
    assert not plain._twins and not plain._main._twins


@pytest.mark.parametrize(("options", "parameters", "allowed"), [
    ({"slack_twins": True}, None, "local_search_start or surrogate_share > 0 alongside"),
    ({"slack_twins": True, "local_search_start": 0.5}, {"compute_units": {"values": [66, 88]}},
     "a searched discrete limit parameter (tdp_w)"),
    ({"slack_twins": True, "surrogate_share": 0.5}, {"compute_units": {"values": [66, 88]},
                                                    "tdp_w": {"range": ["700 W", "900 W"]}},
     "a searched discrete limit parameter (tdp_w)"),
    ({"slack_twins": "yes", "local_search_start": 0.5}, None, "boolean"),
])
def test_bad_options(tmp_path: Path, options: dict[str, Any], parameters: dict[str, Any] | None, allowed: str) -> None:
    path, text = sampler_options_error(tmp_path, options, parameters)
    assert f"{path}: search.sampler.options.slack_twins" in text
    assert allowed in text
