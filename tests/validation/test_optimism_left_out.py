"""Why a row is left out of the optimism figures, said in one place (``OptimismRow.left_out_as``), and the figures
with the slow presets counted (``summarise(..., counting=("slow preset",))``), as ``print_optimism`` prints them
(s17-E; synthetic rows, no search)."""

from __future__ import annotations

import pytest

from archsweep.validation.optimism import OptimismRow, print_optimism, summarise
from archsweep.validation.superseded import Supersession


def _row(run_id: str, best_over_measured: float, baseline_of: str = "",
         superseded: Supersession | None = None) -> OptimismRow:
    return OptimismRow(run_id, "g", 1.0, best_over_measured, best_over_measured, "tp=1", baseline_of=baseline_of,
                       superseded=superseded)


SAME = Supersession("fast", 1.5)                      # the same software: a superseded preset
SLOW = Supersession("fast", 1.9, best_over_by=0.8)    # other software, the search's best below that run


def test_each_kind_of_left_out_row_is_named_once_a_baseline_first():
    rows = [_row("a", 1.0), _row("b", 2.0, baseline_of="x"), _row("c", 1.6, superseded=SAME),
            _row("d", 1.9, superseded=SLOW), _row("e", 3.0, baseline_of="x", superseded=SLOW)]
    assert [r.left_out_as for r in rows] == [None, "baseline", "superseded", "slow preset", "baseline"]
    assert [r.left_out for r in rows] == [False, True, True, True, True]


def test_counting_the_slow_presets_adds_them_and_nothing_else():
    rows = [_row("a", 1.0), _row("b", 1.1), _row("c", 1.6, superseded=SAME), _row("d", 1.9, superseded=SLOW),
            _row("e", 3.0, baseline_of="x", superseded=SLOW)]
    assert summarise(rows) == pytest.approx({"rows": 2, "median": 1.05, "max": 1.1, "above_1.25": 0,
                                             "above_1.25_ceiling": 0, "median_ceiling": 1.05,
                                             "median_best_over_given": 1.05})
    counted = summarise(rows, counting=("slow preset",))
    assert (counted["rows"], counted["median"], counted["max"], counted["above_1.25"]) == (3, 1.1, 1.9, 1)


def test_print_optimism_counts_each_kind_and_prints_both_figures(capsys: pytest.CaptureFixture[str]):
    rows = [_row("a", 1.0), _row("b", 1.1), _row("c", 1.6, superseded=SAME), _row("d", 1.9, superseded=SLOW),
            _row("e", 3.0, baseline_of="x", superseded=SLOW)]
    print_optimism(rows)
    out = capsys.readouterr().out
    assert "(1 published baselines left out" in out and "(1 more superseded presets left out" in out
    assert "(1 more slow presets left out" in out and "counted, all would be: median 1.100, rows>1.25=1)" in out
    assert "[slow preset, bounded by fast]" in out and "[superseded by fast]" in out


def test_issue_print_optimism_of_no_rows_prints_instead_of_raising(capsys: pytest.CaptureFixture[str]):
    """On 7ef5012 ``print_optimism([])`` (a CSV with no throughput row) raised KeyError 'median' at the slow-preset
    line; now that line says there are no rows."""
    print_optimism([])
    assert "counted, all would be: no rows)" in capsys.readouterr().out
