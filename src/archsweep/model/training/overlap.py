"""The rule of one overlap: a collective (or an all-to-all) run beside compute on the same accelerator.

One place for the combining rule that the overlapped data-parallel collectives
(:mod:`archsweep.model.training.data_parallel`) and the MoE all-to-alls paired under the combined-1F1B overlap
(:func:`archsweep.model.training.communication.a2a_paired_exposed_s`) share.
"""

from __future__ import annotations

import numpy as np

__all__ = ["overlapped_exposed_s"]


def overlapped_exposed_s(comm_s: np.ndarray, compute_s: np.ndarray, interference: float | np.ndarray) -> np.ndarray:
    """Time a collective of ``comm_s`` adds to ``compute_s`` of compute it runs beside, s.

    ``max(comm - compute, 0)``: the part no compute hides; ``interference x min(comm, compute)``:
    the slowdown of the compute while both run (the collective's kernels hold SMs and HBM
    bandwidth the compute kernels then lack; see ``overlap_interference`` in
    data/calibration/model.yaml). 0 = perfect overlap, 1 = serial. Non-decreasing in both
    arguments' rates for interference in [0, 1] and never negative."""
    return np.maximum(comm_s - compute_s, 0.0) + interference * np.minimum(comm_s, compute_s)
