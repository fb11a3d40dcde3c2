"""Optuna multi-objective search over hardware candidates: create, workers, export.

Flow (``rules/search.smk``, one package call per rule):

1. :func:`create_search_study` creates the Optuna study once, before any worker starts
   (concurrent ``create_study`` on an empty PostgreSQL database races: Optuna issue #1092).
2. :func:`run_search_worker` (N jobs sharing the storage) asks ``batch_size`` trials,
   builds one :class:`~archsweep.spec.hardware.HardwareArrays` batch (the study's base design
   with the trials' parameters), evaluates it on every workload as one vectorised batch
   (:func:`archsweep.candidates.evaluate.evaluation_columns`, i.e. the model with its mapping search,
   then :func:`archsweep.results.objectives.apply_constraints`), and tells the batch. Worker ``w`` owns
   ``trials // workers (+1 for w < trials % workers)`` trials, tagged with the user attr
   ``worker``. Restart after ``kill -9``: the worker's trials left RUNNING are marked FAIL
   and only the evaluated ones (COMPLETE, or FAIL with ``evaluated``) count, so the budget
   is finished exactly once. Deduplication (``deduplicate``, on by default,
   :mod:`archsweep.search.dedup`): a trial at a point already evaluated in the study is told
   the stored values without a model evaluation and not counted, so the budget is the number
   of distinct points the model evaluated.
3. :func:`export_search` writes ``trials.parquet`` (one row per (trial, workload): trial
   number, worker, state, hardware columns, every model output, constraint values,
   ``candidate_id`` from :func:`archsweep.candidates.ids.candidate_ids`) and ``hypervolume.parquet``
   (hypervolume after each feasible completed trial, with the reference point).

Constraints follow Optuna: values > 0 are violated; each ``violation_<column>_<max|min>``
(worst workload) is stored with ``Trial.set_constraint`` (Optuna 5's replacement of the
deprecated ``constraints_func``), which NSGA-II/III and TPE read. Several workloads: see :mod:`archsweep.load.searchspec` (``aggregate``).

Reproducibility: with ``workers: 1`` the same seed and budget give the same trials (the
sampler is seeded and batches are told in order). With several workers each sampler is
seeded ``seed + worker``, but what a sampler sees of the other workers' trials depends on
timing, so the set of trials is not reproducible, only the budget and the absence of
duplicates are.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from archsweep.candidates.evaluate import evaluation_columns, study_workload
from archsweep.candidates.hbm import hbm_per_stack_values
from archsweep.candidates.ids import candidate_ids
from archsweep.load.catalog import get_accelerator
from archsweep.load.study import load_study
from archsweep.load.technology import load_technology
from archsweep.results.hypervolume import hypervolume, reference_point
from archsweep.results.objectives import apply_constraints
from archsweep.results.pareto import to_minimization
from archsweep.results.provenance import file_sha256, run_id_for
from archsweep.search.aggregate import aggregate_workloads
from archsweep.search.dedup import PointCache, Told, counted, finite_or_cap, point_key, space_size
from archsweep.search.designobjectives import DesignObjectives
from archsweep.search.mappingattrs import MAPPING_ATTR, mapping_attrs
from archsweep.search.storage import (
    CANDIDATE_ATTR,
    DUPLICATE_ATTR,
    EVALUATED_ATTR,
    FEASIBLE_ATTR,
    WORKER_ATTR,
    distributions,
    make_sampler,
    search_spec,
    search_storage,
    worker_quota,
)
from archsweep.spec.hardware import HARDWARE_PARAMETERS, HardwareArrays
from archsweep.spec.study import Study

__all__ = ["run_search_worker", "WorkerReport", "reference_point", "counted", "evaluate_batch", "batch_context",
           "aggregate_objectives", "hardware_batch", "design_objectives"]

#: Batches in a row with only evaluated points after which a worker stops short of its quota
#: (a sampler that keeps proposing known points, e.g. a nearly exhausted grid).
MAX_STALLED_BATCHES = 100

# ---------------------------------------------------------------------------------------
# Evaluation of one batch
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Context:
    """What every batch needs: base design, technology, workloads, run id."""

    study: Study
    base: Mapping[str, Any]
    tech: Any
    workloads: tuple[Any, ...]
    run_id: str


def batch_context(study: Study) -> _Context:

    return _Context(study, get_accelerator(study.base).as_dict(), load_technology(),
                    tuple(study_workload(study, w) for w in study.workloads), run_id_for(file_sha256(study.file)))


def hardware_batch(ctx: _Context, searched: Mapping[str, np.ndarray]) -> HardwareArrays:
    """The base design with each point's searched parameters (``searched``: parameter name -> one value per
    point; every point searches the same parameters); HBM per-stack values follow the generation when only the
    generation is searched (as :mod:`archsweep.candidates.space` does for sweeps)."""
    n = len(next(iter(searched.values()))) if searched else 0
    columns: dict[str, np.ndarray] = {}
    for info in HARDWARE_PARAMETERS:
        if info.name in searched:
            columns[info.name] = np.asarray(searched[info.name])
        else:
            columns[info.name] = np.full(n, ctx.base[info.name])

    columns.update(hbm_per_stack_values(columns["hbm_generation"], set(searched), file=ctx.study.file,
                                        key_path="search.parameters.hbm_generation"))
    return HardwareArrays.from_columns(columns)


def design_objectives(ctx: _Context) -> DesignObjectives:
    """The study's design-only objectives on its base design (``surrogate_exact_design``)."""
    study = ctx.study
    return DesignObjectives(functools.partial(hardware_batch, ctx), ctx.tech, [o.column for o in study.objectives],
                            [o.direction for o in study.objectives], len(study.workloads), search_spec(study).aggregate)


def evaluate_batch(ctx: _Context, params: Sequence[Mapping[str, Any]]) -> list[dict[str, np.ndarray]]:
    """One dict of columns per workload, rows in ``params`` order."""

    hw = hardware_batch(ctx, {name: np.asarray([p[name] for p in params]) for name in (params[0] if params else ())})
    ids = candidate_ids(hw.columns())
    return [apply_constraints(ctx.study, evaluation_columns(ctx.study, hw, ids, wl, tech=ctx.tech, run_id=ctx.run_id))
            for wl in ctx.workloads]


def aggregate_objectives(study: Study, per_workload: Sequence[Mapping[str, np.ndarray]]
               ) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Objective values (n, k) aggregated over workloads, constraint names and values (n, c)
    (worst workload), feasible (n,) (feasible on every workload)."""
    spec = search_spec(study)
    objectives = []
    for o in study.objectives:
        stack = np.stack([np.asarray(cols[o.column], dtype=np.float64) for cols in per_workload])
        objectives.append(aggregate_workloads(stack, spec.aggregate, o.direction))
    names = sorted(k for k in per_workload[0] if k.startswith("violation_"))
    n = len(per_workload[0]["candidate_id"])
    constraints = (np.stack([np.max([np.asarray(c[k], dtype=np.float64) for c in per_workload], axis=0) for k in names], axis=1)
                   if names else np.zeros((n, 0)))
    feasible = np.logical_and.reduce([np.asarray(c["feasible"], dtype=bool) for c in per_workload])
    return np.stack(objectives, axis=1), names, constraints, feasible


# ---------------------------------------------------------------------------------------
# Worker
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WorkerReport:
    """What one worker run did. ``told``: trials evaluated by the model (counted); ``duplicates``:
    trials told stored values (not counted); ``lookup_s``: reading the others' finished trials
    (part of ``optuna_s``'s bookkeeping, timed apart). Times in seconds."""

    worker: int
    told: int
    already_done: int
    failed_stale: int
    optuna_s: float
    model_s: float
    duplicates: int = 0
    lookup_s: float = 0.0


def _own_trials(ostudy: optuna.Study, worker: int) -> list[optuna.trial.FrozenTrial]:
    return [t for t in ostudy.get_trials(deepcopy=False) if t.user_attrs.get(WORKER_ATTR) == worker]


def run_search_worker(study_file: str | Path, worker_index: int, *, results: str | Path = "results",
                      progress: bool = True) -> WorkerReport:
    """Run worker ``worker_index`` until its share of the budget is told; resumable.

    Progress lines: trials done / quota, feasible so far, hypervolume of this worker's
    feasible trials (reference point: their nadir plus 10 % of the range).
    """
    study = load_study(study_file)
    spec = search_spec(study)
    quota = worker_quota(spec.trials, spec.workers, worker_index)
    storage = search_storage(study, results)
    ctx = batch_context(study)
    sampler = make_sampler(spec, worker_index, objectives=len(study.objectives), design=design_objectives(ctx))
    ostudy = optuna.load_study(study_name=study.name, storage=storage, sampler=sampler)
    own = _own_trials(ostudy, worker_index)
    stale = [t for t in own if t.state == optuna.trial.TrialState.RUNNING]
    for t in stale:  # left RUNNING by a killed run of this worker: never counted, even if evaluated
        storage.set_trial_user_attr(t._trial_id, EVALUATED_ATTR, False)
        storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
    stale_ids = {t.number for t in stale}
    done = sum(counted(t) for t in own if t.number not in stale_ids)
    already = done
    directions = [o.direction for o in study.objectives]
    feasible_min = [to_minimization(np.asarray([t.values]), directions)[0] for t in own
                    if t.state == optuna.trial.TrialState.COMPLETE and t.user_attrs.get(FEASIBLE_ATTR)]
    trial_distributions = distributions(spec)
    optuna_s = model_s = 0.0
    told = 0
    cache = PointCache() if spec.deduplicate else None
    size = space_size(trial_distributions)
    duplicates = stalled = 0
    lookup_s = 0.0
    while done < quota:
        if cache is not None:
            start = time.perf_counter()
            cache.refresh(ostudy)
            lookup_s += time.perf_counter() - start
            if size is not None and len(cache) >= size:
                print(f"search worker {worker_index}: every one of the {size} points is evaluated; stopping at "
                      f"{done}/{quota}", flush=True)
                break
        k = min(spec.batch_size, quota - done)
        start = time.perf_counter()
        trials = []
        for _ in range(k):
            trial = ostudy.ask(trial_distributions)
            trial.set_user_attr(WORKER_ATTR, worker_index)
            trials.append(trial)
        # First trial at each point not evaluated yet: evaluated; the others are told the stored values.
        keys = [point_key(t.params) for t in trials]
        first: dict[tuple[tuple[str, Any], ...], int] = {}
        for i, key in enumerate(keys):
            if (cache is None or cache.get(key) is None) and key not in first:
                first[key] = i
        fresh = sorted(first.values()) if cache is not None else list(range(k))
        optuna_s += time.perf_counter() - start
        start = time.perf_counter()
        told_now: dict[int, Told] = {}
        if fresh:
            per_workload = evaluate_batch(ctx, [trials[i].params for i in fresh])
            values, names, constraints, feasible = aggregate_objectives(study, per_workload)
            ids = per_workload[0]["candidate_id"]
            mappings = mapping_attrs(study.workloads, per_workload)
            for j, i in enumerate(fresh):
                row = values[j]
                told_now[i] = Told(trials[i].number, tuple(row.tolist()) if np.all(np.isfinite(row)) else None,
                                   tuple((n, finite_or_cap(c)) for n, c in zip(names, constraints[j])),
                                   bool(feasible[j]), str(ids[j]), mappings[j])
        model_s += time.perf_counter() - start
        start = time.perf_counter()
        for i, trial in enumerate(trials):
            if i in told_now:
                told_i = told_now[i]
                trial.set_user_attr(EVALUATED_ATTR, True)
                if cache is not None:
                    cache.add(keys[i], told_i)
            else:
                known = cache.get(keys[i]) if cache is not None else None
                told_i = known if known is not None else told_now[first[keys[i]]]
                trial.set_user_attr(DUPLICATE_ATTR, told_i.number)
                trial.set_user_attr(EVALUATED_ATTR, False)
                duplicates += 1
            for name, c in told_i.constraints:
                trial.set_constraint(name, c)
            trial.set_user_attr(FEASIBLE_ATTR, told_i.feasible)
            trial.set_user_attr(CANDIDATE_ATTR, told_i.candidate_id)
            if told_i.mapping is not None:
                trial.set_user_attr(MAPPING_ATTR, dict(told_i.mapping))
            if told_i.values is not None:
                ostudy.tell(trial, list(told_i.values))
                if told_i.feasible and i in told_now:
                    feasible_min.append(to_minimization(np.asarray([told_i.values]), directions)[0])
            else:  # the model gave no number (e.g. nothing fits): a failed, but evaluated, trial
                ostudy.tell(trial, state=optuna.trial.TrialState.FAIL)
        optuna_s += time.perf_counter() - start
        done += len(fresh)
        told += len(fresh)
        stalled = 0 if fresh else stalled + 1
        if stalled >= MAX_STALLED_BATCHES:
            print(f"search worker {worker_index}: {stalled} batches in a row proposed only evaluated points; "
                  f"stopping at {done}/{quota} ({len(cache or ())} distinct points known)", flush=True)
            break
        if progress:
            hv = _running_hypervolume(feasible_min)
            print(f"search worker {worker_index}: {done}/{quota} trials, {len(feasible_min)} feasible, "
                  f"{duplicates} duplicates told from the cache, hypervolume {hv:.6g} "
                  f"(optuna {optuna_s:.2f} s, model {model_s:.2f} s, lookup {lookup_s:.2f} s)", flush=True)
    if progress:
        pace = "Optuna" if optuna_s > model_s else "the model"
        print(f"search worker {worker_index}: done; {told} told now, {already} before; "
              f"{pace} sets the pace (optuna {optuna_s:.2f} s, model {model_s:.2f} s)", flush=True)
    return WorkerReport(worker_index, told, already, len(stale), optuna_s, model_s, duplicates, lookup_s)


def _running_hypervolume(points: Sequence[np.ndarray]) -> float:
    if not points:
        return 0.0
    values = np.asarray(points)
    return hypervolume(values, reference_point(values))
