"""Two derived distance coordinates for ``surrogate_mapping: rates``: the compute rate and its ratio to the scale-up bandwidth.

Why (``docs/search-quality-history.md``, s23-S): at a fixed HBM capacity, which mapping a dense model's search
picks (tensor against pipeline parallelism, the micro-batch) turns on how fast a unit computes against how fast
the scale-up domain moves activations: grid 1's Llama-3 70B, under ``weighted``, got a wrong predicted mapping
on 222 of seed 18's 392 surrogate proposals, 210 of them mappings that fit the candidate's HBM, 147 from a
finished trial that differs from the candidate only in compute units, clock, scale-up bandwidth (and TDP). The step time's compute part scales as
1 / (units x clock) and the tensor-parallel exchange as 1 / scale-up bandwidth (:mod:`archsweep.model.training.step`),
so the switch lies along log(units x clock) - log(scale-up), a direction no per-axis weight of the grid positions
can express. These two coordinates go beside the [0, 1] grid positions in the weighted nearest-trial distance
(:func:`~archsweep.search.surrogatemapping.axis_weights` chooses their weights as the others').
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from archsweep.search.grid import Axis

__all__ = ["RATE_AXES", "rate_coordinates"]

#: The grid axes the coordinates read: compute units, clock (Hz), scale-up bandwidth (bytes/s), by parameter name.
RATE_AXES: tuple[str, str, str] = ("compute_units", "clock_hz", "scaleup_bw_bytes_per_s")


def rate_coordinates(axes: Sequence[Axis], indices: np.ndarray) -> np.ndarray | None:
    """(n, 2) for grid indices ``indices`` (n, len(axes)): log(units x clock) and log(units x clock / scale-up
    bandwidth), each scaled to [0, 1] over the grid's extremes; None when the grid lacks one of :data:`RATE_AXES`
    or one of their values is not a positive number (the mode then falls back to the grid positions alone)."""
    names = [a.name for a in axes]
    logs = []
    for name in RATE_AXES:
        if name not in names:
            return None
        values = axes[names.index(name)].values
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values):
            return None
        logs.append(np.log(np.asarray(values, dtype=np.float64)))
    units, clock, scaleup = logs
    columns = [np.asarray(indices, dtype=np.int64)[:, names.index(n)] for n in RATE_AXES]
    rate = units[columns[0]] + clock[columns[1]]
    low, high = units.min() + clock.min(), units.max() + clock.max()
    ratio_low, ratio_high = low - scaleup.max(), high - scaleup.min()
    ratio = rate - scaleup[columns[2]]
    return np.stack([(rate - low) / max(high - low, 1e-300), (ratio - ratio_low) / max(ratio_high - ratio_low, 1e-300)],
                    axis=1)
