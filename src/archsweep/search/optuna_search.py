"""Optuna multi-objective search over hardware candidates: create, workers, export.

Flow (``rules/search.smk``, one package call per rule):

1. :func:`create_search_study` creates the Optuna study once, before any worker starts
   (concurrent ``create_study`` on an empty PostgreSQL database races: Optuna issue #1092).
2. :func:`run_search_worker` (N jobs sharing the storage) asks ``batch_size`` trials,
   builds one :class:`~archsweep.spec.hardware.HardwareArrays` batch (the study's base design
   with the trials' parameters), evaluates it on every workload as one vectorised batch
   (:func:`archsweep.workflow.stages.evaluation_columns`, i.e. the model with its mapping search and
   the study's constraints), and tells the batch. Worker ``w`` owns
   ``trials // workers (+1 for w < trials % workers)`` trials, tagged with the user attr
   ``worker``. Restart after ``kill -9``: the worker's trials left RUNNING are marked FAIL
   and only the evaluated ones (COMPLETE, or FAIL with ``evaluated``) count, so the budget
   is finished exactly once.
3. :func:`export_search` writes ``trials.parquet`` (one row per (trial, workload): trial
   number, worker, state, hardware columns, every model output, constraint values,
   ``candidate_id`` from :func:`archsweep.candidates.space.candidate_ids`) and ``hypervolume.parquet``
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

import argparse
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pyarrow as pa
from optuna.storages.journal._file import BaseJournalFileLock  # the lock interface JournalFileBackend takes

from archsweep.spec.errors import ArchsweepError, InputError
from archsweep.spec.hardware import HARDWARE_PARAMETERS, PARAMETER_BY_NAME, HardwareArrays
from archsweep.results.hypervolume import hypervolume, hypervolume_history
from archsweep.results.pareto import to_minimization
from archsweep.spec.search import DEFAULT_STORAGE, SearchSpec
from archsweep.spec.study import Study
from archsweep.load.study import load_study

__all__ = [
    "create_search_study", "run_search_worker", "search_dir", "export_search", "search_storage", "make_sampler",
"worker_quota", "reference_point", "WorkerReport", "main",
]

_WORKER_ATTR = "worker"
_EVALUATED_ATTR = "evaluated"
_FEASIBLE_ATTR = "feasible"
_CANDIDATE_ATTR = "candidate_id"


# ---------------------------------------------------------------------------------------
# Storage, sampler, distributions
# ---------------------------------------------------------------------------------------

def _search_spec(study: Study) -> SearchSpec:
    if not isinstance(study.search, SearchSpec):
        raise InputError(study.file, "search", "<missing>", "a search section to run an Optuna search")
    return study.search


def search_dir(study: Study, results: str | Path = "results") -> Path:
    """``results/<study>/search``: journal, worker markers and exports."""
    return Path(results) / study.name / "search"


def search_storage(study: Study, results: str | Path = "results") -> optuna.storages.BaseStorage:
    """The study's Optuna storage: a journal file (default) or an RDB URL (``postgresql://...``)."""
    spec = _search_spec(study)
    target = spec.storage
    if target == DEFAULT_STORAGE or target.endswith(".log"):
        path = search_dir(study, results) / "journal.log" if target == DEFAULT_STORAGE else Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        return JournalStorage(JournalFileBackend(str(path), lock_obj=_FlockLock(f"{path}.flock")))
    return optuna.storages.RDBStorage(_expand_url(target, study.file))


def _expand_url(url: str, file: str) -> str:
    """``${VAR}`` / ``$VAR`` in a storage URL from the environment, so passwords stay out of
    study files (``postgresql://user:${ARCHSWEEP_DB_PASSWORD}@host/db``). An unset variable is
    an error, never an empty string."""
    import os
    import re

    missing = [m for m in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", url) if m not in os.environ]
    if missing:
        raise InputError(file, "search.storage", url, f"environment variable(s) {', '.join(missing)} set")
    return os.path.expandvars(url)


class _FlockLock(BaseJournalFileLock):
    """Journal file lock held with ``flock``: the kernel releases it when its process dies.

    Optuna's default symlink lock survives ``kill -9`` of a worker that held it, and every
    later writer then waits its 30 s grace period before breaking it; a search must resume
    at once after ``kill -9``. (``flock`` also works on NFS v4 clients.)
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._handle: Any = None

    def acquire(self) -> bool:
        import fcntl

        handle = open(self._path, "a+b")
        fcntl.flock(handle, fcntl.LOCK_EX)
        self._handle = handle
        return True

    def release(self) -> None:
        import fcntl

        handle, self._handle = self._handle, None
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def make_sampler(spec: SearchSpec, worker: int) -> optuna.samplers.BaseSampler:
    """The configured sampler, seeded ``spec.seed + worker``."""
    seed = spec.seed + worker
    options = spec.sampler.option_dict()
    name = spec.sampler.name
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, **options)
    if name == "nsga3":
        return optuna.samplers.NSGAIIISampler(seed=seed, **options)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, **options)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, **options)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    space = {p.name: _python_values(p.grid_values()) for p in spec.parameters}
    return optuna.samplers.GridSampler(space, seed=seed)


def _python_values(values: np.ndarray) -> list[Any]:
    return [v.item() if hasattr(v, "item") else v for v in values]


def _distributions(spec: SearchSpec) -> dict[str, optuna.distributions.BaseDistribution]:
    """Optuna distribution per parameter: categorical for values/points, float/int otherwise."""
    out: dict[str, optuna.distributions.BaseDistribution] = {}
    for p in spec.parameters:
        kind = PARAMETER_BY_NAME[p.name].kind
        if p.kind == "values" or p.points is not None or spec.sampler.name == "grid":
            out[p.name] = optuna.distributions.CategoricalDistribution(_python_values(p.grid_values()))
        elif kind == "int":
            step = int(p.step) if p.step is not None else 1
            out[p.name] = optuna.distributions.IntDistribution(int(p.low), int(p.high), log=p.scale == "log" and step == 1, step=step)
        else:
            out[p.name] = optuna.distributions.FloatDistribution(p.low, p.high, log=p.scale == "log", step=p.step)
    return out


def worker_quota(trials: int, workers: int, worker: int) -> int:
    """Trials worker ``worker`` owns: an even split, the remainder to the first workers."""
    if not 0 <= worker < workers:
        raise ValueError(f"worker: got {worker}; allowed: 0 to {workers - 1}")
    return trials // workers + (1 if worker < trials % workers else 0)


# ---------------------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------------------

def create_search_study(study: Study, storage: optuna.storages.BaseStorage | None = None,
                        results: str | Path = "results") -> optuna.Study:
    """Create (or load, if it exists) the Optuna study named after ``study``. Run it once."""
    storage = storage or search_storage(study, results)
    return optuna.create_study(
        study_name=study.name, storage=storage, load_if_exists=True,
        directions=[o.direction for o in study.objectives],
    )


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


def _context(study: Study) -> _Context:
    from archsweep.load.catalog import get_accelerator
    from archsweep.results.provenance import file_sha256, run_id_for
    from archsweep.load.technology import load_technology
    from archsweep.load.workloads import load_workload

    return _Context(study, get_accelerator(study.base).as_dict(), load_technology(),
                    tuple(load_workload(w) for w in study.workloads), run_id_for(file_sha256(study.file)))


def _hardware_batch(ctx: _Context, params: Sequence[Mapping[str, Any]]) -> HardwareArrays:
    """Base design with each trial's parameters; HBM per-stack values follow the generation
    when only the generation is searched (as :mod:`archsweep.candidates.space` does for sweeps)."""
    n = len(params)
    columns: dict[str, np.ndarray] = {}
    for info in HARDWARE_PARAMETERS:
        if params and info.name in params[0]:
            columns[info.name] = np.asarray([p[info.name] for p in params])
        else:
            columns[info.name] = np.full(n, ctx.base[info.name])
    from archsweep.candidates.space import hbm_per_stack_values

    searched = set(params[0]) if params else set()
    columns.update(hbm_per_stack_values(columns["hbm_generation"], searched, file=ctx.study.file,
                                        key_path="search.parameters.hbm_generation"))
    return HardwareArrays.from_columns(columns)


def _evaluate(ctx: _Context, params: Sequence[Mapping[str, Any]]) -> list[dict[str, np.ndarray]]:
    """One dict of columns per workload, rows in ``params`` order."""
    from archsweep.candidates.space import candidate_ids
    from archsweep.candidates.evaluate import evaluation_columns

    hw = _hardware_batch(ctx, params)
    ids = candidate_ids(hw.columns())
    return [evaluation_columns(ctx.study, hw, ids, wl, tech=ctx.tech, run_id=ctx.run_id) for wl in ctx.workloads]


def _aggregate(study: Study, per_workload: Sequence[Mapping[str, np.ndarray]]
               ) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Objective values (n, k) aggregated over workloads, constraint names and values (n, c)
    (worst workload), feasible (n,) (feasible on every workload)."""
    spec = _search_spec(study)
    objectives = []
    for o in study.objectives:
        stack = np.stack([np.asarray(cols[o.column], dtype=np.float64) for cols in per_workload])
        if spec.aggregate == "sum":
            objectives.append(stack.sum(axis=0))
        elif spec.aggregate == "worst":
            objectives.append(stack.min(axis=0) if o.direction == "maximize" else stack.max(axis=0))
        else:
            objectives.append(stack.mean(axis=0))
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
    """What one worker run did. Times in seconds."""

    worker: int
    told: int
    already_done: int
    failed_stale: int
    optuna_s: float
    model_s: float


def _own_trials(ostudy: optuna.Study, worker: int) -> list[optuna.trial.FrozenTrial]:
    return [t for t in ostudy.get_trials(deepcopy=False) if t.user_attrs.get(_WORKER_ATTR) == worker]


def _counted(trial: optuna.trial.FrozenTrial) -> bool:
    return trial.state == optuna.trial.TrialState.COMPLETE or bool(trial.user_attrs.get(_EVALUATED_ATTR))


def run_search_worker(study_file: str | Path, worker_index: int, *, results: str | Path = "results",
                      progress: bool = True) -> WorkerReport:
    """Run worker ``worker_index`` until its share of the budget is told; resumable.

    Progress lines: trials done / quota, feasible so far, hypervolume of this worker's
    feasible trials (reference point: their nadir plus 10 % of the range).
    """
    study = load_study(study_file)
    spec = _search_spec(study)
    quota = worker_quota(spec.trials, spec.workers, worker_index)
    storage = search_storage(study, results)
    ostudy = optuna.load_study(study_name=study.name, storage=storage, sampler=make_sampler(spec, worker_index))
    own = _own_trials(ostudy, worker_index)
    stale = [t for t in own if t.state == optuna.trial.TrialState.RUNNING]
    for t in stale:  # left RUNNING by a killed run of this worker: never counted, even if evaluated
        storage.set_trial_user_attr(t._trial_id, _EVALUATED_ATTR, False)
        storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
    stale_ids = {t.number for t in stale}
    done = sum(_counted(t) for t in own if t.number not in stale_ids)
    already = done
    directions = [o.direction for o in study.objectives]
    feasible_min = [to_minimization(np.asarray([t.values]), directions)[0] for t in own
                    if t.state == optuna.trial.TrialState.COMPLETE and t.user_attrs.get(_FEASIBLE_ATTR)]
    ctx = _context(study) if done < quota else None
    distributions = _distributions(spec)
    optuna_s = model_s = 0.0
    told = 0
    while done < quota and ctx is not None:
        k = min(spec.batch_size, quota - done)
        start = time.perf_counter()
        trials = []
        for _ in range(k):
            trial = ostudy.ask(distributions)
            trial.set_user_attr(_WORKER_ATTR, worker_index)
            trials.append(trial)
        params = [t.params for t in trials]
        optuna_s += time.perf_counter() - start
        start = time.perf_counter()
        per_workload = _evaluate(ctx, params)
        values, names, constraints, feasible = _aggregate(study, per_workload)
        model_s += time.perf_counter() - start
        start = time.perf_counter()
        ids = per_workload[0]["candidate_id"]
        for i, trial in enumerate(trials):
            for name, c in zip(names, constraints[i]):
                trial.set_constraint(name, float(c) if math.isfinite(c) else 1e300)
            trial.set_user_attr(_FEASIBLE_ATTR, bool(feasible[i]))
            trial.set_user_attr(_CANDIDATE_ATTR, str(ids[i]))
            trial.set_user_attr(_EVALUATED_ATTR, True)
            row = values[i]
            if np.all(np.isfinite(row)):
                ostudy.tell(trial, row.tolist())
                if feasible[i]:
                    feasible_min.append(to_minimization(row[None, :], directions)[0])
            else:  # the model gave no number (e.g. nothing fits): a failed, but evaluated, trial
                ostudy.tell(trial, state=optuna.trial.TrialState.FAIL)
        optuna_s += time.perf_counter() - start
        done += k
        told += k
        if progress:
            hv = _running_hypervolume(feasible_min)
            print(f"search worker {worker_index}: {done}/{quota} trials, {len(feasible_min)} feasible, "
                  f"hypervolume {hv:.6g} (optuna {optuna_s:.2f} s, model {model_s:.2f} s)", flush=True)
    if progress:
        pace = "Optuna" if optuna_s > model_s else "the model"
        print(f"search worker {worker_index}: done; {told} told now, {already} before; "
              f"{pace} sets the pace (optuna {optuna_s:.2f} s, model {model_s:.2f} s)", flush=True)
    return WorkerReport(worker_index, told, already, len(stale), optuna_s, model_s)


def _running_hypervolume(points: Sequence[np.ndarray]) -> float:
    if not points:
        return 0.0
    values = np.asarray(points)
    return hypervolume(values, reference_point(values))


def reference_point(values_min: np.ndarray) -> np.ndarray:
    """Hypervolume reference point: the nadir of ``values_min`` plus 10 % of each range
    (plus 10 % of |nadir|, or 1, where the range is 0), so every point adds volume."""
    values = np.asarray(values_min, dtype=np.float64)
    low, high = values.min(axis=0), values.max(axis=0)
    span = high - low
    margin = np.where(span > 0, 0.1 * span, np.where(high != 0, 0.1 * np.abs(high), 1.0))
    return high + margin


# ---------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------

def export_search(study_file: str | Path, trials_out: str | Path, hypervolume_out: str | Path, *,
                  results: str | Path = "results") -> tuple[Path, Path]:
    """Write ``trials.parquet`` and ``hypervolume.parquet`` from the storage.

    Trials are re-evaluated in one batch (the model is a pure function, so the columns equal
    what the workers saw); only counted trials (COMPLETE, or FAIL after evaluation) are
    exported, so a search resumed after ``kill -9`` exports exactly its budget.
    """
    from archsweep.results.parquet import write_parquet_atomic

    study = load_study(study_file)
    spec = _search_spec(study)
    ostudy = optuna.load_study(study_name=study.name, storage=search_storage(study, results))
    # Counted trials only (the budget): not trials a killed worker left behind, marked FAIL on restart.
    trials = [t for t in ostudy.get_trials(deepcopy=False) if set(t.params) == set(spec.names) and _counted(t)]
    trials.sort(key=lambda t: t.number)
    directions = [o.direction for o in study.objectives]
    tables = []
    if trials:
        per_workload = _evaluate(_context(study), [t.params for t in trials])
        n = len(trials)
        meta = {
            "trial_number": np.asarray([t.number for t in trials], dtype=np.int64),
            "worker": np.asarray([int(t.user_attrs.get(_WORKER_ATTR, -1)) for t in trials], dtype=np.int64),
            "state": np.asarray([t.state.name for t in trials], dtype=object),
        }
        for cols in per_workload:
            tables.append(pa.table({**meta, **{k: np.broadcast_to(np.asarray(v), (n,)) for k, v in cols.items()}}))
    table = pa.concat_tables(tables, promote_options="default") if tables else pa.table({
        "trial_number": pa.array([], pa.int64()), "worker": pa.array([], pa.int64()), "state": pa.array([], pa.string()),
        "study": pa.array([], pa.string()), "candidate_id": pa.array([], pa.string()),
        "workload": pa.array([], pa.string())})
    trials_path = write_parquet_atomic(table, trials_out)
    hv_table = _hypervolume_table(trials, directions, [o.column for o in study.objectives])
    hv_table = hv_table.add_column(0, "study", pa.array([study.name] * hv_table.num_rows, pa.string()))
    hv_path = write_parquet_atomic(hv_table, hypervolume_out)
    return trials_path, hv_path


def _hypervolume_table(trials: Sequence[optuna.trial.FrozenTrial], directions: Sequence[str],
                       columns: Sequence[str]) -> pa.Table:
    """Hypervolume after each completed trial (feasible ones add volume), with the reference point."""
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    numbers = np.asarray([t.number for t in done], dtype=np.int64)
    if not done:
        return pa.table({"trial_number": numbers, "hypervolume": np.zeros(0),
                         **{f"reference_{c}": np.zeros(0) for c in columns}})
    values = to_minimization(np.asarray([t.values for t in done]), directions)
    feasible = np.asarray([bool(t.user_attrs.get(_FEASIBLE_ATTR, True)) for t in done])
    masked = np.where(feasible[:, None], values, np.nan)
    ref = reference_point(values[feasible]) if feasible.any() else reference_point(values)
    history = hypervolume_history(masked, ref)
    # Reference point in the objectives' own direction (maximised columns flipped back).
    natural_ref = to_minimization(ref[None, :], directions)[0]
    return pa.table({"trial_number": numbers, "hypervolume": history,
                     **{f"reference_{c}": np.full(len(done), natural_ref[i]) for i, c in enumerate(columns)}})


# ---------------------------------------------------------------------------------------
# Command line: python -m archsweep.search.optuna_search create|worker|export --study FILE ...
# ---------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m archsweep.search.optuna_search", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    for verb in ("create", "worker", "export"):
        p = sub.add_parser(verb)
        p.add_argument("--study", required=True, help="study YAML file")
        p.add_argument("--results", default="results", help="results root (default results/)")
        if verb == "create":
            p.add_argument("--marker", help="file written once the study exists")
        if verb == "worker":
            p.add_argument("--worker", type=int, required=True)
            p.add_argument("--marker", help="file written when this worker's share is done")
        if verb == "export":
            p.add_argument("--trials", required=True)
            p.add_argument("--hypervolume", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.verb == "create":
            study = load_study(args.study)
            ostudy = create_search_study(study, results=args.results)
            _marker(args.marker, f"study {ostudy.study_name}\n")
        elif args.verb == "worker":
            report = run_search_worker(args.study, args.worker, results=args.results)
            _marker(args.marker, f"{report}\n")
        else:
            export_search(args.study, args.trials, args.hypervolume, results=args.results)
    except ArchsweepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def run_rule(verb: str, *, study: str, results: str, log: str, marker: str | None = None, worker: int | None = None,
             trials: str | None = None, hypervolume: str | None = None) -> None:
    """One Snakemake rule of ``rules/search.smk`` (``create``, ``worker`` or ``export``), its
    output and errors written to ``log``. Raises on failure so Snakemake marks the job failed."""
    import contextlib

    argv = [verb, "--study", study, "--results", results]
    if marker is not None:
        argv += ["--marker", marker]
    if worker is not None:
        argv += ["--worker", str(worker)]
    if trials is not None:
        argv += ["--trials", trials, "--hypervolume", str(hypervolume)]
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as handle, contextlib.redirect_stdout(handle), contextlib.redirect_stderr(handle):
        status = main(argv)
    if status != 0:
        raise RuntimeError(f"search {verb} failed (exit {status}); see {log}")


def _marker(path: str | None, text: str) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)


if __name__ == "__main__":
    sys.exit(main())
