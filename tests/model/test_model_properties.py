"""Property suite of the training performance model (hypothesis): monotone, bounded, finite,
scalar == batch, collectives free on one device, memory parts add up."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model import collectives as coll
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays

TECH = load_technology()
CAL = load_calibration()
H100 = get_accelerator("H100-SXM").design
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORKLOADS = ["llama3-8b", "gpt3-175b", "mixtral-8x7b"]


def _eval(designs, workload="llama3-8b", strategy=None):
    return evaluate_design_batch(HardwareArrays.from_designs(designs), load_workload(workload), tech=TECH, calibration=CAL, strategy=strategy)


def _design(count: int, units: int, clock: float, hbm_bw: float, su_bw: float, so_bw: float):
    return H100.replace(accelerator_count=count, compute_units=units, clock_hz=clock, hbm_bw_per_stack_bytes_per_s=hbm_bw,
                        scaleup_bw_bytes_per_s=su_bw, scaleout_bw_bytes_per_s=so_bw, tdp_w=5000.0)


design_strategy = st.builds(
    _design,
    count=st.sampled_from([8, 64, 512, 2048]),
    units=st.integers(32, 264),
    clock=st.floats(0.8e9, 2.5e9),
    hbm_bw=st.floats(200e9, 2e12),
    su_bw=st.floats(50e9, 1.8e12),
    so_bw=st.floats(12.5e9, 200e9),
)


@SETTINGS
@given(design=design_strategy, workload=st.sampled_from(WORKLOADS),
       field=st.sampled_from(["compute_units", "clock_hz", "hbm_bw_per_stack_bytes_per_s", "scaleup_bw_bytes_per_s",
                              "scaleout_bw_bytes_per_s", "hbm_capacity_per_stack_bytes"]),
       factor=st.floats(1.01, 4.0))
def test_more_resources_never_slower(design, workload, field, factor):
    """More bandwidth, compute or capacity never makes the best mapping slower (TDP lifted)."""
    better = replace(design, **{field: getattr(design, field) * factor}) if field != "compute_units" else \
        replace(design, compute_units=int(design.compute_units * factor))
    out = _eval([design, better], workload)
    if not out["feasible"][0]:
        return
    assert out["feasible"][1]
    assert out["step_time_s"][1] <= out["step_time_s"][0] * (1 + 1e-9)


@SETTINGS
@given(design=design_strategy, workload=st.sampled_from(WORKLOADS))
def test_outputs_finite_and_bounded(design, workload):
    out = _eval([design], workload)
    found = out["mapping_found"][0]
    for name, values in out.items():
        if np.asarray(values).dtype.kind == "f" and (found or not np.isnan(values[0])):
            assert np.all(np.isfinite(values)), name
    assert not found or out["step_time_s"][0] > 0
    if out["feasible"][0]:
        assert 0 < out["mfu"][0] <= 1
        assert 0 < out["hfu"][0] <= 1
    assert out["power_w"][0] >= 0
    assert out["memory_per_accelerator_bytes"][0] > 0


@SETTINGS
@given(design=design_strategy, workload=st.sampled_from(WORKLOADS))
def test_memory_parts_add_up(design, workload):
    out = _eval([design], workload)
    parts = sum(out[k] for k in ("memory_weights_bytes", "memory_gradients_bytes", "memory_optimizer_bytes",
                                 "memory_activations_bytes", "memory_recompute_working_bytes",
                                 "memory_delayed_wgrad_bytes", "memory_moe_combine_grad_bytes", "memory_reserved_bytes"))
    np.testing.assert_allclose(parts, out["memory_per_accelerator_bytes"], rtol=1e-12)
    assert all(out[k][0] >= 0 for k in out if k.startswith("memory_"))


def test_scalar_equals_batch_equals_grid():
    """One point, a 1-D batch and an xarray grid give identical numbers."""
    import xarray as xr

    from archsweep.model.driver import evaluate_grid

    wl = load_workload("llama3-8b")
    designs = [H100.replace(accelerator_count=64, clock_hz=c, scaleup_bw_bytes_per_s=b)
               for c in (1.5e9, 1.83e9) for b in (300e9, 450e9, 900e9)]
    batch = evaluate_design_batch(HardwareArrays.from_designs(designs), wl, tech=TECH, calibration=CAL)
    for i, d in enumerate(designs):
        point = evaluate_design_batch(HardwareArrays.from_designs(d), wl, tech=TECH, calibration=CAL)
        for key in ("step_time_s", "power_w", "memory_per_accelerator_bytes", "die_area_mm2", "tp", "pp"):
            assert point[key][0] == batch[key][i], key
    base = {k: xr.DataArray(v) for k, v in H100.replace(accelerator_count=64).as_dict().items()}
    base["clock_hz"] = xr.DataArray([1.5e9, 1.83e9], dims="clock_hz", coords={"clock_hz": [1.5e9, 1.83e9]})
    base["scaleup_bw_bytes_per_s"] = xr.DataArray([300e9, 450e9, 900e9], dims="su", coords={"su": [300e9, 450e9, 900e9]})
    grid = evaluate_grid(xr.Dataset({k: v for k, v in base.items() if k not in ("clock_hz",)}, coords={"clock_hz": base["clock_hz"]}),
                         wl, tech=TECH, calibration=CAL)
    assert grid["step_time_s"].shape == (2, 3)
    np.testing.assert_array_equal(grid["step_time_s"].values.reshape(-1), batch["step_time_s"])


def test_collectives_cost_zero_on_one_device():
    hw = HardwareArrays.from_designs(H100)
    size, one = np.asarray(1e9), np.asarray(1.0)
    for fn in (coll.allreduce_time_s, coll.reduce_scatter_time_s, coll.all_gather_time_s, coll.alltoall_time_s):
        assert fn(hw, size, one, one, 0.8) == 0.0


def test_single_accelerator_has_no_communication():
    out = _eval([H100.replace(accelerator_count=1)], "mpt-125m" if True else "llama3-8b")
    for key in ("tp_comm_exposed_s", "dp_comm_exposed_s", "pp_comm_exposed_s", "ep_comm_exposed_s", "cp_comm_exposed_s"):
        assert out[key][0] == 0.0


def test_memory_infeasible_is_a_row_not_an_error():
    tiny = H100.replace(accelerator_count=8, hbm_capacity_per_stack_bytes=1e9)
    out = _eval([tiny], "gpt3-175b")
    assert not out["feasible"][0]
    assert out["violation_memory"][0] > 0


def test_no_fitting_mapping_reports_infeasible_not_a_time():
    """Issue 10, item 6: a candidate none of whose mappings fits cannot run: its time and
    throughput are NaN (not the least-violating mapping's); memory stays as the evidence.
    Validation of a stated mapping asks for the least-violating numbers explicitly."""
    tiny = H100.replace(accelerator_count=8, hbm_capacity_per_stack_bytes=1e9)
    out = _eval([tiny, H100.replace(accelerator_count=8)], "gpt3-175b")
    assert not out["mapping_found"][0] and not out["feasible"][0]
    for key in ("step_time_s", "tokens_per_s", "mfu", "energy_per_token_j", "usd_per_million_tokens"):
        assert np.isnan(out[key][0]), key
    assert out["memory_per_accelerator_bytes"][0] > 0 and out["violation_memory"][0] > 0
    kept = evaluate_design_batch(HardwareArrays.from_designs([tiny]), load_workload("gpt3-175b"), tech=TECH,
                                 calibration=CAL, infeasible="least_violating")
    assert not kept["mapping_found"][0] and np.isfinite(kept["step_time_s"][0]) and kept["step_time_s"][0] > 0


@pytest.mark.parametrize("strategy", ["tp=8,pp=2,mb=1,recompute=selective,zero=1", "tp=2,pp=4,vpp=2,mb=2,recompute=full"])
def test_fixed_strategy_is_respected(strategy):
    out = _eval([H100.replace(accelerator_count=64)], "llama3-8b", strategy)
    fixed = dict(kv.split("=") for kv in strategy.split(","))
    assert out["tp"][0] == float(fixed["tp"]) and out["pp"][0] == float(fixed["pp"])
    assert out["dp"][0] * out["cp"][0] == 64 / (float(fixed["tp"]) * float(fixed["pp"]))


def test_lora_finetuning_needs_less_memory_and_time_than_full():
    """LoRA keeps gradients and optimizer state for the adapters only, and reduces only them."""
    full = load_workload("llama3-8b")
    lora = replace(full, training=replace(full.training, mode="finetune_lora", lora_rank=16))
    hw = HardwareArrays.from_designs(H100.replace(accelerator_count=64))
    strategy = "tp=1,pp=1,cp=1,mb=1,recompute=full,zero=0"
    a = evaluate_design_batch(hw, full, tech=TECH, calibration=CAL, strategy=strategy)
    b = evaluate_design_batch(hw, lora, tech=TECH, calibration=CAL, strategy=strategy)
    assert b["memory_optimizer_bytes"][0] < 0.01 * a["memory_optimizer_bytes"][0]
    assert b["memory_per_accelerator_bytes"][0] < a["memory_per_accelerator_bytes"][0]
    assert b["dp_comm_exposed_s"][0] <= a["dp_comm_exposed_s"][0]
