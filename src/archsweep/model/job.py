"""The protocol a job kind (training, serving, ...) implements to plug into the driver.

The driver (:mod:`archsweep.model.driver`) owns what every job kind shares: the chunked
best-mapping search over candidates (n, 1) x mappings (1, m), power/area/cost, DVFS under the TDP
cap (clock and supply voltage scaled together) and the feasibility column. A job kind supplies
only what is specific to it:

* :meth:`JobKind.mappings`: every hardware-independent mapping (parallelism, batching, ...) as one
  1-D struct of arrays (:class:`Mappings`: ``len``, ``take``, ``reshape``).
* :meth:`JobKind.performance`: the vectorised performance function; ``hw`` and ``mappings``
  broadcast ((n, 1) x (1, m) in the search, (n,) x (n,) for the chosen rows). Its result
  (:class:`JobResult`) carries ``valid`` (the mapping is possible on this hardware) and
  ``memory_violation`` (> 0 violated); infeasible is a value, never an exception.
* :attr:`JobKind.performance_fields`: the hardware fields :meth:`JobKind.performance` reads (not
  TDP, process node, ... that enter only power/area/cost); the driver's mapping search runs once per
  distinct row of them.
* :meth:`JobKind.violations`: every ``violation_<name>`` of the result (> 0 violated), memory
  included; the driver adds ``violation_mapping`` and the chip's (TDP, reticle).
* :attr:`JobKind.objectives` and :meth:`JobKind.rank`: the objective names the kind ranks by
  (the first is its default and breaks ties among infeasible mappings) and the value the mapping
  search minimises for one of them, per (candidate, mapping): step time for training, minus
  SLO-feasible output tokens/s per accelerator for serving. The driver adds the power/cost
  objectives (``energy_per_token_j``, ``usd_per_million_tokens``) for every kind.
* :meth:`JobKind.power_inputs`: the work of one time unit per accelerator (activity counts),
  the length of that time unit in seconds (one optimizer step; 1 s for serving), tokens per time
  unit and the job's token budget, for :func:`archsweep.model.ppa.power_area_cost`.
* :meth:`JobKind.columns`: the job's output columns (mapping, timing, memory, throughput),
  derived from its result types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Self, TypeVar

import numpy as np

from archsweep.model.activity import ActivityCounts
from archsweep.spec.hardware import HardwareArrays

__all__ = ["JobKind", "JobResult", "Mappings", "PowerInputs"]

M = TypeVar("M", bound="Mappings")
R = TypeVar("R", bound="JobResult")


class Mappings(Protocol):
    """A struct of arrays of mappings (1-D when enumerated)."""

    def __len__(self) -> int: ...

    def take(self, index: np.ndarray) -> Self: ...

    def reshape(self, shape: tuple[int, ...]) -> Self: ...


class JobResult(Protocol):
    """What the driver reads from every job kind's performance result."""

    @property
    def valid(self) -> np.ndarray: ...

    @property
    def memory_violation(self) -> np.ndarray: ...


@dataclass(frozen=True)
class PowerInputs:
    """The per-time-unit quantities power, cost and time-to-train need.

    Attributes:
        activity: work of one accelerator during one time unit.
        time_s: seconds per time unit (training: the step time; serving: 1).
        tokens: tokens processed by the whole deployment per time unit.
        total_tokens: token budget of the job (time-to-train; 0 where it has none).
        checkpoint_params: parameters whose model state a checkpoint holds (0: no checkpoints).
        busiest_activity: work of the busiest accelerator during one time unit, where devices differ (a
            training pipeline's slowest stage): its power is what the TDP cap binds on; None: ``activity``.
        busiest_share: that device's share of the devices (a pipeline's 1 / pp): the others run at their own
            power-limited clock under the cap (:func:`archsweep.model.ppa.power_area_cost`).
        busy_time_s: the busiest accelerator's busy phase within ``time_s`` (a training step's kernels; None: all
            of it): the phase whose own power the TDP cap holds (model/driver.py ``_dvfs``).
    """

    activity: ActivityCounts
    time_s: np.ndarray
    tokens: np.ndarray | float
    total_tokens: float
    checkpoint_params: float
    busiest_activity: ActivityCounts | None = None
    busiest_share: np.ndarray | float = 1.0
    busy_time_s: np.ndarray | None = None


class JobKind(Protocol[M, R]):
    """A kind of job the driver can evaluate (see the module docstring)."""

    @property
    def name(self) -> str:
        """Name of the job kind ("training", "serving")."""
        ...

    @property
    def objectives(self) -> tuple[str, ...]:
        """Objective names :meth:`rank` knows; the first is the default."""
        ...

    @property
    def performance_fields(self) -> tuple[str, ...]:
        """The hardware fields (:data:`~archsweep.spec.hardware.HARDWARE_PARAMETERS` names) that
        :meth:`performance` reads. Candidates equal in these fields get the same best mapping under a
        performance objective, so the driver searches once per distinct row of them; a property
        test (tests/model/test_performance_fields.py) checks that no other field changes the result."""
        ...

    def mappings(self) -> M: ...

    def performance(self, hw: HardwareArrays, mappings: M, ranking: bool = False) -> R:
        """The kind's result of every (candidate, mapping); ``ranking``: for ranking by :meth:`rank` and
        :meth:`violations` only, so a kind may leave out what only :meth:`power_inputs` reads (the same values of
        everything else)."""
        ...

    def violations(self, result: R) -> dict[str, np.ndarray]: ...

    def rank(self, result: R, objective: str) -> np.ndarray: ...

    def power_inputs(self, hw: HardwareArrays, mappings: M, result: R) -> PowerInputs: ...

    def columns(self, hw_nominal: HardwareArrays, hw: HardwareArrays, mappings: M, result: R) -> dict[str, np.ndarray]: ...
