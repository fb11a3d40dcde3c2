"""Per-stack HBM bandwidth and capacity that follow the HBM generation (sweeps, searches, sensitivity)."""

from __future__ import annotations

import numpy as np

from archsweep.load.technology import load_technology
from archsweep.spec.errors import InputError

__all__ = ["HBM_FOLLOWS_GENERATION", "hbm_per_stack_values"]


#: Per-stack HBM columns that follow ``hbm_generation`` when the generation alone is varied,
#: with the technology attribute each comes from.
HBM_FOLLOWS_GENERATION: dict[str, str] = {"hbm_bw_per_stack_bytes_per_s": "bw_per_stack_bytes_per_s",
                                          "hbm_capacity_per_stack_bytes": "capacity_per_stack_bytes"}


def hbm_per_stack_values(generations: np.ndarray, varied: set[str], *, file: str,
                         key_path: str) -> dict[str, np.ndarray]:
    """Per-stack HBM bandwidth and capacity for each row's generation, for the columns of
    :data:`HBM_FOLLOWS_GENERATION` not in ``varied`` (empty when the generation is not varied).

    Shared by sweeps (:mod:`archsweep.candidates.space`) and searches (:mod:`archsweep.search.worker`); values from
    ``archsweep.load.technology.load_technology().memories``. Vectorised over unique generations.

    Raises:
        InputError: a generation the technology data does not describe.
    """
    follow = [k for k in HBM_FOLLOWS_GENERATION if k not in varied]
    if "hbm_generation" not in varied or not follow:
        return {}

    memories = load_technology().memories
    unique, inverse = np.unique(np.asarray(generations, dtype=str), return_inverse=True)
    for gen in unique:
        if gen not in memories:
            raise InputError(file, key_path, str(gen), f"a memory of the technology data: {', '.join(sorted(memories))}")
    return {key: np.array([float(getattr(memories[g], HBM_FOLLOWS_GENERATION[key])) for g in unique])[inverse]
            for key in follow}
