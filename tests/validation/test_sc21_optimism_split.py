"""Where the search beats SC21 Table 1 (issue 10 "no free lunch", s7-vpp): the layout alone does not.

With the search held to full recomputation (what every Table 1 run used, SC21 eq. 3) no Table 1 row
is above 1.25 x measured: the rows above it (1.7B-39.1B) get there only by dropping recomputation,
which the model prices within Korthikanti et al.'s measurements (Table 4: +39 % per 22B layer, the
model +36 %; Table 5: full -> selective + SP 1.29-1.32x at the same layout, the model's none / full
1.20-1.27x on these rows). docs/model-accuracy.md, s7-vpp, has the term-by-term split."""

from __future__ import annotations

import pytest
from measured_runs import runs

import archsweep.validation.optimism as optimism

ROWS = runs(lambda r: r["run_id"].startswith("megatron21_t1_"))


@pytest.fixture(scope="module")
def split():
    free = {r.run_id: r for r in optimism.search_optimism(ROWS)}
    searched = optimism._search_strategies
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(optimism, "_search_strategies",
                   lambda row, st, layers: [s for s in searched(row, st, layers) if "recompute=full" in s])
        full = {r.run_id: r for r in optimism.search_optimism(ROWS)}
    return free, full


def test_layout_alone_never_beats_table1_by_more_than_a_quarter(split):
    free, full = split
    assert set(full) == set(free) and len(full) == 10
    assert max(r.best_over_measured for r in full.values()) <= 1.25
    # The two smallest rows keep their stated TP / PP: their whole gain is the recompute choice.
    for run in ("megatron21_t1_1.7B", "megatron21_t1_3.6B"):
        assert free[run].best_over_given >= 1.2 and "recompute=none" in free[run].best_mapping
        assert full[run].best_over_measured == pytest.approx(free[run].given_over_measured, rel=0.02)


def test_dropping_recompute_gains_less_than_korthikanti_measured(split):
    free, full = split
    for run, r in free.items():
        gain = r.best_over_measured / full[run].best_over_measured
        assert 1.0 - 1e-9 <= gain <= 1.32, (run, gain)  # Table 5: 1.29-1.32 (full -> selective + SP)
