"""Per-layer forward / backward time (Korthikanti et al. MLSys'23 Table 4; validation/layer_time.py)."""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import replace

import numpy as np
import pytest
from measured_runs import CSV, runs_by_id

from archsweep.load.calibration import load_calibration
from archsweep.load.part_physics import recipe_calibration
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.training.communication import tensor_parallel
from archsweep.model.transformer import layer_costs
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation.layer_time import mapping_from_result, measured_layer_times, predict_layer_times
from archsweep.validation.run import plan_row, validate_rows
from archsweep.validation.types import LAYER_METRIC, Skip

TABLE4 = ("Baseline_no_recompute", "Sequence_Parallelism", "Baseline_with_recompute", "Selective_Recompute",
          "Selective_plus_Sequence")


@pytest.fixture(scope="module")
def layer_rows() -> dict[str, dict[str, str]]:
    rows = runs_by_id()
    return {name: rows[f"korthikanti_22B_layer_{name}"] for name in TABLE4}


@pytest.fixture(scope="module")
def results(layer_rows):
    return dict(zip(TABLE4, validate_rows(list(layer_rows.values())), strict=True))


def test_table4_rows_carry_the_published_milliseconds(layer_rows):
    """Table 4: forward / backward ms of one 22B layer (the "combined" column is their sum)."""
    published = {"Baseline_no_recompute": (7.7, 11.9), "Sequence_Parallelism": (7.2, 11.8),
                 "Baseline_with_recompute": (7.7, 19.5), "Selective_Recompute": (7.7, 13.2),
                 "Selective_plus_Sequence": (7.2, 13.1)}
    for name, (fwd, bwd) in published.items():
        times = measured_layer_times(layer_rows[name])
        assert times is not None
        assert (times.fwd_s, times.bwd_s) == pytest.approx((fwd / 1e3, bwd / 1e3))


def test_table4_predicted_within_stated_tolerances(results):
    """Total within 5 %, forward within 6 %, backward (with recomputation) within 10 % of Table 4,
    at the stated mapping (TP 8, PP 1, micro-batch 4, the row's recompute and SP)."""
    for name, r in results.items():
        assert r.status == "ok" and r.metric == LAYER_METRIC and r.mapping == "given", (name, r.reason)
        assert abs(r.error_pct) <= 5.0, (name, r.error_pct)
        for part, bound in (("fwd", 6.0), ("bwd", 10.0)):
            error = float(r.notes.split(f"{part} ", 1)[1].split("(", 1)[1].split(" %", 1)[0])
            assert abs(error) <= bound, (name, part, error)
        assert "tp=8,pp=1,dp=1" in r.notes and "micro_batch=4" in r.notes


def test_table4_orderings_hold(results):
    """Full recomputation > selective > none; sequence parallelism shortens the layer (Table 4)."""
    t = {name: r.predicted for name, r in results.items()}
    assert t["Baseline_with_recompute"] > t["Selective_Recompute"] > t["Baseline_no_recompute"]
    assert t["Sequence_Parallelism"] < t["Baseline_no_recompute"]
    assert t["Selective_plus_Sequence"] < t["Selective_Recompute"]


@pytest.mark.parametrize("name", TABLE4)
def test_layer_terms_rebuild_the_step(layer_rows, name):
    """The per-layer terms are the step's: on a 4-layer, 3-micro-batch job with the row's mapping,
    m x L x (fwd + bwd) + the output layer + the embedding/logits TP collectives = the step's compute +
    recompute + exposed TP time (training_step's combining rule)."""
    plan = plan_row(layer_rows[name])
    layers, m = 4, 3
    training = replace(plan.workload.training, global_batch_seqs=4 * m)
    wl = replace(plan.workload, architecture=replace(plan.workload.architecture, layers=layers), training=training)
    plan = replace(plan, workload=wl)
    cal = recipe_calibration(load_calibration(stack="megatron-core"))
    hw = HardwareArrays.from_designs(plan.entry.design.replace(accelerator_count=plan.count))
    result = evaluate_design_batch(hw, wl, tech=load_technology(), calibration=cal, strategy=plan.strategies[0],
                                   infeasible="least_violating")
    assert float(np.ravel(result["microbatches"])[0]) == m
    times = predict_layer_times(plan, result, cal)
    mp = mapping_from_result(result)
    lc = layer_costs(hw, wl, mp, cal, hw.peak_matrix_flops_bf16)
    one = np.ones_like(mp.tp)
    ar = tensor_parallel(hw, mp, cal, 2.0 * 4 * float(wl.seq_len) * wl.hidden, one, one, 0.0).allreduce_s
    expected = m * layers * times.total_s + m * (lc.logits_fwd_s + lc.logits_bwd_s) + 2.0 * m * ar
    step = sum(float(np.ravel(result[k])[0]) for k in ("compute_time_s", "recompute_time_s", "tp_comm_exposed_s"))
    assert step == pytest.approx(float(np.ravel(expected)[0]), rel=1e-9)


def test_half_a_layer_timing_is_skipped_with_the_reason(layer_rows):
    row = dict(layer_rows["Baseline_no_recompute"], layer_bwd_time_s="")
    with pytest.raises(Skip, match="layer_fwd_time_s and layer_bwd_time_s are both needed"):
        measured_layer_times(row)
    [result] = validate_rows([row])
    assert result.status == "skipped" and "both needed" in result.reason


def test_derive_script_is_in_sync_with_the_csv(monkeypatch):
    """Re-running data/validation/derive/megatron_rows.py on the CSV changes no cell."""
    path = data_dir() / "validation" / "derive" / "megatron_rows.py"
    monkeypatch.syspath_prepend(str(path.parent))  # its sibling runs_table, as when run as a script
    spec = importlib.util.spec_from_file_location("megatron_rows", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    before = [dict(r) for r in rows]
    assert module.fill(rows) == (2, 5)
    assert rows == before
    fusion = [r for r in rows if r["run_id"].startswith("megatron21_fusion_")]
    assert {r["seq_len"] for r in fusion} == {"2048"} and all("Sec. 5.1" in r["derived"] for r in fusion)
