"""Where a search lives and how it starts: Optuna storage (journal file or RDB URL), sampler,
distributions, and the one-time creation of the Optuna study (before any worker starts:
concurrent ``create_study`` on an empty PostgreSQL database races, Optuna issue #1092)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.storages.journal._file import (
    BaseJournalFileLock,  # the lock interface JournalFileBackend takes
)

from archsweep.search.designobjectives import DesignObjectives
from archsweep.search.startup import SobolStartupSampler
from archsweep.search.widereference import WIDE_SHARE_START, WideReference
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import PARAMETER_BY_NAME
from archsweep.spec.search import (
    DEFAULT_STORAGE,
    DEFAULT_SURROGATE_BETA,
    DEFAULT_SURROGATE_CONSTRAINTS,
    DEFAULT_SURROGATE_POOL,
    DEFAULT_SURROGATE_START,
    SearchSpec,
)
from archsweep.spec.study import Study

__all__ = ["search_dir", "search_storage", "make_sampler", "worker_quota", "create_search_study"]

WORKER_ATTR = "worker"
EVALUATED_ATTR = "evaluated"
FEASIBLE_ATTR = "feasible"
CANDIDATE_ATTR = "candidate_id"
#: user attr of a trial told a point already evaluated (``deduplicate``): the evaluated trial's number.
DUPLICATE_ATTR = "duplicate_of"


# ---------------------------------------------------------------------------------------
# Storage, sampler, distributions
# ---------------------------------------------------------------------------------------

def search_spec(study: Study) -> SearchSpec:
    if not isinstance(study.search, SearchSpec):
        raise InputError(study.file, "search", "<missing>", "a search section to run an Optuna search")
    return study.search


def search_dir(study: Study, results: str | Path = "results") -> Path:
    """``results/<study>/search``: journal, worker markers and exports."""
    return Path(results) / study.name / "search"


def search_storage(study: Study, results: str | Path = "results") -> optuna.storages.BaseStorage:
    """The study's Optuna storage: a journal file (default) or an RDB URL (``postgresql://...``)."""
    spec = search_spec(study)
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


def make_sampler(spec: SearchSpec, worker: int, *, objectives: int = 2,
                 design: DesignObjectives | None = None) -> optuna.samplers.BaseSampler:
    """The configured sampler for a study of ``objectives`` objectives (one: TPE's ``gamma_max`` defaults
    to Optuna's single-objective cap, :class:`TopFraction`), seeded ``spec.seed + worker``; with ``qmc_startup_trials`` behind
    a scrambled-Sobol start (:class:`archsweep.search.startup.SobolStartupSampler`, seeded ``spec.seed``);
    with ``local_search_start`` followed by a Pareto local search on the grid
    (:class:`archsweep.search.localsearch.ParetoLocalSearchSampler`); with ``surrogate_share`` all of it
    wrapped in :class:`archsweep.search.surrogate.SurrogateSampler` (its share of the trials, by trial
    number, proposed by Gaussian-process models; the others and its fallbacks go to what it wraps;
    ``surrogate_pool``, ``surrogate_constraints``, ``surrogate_grid_share`` and ``surrogate_mapping`` are its ``pool``,
    ``constraints``, ``grid_share`` and ``mapping``; with ``surrogate_exact_design`` it takes the study's
    design-only objectives from ``design`` (:mod:`archsweep.search.designobjectives`; required then); with
    ``surrogate_wide_share`` that share of its trials, from half the study's trials on, take a wide acquisition
    reference (its ``wide``, :mod:`archsweep.search.widereference`); ``slack_twins`` is the ``twins`` of both wrappers,
    ``limit_clamp`` the local search's ``clamp``, ``limit_steps`` its ``steps``)."""
    options = spec.sampler.option_dict()
    startup = int(options.pop("qmc_startup_trials", 0))
    lhs_startup = int(options.pop("lhs_startup_trials", 0))
    local_start = options.pop("local_search_start", None)
    local_axes = int(options.pop("local_search_axes", 2))
    local_model = bool(options.pop("local_search_model", False))
    local_global = float(options.pop("local_search_global", 0.0))
    local_fresh = bool(options.pop("local_search_fresh", False))
    local_parents = str(options.pop("local_search_parents", "contribution"))
    local_final = options.pop("local_search_final", None)
    reach = int(options.pop("neighbour_reach", 1))
    twins = bool(options.pop("slack_twins", False))
    ridge = bool(options.pop("local_search_ridge", False))
    clamp = bool(options.pop("limit_clamp", False))
    steps = bool(options.pop("limit_steps", False))
    surrogate_share = float(options.pop("surrogate_share", 0.0))
    surrogate_start = float(options.pop("surrogate_start", DEFAULT_SURROGATE_START))
    surrogate_beta = float(options.pop("surrogate_beta", DEFAULT_SURROGATE_BETA))
    surrogate_stop = options.pop("surrogate_stop", None)
    surrogate_pool = str(options.pop("surrogate_pool", DEFAULT_SURROGATE_POOL))
    surrogate_constraints = str(options.pop("surrogate_constraints", DEFAULT_SURROGATE_CONSTRAINTS))
    surrogate_grid_share = options.pop("surrogate_grid_share", None)
    surrogate_mapping = str(options.pop("surrogate_mapping", "off"))
    exact_design = bool(options.pop("surrogate_exact_design", False))
    wide_share = options.pop("surrogate_wide_share", None)
    if exact_design and design is None:
        raise ValueError("surrogate_exact_design: make_sampler needs the study's design objectives (design=...)")
    sampler = _sampler(spec, worker, options, objectives)
    if startup > 0:
        sampler = SobolStartupSampler(sampler, distributions(spec), startup, spec.seed)
    elif lhs_startup > 0:
        sampler = SobolStartupSampler(sampler, distributions(spec), lhs_startup, spec.seed, design="lhs")
    if local_start is not None:
        # Imported here: the local search needs moocore (~0.04 s of import with its dependencies), which a
        # create or export job, or a study without local search, should not pay.
        from archsweep.search.localsearch import ParetoLocalSearchSampler

        sampler = ParetoLocalSearchSampler(sampler, distributions(spec), start=round(float(local_start) * spec.trials),
                                           axes=local_axes, seed=spec.seed + worker, model=local_model,
                                           global_share=local_global, fresh=local_fresh, parents=local_parents,
                                           final=None if local_final is None
                                           else round((1.0 - float(local_final)) * spec.trials), reach=reach,
                                           twins=twins, ridge=ridge, clamp=clamp, steps=steps)
    if surrogate_share > 0:
        # Imported here: the surrogate (scipy.stats, scipy.optimize) costs ~0.8 s of import, which only a
        # study with surrogate_share should pay (every search job imports this module; nothing here is a cycle).
        from archsweep.search.surrogate import SurrogateSampler

        sampler = SurrogateSampler(sampler, distributions(spec), start=max(2, round(surrogate_start * spec.trials)),
                                   share=surrogate_share, beta=surrogate_beta, seed=spec.seed + worker,
                                   stop=None if surrogate_stop is None else round(float(surrogate_stop) * spec.trials),
                                   reach=reach, pool=surrogate_pool, constraints=surrogate_constraints,
                                   grid_share=None if surrogate_grid_share is None else float(surrogate_grid_share),
                                   twins=twins, mapping=surrogate_mapping, design=design if exact_design else None,
                                   wide=None if wide_share is None
                                   else WideReference(float(wide_share), round(WIDE_SHARE_START * spec.trials)))
    return sampler


def _sampler(spec: SearchSpec, worker: int, options: dict[str, Any], objectives: int) -> optuna.samplers.BaseSampler:
    seed = spec.seed + worker
    name = spec.sampler.name
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, **options)
    if name == "nsga3":
        return optuna.samplers.NSGAIIISampler(seed=seed, **options)
    if name == "tpe":
        if "gamma" in options or "gamma_max" in options:
            most = options.pop("gamma_max", None if objectives > 1 else SINGLE_OBJECTIVE_GAMMA_MAX)
            options["gamma"] = TopFraction(float(options.pop("gamma", 0.1)), None if most is None else int(most))
        return optuna.samplers.TPESampler(seed=seed, **options)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, **options)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    space = {p.name: python_values(p.grid_values()) for p in spec.parameters}
    return optuna.samplers.GridSampler(space, seed=seed)


#: Optuna 5's cap on TPE's "below" trials for one objective (optuna/samplers/_tpe/sampler.py
#: ``default_gamma``: ``min(ceil(0.1 n), 25)``; ``default_gamma_multiobjective`` has none).
SINGLE_OBJECTIVE_GAMMA_MAX = 25


@dataclass(frozen=True)
class TopFraction:
    """TPE's ``gamma`` from the ``gamma`` and ``gamma_max`` options: of ``n`` finished trials, the
    ``min(ceil(fraction * n), most)`` best form the "below" density (Optuna 5's default: 0.1 with no
    cap for several objectives, 0.1 capped at 25 for one; with several objectives the below set is
    the best non-domination ranks, the last one thinned by hypervolume subset selection). An option
    left out keeps Optuna's default for the study: ``gamma`` 0.1, ``gamma_max`` none with several
    objectives and :data:`SINGLE_OBJECTIVE_GAMMA_MAX` with one (so ``gamma`` alone does not lift a
    single-objective study's cap). A picklable callable, unlike a lambda."""

    fraction: float
    most: int | None = None

    def __call__(self, n: int) -> int:
        below = math.ceil(self.fraction * n)
        return below if self.most is None else min(below, self.most)


def python_values(values: np.ndarray) -> list[Any]:
    return [v.item() if hasattr(v, "item") else v for v in values]


def distributions(spec: SearchSpec) -> dict[str, optuna.distributions.BaseDistribution]:
    """Optuna distribution per parameter: categorical for values/points, float/int otherwise."""
    out: dict[str, optuna.distributions.BaseDistribution] = {}
    for p in spec.parameters:
        kind = PARAMETER_BY_NAME[p.name].kind
        if p.kind == "values" or p.points is not None or spec.sampler.name == "grid":
            out[p.name] = optuna.distributions.CategoricalDistribution(python_values(p.grid_values()))
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


