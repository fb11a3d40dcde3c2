"""What a software stack runs a training job with: the job's calibration and the parallelism its search may choose.

The drivers that evaluate a training job (``archsweep eval``, design studies, sensitivity) need both, for the same
stack, part and job; :func:`job_software` is the one call that gives them (validation applies a row's stated software
on top, :mod:`archsweep.validation.rows`, and builds its own per-row parallelism).
"""

from __future__ import annotations

from typing import NamedTuple

from archsweep.load.calibration import load_calibration
from archsweep.load.part_physics import job_calibration
from archsweep.load.stack_parallelism import job_parallelism
from archsweep.spec.calibration import Calibration
from archsweep.spec.catalog import CatalogEntry
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.stack import StackParallelism
from archsweep.spec.training import TrainingJob

__all__ = ["JobSoftware", "job_software"]


class JobSoftware(NamedTuple):
    """The calibration (:func:`~archsweep.load.part_physics.job_calibration`) and the searchable parallelism
    (:func:`~archsweep.load.stack_parallelism.job_parallelism`) of one job on one stack and part."""

    calibration: Calibration
    parallelism: StackParallelism


def job_software(stack: str, entry: CatalogEntry, job: TrainingJob, *, designs: HardwareArrays | None = None) -> JobSoftware:
    """The calibration of ``stack`` (data/calibration/software_stacks.yaml) for ``job`` on the catalog part ``entry``
    (or on ``designs`` based on it: a study's candidates) and what the stack's search may choose for the job.

    Raises:
        InputError: an unknown stack, an NVFP4 recipe on a part without an NVFP4 peak (as the two functions).
    """
    calibration = job_calibration(load_calibration(stack=stack), entry, job, designs=designs)
    return JobSoftware(calibration, job_parallelism(stack, job))
