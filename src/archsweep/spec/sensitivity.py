"""Sensitivity analysis settings: one-at-a-time (tornado) perturbations and 2-D grids around a base design."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_SENSITIVITY_OUTPUTS", "SensitivityGrid", "SensitivitySpec", "TornadoParameter"]

#: Outputs plotted and stored by default: what a co-design review asks about.
DEFAULT_SENSITIVITY_OUTPUTS: tuple[str, ...] = ("tokens_per_s", "usd_per_million_tokens", "energy_per_token_j", "mfu")


@dataclass(frozen=True)
class TornadoParameter:
    """One parameter of the tornado: its low and high settings (SI floats, or choice strings)."""

    name: str
    low: float | str
    high: float | str


@dataclass(frozen=True)
class SensitivityGrid:
    """A 2-D grid: every (x, y) pair of values, all other parameters at the base design."""

    x: str
    x_values: tuple[Any, ...]
    y: str
    y_values: tuple[Any, ...]

    @property
    def name(self) -> str:
        return f"{self.x}__{self.y}"


@dataclass(frozen=True)
class SensitivitySpec:
    """What ``archsweep sensitivity`` evaluates.

    Attributes:
        base: the base design, every hardware parameter (SI values; choices as strings).
        workloads: workloads evaluated (stems of models/).
        tornado: the one-at-a-time perturbations.
        grids: 2-D grids.
        outputs: output columns stored and plotted.
        relative: the relative step of default tornado settings (0.2 = base x 0.8 and x 1.2).
    """

    base: dict[str, Any]
    workloads: tuple[str, ...]
    tornado: tuple[TornadoParameter, ...]
    grids: tuple[SensitivityGrid, ...] = ()
    outputs: tuple[str, ...] = DEFAULT_SENSITIVITY_OUTPUTS
    relative: float = 0.2
    file: str = field(default="<sensitivity>", compare=False)
