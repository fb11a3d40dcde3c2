"""PyTorch FSDP FULL_SHARD gathers (issue 10, search optimism): one flat process group over all ranks,
on NCCL rings that stay rail-aligned across nodes (data/calibration/software_stacks.yaml, pytorch-fsdp
``sharded_gather_flat``): a group that fits in one node never touches the scale-out network, and across
nodes each GPU moves only its 1/n_in share of a gather over its own NIC."""

from __future__ import annotations

from dataclasses import replace

import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays

TECH = load_technology()
H100 = get_accelerator("H100-SXM").design
# mpt_030..033 of data/validation/training_runs.csv: MPT 13B, FULL_SHARD, micro-batch 2, no recompute.
FULL_SHARD = "tp=1,pp=1,cp=1,ep=1,vpp=1,mb=2,recompute=none,zero=3,sp=off,fa=on,dp_overlap=on"


def _step(count: int, scaleout_factor: float = 1.0) -> float:
    wl = load_workload("mpt-13b")
    wl = replace(wl, training=replace(wl.training, global_batch_seqs=2 * count, seq_len=2048))
    design = H100.replace(accelerator_count=count, tdp_w=5000.0)
    design = design.replace(scaleout_bw_bytes_per_s=design.scaleout_bw_bytes_per_s * scaleout_factor)
    out = evaluate_design_batch(HardwareArrays.from_designs([design]), wl, tech=TECH, strategy=FULL_SHARD,
                                calibration=load_calibration(stack="pytorch-fsdp"))
    return float(out["step_time_s"][0])


def test_stack_gathers_with_rail_aligned_rings():
    assert load_calibration(stack="pytorch-fsdp").sharded_gather_flat == 0
    assert load_calibration(stack="deepspeed-zero3").sharded_gather_flat == 1


def test_full_shard_inside_one_node_never_uses_the_scale_out_network():
    assert _step(8, scaleout_factor=0.01) == pytest.approx(_step(8), rel=1e-12)


#: pytorch-fsdp's fitted overlap_interference (data/calibration/software_stacks.yaml), named in the xfail reason.
FSDP_INTERFERENCE = load_calibration(stack="pytorch-fsdp").overlap_interference


@pytest.mark.xfail(strict=True, reason=(
    f"with the stack's fitted overlap_interference {FSDP_INTERFERENCE:g} the 64-GPU step is still more than 1.075 x "
    "the 8-GPU one (1.26 at 0.8 in s9-dense, 1.154 at 0.7 in s20-C): the model sums the in-node and cross-node "
    "rings of a gather (collectives._sharded), where NCCL's rail-aligned flat ring runs both tiers at once; open, "
    "docs/model-accuracy.md s9-dense. s9-ring priced the ring as max of the tiers: this passed (1.059) but the "
    "validation set got worse, not kept (s9-ring section)"))
def test_full_shard_across_nodes_hides_gathers_at_micro_batch_2():
    """mpt_030 (64 GPUs) and mpt_033 (8 GPUs) measure the same 4800 / 4792 tokens/s per GPU: the per-GPU
    step of the model does not grow by more than 7.5 % from one node to eight. (Was 5 %: with the
    stack's ``overlap_interference`` 0.2 the longer cross-node gathers cost 0.2 of their hidden time,
    +6.2 % at 64 GPUs; the measured +0.2 % is a residual the model does not reproduce.)"""
    assert _step(64) <= 1.075 * _step(8)
