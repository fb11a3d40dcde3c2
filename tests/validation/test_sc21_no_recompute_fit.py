"""SC21 Table 1 without recomputation (issue 10, s27-A, docs/model-accuracy.md): the 2021 Megatron-LM code could
have run the five rows the search puts above 1.25 x measured (1.7B-39.1B, A100-SXM4-80GB) without activation
recomputation in the very tensor / pipeline layout the paper states, at micro-batch 1, inside the megatron-2021
stack's usable HBM share, and the model's gain from that alone is already 1.23-1.35 x measured: the rows stay
above 1.25 because the published uniform full recomputation was not the fastest the code allowed, not because
the search's layouts or memory are lax (benchmarks/sc21_no_recompute_fit.py prints the table)."""

from __future__ import annotations

import pytest
from conftest import load_benchmark
from measured_runs import runs_by_id


@pytest.fixture(scope="module")
def table():
    fit = load_benchmark("sc21_no_recompute_fit")
    rows = runs_by_id(lambda r: r["run_id"].startswith("megatron21_t1_"))
    return {run_id: fit.variants(run_id, rows) for run_id in fit.ABOVE}


def test_the_stated_layout_fits_without_recompute_and_gains_alone(table):
    """Micro-batch 1, the stated tp / pp / vpp, no recomputation: every row under the usable share (0.78, the
    share the model's memory of the 2021 code may fill), and best / measured >= 1.2 on every row, > 1.25 on four
    of five: dropping the recomputation carries the rows above 1.25, not the searched layout."""
    above = 0
    for run_id, (_, usable, found) in table.items():
        stated, none_mb1, best = found[0], found[1], found[-1]
        assert none_mb1.label == "stated layout, none, mb 1"
        assert none_mb1.hbm_share < usable and best.hbm_share < usable, run_id
        assert none_mb1.best_over_measured >= 1.2, run_id
        assert 0.95 <= stated.best_over_measured <= 1.07, run_id  # the stated mapping, as validate prices it
        above += none_mb1.best_over_measured > 1.25
    assert above == 4


def test_no_recompute_activations_are_korthikantis_count(table):
    """18.4B (40 layers, h 6144, a 48, s 2048) at tp 8, micro-batch 1, no recomputation, no SP, no flash
    attention: Korthikanti et al. MLSys'23 Sec. 4.2.1 (tensor parallelism, no sequence parallelism), s b h (10 + 24 / t + 5 a s / (h t)) bytes
    per layer (the attention scores, softmax output and dropout mask of the 2021 unfused attention included),
    within 2 % (the rest: the logits and the embedding output)."""
    s, b, h, a, t, layers = 2048, 1, 6144, 48, 8, 40
    per_layer = s * b * h * (10 + 24 / t + 5 * a * s / (h * t))
    none_mb1 = table["megatron21_t1_18.4B"][2][1]
    assert none_mb1.parts_gib["activations"] * 2**30 == pytest.approx(layers * per_layer, rel=0.02)
