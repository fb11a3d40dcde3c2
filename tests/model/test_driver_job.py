"""The job-agnostic driver: the JobKind protocol, DVFS with voltage scaling, scalar == batch."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch, evaluate_job
from archsweep.model.job import JobKind
from archsweep.model.power import voltage_scale
from archsweep.model.ppa import PPA_COLUMNS
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.memory import MemoryBreakdown
from archsweep.model.training.step import StepResult
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays

TECH = load_technology()
CAL = load_calibration()
H100 = get_accelerator("H100-SXM").design.replace(accelerator_count=1024)
WL = load_workload("llama3-70b")


def _eval(*designs, **kw):
    return evaluate_design_batch(HardwareArrays.from_designs(list(designs)), WL, tech=TECH, calibration=CAL, **kw)


def test_training_kind_satisfies_protocol_and_columns_come_from_result_types() -> None:
    kind: JobKind = TrainingJobKind(WL, CAL)  # type-checked structural conformance
    assert kind.objectives[0] == "step_time_s"
    cols = evaluate_job(HardwareArrays.from_designs([H100]), kind, tech=TECH)
    time_fields = [f.name for f in fields(StepResult) if f.name.endswith("_s")]
    assert set(time_fields) <= set(cols)
    assert {f"memory_{f.name}" for f in fields(MemoryBreakdown) if f.name != "total_bytes"} <= set(cols)
    assert set(PPA_COLUMNS) <= set(cols) and "feasible" in cols and "violation_mapping" in cols
    parts = sum(cols[f"memory_{f.name}"] for f in fields(MemoryBreakdown) if f.name != "total_bytes")
    np.testing.assert_allclose(parts, cols["memory_per_accelerator_bytes"])


def test_unknown_objective_names_the_allowed_ones() -> None:
    with pytest.raises(InputError, match="step_time_s"):
        evaluate_job(HardwareArrays.from_designs([H100]), TrainingJobKind(WL, CAL), tech=TECH, objective="speed")


def test_scalar_equals_batch() -> None:
    designs = [H100.replace(tdp_w=t) for t in (700.0, 450.0, 350.0)]
    batch = _eval(*designs)
    for i, d in enumerate(designs):
        one = _eval(d)
        for name, col in batch.items():
            a, b = np.asarray(col)[i], np.asarray(one[name])[0]
            if isinstance(a, (float, np.floating)):
                np.testing.assert_allclose(a, b, rtol=1e-12, err_msg=name)
            else:
                assert a == b, name


def test_dvfs_lowers_energy_per_op_with_the_cap() -> None:
    """A lower TDP cap lowers clock and voltage: matrix energy per step (fixed work) falls as V^2."""
    caps = (700.0, 600.0, 450.0, 350.0)
    r = _eval(*[H100.replace(tdp_w=t) for t in caps])
    assert np.all(r["power_w"] <= r["tdp_w"] * (1 + 1e-9))
    assert np.all(np.diff(r["clock_hz"]) <= 0) and r["clock_hz"][-1] < r["clock_hz"][0]
    energy = r["energy_matrix_bf16_j"]
    assert np.all(np.diff(energy) <= 0) and energy[-1] < 0.8 * energy[0]
    assert len({(r["tp"][i], r["pp"][i], r["micro_batch"][i]) for i in range(len(caps))}) == 1
    s = r["clock_hz"] / H100.clock_hz
    v2 = voltage_scale(s, TECH) ** 2
    # Same mapping, same work: the busiest stage at the V^2 of its clock, the other stages (pp > 1) at their own
    # power-limited clock, between it and nominal (s14-energy), so the ratio lies between the busiest clock's V^2
    # ratio and 1; exactly that ratio with one stage.
    assert float(r["pp"][0]) > 1
    assert np.all(energy / energy[0] >= v2 / v2[0] * (1 - 1e-12)) and np.all(energy / energy[0] <= 1 + 1e-12)
    one = _eval(*[H100.replace(tdp_w=t) for t in caps], strategy="tp=8,pp=1,cp=1,ep=1,vpp=1,mb=1,recompute=full,zero=1")
    assert np.all(np.isfinite(one["energy_matrix_bf16_j"])) and one["clock_hz"][-1] < one["clock_hz"][0]
    v2_one = voltage_scale(one["clock_hz"] / H100.clock_hz, TECH) ** 2
    np.testing.assert_allclose(one["energy_matrix_bf16_j"] / one["energy_matrix_bf16_j"][0], v2_one / v2_one[0],
                               rtol=1e-9)


def test_performance_identical_where_no_cap_binds() -> None:
    """A TDP above the drawn power changes nothing but the TDP itself."""
    r = _eval(H100.replace(tdp_w=700.0), H100.replace(tdp_w=2000.0))
    assert r["power_w"][0] < 700.0  # not binding at 700 W either
    for name, col in r.items():
        if name in ("tdp_w", "violation_tdp"):
            continue
        a, b = np.asarray(col)
        assert a == b or (isinstance(a, float) and np.isclose(a, b, rtol=1e-12)), name


def test_serving_kind_through_the_driver_finds_the_best_feasible_configuration_where_no_cap_binds() -> None:
    from archsweep.load.serving_calibration import load_serving_calibration
    from archsweep.model.inference import (
        ServingJob,
        enumerate_serving_configs,
        serving_performance,
    )
    from archsweep.model.inference.job_kind import ServingJobKind

    wl, scal = load_workload("llama3-8b"), load_serving_calibration()
    job = ServingJob(1024, 256, ttft_max_s=2.0, tpot_max_s=0.05)
    configs = enumerate_serving_configs(wl, job, 8)
    designs = [H100.replace(accelerator_count=8, tdp_w=t) for t in (2000.0, 300.0)]
    hw = HardwareArrays.from_designs(designs)
    kind: JobKind = ServingJobKind(wl, job, configs, scal, CAL)
    out = evaluate_job(hw, kind, tech=TECH, objective="output_tokens_per_s_per_accelerator")
    # Brute-force reference: every configuration on the uncapped design, best SLO-feasible one.
    r = serving_performance(HardwareArrays.from_designs(designs[0]), wl, configs, job, scal, CAL)
    ok = r.valid & (r.memory_violation <= 0) & (r.violation_ttft <= 0) & (r.violation_tpot <= 0)
    assert out["feasible"][0]
    np.testing.assert_allclose(out["output_tokens_per_s_per_accelerator"][0],
                               r.output_tokens_per_s_per_accelerator[ok].max(), rtol=1e-12)
    np.testing.assert_allclose(out["energy_per_token_j"][0], out["power_w"][0] * 8 / out["output_tokens_per_s"][0])
    # A 300 W cap binds: the driver's DVFS lowers clock and throughput, never raises power past TDP.
    assert out["power_w"][1] <= 300.0 * (1 + 1e-9) and out["clock_hz"][1] < H100.clock_hz
