"""Issue 10: LoRA adapters priced as their own kernels (model/projection.py adapter_fwd_bwd) and
TP collectives (communication.lora_tensor_parallel_s): monotone in rank and in the adapted projections."""

from __future__ import annotations

from dataclasses import replace

import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays

TECH, CAL = load_technology(), load_calibration()
QKV, ATTN = ("attention_qkv",), ("attention_qkv", "attention_dense")
ALL = ("attention_qkv", "attention_dense", "mlp_fc1", "mlp_fc2")


def _step(stem: str, strategy: str, **training) -> dict[str, float]:
    wl = load_workload(stem)
    wl = replace(wl, training=replace(wl.training, **training))
    hw = HardwareArrays.from_designs(get_accelerator("H100-SXM").design.replace(accelerator_count=8))
    r = evaluate_design_batch(hw, wl, tech=TECH, calibration=CAL, strategy=strategy, infeasible="least_violating")
    return {k: float(r[k][0]) for k in ("step_time_s", "compute_time_s", "tp_comm_exposed_s")}


@pytest.mark.parametrize("stem", ["llama3-8b", "llama2-70b"])
@pytest.mark.parametrize("tp", [1, 4])
def test_adapter_time_grows_with_rank_and_with_targets(stem, tp):
    s = f"tp={tp},pp=1,cp=1,mb=1,recompute=none,zero=1"
    lora = {"mode": "finetune_lora"}
    by_rank = [_step(stem, s, lora_rank=r, lora_targets=ALL, **lora) for r in (8, 16, 64, 256)]
    assert all(a["compute_time_s"] < b["compute_time_s"] for a, b in zip(by_rank, by_rank[1:]))
    by_targets = [_step(stem, s, lora_rank=16, lora_targets=t, **lora) for t in (QKV, ATTN, ALL)]
    assert all(a["step_time_s"] < b["step_time_s"] for a, b in zip(by_targets, by_targets[1:]))
    if tp > 1:  # adapters on row-parallel projections add their own TP exchange
        assert by_targets[0]["tp_comm_exposed_s"] < by_targets[1]["tp_comm_exposed_s"]
    # The adapters cost far less than the base layer: rank 16 on all four projections is < 25 % of
    # LoRA's compute (NeMo's unfused ParallelLinearAdapter: 2 GEMMs, scale and add forward).
    bare = _step(stem, s, lora_rank=16, lora_targets=QKV, **lora)["compute_time_s"]
    assert by_targets[2]["compute_time_s"] < 1.25 * bare


def test_dropout_and_full_recompute_add_adapter_kernels():
    s = "tp=1,pp=1,cp=1,mb=1,recompute={},zero=1"
    kw = {"mode": "finetune_lora", "lora_rank": 16, "lora_targets": ATTN}
    plain = _step("llama3-8b", s.format("none"), **kw)["compute_time_s"]
    assert _step("llama3-8b", s.format("none"), lora_dropout=0.1, **kw)["compute_time_s"] > plain
    # full recompute re-runs the whole layer forward, adapters included
    rc_lora = _step("llama3-8b", s.format("full"), **kw)
    rc_full = _step("llama3-8b", s.format("full"), mode="finetune_full", lora_rank=0)
    assert rc_lora["step_time_s"] > plain
    assert rc_lora["step_time_s"] < rc_full["step_time_s"]
