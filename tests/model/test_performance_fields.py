"""The job kinds' declared performance fields (issue 14): the driver's mapping search runs once per
distinct row of them, so a field NOT declared must never change ``kind.performance(...)``.

Property: for random candidates and random mappings, replacing every undeclared hardware field
(one at a time and all together) by random values leaves every output of the performance function
bit-identical, for the training kind (BF16 and FP8, dense and MoE) and the serving kind (BF16 and
FP8 activations). A model change that starts reading another field (e.g. TDP or the process node
inside the step time) fails here instead of silently making the deduplicated search inexact.
And the driver with deduplication returns exactly the columns of the driver without it.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any

import numpy as np
import pytest

import archsweep.model.driver as driver
from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.serving_calibration import load_serving_calibration
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_architecture, load_workload
from archsweep.model.inference import ServingJob, ServingJobKind, enumerate_serving_configs, evaluate_serving_batch
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.spec.hardware import HARDWARE_PARAMETERS, PARAMETER_BY_NAME, HardwareArrays

CAL = load_calibration()
SCAL = load_serving_calibration()
TECH = load_technology()
BASE = get_accelerator("H100-SXM").design
N, M = 24, 48  # candidates, mappings per kind
_COUNTS = np.array([8.0, 16.0, 64.0, 256.0, 1024.0, 4096.0])
_DOMAINS = np.array([4.0, 8.0, 16.0, 72.0])


def _random_values(name: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random values of hardware field ``name`` around the H100 (choices: any allowed one)."""
    info = PARAMETER_BY_NAME[name]
    if info.kind == "choice":
        return rng.choice(np.asarray(info.choices), n)
    if name == "accelerator_count":
        return rng.choice(_COUNTS, n)
    if name == "scaleup_domain_size":
        return rng.choice(_DOMAINS, n)
    if name == "die_reference_clock_hz":  # none, or a reference bin of the same die near the clock
        return np.where(rng.uniform(size=n) < 0.5, 0.0, float(BASE.clock_hz) * rng.uniform(0.8, 1.2, n))
    base = float(getattr(BASE, name))
    values = (base if base > 0 else 1000.0) * np.exp(rng.uniform(np.log(0.4), np.log(2.5), n))
    if name == "matrix_efficiency":
        values = rng.uniform(0.3, 0.95, n)
    if name == "scaleout_achieved_share":
        values = rng.uniform(0.3, 1.0, n)
    if name == "matrix_flops_per_cycle_per_unit_fp8":
        values = np.where(rng.uniform(size=n) < 0.25, 0.0, values)  # unsupported FP8: BF16 rate
    return np.round(values) if info.kind == "int" else values


def _candidates(rng: np.random.Generator, n: int = N) -> HardwareArrays:
    return HardwareArrays.from_columns({p.name: _random_values(p.name, rng, n) for p in HARDWARE_PARAMETERS})


def _flatten(value: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """Every array of a (nested) result dataclass, by dotted name."""
    out: dict[str, np.ndarray] = {}
    for f in fields(value):
        item = getattr(value, f.name)
        if is_dataclass(item):
            out.update(_flatten(item, f"{prefix}{f.name}."))
        else:
            out[prefix + f.name] = np.asarray(item)
    return out


def _assert_same(a: Any, b: Any, what: str) -> None:
    fa, fb = _flatten(a), _flatten(b)
    assert fa.keys() == fb.keys()
    for name, value in fa.items():
        other = fb[name]
        shape = np.broadcast_shapes(value.shape, other.shape)
        x, y = np.broadcast_to(value, shape), np.broadcast_to(other, shape)
        same = np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" else np.array_equal(x, y)
        assert same, f"{what} changes performance output {name!r}: declare it in performance_fields"


def _check_kind(kind: Any, seed: int) -> None:
    rng = np.random.default_rng(seed)
    declared = set(kind.performance_fields)
    assert declared <= set(PARAMETER_BY_NAME), declared - set(PARAMETER_BY_NAME)
    undeclared = [p.name for p in HARDWARE_PARAMETERS if p.name not in declared]
    assert "tdp_w" in undeclared and "process_node" in undeclared  # what the deduplication is for
    all_mappings = kind.mappings()
    mappings = all_mappings.take(rng.choice(len(all_mappings), min(M, len(all_mappings)), replace=False))
    hw = _candidates(rng)
    mp = mappings.reshape((1, len(mappings)))
    reference = kind.performance(hw.rows(slice(None), trailing=True), mp)
    assert np.asarray(reference.valid).any()  # the draw exercises real (valid) mappings
    changes: dict[str, np.ndarray] = {}
    for name in undeclared:
        changes[name] = _random_values(name, rng, N)
        one = replace(hw, **{name: changes[name]})
        _assert_same(reference, kind.performance(one.rows(slice(None), trailing=True), mp), name)
    every = replace(hw, **changes)
    _assert_same(reference, kind.performance(every.rows(slice(None), trailing=True), mp), "the undeclared fields")


@pytest.mark.parametrize("model,precision", [("llama3-70b", "bf16"), ("llama3-70b", "fp8"),
                                             ("mixtral-8x7b", "bf16"), ("deepseek-v3", "fp8")])
@pytest.mark.parametrize("seed", [0, 1])
def test_undeclared_fields_never_change_training_performance(model: str, precision: str, seed: int) -> None:
    wl = load_workload(model)
    wl = replace(wl, training=replace(wl.training, precision=precision))
    kind = TrainingJobKind(wl, CAL)
    assert ("matrix_flops_per_cycle_per_unit_fp8" in kind.performance_fields) == (precision == "fp8")
    _check_kind(kind, seed)


@pytest.mark.parametrize("model,precision", [("llama3-70b", "bf16"), ("llama3-70b", "fp8"),
                                             ("mixtral-8x7b", "fp8")])
@pytest.mark.parametrize("seed", [0, 1])
def test_undeclared_fields_never_change_serving_performance(model: str, precision: str, seed: int) -> None:
    arch = load_architecture(model)
    job = ServingJob(1024, 256, weight_precision=precision, activation_precision=precision, kv_precision=precision)
    configs = enumerate_serving_configs(arch, job, 64)
    kind = ServingJobKind(arch, job, configs, SCAL, CAL)
    assert ("matrix_flops_per_cycle_per_unit_fp8" in kind.performance_fields) == (precision != "bf16")
    _check_kind(kind, seed)


def _columns_without_dedup(monkeypatch: pytest.MonkeyPatch, run: Any) -> dict[str, np.ndarray]:
    with monkeypatch.context() as patch:
        patch.setattr(driver, "_distinct_performance_rows", lambda *args: None)
        return run()


def _assert_columns_identical(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        x, y = np.asarray(a[name]), np.asarray(b[name])
        same = np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" else np.array_equal(x, y)
        assert same, name


@pytest.mark.parametrize("exhaustive", [False, True])
def test_driver_dedup_is_bit_identical(monkeypatch: pytest.MonkeyPatch, exhaustive: bool) -> None:
    """A grid with power/cost axes (TDP, process node, HBM generation): the deduplicated search
    returns every column of the per-candidate search, bit for bit."""
    rng = np.random.default_rng(7)
    perf = _candidates(rng, 40)
    perf = replace(perf, accelerator_count=rng.choice(np.array([256.0, 1024.0]), 40))
    rows = np.repeat(np.arange(40), 6)  # 6 power/cost variants of each performance row
    hw = perf.rows(rows)
    hw = replace(hw, tdp_w=rng.choice(np.array([300.0, 500.0, 700.0, 1000.0]), len(rows)),
                 process_node=rng.choice(np.array(["N5", "N4", "N3"]), len(rows)),
                 hbm_generation=rng.choice(np.array(["HBM3", "HBM3e"]), len(rows)))
    wl = load_workload("llama3-70b")

    def run() -> dict[str, np.ndarray]:
        return driver.evaluate_design_batch(hw, wl, tech=TECH, calibration=CAL, exhaustive=exhaustive)

    distinct = driver._distinct_performance_rows(TrainingJobKind(wl, CAL), hw.flat(), "step_time_s")
    assert distinct is not None and len(distinct[1]) == len(rows) and int(np.size(distinct[0].clock_hz)) <= 40
    assert np.asarray(run()["mapping_found"]).any()
    _assert_columns_identical(run(), _columns_without_dedup(monkeypatch, run))


def test_serving_dedup_is_bit_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for serving (through evaluate_serving_batch, grouped by accelerator count)."""
    rng = np.random.default_rng(11)
    perf = replace(_candidates(rng, 12), accelerator_count=rng.choice(np.array([8.0, 16.0]), 12))
    rows = np.repeat(np.arange(12), 4)
    hw = replace(perf.rows(rows), tdp_w=rng.choice(np.array([300.0, 700.0, 1000.0]), len(rows)),
                 process_node=rng.choice(np.array(["N5", "N3"]), len(rows)))
    arch = load_architecture("llama3-8b")
    job = ServingJob(1024, 256, weight_precision="fp8", activation_precision="fp8", kv_precision="fp8")

    def run() -> dict[str, np.ndarray]:
        return evaluate_serving_batch(hw, arch, job, tech=TECH, calibration=CAL, serving_calibration=SCAL)

    assert np.asarray(run()["feasible"]).any()
    _assert_columns_identical(run(), _columns_without_dedup(monkeypatch, run))


def test_power_objectives_search_every_candidate() -> None:
    """Energy and cost objectives read the power/cost fields: no deduplication for them."""
    hw = HardwareArrays.from_designs([BASE.replace(tdp_w=t) for t in (400.0, 700.0)])
    kind = TrainingJobKind(load_workload("llama3-70b"), CAL)
    assert driver._distinct_performance_rows(kind, hw, "step_time_s") is not None
    for objective in driver.PPA_OBJECTIVES:
        assert driver._distinct_performance_rows(kind, hw, objective) is None
