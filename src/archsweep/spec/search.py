"""Frozen types of a study's ``search:`` section (an Optuna multi-objective search).

Parsed by :func:`archsweep.load.searchspec.parse_search_spec`. Several workloads: each trial is
evaluated on every workload; an objective is combined with ``aggregate`` (``mean`` by default,
``worst`` or ``sum``) and a constraint uses the worst workload (the largest violation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from archsweep.spec.parameters import ParameterSpace

__all__ = ["SamplerName", "Aggregate", "SAMPLERS", "SAMPLER_OPTIONS", "LOCAL_SEARCH_OPTIONS",
           "DEFAULT_LOCAL_SEARCH_START", "SURROGATE_OPTIONS", "SURROGATE_POOLS", "SURROGATE_CONSTRAINT_MODELS",
           "DEFAULT_SURROGATE_POOL", "DEFAULT_SURROGATE_CONSTRAINTS",
           "DEFAULT_SURROGATE_START", "DEFAULT_SURROGATE_BETA", "SamplerSpec", "SearchSpec", "DEFAULT_STORAGE"]

SamplerName = Literal["nsga2", "nsga3", "tpe", "qmc", "random", "grid"]
Aggregate = Literal["mean", "worst", "sum"]
SAMPLERS: tuple[str, ...] = ("nsga2", "nsga3", "tpe", "qmc", "random", "grid")
#: ``storage: journal`` (the default): an Optuna journal file ``results/<study>/search/journal.log``.
DEFAULT_STORAGE = "journal"

#: Options of every sampler but grid: a Pareto local search after the global phase
#: (:mod:`archsweep.search.localsearch`): ``local_search_start`` the fraction of ``trials`` evaluated
#: by the global sampler first, ``local_search_axes`` 1 or 2 (steps on one, then two axes),
#: ``local_search_model`` (a step model picks the parent's neighbour), ``local_search_global`` (share
#: of the local phase left to the global sampler), ``local_search_fresh`` (a global proposal at a
#: known point moves to a free neighbour), ``local_search_parents`` (``contribution``, ``gap``, ``extremes`` or ``gain``:
#: which front point proposes), ``local_search_final`` (the last fraction of ``trials`` without the global share),
#: ``neighbour_reach`` (one-axis moves of up to this many steps among a front point's neighbours, in the
#: local search and in the surrogate's candidates), ``slack_twins`` (the grid points a finished trial
#: implies through a limit that does not bind, :mod:`archsweep.search.twins`, count as known in both),
#: ``local_search_ridge`` (a line search from infeasible neighbours of front points to the feasibility
#: boundary, :mod:`archsweep.search.ridge`), ``limit_clamp`` (the step models of ``local_search_model`` and
#: ``local_search_ridge`` take the searched limit as a clamp, demand then min(limit, demand),
#: :mod:`archsweep.search.clamp`), ``limit_steps`` (a local trial proposes a design's clamped version at a
#: lower level of the searched limit, :mod:`archsweep.search.limitsteps`).
LOCAL_SEARCH_OPTIONS: tuple[str, ...] = ("local_search_start", "local_search_axes", "local_search_model",
                                         "local_search_global", "local_search_fresh", "local_search_parents",
                                         "local_search_final", "neighbour_reach", "slack_twins", "local_search_ridge",
                                         "limit_clamp", "limit_steps")
#: ``slack_twins``: the model's limit parameters and the constraint column that reports their use,
#: (used - limit) / limit (``archsweep.model.ppa``: ``"violation_tdp": (busy_power - hw.tdp_w) / hw.tdp_w``, the
#: busiest device's busy-phase power); :mod:`archsweep.search.twins`.
LIMIT_CONSTRAINTS: dict[str, str] = {"tdp_w": "violation_tdp"}
#: ``local_search_start`` of the default sampler (a search section without ``sampler``, with a
#: discrete parameter): NSGA-II, then the local search from half the budget.
DEFAULT_LOCAL_SEARCH_START = 0.5
#: Options of every sampler but grid: Gaussian-process hypervolume-improvement proposals on the grid
#: (:mod:`archsweep.search.surrogate`): ``surrogate_share`` the fraction of the trials after
#: ``surrogate_start`` x ``trials`` distinct points (and before ``surrogate_stop`` x ``trials``) that
#: the surrogate proposes (0: off), ``surrogate_beta`` the standard deviations of optimism,
#: ``surrogate_pool`` the candidates (:data:`SURROGATE_POOLS`), ``surrogate_constraints`` the feasibility
#: model (:data:`SURROGATE_CONSTRAINT_MODELS`), ``surrogate_grid_share`` (with ``surrogate_pool: both``) the
#: share of the surrogate's trials that choose among the whole-grid candidates only, ``surrogate_mapping`` whether
#: the objectives' models take each workload's chosen mapping too (:mod:`archsweep.search.surrogatemapping`),
#: ``surrogate_exact_design`` whether the objectives closed-form in the design (:data:`~archsweep.spec.columns.DESIGN_COLUMNS`)
#: are computed for every candidate instead of predicted (:mod:`archsweep.search.designobjectives`),
#: ``surrogate_wide_share`` the share of the surrogate's trials, from half the study's trials on, whose acquisition
#: reference lies one found-front range past its nadir (:mod:`archsweep.search.widereference`).
SURROGATE_OPTIONS: tuple[str, ...] = ("surrogate_share", "surrogate_start", "surrogate_stop", "surrogate_beta",
                                      "surrogate_pool", "surrogate_constraints", "surrogate_grid_share",
                                      "surrogate_mapping", "surrogate_exact_design", "surrogate_wide_share")
#: ``surrogate_pool``: ``neighbours`` (default) the found front's free one- and two-axis neighbours plus 512
#: random free points; ``grid`` every free grid point (screened by predicted mean); ``both`` the two sets
#: together (``surrogate_grid_share`` splits the trials between them); ``fallback`` the neighbours first,
#: the whole grid only when no neighbour gains hypervolume.
SURROGATE_POOLS: tuple[str, ...] = ("neighbours", "grid", "both", "fallback")
#: ``surrogate_constraints``: ``max`` (default) one GP of the largest constraint value, shortlist of the
#: candidates with a probability of feasibility >= 0.5; ``each`` one GP per constraint some finished trial
#: violates (on log(1 + v)), probability the product, no such shortlist; ``each_screened`` as ``each``, with
#: the shortlist kept on the trials that choose among the neighbours only.
SURROGATE_CONSTRAINT_MODELS: tuple[str, ...] = ("max", "each", "each_screened")
DEFAULT_SURROGATE_POOL = "neighbours"
DEFAULT_SURROGATE_CONSTRAINTS = "max"
DEFAULT_SURROGATE_START = 0.25
DEFAULT_SURROGATE_BETA = 1.0

SAMPLER_OPTIONS: dict[str, tuple[str, ...]] = {
    "nsga2": ("population_size", "mutation_prob", "crossover_prob", "swapping_prob", "qmc_startup_trials",
              "lhs_startup_trials", *LOCAL_SEARCH_OPTIONS, *SURROGATE_OPTIONS),
    "nsga3": ("population_size", "mutation_prob", "crossover_prob", "swapping_prob", "qmc_startup_trials",
              "lhs_startup_trials", *LOCAL_SEARCH_OPTIONS, *SURROGATE_OPTIONS),
    "tpe": ("n_startup_trials", "n_ei_candidates", "multivariate", "group", "constant_liar", "qmc_startup_trials",
            "lhs_startup_trials", "consider_endpoints", "prior_weight", "gamma", "gamma_max", *LOCAL_SEARCH_OPTIONS, *SURROGATE_OPTIONS),
    "qmc": ("qmc_type", "scramble", *LOCAL_SEARCH_OPTIONS, *SURROGATE_OPTIONS),
    "random": (*LOCAL_SEARCH_OPTIONS, *SURROGATE_OPTIONS),
    "grid": (),
}


@dataclass(frozen=True)
class SamplerSpec:
    """Optuna sampler name and its constructor options (JSON scalars)."""

    name: SamplerName = "nsga2"
    options: tuple[tuple[str, Any], ...] = ()

    def option_dict(self) -> dict[str, Any]:
        return dict(self.options)


@dataclass(frozen=True)
class SearchSpec:
    """A validated search section. Parameter values are SI (see ``archsweep.load.study.ParameterSpace``).

    Attributes:
        parameters: searched parameters (``archsweep.load.study.ParameterSpace``), file order.
        sampler: which Optuna sampler, with options (a study file without one gets
            :func:`archsweep.load.searchspec.default_sampler`: NSGA-II, plus the local search
            from half the budget when a parameter is discrete).
        trials: total trial budget over all workers.
        batch_size: trials asked/evaluated/told together.
        seed: sampler seed; worker ``w`` seeds its sampler with ``seed + w``.
        workers: number of worker jobs sharing the storage.
        storage: ``"journal"`` (default journal file), a ``*.log`` path, or an RDB URL.
        aggregate: how objectives combine over workloads.
        deduplicate: a trial at a point already evaluated in the study is told the stored
            values without a model evaluation and does not count against ``trials``.
    """

    parameters: tuple[ParameterSpace, ...]
    trials: int
    sampler: SamplerSpec = field(default_factory=SamplerSpec)
    batch_size: int = 64
    seed: int = 0
    workers: int = 1
    storage: str = DEFAULT_STORAGE
    aggregate: Aggregate = "mean"
    deduplicate: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)
