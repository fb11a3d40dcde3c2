"""The default study asks a real co-design question: its header is true, its objectives are
per-token and per-package (not per-die or per-accelerator power), it includes an MoE model, and
its constraints bind; the report explains the front (findings)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import make_study

from archsweep.candidates.space import expand_space
from archsweep.load.calibration import load_calibration
from archsweep.load.study import load_study
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.results import store
from archsweep.results.findings import bottleneck, front_findings
from archsweep.results.fronts import pareto_table
from archsweep.results.objectives import apply_constraints
from archsweep.spec.hardware import HARDWARE_PARAMETERS, HardwareArrays

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "spaces" / "default.yaml"


def test_header_comment_states_the_true_candidate_count() -> None:
    study = load_study(DEFAULT)
    stated = re.search(r"= ([\d,]+) candidates", DEFAULT.read_text()).group(1)
    assert int(stated.replace(",", "")) == expand_space(study).num_rows


def test_objectives_are_ones_a_review_accepts_and_the_mix_has_an_moe_model() -> None:
    study = load_study(DEFAULT)
    columns = {o.column for o in study.objectives}
    assert "usd_per_million_tokens" in columns and "energy_per_token_j" in columns
    assert not columns & {"power_w", "die_area_mm2"}  # per-accelerator power and per-die area reward small slow chips
    assert any(load_workload(w).moe is not None for w in study.workloads)
    assert any(load_workload(w).moe is None for w in study.workloads)
    values = [float(v) for v in next(p for p in study.parameters if p.name == "accelerator_count").values]
    assert min(values) >= 8192 and max(values) <= 16384


def test_every_study_constraint_binds_on_a_sample_of_the_default_space() -> None:
    """A random sample plus the largest packages: each constraint rules out some, some stay feasible."""
    study = load_study(DEFAULT)
    table = expand_space(study)
    cols = table.to_pydict()
    largest = np.flatnonzero((np.asarray(cols["compute_units"]) == 296) & (np.asarray(cols["hbm_stacks"]) == 12)
                             & (np.asarray(cols["process_node"]) == "N3"))[:24]
    sample = np.random.default_rng(0).choice(table.num_rows, 120, replace=False)
    rows = table.take(np.concatenate([sample, largest])).to_pydict()
    hw = HardwareArrays.from_columns({p.name: np.asarray(rows[p.name]) for p in HARDWARE_PARAMETERS})
    tech, cal = load_technology(), load_calibration()
    violated = dict.fromkeys((f"violation_{c.column}_max" for c in study.constraints), False)
    any_feasible = False
    for workload in study.workloads:
        cols = apply_constraints(study, evaluate_design_batch(hw, load_workload(workload), tech=tech, calibration=cal))
        for name in violated:
            violated[name] |= bool((cols[name] > 0).any())
        any_feasible |= bool(np.asarray(cols["feasible"]).any())
    assert all(violated.values()), violated
    assert any_feasible


def test_package_area_counts_every_die_and_stack() -> None:
    from archsweep.load.catalog import get_accelerator
    base = get_accelerator("B200").design
    hw = HardwareArrays.from_designs([base.replace(compute_units=c, hbm_stacks=s, accelerator_count=64) for c, s in
                                      ((148, 8), (148, 12), (400, 8))])
    out = evaluate_design_batch(hw, load_workload("llama3-8b"), tech=load_technology(), calibration=load_calibration())
    area = np.asarray(out["package_area_mm2"])
    assert (area > np.asarray(out["area_total_silicon_mm2"])).all()
    assert area[1] > area[0] and area[2] > area[0]
    # a chiplet split halves the per-die area, not the package
    assert out["dies_per_package"][2] > out["dies_per_package"][0]
    assert area[2] / area[0] > out["die_area_mm2"][2] / out["die_area_mm2"][0]


def test_bottleneck_names_the_largest_part_and_its_share() -> None:
    names, share = bottleneck({"compute_time_s": np.array([1.0, 0.2, 0.0]),
                               "bubble_time_s": np.array([0.5, 0.6, 0.0]),
                               "dp_comm_exposed_s": np.array([np.nan, 0.2, 0.0])})
    assert names.tolist() == ["compute_time_s", "bubble_time_s", "compute_time_s"]
    assert share == pytest.approx([1 / 1.5, 0.6, 0.0])


def test_findings_name_binding_limits_front_bottlenecks_and_winners(tmp_path, write_shards) -> None:
    study = make_study()
    con = store.connect(tmp_path / "db.duckdb")
    store.ingest_parquet(con, "evaluations", write_shards(count=60), store.EVALUATION_KEYS)
    store.ingest_arrow(con, "pareto", pareto_table(study, con), store.PARETO_KEYS, scope_value=study.name)
    lines = front_findings(con, study, study.workloads[0], ["compute_time_s", "dp_comm_exposed_s"])
    text = "\n".join(lines)
    assert "Binding limits:" not in text  # the synthetic rows carry no violation columns
    assert re.search(r"The front has \d+ design\(s\)\. Largest step-time part: ", text)
    for objective in study.objectives:
        assert f"best `{objective.column}`" in text
    assert "bottleneck: " in text
