"""Host issue time of a transformer layer's eager operations (issue 10, MLPerf NeMo LoRA rows): the step
takes max(device, host) per layer and pass, so the term is never negative, zero under per-layer CUDA graphs,
and shows only where the GPU's work per layer is shorter than the host's issue time."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.training.step import layer_host_issue_s
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation.run import row_calibration

TECH, CAL = load_technology(), load_calibration()
H100 = get_accelerator("H100-SXM").design.replace(accelerator_count=64)
WL = load_workload("gpt3-175b")


def _step(cal, seq: int) -> float:
    wl = replace(WL, training=replace(WL.training, seq_len=seq, global_batch_seqs=64))
    out = evaluate_design_batch(HardwareArrays.from_designs([H100]), wl, tech=TECH, calibration=cal,
                                strategy="tp=8,pp=8,cp=1,mb=1,recompute=none,zero=1", infeasible="least_violating")
    return float(out["step_time_s"][0])


def test_sourced_constants_of_the_megatron_core_stack():
    assert np.isclose(CAL.host_op_s, 13.5e-6)  # TE issue #2053, torch.nn.Linear forward on the H100 DGX host
    f, b = layer_host_issue_s(WL, CAL)
    assert np.isclose(f, CAL.layer_host_ops_fwd * 13.5e-6) and np.isclose(b, 2 * f)


def test_term_is_zero_without_host_cost_and_never_negative():
    graphs = replace(CAL, host_op_s=0.0)
    assert layer_host_issue_s(WL, graphs) == (0.0, 0.0)
    for seq in (128, 2048):
        assert _step(CAL, seq) >= _step(graphs, seq) - 1e-12


def test_exposed_only_where_the_device_work_per_layer_is_short():
    slow_host = replace(CAL, host_op_s=1e-3)  # 24 ms forward, 48 ms backward per layer
    graphs = replace(CAL, host_op_s=0.0)
    # Long sequences: device time per layer exceeds 72 ms of host issue only if the work is large; a
    # short one is host-bound: the step becomes layers x micro-batches x host time.
    short = _step(slow_host, 128)
    layers_stage, microbatches = np.ceil(WL.layers / 8), 64 / 1
    assert short >= microbatches * layers_stage * 72e-3 * 0.999
    assert _step(graphs, 128) < short
    # Raising the host cost never lowers the step time (monotone) and a tiny cost changes nothing.
    assert np.isclose(_step(replace(CAL, host_op_s=1e-9), 2048), _step(graphs, 2048), rtol=1e-9)


def test_lora_adapters_add_their_kernels():
    lora = replace(WL, training=replace(WL.training, mode="finetune_lora", lora_rank=16,
                                        lora_targets=("attention_qkv", "attention_dense", "mlp_fc1", "mlp_fc2")))
    f0, b0 = layer_host_issue_s(WL, CAL)
    f1, b1 = layer_host_issue_s(lora, CAL)
    assert np.isclose(f1 - f0, 4 * 5 * CAL.host_op_s) and np.isclose(b1 - b0, 4 * 7 * CAL.host_op_s)


def test_row_with_layer_cuda_graphs_has_no_host_issue():
    assert row_calibration(CAL, {"layer_cuda_graphs": "yes"}).host_op_s == 0.0
    assert row_calibration(CAL, {"layer_cuda_graphs": "no"}).host_op_s == CAL.host_op_s
    assert row_calibration(CAL, {}).host_op_s == CAL.host_op_s
