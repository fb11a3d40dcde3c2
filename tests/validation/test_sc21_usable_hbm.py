"""Issue 10 (SC21 search optimism): the share of HBM a 2021-22 Megatron-LM run could fill.

Narayanan et al., SC21 (arXiv:2104.04473), Sec. 5.6 / Fig. 17: for the 145B GPT (80 layers, h 12288,
a 96) on 128 A100-80GB at (t, p) = (8, 16), activation recomputation "is needed to support larger batch
sizes", and with it the throughput at large batch sizes is "up to 2x higher than the best throughput
achieved without activation recomputation (for a smaller batch size)". The ``megatron-2021`` stack's
``hbm_usable_fraction`` (data/calibration/software_stacks.yaml) encodes that bound; every mapping the
SC21 and Korthikanti rows state must still fit.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping

import numpy as np
import pytest
import yaml
from measured_runs import runs_by_id

from archsweep.load.calibration import load_calibration, software_stacks
from archsweep.load.catalog import load_catalog
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.spec.errors import InputError
from archsweep.validation.holdout import held_out_calibrations
from archsweep.validation.row_stack import calibration_stack, stack_of
from archsweep.validation.run import evaluate_plan, plan_row
from archsweep.validation.types import MICROBATCH_METRICS, Skip

_CLEAR = {"step_time_s": "", "aggregate_pflops": "", "tokens_per_s_total": "", "tokens_per_s_per_gpu": ""}


def _value(result: Mapping[str, np.ndarray], key: str) -> float:
    return float(np.ravel(result[key])[0])


@pytest.fixture(scope="module")
def rows() -> dict[str, dict[str, str]]:
    return runs_by_id()


def _fig17(rows: dict[str, dict[str, str]], batch: int, recompute: str) -> Mapping[str, np.ndarray]:
    """The Fig. 17 job: SC21 Table 1's 145.6B GPT on 128 A100-80GB, (t, p) = (8, 16), micro-batch 1."""
    row = dict(rows["megatron21_t1_145.6B"], num_accels="128", global_batch_seqs=str(batch), tp="8", pp="16",
               dp="1", micro_batch="1", vpp="1", act_recompute=recompute, **_CLEAR)
    plan = plan_row(row, load_catalog())
    assert calibration_stack(row) == "megatron-2021"
    cal = load_calibration(stack=calibration_stack(row))  # the row's job (fp8_params) is in plan.workload
    return evaluate_plan(plan, plan.strategies[0], {}, load_technology(), cal)


def test_fig17_without_recompute_only_small_batches_fit(rows):
    fits = {b: _value(_fig17(rows, b, "none"), "violation_memory") <= 0 for b in (1, 2, 4, 8, 16, 64, 256)}
    # 1F1B holds min(pp, m) micro-batches on the first stage: memory stops growing at m = pp = 16.
    assert fits == {1: True, 2: True, 4: True, 8: True, 16: False, 64: False, 256: False}
    full_256 = _fig17(rows, 256, "full")
    assert _value(full_256, "violation_memory") <= 0
    best_none = max(8 / _value(_fig17(rows, 8, "none"), "step_time_s"), 4 / _value(_fig17(rows, 4, "none"), "step_time_s"))
    # "up to 2x higher than the best throughput achieved without activation recomputation".
    assert 256 / _value(full_256, "step_time_s") / best_none == pytest.approx(2.0, rel=0.1)


def test_every_stated_megatron_2021_mapping_still_fits(rows):
    catalog, tech = load_catalog(), load_technology()
    cache: dict = {}
    checked = 0
    for row in rows.values():
        if stack_of(row) != "megatron-2021" or calibration_stack(row) != "megatron-2021":
            continue  # SC21 Table 2's ZeRO-3 rows ran DeepSpeed (their own stack)
        try:
            plan = plan_row(row, catalog)
        except Skip:
            continue  # the three rows validate skips (SC21 Sec. 5.8 / 5.9: no batch or GPU count)
        if plan.metric in MICROBATCH_METRICS or plan.metric == "layer_time_s":
            continue  # memory / per-layer figures of the paper's analysis, not runs
        cal = load_calibration(stack="megatron-2021")
        results = [evaluate_plan(plan, st, cache, tech, cal) for st in plan.strategies]
        fastest = min((r for r in results if _value(r, "violation_mapping") <= 0), key=lambda r: _value(r, "step_time_s"))
        assert _value(fastest, "violation_memory") <= 0, row["run_id"]
        checked += 1
    assert checked >= 25


def test_usable_fraction_is_the_megatron_2021_stack_only():
    assert load_calibration(stack="megatron-2021").hbm_usable_fraction == pytest.approx(0.78)
    for stack in set(software_stacks()) - {"megatron-2021"}:
        assert load_calibration(stack=stack).hbm_usable_fraction == 1.0, stack


def test_a_fraction_outside_0_1_names_file_key_and_allowed(tmp_path, monkeypatch):
    shutil.copytree(data_dir() / "calibration", tmp_path / "calibration")
    path = tmp_path / "calibration" / "software_stacks.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["megatron-2021"]["hbm_usable_fraction"]["value"] = 1.2
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.setenv("ARCHSWEEP_DATA_DIR", str(tmp_path))
    load_calibration.cache_clear()
    try:
        with pytest.raises(InputError) as err:
            load_calibration(stack="megatron-2021")
        text = str(err.value)
        assert "software_stacks.yaml" in text and "megatron-2021.hbm_usable_fraction.value" in text and "(0, 1]" in text
    finally:
        load_calibration.cache_clear()


def test_holding_out_megatron_resets_the_fraction(rows):
    assert held_out_calibrations(rows.values(), "megatron")["megatron-2021"].hbm_usable_fraction == 1.0
    assert held_out_calibrations(rows.values(), "mpt")["megatron-2021"].hbm_usable_fraction == pytest.approx(0.78)
