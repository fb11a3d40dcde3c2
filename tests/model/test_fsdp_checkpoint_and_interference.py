"""llm-foundry's FSDP runs (stack ``pytorch-fsdp``, issue 10, s9-dense): what a full recompute re-runs
under PyTorch's non-reentrant checkpoint (early stop: not the block's last GEMM), and the per-micro-batch
cost of the FSDP collectives beside the compute (``overlap_interference`` 0.7 since s19-J priced FSDP's casts and copies,
1.0 after s19-A's BF16 reduce-scatter, 0.8 before; fitted on llm-foundry's micro-batch sweep, data/validation/llm_foundry_microbatch_sweep.csv, rows outside the
validation set)."""

from __future__ import annotations

import csv
import shutil
from dataclasses import replace

import numpy as np
import pytest
import yaml
from measured_runs import runs_by_id

from archsweep.load.calibration import load_calibration, software_stacks
from archsweep.load.catalog import get_accelerator
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation.run import validate_rows

TECH = load_technology()
SWEEP = data_dir() / "validation" / "llm_foundry_microbatch_sweep.csv"
FULL = "tp=1,pp=1,cp=1,ep=1,vpp=1,mb=4,recompute=full,zero=3,sp=off,fa=on,dp_overlap=on"


def _terms(cal, strategy: str = FULL) -> dict[str, float]:
    wl = load_workload("mpt-13b")
    wl = replace(wl, training=replace(wl.training, global_batch_seqs=32, seq_len=2048))
    hw = HardwareArrays.from_designs([get_accelerator("H100-SXM").design.replace(accelerator_count=8, tdp_w=5000.0)])
    out = evaluate_design_batch(hw, wl, tech=TECH, strategy=strategy, calibration=cal)
    return {k: float(np.ravel(out[k])[0]) for k in ("compute_time_s", "recompute_time_s", "step_time_s",
                                                     "memory_per_accelerator_bytes")}


def test_early_stop_skips_the_ffn_down_projection_only():
    cal = load_calibration(stack="pytorch-fsdp")
    assert cal.checkpoint_early_stop == 1.0
    early, whole = _terms(cal), _terms(replace(cal, checkpoint_early_stop=0.0))
    # Without early stop the recompute is the layers' forward: about a third of forward + 2x backward (0.29 since s32:
    # the causal schedule law slows the attention backward more than its forward).
    assert whole["recompute_time_s"] > 0.28 * whole["compute_time_s"]
    # MPT-13B's FFN down projection is 8 h^2 of the layer's ~24 h^2 + attention GEMM FLOPs per token.
    share = early["recompute_time_s"] / whole["recompute_time_s"]
    assert 0.62 < share < 0.75
    assert early["compute_time_s"] == whole["compute_time_s"]
    assert early["memory_per_accelerator_bytes"] == whole["memory_per_accelerator_bytes"]  # the same saved tensors
    assert early["step_time_s"] < whole["step_time_s"]
    none = _terms(cal, FULL.replace("recompute=full", "recompute=none"))
    assert none["recompute_time_s"] == 0.0


def test_only_the_pytorch_checkpoint_stack_stops_early():
    """Evaluated, not read: under every other stack a full recompute re-runs the whole layer forward (the
    MPT-13B step is identical with early stop forced off); under PyTorch's checkpoint it re-runs less."""
    for stack in software_stacks():
        cal = load_calibration(stack=stack)
        stated, whole = _terms(cal), _terms(replace(cal, checkpoint_early_stop=0.0))
        if stack == "pytorch-fsdp":
            assert stated["recompute_time_s"] < whole["recompute_time_s"], stack
        else:
            assert stated == whole, stack


@pytest.mark.parametrize(("stack", "switch"), [("pytorch-fsdp", "checkpoint_early_stop"),
                                               ("megatron-core-flex", "moe_dispatch_per_domain")])
def test_switch_other_than_0_or_1_names_file_key_and_allowed(tmp_path, monkeypatch, stack, switch):
    """The 0-or-1 switches: the model reads any positive value as 1 (collectives: ``per_domain > 0``)."""
    shutil.copytree(data_dir() / "calibration", tmp_path / "calibration")
    path = tmp_path / "calibration" / "software_stacks.yaml"
    doc = yaml.safe_load(path.read_text())
    doc[stack][switch]["value"] = 0.5
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.setenv("ARCHSWEEP_DATA_DIR", str(tmp_path))
    load_calibration.cache_clear()
    try:
        with pytest.raises(InputError) as err:
            load_calibration(stack=stack)
        text = str(err.value)
        assert "software_stacks.yaml" in text and f"{stack}.{switch}.value" in text and "0 or 1" in text
    finally:
        load_calibration.cache_clear()


def _sweep_rows() -> list[dict[str, str]]:
    base = runs_by_id(lambda r: r["source_group"] == "mpt")
    rows = []
    with SWEEP.open(newline="") as f:
        for s in csv.DictReader(f):
            row = dict(base[s["base_run_id"]])
            n = int(row["num_accels"])
            row.update(run_id=f"{s['base_run_id']}_mb{s['micro_batch']}", micro_batch=s["micro_batch"],
                       global_batch_seqs=s["global_batch_seqs"], tokens_per_s_per_gpu=s["tokens_per_s_per_gpu"],
                       tokens_per_s_total=str(n * int(s["tokens_per_s_per_gpu"])), mfu_pct=s["mfu_pct"],
                       hfu_pct=s["mfu_pct"], tflops_per_gpu="", other_metric=f"grad_accum={s['grad_accum']}")
            rows.append(row)
    return rows


def _per_microbatch_intercept_s(rows, tps) -> float:
    """Least-squares intercept of the 7B rows' time per micro-batch (s) against the micro-batch size."""
    pts = [(int(r["micro_batch"]), int(r["micro_batch"]) * 2048 / t) for r, t in zip(rows, tps) if "_7b_" in r["run_id"]]
    return float(np.polyfit([p[0] for p in pts], [p[1] for p in pts], 1)[1])


def test_microbatch_sweep_fixed_cost_is_the_fsdp_collectives():
    """llm-foundry larger_mb_1.md (A100-80GB, 8 GPUs, no AC, FULL_SHARD, GradAccum 2): the time per
    micro-batch is 0.40 s per sequence + 0.21 s (7B); the model (collectives at the fitted interference plus
    FSDP's HBM passes, s19-J) within 6 % per row and within 20 % of that fixed cost (0.172 s); with the SM-share
    value 0.2 it has under half of it."""
    rows = _sweep_rows()
    assert len(rows) == 6
    cal = load_calibration(stack="pytorch-fsdp")
    assert cal.overlap_interference == pytest.approx(0.7)  # s19-J (FSDP's HBM passes priced); 1.0 at s19-A, 0.8 before
    results = validate_rows(rows, calibration=cal)
    assert all(r.status == "ok" for r in results)
    assert max(abs(r.error_pct) for r in results) < 6.0
    measured = _per_microbatch_intercept_s(rows, [r.measured for r in results])
    assert measured == pytest.approx(0.208, abs=0.01)
    assert _per_microbatch_intercept_s(rows, [r.predicted for r in results]) == pytest.approx(measured, rel=0.2)
    low = validate_rows(rows, calibration=replace(cal, overlap_interference=0.2))
    assert _per_microbatch_intercept_s(rows, [r.predicted for r in low]) < 0.5 * measured
    # micro-batch 1: the model is a sixth too fast (18.4 %; above a fifth before s19-J priced FSDP's HBM passes)
    assert low[0].error_pct > 15.0


def test_holding_out_mpt_takes_the_sm_share_prior():
    """The sweep is llm-foundry data, as the mpt rows are: held out with them (the prior registered first: the
    SM-share 0.2 of the other NCCL-overlapping stacks; held-out mpt 11.65 %)."""
    from archsweep.validation.holdout import held_out_calibrations

    rows = list(runs_by_id().values())
    assert held_out_calibrations(rows, "mpt")["pytorch-fsdp"].overlap_interference == pytest.approx(0.2)
    assert held_out_calibrations(rows, "mlperf")["pytorch-fsdp"].overlap_interference == pytest.approx(0.7)
