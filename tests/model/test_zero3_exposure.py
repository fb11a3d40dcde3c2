"""ZeRO-3 / FSDP per-layer gathers with prefetch (issue 10): exposure when a layer is too short to
hide its gather, monotone in compute and link speed, and the DeepSpeed rows of SC21 Table 2."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation.cells import read_measurements
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import validate_rows

TECH = load_technology()
A100 = get_accelerator("A100-SXM4").design
ZERO3 = "tp=1,pp=1,cp=1,ep=1,vpp=1,mb=1,recompute=full,zero=3,sp=off,fa=off,dp_overlap=on"


def _step(design, stack: str = "deepspeed-zero3", mb: int = 1) -> dict[str, np.ndarray]:
    wl = load_workload("gpt3-175b")
    wl = replace(wl, training=replace(wl.training, global_batch_seqs=1536))
    out = evaluate_design_batch(HardwareArrays.from_designs([design]), wl, tech=TECH, strategy=ZERO3.replace("mb=1", f"mb={mb}"),
                                calibration=load_calibration(stack=stack))
    return out


@pytest.mark.parametrize("field", ["compute_units", "clock_hz", "scaleout_bw_bytes_per_s", "scaleup_bw_bytes_per_s"])
@pytest.mark.parametrize("count", [96, 384, 1536])
def test_zero3_step_never_longer_with_more_resources(field, count):
    base = A100.replace(accelerator_count=count, tdp_w=5000.0)
    for factor in (1.05, 1.5, 3.0):
        value = getattr(base, field) * factor
        better = base.replace(**{field: int(value) if field == "compute_units" else value})
        assert _step(better)["step_time_s"][0] <= _step(base)["step_time_s"][0] * (1 + 1e-9)


def test_zero3_comm_bound_step_is_constant_in_gpu_count():
    """Fixed global batch, one micro-batch per step: past the point where gathers dominate, doubling the GPUs halves the
    compute per GPU but not the per-GPU gather volume (3M per step, ZeRO++ Sec. 3)."""
    t768 = _step(A100.replace(accelerator_count=768, tdp_w=5000.0), mb=2)["step_time_s"][0]
    t1536 = _step(A100.replace(accelerator_count=1536, tdp_w=5000.0))["step_time_s"][0]
    assert t1536 == pytest.approx(t768, rel=0.1)
    # Hierarchical gathers (NCCL rings through the node) would hide behind compute instead.
    hier = _step(A100.replace(accelerator_count=1536, tdp_w=5000.0), stack="megatron-core")["step_time_s"][0]
    assert hier < 0.5 * t1536


def test_sc21_table2_zero3_rows_within_25_percent():
    """SC21 Table 2 (Narayanan et al.), DeepSpeed ZeRO-3 174.6B / 529.6B on 384-2240 A100s:
    44-144 TFLOP/s measured; the model was off by +53 % .. +386 % before per-layer gathers. Since s19-A the
    stack reduces in the FP16 model dtype (DeepSpeed ZeRO-3's gradient partitions and reduce-scatter, 2 B, not 4):
    -22 .. +5 % before, +1.7 .. +29.1 % after (mean 11.5 -> 14.5 %), the 25 % bound moved to 30 %. s19-K: DeepSpeed's
    release rule (stage3_max_reuse_distance) gathers 2/3 of these layers' weights a third time under full recompute:
    -15.4 .. +12.6 % (mean 9.6 %), the bound back at 25 %."""
    rows = [r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")
            if r["run_id"].startswith("megatron21_t2_ZeRO-3")]
    assert len(rows) == 6 and all(calibration_stack(r) == "deepspeed-zero3" for r in rows)
    results = validate_rows(rows)
    errors = [r.error_pct for r in results]
    assert all(r.status == "ok" for r in results)
    assert max(abs(e) for e in errors) < 25.0, errors
    assert np.mean(np.abs(errors)) < 15.0, errors
