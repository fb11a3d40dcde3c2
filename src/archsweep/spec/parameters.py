"""How one hardware parameter is varied (a study's ``parameters`` and a search's ``parameters``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from archsweep.spec.hardware import PARAMETER_BY_NAME, ParameterInfo

__all__ = ["ParameterSpace"]


@dataclass(frozen=True)
class ParameterSpace:
    """How one hardware parameter is varied.

    Attributes:
        name: hardware parameter name (``HARDWARE_PARAMETERS``).
        kind: "values" (explicit list) or "range" (``[low, high]`` with step, points or neither).
        values: explicit values (SI floats, or strings for choice parameters); empty for ranges.
        low, high: range bounds, SI (None for "values").
        step: inclusive arithmetic grid step, SI (None unless given).
        points: number of linear/log-spaced points including both bounds (None unless given).
        scale: "linear" or "log": spacing of ``points`` and distribution of continuous draws.
    """

    name: str
    kind: Literal["values", "range"]
    values: tuple[float | str, ...] = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None
    points: int | None = None
    scale: Literal["linear", "log"] = "linear"

    @property
    def info(self) -> ParameterInfo:
        return PARAMETER_BY_NAME[self.name]

    @property
    def is_continuous(self) -> bool:
        """A range with neither step nor points: only random/sobol sampling can draw from it."""
        return self.kind == "range" and self.step is None and self.points is None

    def grid_values(self) -> np.ndarray:
        """The discrete values of this parameter, in order, duplicates removed.

        Floats as float64, integer parameters rounded to whole numbers (float64), choices as
        str. Raises ValueError for a continuous range (it has no grid).
        """
        if self.kind == "values":
            if self.info.kind == "choice":
                raw = np.asarray(self.values, dtype=str)
            else:
                raw = np.asarray(self.values, dtype=np.float64)
        elif self.is_continuous:
            raise ValueError(f"parameter {self.name}: a continuous range has no grid")
        else:
            if self.low is None or self.high is None:
                raise ValueError(f"parameter {self.name}: a range needs low and high")
            if self.step is not None:
                n = int(math.floor((self.high - self.low) / self.step * (1 + 1e-12) + 1e-9)) + 1
                raw = self.low + self.step * np.arange(n, dtype=np.float64)
            elif self.scale == "log":
                raw = np.geomspace(self.low, self.high, int(self.points or 2))
            else:
                raw = np.linspace(self.low, self.high, int(self.points or 2))
        if self.info.kind == "int":
            raw = np.round(raw)
        _, first = np.unique(raw, return_index=True)
        return raw[np.sort(first)]

    @property
    def size(self) -> int:
        """Number of grid values (0 for a continuous range)."""
        return 0 if self.is_continuous else len(self.grid_values())
