"""The evaluation of a batch of candidates on one workload of a study, as tidy columns.

One row per (candidate, workload): the hardware parameters (design values, hashed into the
candidate id), the chosen mapping and the model's metrics, the study's constraint violations,
``feasible``, ``model_version`` and ``run_id``.
"""

from __future__ import annotations

import numpy as np

from archsweep import MODEL_VERSION
from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.job_software import job_software
from archsweep.load.serving_calibration import load_serving_calibration
from archsweep.load.workloads import load_architecture, load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.inference import evaluate_serving_batch
from archsweep.spec.columns import OUTPUT_COLUMNS, SCENARIO_COLUMN
from archsweep.spec.hardware import HARDWARE_PARAMETERS, HardwareArrays
from archsweep.spec.roadmap import Scenario, limit_violations
from archsweep.spec.serving import ServingWorkload
from archsweep.spec.study import Study
from archsweep.spec.technology import Technology
from archsweep.spec.workload import Workload

__all__ = ["evaluation_columns", "study_workload"]


def _hardware_columns(hw: HardwareArrays) -> dict[str, np.ndarray]:
    """Hardware parameter columns with their declared kinds (ints back to int64)."""
    out: dict[str, np.ndarray] = {}
    for info in HARDWARE_PARAMETERS:
        col = np.asarray(getattr(hw, info.name))
        out[info.name] = col.astype(np.int64) if info.kind == "int" else col
    return out


def evaluation_columns(study: Study, hw: HardwareArrays, candidate_ids: np.ndarray,
                       workload: Workload | ServingWorkload, *, tech: Technology, run_id: str,
                       scenario: Scenario | None = None) -> dict[str, np.ndarray]:
    """Tidy result columns of one workload (:func:`study_workload`) on a batch: one row per candidate.

    Columns: ``study``, ``candidate_id``, ``workload``, every hardware parameter (design
    values: the candidate id hashes them), the model's mapping and metric columns (a model
    output named like a hardware parameter, e.g. ``clock_hz`` after the DVFS cap, is stored as
    ``effective_<name>``), derived hardware quantities named in
    :data:`archsweep.load.study.OUTPUT_COLUMNS` that the model does not return (e.g.
    ``hbm_bw_bytes_per_s``), ``feasible`` (the model's own feasibility: a mapping fits and the
    design's physical limits hold), ``model_version`` and ``run_id``. The study's constraints are
    NOT applied here (:func:`archsweep.results.objectives.apply_constraints` does it after
    evaluation, so editing a constraint re-runs no model). A training workload runs with the study
    base part's measured rates, host link and the job's low-precision recipe
    (:func:`archsweep.load.part_physics.job_calibration`), so a candidate equal to the base part
    gives what ``archsweep eval`` and ``archsweep validate`` give for that part.

    With a ``scenario`` (``tech`` is then its technology): column ``scenario`` after
    ``candidate_id``, and the scenario's packaging limits as ``violation_scenario_<column>_max``
    (> 0 violated), ANDed into ``feasible`` (a limit of the technology, like the reticle).
    """
    n = len(candidate_ids)
    if isinstance(workload, ServingWorkload):  # best SLO-feasible configuration + power/area/cost
        serving = workload
        metrics = evaluate_serving_batch(hw, load_architecture(serving.model), serving.job, tech=tech,
                                         calibration=load_calibration(stack=study.mapping.software),
                                         serving_calibration=load_serving_calibration(),
                                         fp4_supported=serving.fp4_native, disaggregation=serving.disaggregation)
    else:
        strategy = None if study.mapping.search else study.mapping.strategy
        # The base part's measured rates and host link, and the job's recipe (as eval and validate).
        calibration, parallelism = job_software(study.mapping.software, get_accelerator(study.base), workload.training,
                                                designs=hw)
        metrics = evaluate_design_batch(hw, workload, tech=tech, strategy=strategy, objective=study.mapping.objective,
                                        calibration=calibration, exhaustive=study.mapping.exhaustive,
                                        parallelism=parallelism)
    hardware = _hardware_columns(hw)
    columns: dict[str, np.ndarray] = {
        "study": np.full(n, study.name, dtype=object),
        "candidate_id": np.asarray(candidate_ids, dtype=object),
        **({SCENARIO_COLUMN: np.full(n, scenario.name, dtype=object)} if scenario is not None else {}),
        "workload": np.full(n, workload.name, dtype=object),
        **hardware,
    }
    for name, values in metrics.items():  # a model output named like a parameter is its effective value
        columns[f"effective_{name}" if name in hardware else name] = np.broadcast_to(np.asarray(values), (n,))
    for name in OUTPUT_COLUMNS:
        if name not in columns and isinstance(getattr(type(hw), name, None), property):
            columns[name] = np.broadcast_to(np.asarray(getattr(hw, name), dtype=np.float64), (n,))
    limits = limit_violations(scenario, columns)
    if limits:
        columns.update(limits)
        columns["feasible"] = np.asarray(columns["feasible"], dtype=bool) & np.all([v <= 0 for v in limits.values()], axis=0)
    columns["model_version"] = np.full(n, MODEL_VERSION, dtype=object)
    columns["run_id"] = np.full(n, run_id, dtype=object)
    return columns


def study_workload(study: Study, name: str) -> Workload | ServingWorkload:
    """The workload of the study entry labelled ``name``.

    A plain stem: the model file's architecture under its default job. A ``{model, training}``
    entry: the model's architecture under the study's job, named after the entry. A serving
    entry: the :class:`ServingWorkload` itself (the model's architecture is loaded when evaluated).
    """
    training = study.training_workload(name)
    if training is not None:
        return Workload(name=name, architecture=load_architecture(training.model), training=training.job)
    serving = study.serving_workload(name)
    return load_workload(name) if serving is None else serving
