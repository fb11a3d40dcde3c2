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


def test_the_best_mappings_rate_was_reached_later_on_the_same_part(split):
    """Evidence that the gain is real (issue 10, s9-dense): the MFU the search's best mapping implies for
    each Table 1 row above 1.25 (Table 1's TFLOP/s counts 4 passes, SC21 eq. 3: x 3/4 / 312 TFLOP/s, x
    best / measured) lies below what later published multi-node runs of GPT models of comparable size
    reached on A100 SXM at the same sequence length 2048: MosaicML llm-foundry's MPT table (training_runs.csv
    mpt rows, >= 32 GPUs, half to twice the parameters), 52.6-57.0 % MFU against 42.6-47.6 % implied."""
    free, _ = split
    mpt = runs(lambda r: r["source_group"] == "mpt" and r["accelerator_canonical"].startswith("A100")
               and r["seq_len"] == "2048" and int(r["num_accels"]) >= 32 and r["mfu_pct"] != "")
    above = [r for r in free.values() if r.best_over_measured > 1.25]
    assert len(above) == 5
    for res in above:
        row = next(r for r in ROWS if r["run_id"] == res.run_id)
        implied = float(row["tflops_per_gpu"]) * 0.75 / 312.0 * res.best_over_measured * 100.0
        size = float(row["params_B"])
        later = [float(r["mfu_pct"]) for r in mpt if 0.5 * size <= float(r["params_B"]) <= 2.0 * size]
        assert later and 40.0 < implied < max(later), (res.run_id, implied, later)
