"""Search quality with the real inner loop: Optuna samplers against an exhaustive grid (issue 14).

Every trial is evaluated exactly as ``archsweep search`` evaluates it: each (sampler, seed) run
writes a copy of the study file (``benchmarks/spaces/search-quality.yaml`` by default) with that
sampler and seed, creates the Optuna study (:func:`archsweep.search.storage.create_search_study`,
a journal file in a temporary directory) and runs the real worker
(:func:`archsweep.search.worker.run_search_worker`): trials asked in batches of the study's
``batch_size``, each batch one vectorised evaluation on every workload with the exact pruned
best-mapping search (:func:`archsweep.model.driver.evaluate_design_batch` through
:func:`archsweep.search.worker.evaluate_batch`), the study's constraints applied, objectives
aggregated over workloads (``mean``) and constraint values told to the sampler.

The exhaustive reference evaluates every point of the search's grid (every parameter is a
stepped range or a value list) with the same functions (``evaluate_batch`` and the worker's
aggregation), ``--jobs`` processes, and keeps the feasible Pareto front. Each trial's numbers
are checked against the grid's at the same point (largest relative difference printed).

Deduplication (the worker's default): a trial at a point already evaluated is told the stored
values and not counted, so ``k`` below counts distinct model evaluations (``--no-deduplicate``:
every trial is evaluated and counted, as before).

Measure: hypervolume of a run's feasible trials among its first ``k`` evaluations over the
hypervolume of the exhaustive front, at ``k`` = 0.1 %, 0.25 %, 0.5 % and 1 % of the grid
(``--fractions``): mean and worst over ``--seeds`` seeds per sampler.

Reference point: the nadir of the exhaustive feasible front (its worst value of each minimised
objective). The usual nadir + 10 % of the range (:func:`archsweep.search.worker.reference_point`)
gives most of the volume to the box between the front's extremes and the margin, which any
spread-out sample fills: random sampling scored 0.98 with it on the fixed-mapping grid, so it
could not separate samplers. With the front's own nadir, only the trade-off region counts: a
point adds volume only if it beats the worst front value in every objective, and a set scores
1.0 only if it matches the front where the front trades one objective against another. The
ratio with the old reference point is printed too (``old_ref``) for comparison. Measured on the
default study (2026-11-30, bf54a4e; recorded only here): random sampling scores 0.81-0.88 at 1 %
with the front's nadir and 0.83-0.90 with the old point, against 0.90-0.95 for NSGA-II and TPE, so
samplers are separated.
(QMC's default ``scramble: false`` ignores the seed: its seeds give the same trials.)

Prints one line per (sampler, fraction) and a last line
``hypervolume_ratio=<best mean at the largest fraction> evaluated_fraction=<f> sampler=<name>``.

Usage::

    python benchmarks/search_quality.py [--study FILE] [--seeds 0 1 2] [--jobs 2]
        [--samplers nsga2 tpe tpe:multivariate=true random ...] [--grid-cache FILE.npz]
        [--batch-size 16] [--strategy "tp=8,pp=1,dp=auto,mb=1,recompute=selective,zero=1"]   # old fixed-mapping mode
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import math
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import yaml

from archsweep.load.study import load_study
from archsweep.results.hypervolume import hypervolume
from archsweep.results.pareto import non_dominated_mask, to_minimization
from archsweep.search.mappingattrs import MAPPING_KEYS, RECOMPUTE_LEVELS
from archsweep.search.storage import DUPLICATE_ATTR, FEASIBLE_ATTR, create_search_study, search_storage
from archsweep.search.worker import (
    WorkerReport,
    aggregate_objectives,
    batch_context,
    evaluate_batch,
    reference_point,
    run_search_worker,
)
from archsweep.spec.study import Study
from archsweep.workflow.fingerprint import evaluate_fingerprint

DEFAULT_STUDY = Path(__file__).parent / "spaces" / "search-quality.yaml"
SAMPLERS = ("random", "nsga2", "tpe", "tpe:multivariate=true", "qmc")
FRACTIONS = (0.001, 0.0025, 0.005, 0.01)


# ---------------------------------------------------------------------------------------
# The grid and its exhaustive front
# ---------------------------------------------------------------------------------------

def grid_axes(study: Study) -> list[tuple[str, list[Any]]]:
    """(parameter, its grid values as Python scalars) in the search section's order."""
    assert study.search is not None
    return [(p.name, [v.item() for v in p.grid_values()]) for p in study.search.parameters]


def _grid_params(axes: list[tuple[str, list[Any]]], start: int, stop: int) -> list[dict[str, Any]]:
    sizes = [len(v) for _, v in axes]
    index = np.unravel_index(np.arange(start, stop), sizes)
    return [{name: values[int(i[row])] for (name, values), i in zip(axes, index)} for row in range(stop - start)]


_WORKER: dict[str, Any] = {}


def _init(study_file: str) -> None:
    _WORKER["study"] = load_study(study_file)
    _WORKER["ctx"] = batch_context(_WORKER["study"])


def _evaluate_span(span: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray]:
    study = _WORKER["study"]
    params = _grid_params(grid_axes(study), *span)
    per_workload = evaluate_batch(_WORKER["ctx"], params)
    values, names, constraints, feasible = aggregate_objectives(study, per_workload)
    return values, feasible, constraints, names, mapping_table(per_workload)


def mapping_table(per_workload: list[dict[str, np.ndarray]]) -> np.ndarray:
    """Each workload's chosen mapping (n, workloads, 5): the columns of ``MAPPING_KEYS``, then the recompute
    level's position in ``RECOMPUTE_LEVELS`` (NaN where no mapping was found): the trial attribute
    ``MAPPING_ATTR`` the worker tells, for ``search_quality_lookup.py``."""
    out = []
    for cols in per_workload:
        found = np.asarray(cols["mapping_found"], dtype=bool)
        level = np.array([RECOMPUTE_LEVELS.index(r) if r in RECOMPUTE_LEVELS else len(RECOMPUTE_LEVELS)
                          for r in np.asarray(cols["recompute"]).astype(str)], dtype=np.float64)
        table = np.stack([np.asarray(cols[k], dtype=np.float64) for k in MAPPING_KEYS] + [level], axis=1)
        out.append(np.where(found[:, None], table, np.nan))
    return np.stack(out, axis=1)


def exhaustive(study_file: str, *, jobs: int, chunk: int = 4000
               ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, list[str], np.ndarray]:
    """Objective values (natural directions, grid order) and feasibility of every grid point, seconds,
    the constraint values the worker tells (n, c; > 0 violated) with their names, and each workload's
    chosen mapping (:func:`mapping_table`)."""
    study = load_study(study_file)
    total = math.prod(len(v) for _, v in grid_axes(study))
    spans = [(s, min(total, s + chunk)) for s in range(0, total, chunk)]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init, initargs=(study_file,)) as pool:
        parts = list(pool.map(_evaluate_span, spans))
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            time.perf_counter() - started, np.concatenate([p[2] for p in parts]), parts[0][3],
            np.concatenate([p[4] for p in parts]))


# ---------------------------------------------------------------------------------------
# One search run through the real worker
# ---------------------------------------------------------------------------------------

def parse_sampler(text: str) -> dict[str, Any]:
    """``"tpe:multivariate=true,n_startup_trials=50"`` -> the study file's ``sampler`` section."""
    name, _, rest = text.partition(":")
    options = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in rest.split(",") if item)}
    return {"name": name, "options": options} if options else {"name": name}


def variant_file(doc: dict[str, Any], folder: Path, *, sampler: str, seed: int, trials: int,
                 strategy: str | None, batch_size: int | None = None, deduplicate: bool = True) -> Path:
    """A copy of the study with this sampler, seed, budget and one worker (and a fixed mapping,
    and a batch size other than the study's)."""
    search = {**doc["search"], "sampler": parse_sampler(sampler), "seed": seed, "trials": trials,
              "workers": 1, "storage": "journal", "deduplicate": deduplicate}
    if batch_size is not None:
        search["batch_size"] = batch_size
    variant = {**doc, "name": f"{doc['name']}-{hashlib.sha1(f'{sampler}/{seed}/{batch_size}/{deduplicate}'.encode()).hexdigest()[:8]}",
               "search": search}
    if strategy is not None:
        variant["mapping"] = {"strategy": strategy}
    path = folder / f"{variant['name']}.yaml"
    path.write_text(yaml.safe_dump(variant, sort_keys=False))
    return path


def run_search(study_file: Path, results: Path) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]], WorkerReport]:
    """Run the search of ``study_file`` with the real worker; trials in order: objective values
    (natural directions, NaN for a failed trial), feasible, params, the worker's report (Optuna
    and model seconds)."""
    study = load_study(study_file)
    create_search_study(study, results=results)
    report = run_search_worker(study_file, 0, results=results, progress=False)
    # Model evaluations only: a trial told stored values (deduplicate) is not an evaluation.
    trials = sorted((t for t in optuna.load_study(study_name=study.name, storage=search_storage(study, results)).get_trials()
                     if DUPLICATE_ATTR not in t.user_attrs), key=lambda t: t.number)
    k = len(study.objectives)
    values = np.array([t.values if t.values is not None else [np.nan] * k for t in trials], dtype=np.float64)
    feasible = np.array([bool(t.user_attrs.get(FEASIBLE_ATTR)) and t.values is not None for t in trials])
    return values, feasible, [t.params for t in trials], report


def grid_index(axes: list[tuple[str, list[Any]]], params: list[dict[str, Any]]) -> np.ndarray:
    """Flat grid index of each trial (each parameter snapped to its nearest grid value)."""
    per_axis = []
    for name, values in axes:
        got = [p[name] for p in params]
        if isinstance(values[0], str):
            per_axis.append(np.array([values.index(v) for v in got]))
        else:
            per_axis.append(np.abs(np.asarray(got, dtype=float)[:, None] - np.asarray(values, dtype=float)).argmin(axis=1))
    return np.ravel_multi_index(tuple(per_axis), [len(v) for _, v in axes])


# ---------------------------------------------------------------------------------------
# Measure
# ---------------------------------------------------------------------------------------

def front_of(values_min: np.ndarray, feasible: np.ndarray) -> np.ndarray:
    kept = values_min[feasible & np.all(np.isfinite(values_min), axis=1)]
    return kept[non_dominated_mask(kept)] if len(kept) else kept


def hypervolume_curve(values_min: np.ndarray, feasible: np.ndarray, counts: list[int], reference: np.ndarray,
                      exact: float) -> list[float]:
    """Hypervolume of the feasible rows among the first ``k`` rows, over ``exact``, for each k in ``counts``."""
    return [hypervolume(front_of(values_min[:k], feasible[:k]), reference) / exact if exact > 0 else 0.0
            for k in counts]


def _grid_key(study_path: Path, study: Study, strategy: str | None) -> str:
    """Key of the cached exhaustive grid: the study text and strategy, what an evaluate job reads
    (data files, workload files, model version: the workflow's fingerprint) and the model's source
    files, so a cache computed with another model is never read back."""
    import archsweep.model as model_package

    digest = hashlib.sha256((study_path.read_text() + str(strategy) + evaluate_fingerprint(study)).encode())
    for source in sorted(Path(model_package.__file__).parent.rglob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default=str(DEFAULT_STUDY))
    parser.add_argument("--samplers", nargs="+", default=list(SAMPLERS), help="name[:option=value,...]")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--fractions", nargs="+", type=float, default=list(FRACTIONS))
    parser.add_argument("--jobs", type=int, default=1, help="processes for the exhaustive grid")
    parser.add_argument("--grid-cache", help="npz file keeping the exhaustive grid's values (keyed by the study, its data and the model source)")
    parser.add_argument("--batch-size", type=int, help="trials asked and told together (default: the study's "
                        "batch_size); the grid cache does not depend on it")
    parser.add_argument("--no-deduplicate", action="store_true", help="evaluate repeated points again and count "
                        "them (the worker's behaviour before deduplication)")
    parser.add_argument("--strategy", help="fixed mapping for every candidate (the old mode) instead of the search")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    doc = yaml.safe_load(Path(args.study).read_text())
    study = load_study(args.study)
    directions = [o.direction for o in study.objectives]
    axes = grid_axes(study)
    total = math.prod(len(v) for _, v in axes)
    counts = [max(1, round(f * total)) for f in args.fractions]
    with tempfile.TemporaryDirectory(prefix="search-quality-") as tmp:
        folder = Path(tmp)
        key = _grid_key(Path(args.study), study, args.strategy)
        cache = Path(args.grid_cache) if args.grid_cache else None
        if cache is not None and cache.exists() and str(np.load(cache)["key"]) == key:
            stored = np.load(cache)
            grid_values, grid_feasible, seconds = stored["values"], stored["feasible"], float(stored["seconds"])
            jobs = int(stored["jobs"]) if "jobs" in stored else args.jobs
            print(f"grid: read from {cache} (computed in {seconds:.1f} s)")
        else:
            grid_file = variant_file(doc, folder, sampler="random", seed=0, trials=1, strategy=args.strategy)
            jobs = args.jobs
            grid_values, grid_feasible, seconds, constraints, names, mappings = exhaustive(str(grid_file), jobs=jobs)
            if cache is not None:
                np.savez(cache, key=key, values=grid_values, feasible=grid_feasible, seconds=seconds, jobs=jobs,
                         constraints=constraints, constraint_names=np.array(names), mapping=mappings,
                         mapping_workloads=np.array(study.workloads))
        grid_min = to_minimization(grid_values, directions)
        front = front_of(grid_min, grid_feasible)
        reference = front.max(axis=0)
        old_reference = reference_point(front)
        exact, exact_old = hypervolume(front, reference), hypervolume(front, old_reference)
        print(f"grid: {total} candidates x {len(study.workloads)} workloads ({', '.join(study.workloads)}), "
              f"{int(grid_feasible.sum())} feasible, front {len(front)} points, {seconds:.1f} s with {jobs} "
              f"process(es) = {total / seconds:.0f} candidates/s; reference (front nadir, minimised) {reference.tolist()}")
        batch_size = args.batch_size or int(doc["search"].get("batch_size", 64))
        best = ("none", 0.0)
        results: dict[str, list[list[float]]] = {}
        for sampler, seed in itertools.product(args.samplers, args.seeds):
            path = variant_file(doc, folder, sampler=sampler, seed=seed, trials=counts[-1], strategy=args.strategy,
                                batch_size=args.batch_size, deduplicate=not args.no_deduplicate)
            values, feasible, params, report = run_search(path, folder / "results")
            values_min = to_minimization(values, directions)
            ratios = hypervolume_curve(values_min, feasible, counts, reference, exact)
            old = hypervolume_curve(values_min, feasible, counts[-1:], old_reference, exact_old)[0]
            at = grid_index(axes, params)
            ok = feasible & grid_feasible[at]
            drift = float(np.nanmax(np.abs(values_min[ok] / grid_min[at][ok] - 1))) if ok.any() else 0.0
            curve = " ".join(f"{f:g}:{r:.4f}" for f, r in zip(args.fractions, ratios))
            print(f"sampler={sampler} batch_size={batch_size} seed={seed} trials={len(values)} feasible={int(feasible.sum())} "
                  f"unique={len(set(at.tolist()))} hv_ratio {curve} old_ref={old:.4f} "
                  f"max_rel_diff_vs_grid={drift:.1e} duplicates_told={report.duplicates} optuna_s={report.optuna_s:.1f} "
                  f"model_s={report.model_s:.1f} lookup_s={report.lookup_s:.2f}", flush=True)
            results.setdefault(sampler, []).append(ratios)
        print("summary: hypervolume ratio, mean (worst) and median (worst) over seeds " + " ".join(map(str, args.seeds)))
        print("sampler".ljust(28) + "".join(f"{f * 100:g} % ({k})".rjust(18) for f, k in zip(args.fractions, counts)))
        for sampler, runs in results.items():
            table = np.asarray(runs)
            print(sampler.ljust(28) + "".join(f"{m:.4f} ({w:.4f})".rjust(18)
                                              for m, w in zip(table.mean(axis=0), table.min(axis=0))))
            print(f"{'  median':28}" + "".join(f"{m:.4f} ({w:.4f})".rjust(18)
                                              for m, w in zip(np.median(table, axis=0), table.min(axis=0))))
            if table.mean(axis=0)[-1] > best[1]:
                best = (sampler, float(table.mean(axis=0)[-1]))
    print(f"hypervolume_ratio={best[1]:.4f} evaluated_fraction={counts[-1] / total:.4f} sampler={best[0]}")


if __name__ == "__main__":
    main()
