"""The surrogate's exact design objectives (``surrogate_exact_design``, issue 14, s24-D): the objectives closed-form
in the design (package price, die area, ...) are computed for the surrogate's candidates exactly as the worker
reports them, in place of their Gaussian processes' predictions; the study file is checked for what the option
needs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
import yaml

from archsweep.load.study import load_study
from archsweep.model.design import design_columns
from archsweep.search.storage import create_search_study, distributions, make_sampler, search_spec, search_storage
from archsweep.search.surrogate import SurrogateSampler
from archsweep.search.worker import (
    aggregate_objectives,
    batch_context,
    design_objectives,
    evaluate_batch,
    hardware_batch,
    run_search_worker,
)
from archsweep.spec.columns import DESIGN_COLUMNS
from archsweep.spec.errors import InputError, InputErrors

optuna.logging.set_verbosity(optuna.logging.WARNING)

_OPTIONS = {"surrogate_share": 0.5, "surrogate_start": 0.1, "surrogate_exact_design": True}
_PARAMETERS = {"compute_units": {"values": [66, 110, 154, 198, 242]}, "hbm_stacks": {"values": [4, 5, 6]},
               "scaleup_bw_bytes_per_s": {"values": ["450 GB/s", "900 GB/s", "1800 GB/s"]}}


def _study(folder: Path, *, options: dict[str, object] | None = None, parameters: dict[str, object] | None = None,
           objectives: list[str] | None = None, workloads: list[str] | None = None, aggregate: str = "mean",
           trials: int = 12) -> Path:
    """A llama3-8b search study on H100-SXM variants: tokens/s up, the package price and energy down."""
    path = folder / "exact.yaml"
    columns = objectives or ["tokens_per_s", "accelerator_cost_usd", "energy_per_token_j"]
    path.write_text(yaml.safe_dump({
        "name": "exactdesign", "description": "exact design objectives", "workloads": workloads or ["llama3-8b"],
        "base": "H100-SXM",
        "objectives": [{"column": c, "direction": "maximize" if c == "tokens_per_s" else "minimize"} for c in columns],
        "search": {"parameters": parameters or _PARAMETERS, "trials": trials, "batch_size": 4, "seed": 3,
                   "aggregate": aggregate, "sampler": {"name": "random", "options": options or _OPTIONS}}}))
    return path


def test_design_columns_are_what_the_model_reports(tmp_path: Path) -> None:
    """Every design column of the full evaluation (any workload, its best mapping, DVFS) equals
    ``design_columns`` of the design, to the last bit."""
    study = load_study(_study(tmp_path))
    ctx = batch_context(study)
    params = [{"compute_units": u, "hbm_stacks": s, "scaleup_bw_bytes_per_s": b}
              for u in (66, 198) for s in (4, 6) for b in (450e9, 900e9)]
    evaluated = evaluate_batch(ctx, params)[0]
    design = design_columns(hardware_batch(ctx, {k: np.array([p[k] for p in params]) for k in params[0]}), ctx.tech)
    assert set(design) == set(DESIGN_COLUMNS)
    for column in DESIGN_COLUMNS:
        np.testing.assert_array_equal(np.broadcast_to(design[column], (len(params),)), evaluated[column], err_msg=column)
    assert len(np.unique(design["dies_per_package"])) > 1 or len(np.unique(design["accelerator_cost_usd"])) > 1


@pytest.mark.parametrize("aggregate", ["mean", "sum"])
def test_design_objectives_equal_the_told_values(tmp_path: Path, aggregate: str) -> None:
    """The design objectives are the worker's told values (aggregated over workloads, minimised); NaN elsewhere."""
    study = load_study(_study(tmp_path, workloads=["llama3-8b", "mpt-1b"], aggregate=aggregate))
    ctx = batch_context(study)
    params = [{"compute_units": u, "hbm_stacks": 6, "scaleup_bw_bytes_per_s": 900e9} for u in (66, 132, 198)]
    told, _, _, _ = aggregate_objectives(study, evaluate_batch(ctx, params))
    design = design_objectives(ctx)
    assert design.exact.tolist() == [False, True, False]
    exact = design.values({"compute_units": np.array([66, 132, 198]), "hbm_stacks": np.array([6, 6, 6]),
                           "scaleup_bw_bytes_per_s": np.array([900e9] * 3)})
    np.testing.assert_array_equal(exact[:, 1], told[:, 1])
    assert np.isnan(exact[:, [0, 2]]).all()


def test_the_surrogate_takes_the_exact_values_for_its_candidates(tmp_path: Path) -> None:
    """A search with the option runs end to end; the surrogate's optimistic points and in-flight beliefs carry the
    exact package price of each candidate, not a prediction (which differs from it)."""
    path = _study(tmp_path, trials=14)
    study = load_study(path)
    results = tmp_path / "results"
    create_search_study(study, results=results)
    report = run_search_worker(path, 0, results=results, progress=False)
    assert report.told == 14
    ostudy = optuna.load_study(study_name=study.name, storage=search_storage(study, results))
    design = design_objectives(batch_context(study))
    sampler = make_sampler(search_spec(study), 0, objectives=3, design=design)
    assert isinstance(sampler, SurrogateSampler)
    finished = [t for t in ostudy.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    model = sampler._model(ostudy, finished)
    assert model is not None and len(model.pool)
    exact = sampler._exact(model.pool)
    assert exact is not None
    np.testing.assert_array_equal(model.optimistic[:, 1], exact[:, 1])
    believed = sampler._predicted_mean(model, tuple(int(i) for i in model.pool[0]))
    assert believed[1] == exact[0, 1]
    plain = SurrogateSampler(optuna.samplers.RandomSampler(seed=0), distributions(search_spec(study)), start=2,
                             share=0.5)  # the same surrogate without the design objectives
    predicted = plain._model(ostudy, finished)
    assert predicted is not None
    truth = sampler._exact(predicted.pool)
    assert truth is not None and not np.allclose(predicted.optimistic[:, 1], truth[:, 1], rtol=1e-6)


def test_make_sampler_needs_the_design_objectives(tmp_path: Path) -> None:
    study = load_study(_study(tmp_path))
    with pytest.raises(ValueError, match="surrogate_exact_design"):
        make_sampler(search_spec(study), 0, objectives=3)


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"objectives": ["tokens_per_s", "power_w"]}, "an objective among the design-only columns"),
    ({"parameters": {**_PARAMETERS, "clock_hz": {"range": ["1.2 GHz", "1.8 GHz"]}}},
     "every searched parameter discrete"),
    ({"options": {"surrogate_exact_design": True}}, "surrogate_share > 0 alongside"),
])
def test_the_study_file_is_checked(tmp_path: Path, kwargs: dict[str, object], expected: str) -> None:
    path = _study(tmp_path, **kwargs)  # type: ignore[arg-type]
    with pytest.raises((InputError, InputErrors)) as info:
        load_study(path)
    text = str(info.value)
    assert "surrogate_exact_design" in text and expected in text and str(path) in text


@pytest.mark.parametrize("aggregate", ["mean", "sum", "worst"])
def test_design_objectives_aggregate_as_the_worker_to_the_last_bit(tmp_path: Path, aggregate: str) -> None:
    """s24-R: over three workloads the mean of three equal prices is not always the price in floating point (nor,
    over more, the sum ``n`` times it); the design objectives aggregate as the worker does, so they equal its told
    values bit for bit."""
    study = load_study(_study(tmp_path, workloads=["llama3-8b", "mpt-1b", "llama3-70b"], aggregate=aggregate))
    ctx = batch_context(study)
    units, stacks = np.meshgrid(np.arange(60, 250, 7), np.array([4, 5, 6]))
    searched = {"compute_units": units.ravel(), "hbm_stacks": stacks.ravel(),
                "scaleup_bw_bytes_per_s": np.full(units.size, 900e9)}
    columns = design_columns(hardware_batch(ctx, searched), ctx.tech)
    per_workload = [{"tokens_per_s": np.ones(units.size), "energy_per_token_j": np.ones(units.size), **columns,
                     "candidate_id": np.arange(units.size), "feasible": np.ones(units.size, dtype=bool)}] * 3
    told, _, _, _ = aggregate_objectives(study, per_workload)
    np.testing.assert_array_equal(design_objectives(ctx).values(searched)[:, 1], told[:, 1])
