"""Roadmap scenarios at the edge: the study a scenario turns a study into, and its candidate ids.

A scenario (:class:`archsweep.spec.roadmap.Scenario`) is a named set of overrides; nothing
below the candidates layer knows about it:

- :func:`scenario_study`: the study's varied parameters restricted to the values the scenario
  offers (``allowed``), plus each scenario hardware value the study does not vary as a parameter
  of one value, so :func:`archsweep.candidates.space.expand_space` gives every row the
  scenario's process node, HBM, link bandwidths, ... When the study varies ``hbm_generation``,
  the per-stack HBM values follow each row's generation (technology data), not the scenario;
- :func:`scenario_candidate_ids`: ids that differ between scenarios (the same hardware under
  2025 and 2029 technology is two candidates with different prices and energies);
- the evaluation (:mod:`archsweep.candidates.evaluate`) evaluates each row with
  :func:`archsweep.spec.roadmap.scenario_technology` of its scenario and adds the scenario's
  ``limits`` as ``violation_scenario_<column>_max``.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np

from archsweep.candidates.hbm import HBM_FOLLOWS_GENERATION
from archsweep.spec.errors import InputError
from archsweep.spec.parameters import ParameterSpace
from archsweep.spec.roadmap import Scenario
from archsweep.spec.study import Study

__all__ = ["scenario_study", "scenario_candidate_ids"]


def scenario_study(study: Study, scenario: Scenario) -> Study:
    """``study`` as the scenario sees it: restricted varied parameters, then the scenario's
    pinned hardware values (one-value parameters), no scenarios of its own.

    Raises:
        InputError: a varied parameter keeps no value under the scenario (the study loader
            reports this first; kept for studies built in code).
    """
    varied = set(study.varied)
    spaces: list[ParameterSpace] = []
    for space in study.parameters:
        rule = scenario.allowed.get(space.name)
        restricted = rule.restrict(space) if rule is not None else space
        if not restricted.is_continuous and restricted.size == 0:
            raise InputError(study.file, f"parameters.{space.name}", f"<no value allowed by scenario {scenario.name}>",
                             f"values offered by {scenario.file} allowed.{space.name}")
        spaces.append(restricted)
    skip = varied | (set(HBM_FOLLOWS_GENERATION) if "hbm_generation" in varied else set())
    for name, sourced in scenario.hardware.items():
        if name not in skip:
            spaces.append(ParameterSpace(name, "values", values=(sourced.value,)))
    return replace(study, parameters=tuple(spaces), scenarios=())


def scenario_candidate_ids(ids: np.ndarray, scenario: str) -> np.ndarray:
    """Per-scenario ids: the first 16 hex digits of sha256("<scenario>/<hardware id>")."""
    prefix = f"{scenario}/".encode()
    return np.asarray([hashlib.sha256(prefix + str(i).encode()).hexdigest()[:16] for i in ids], dtype=object)
