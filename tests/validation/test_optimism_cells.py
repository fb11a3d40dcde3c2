"""The ``--optimism --output`` cells: one per :data:`OPTIMISM_COLUMNS` name, each the :class:`OptimismRow`
attribute of that name (STYLE rule 11: the column list is not kept twice)."""

from __future__ import annotations

import pytest

from archsweep.validation.ceiling import Ceiling
from archsweep.validation.optimism import OptimismRow, optimism_cells
from archsweep.validation.types import OPTIMISM_COLUMNS


def test_cells_are_the_optimism_columns_of_each_row():
    rows = [OptimismRow("a", "nemo", 0.9, 1.5, 1.35, "tp=2", reason="stated mapping exceeds HBM in the model",
                        baseline_of="b", ceiling=Ceiling(1.2, "c", 1.0)),
            OptimismRow("b", "nemo", 1.0, 1.1, 1.1, "tp=1")]
    cells = optimism_cells(rows)
    assert all(tuple(c) == OPTIMISM_COLUMNS for c in cells.values())
    assert cells["a"]["optimism_note"] == "baseline of b; stated mapping exceeds HBM in the model"
    assert cells["a"]["best_over_ceiling"] == pytest.approx(1.35 / 1.2)
    assert cells["b"]["optimism_note"] == "" and cells["b"]["best_over_given"] == 1.1
