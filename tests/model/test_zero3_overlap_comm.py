"""ZeRO-3 collectives with the data-parallel overlap off (issue 10, s7-zero3): DeepSpeed's
``zero_optimization.overlap_comm: false`` issues the per-layer parameter all-gathers and gradient
reduce-scatters on the compute stream, so every byte is exposed; the HuggingFace Trainer stacks of the
MLPerf LoRA rows run no tensor / pipeline / context parallelism."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from measured_runs import runs

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.stack_parallelism import load_stack_parallelism
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model import collectives as coll
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation.cells import ds_overlap_comm
from archsweep.validation.optimism import search_optimism
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import validate_rows

TECH = load_technology()
H100 = get_accelerator("H100-SXM").design
ZERO3 = "tp=1,pp=1,cp=1,ep=1,vpp=1,mb={mb},recompute={rc},zero=3,sp=off,fa=on,dp_overlap={ov}"


def _run(design, stack: str = "deepspeed-zero3", mb: int = 1, rc: str = "full", ov: str = "on", model: str = "mpt-13b"):
    wl = load_workload(model)
    wl = replace(wl, training=replace(wl.training, global_batch_seqs=mb * design.accelerator_count, seq_len=2048))
    return evaluate_design_batch(HardwareArrays.from_designs([design]), wl, tech=TECH,
                                 strategy=ZERO3.format(mb=mb, rc=rc, ov=ov), calibration=load_calibration(stack=stack))


@pytest.mark.parametrize("count", [8, 64])
@pytest.mark.parametrize("mb", [1, 4])
def test_overlap_off_never_faster_and_adds_at_most_the_whole_communication(count, mb):
    design = H100.replace(accelerator_count=count, tdp_w=5000.0)
    on, off = _run(design, mb=mb, ov="on"), _run(design, mb=mb, ov="off")
    assert off["step_time_s"][0] >= on["step_time_s"][0]
    assert off["dp_comm_exposed_s"][0] >= on["dp_comm_exposed_s"][0]
    # Off: everything else is the same step (compute, recompute, optimizer).
    for key in ("compute_time_s", "recompute_time_s", "optimizer_time_s"):
        assert off[key][0] == pytest.approx(on[key][0], rel=1e-12)


def test_overlap_off_exposes_exactly_the_per_layer_gathers_and_reduce_scatters():
    """Serial: per micro-batch and layer, forward gather + backward gather + gradient reduce-scatter (the collective
    model's own times), independent of the compute beside them."""
    design = H100.replace(accelerator_count=8, tdp_w=5000.0)
    out = _run(design, ov="off", rc="none")
    wl = load_workload("mpt-13b")
    cal = load_calibration(stack="deepspeed-zero3")
    hw = HardwareArrays.from_designs([design])
    layer = wl.total_params / wl.layers
    one, n = np.array([1.0]), np.array([8.0])
    gather = coll.all_gather_time_s(hw, np.array([layer * cal.weight_bytes_per_param]), n, one, cal.collective_bw_efficiency)
    rs = coll.reduce_scatter_time_s(hw, np.array([layer * cal.dp_grad_bytes_per_param]), n, one, cal.collective_bw_efficiency)
    # stage_parameters puts the embedding / head on the stage too: the per-layer share is at least the block's.
    expected_min = float(wl.layers * (2.0 * gather[0] + rs[0]))
    assert out["dp_comm_exposed_s"][0] >= expected_min * (1 - 1e-9)
    assert out["dp_comm_exposed_s"][0] <= expected_min * 1.5
    # Twice the compute (half the clock) leaves the serial exposure unchanged.
    slow = _run(design.replace(clock_hz=design.clock_hz / 2), ov="off", rc="none")
    assert slow["dp_comm_exposed_s"][0] == pytest.approx(out["dp_comm_exposed_s"][0], rel=1e-9)


@pytest.mark.parametrize("field", ["scaleup_bw_bytes_per_s", "scaleout_bw_bytes_per_s", "compute_units"])
def test_overlap_off_step_never_longer_with_more_resources(field):
    base = H100.replace(accelerator_count=64, tdp_w=5000.0)
    better = base.replace(**{field: int(getattr(base, field) * 2) if field == "compute_units" else getattr(base, field) * 2})
    assert _run(better, ov="off")["step_time_s"][0] <= _run(base, ov="off")["step_time_s"][0] * (1 + 1e-12)


def _rows(pattern: str) -> list[dict[str, str]]:
    return runs(lambda r: pattern in r["run_id"])


def test_deepspeed_lora_rows_state_overlap_comm_from_their_configs():
    """Habana configs/ds_zero3.json overlap_comm false; Juniper configs/ds_lora_config.json true."""
    habana = _rows("Intel-HabanaLabs_HLS-Gaudi2-PT_llama2_70b_lora")
    juniper = _rows("JuniperNetworks")
    assert len(habana) == 1 and len(juniper) == 3
    assert ds_overlap_comm(habana[0]) is False
    assert all(ds_overlap_comm(r) is True for r in juniper)
    assert ds_overlap_comm({"fsdp_zero": "PyTorch FSDP FULL_SHARD"}) is None


def test_habana_lora_row_pays_its_serial_gathers_and_moves_toward_the_measurement():
    """MLPerf v4.0 Gaudi 2 Llama 2 70B LoRA, 11.77 s per step (wall clock): the model was 30.7 % too fast with
    the gathers hidden; serial gathers took it to -23.0 % with the evaluation at a FLOP share (the rest is not
    ZeRO-3: see docs s7-zero3), -27.0 % with the evaluation at the model's forward time over its step (s9-m1:
    the evaluation adds 7.3 % to the step, not 13.2 %), measured on e215cb1 + s9-m1; -21.48 % against the
    steady step its train_loss stamps time, 10.2 s (s10-lora, measured on e4e9d74 + s10-lora); -20.07 % with
    Gaudi 2's scale-up at Intel's 21 ports, 262.5 GB/s instead of 300 (s17-D, measured on 7ef5012 + s17-D); -19.08 %
    with DeepSpeed's release rule re-gathering the attention projections (17.6 % of a layer) before each recomputed
    layer's backward (s19-K, measured on 856ea67 + s19-K); -18.19 % with s32's causal schedule law (the attention of
    the recomputed layers at 8k tokens, 64 heads, priced slower)."""
    (row,) = _rows("Intel-HabanaLabs_HLS-Gaudi2-PT_llama2_70b_lora")
    (result,) = validate_rows([row])
    assert result.status == "ok"
    assert result.error_pct == pytest.approx(-18.19, abs=0.5), result.error_pct


@pytest.mark.parametrize("stack", ["hf-deepspeed-zero3", "hf-deepspeed-zero3-gaudi"])
def test_huggingface_trainer_stacks_run_no_model_parallelism(stack):
    allowed = dict(load_stack_parallelism(stack).allowed)
    assert allowed["tp"] == (1,) and allowed["pp"] == (1,) and allowed["cp"] == (1,) and allowed["vpp"] == (1,)
    assert allowed["zero"] == (3,)
    # The Gaudi stack keeps the deepspeed-zero3 constants (the NVIDIA per-SM attention cap is not its).
    gaudi = load_calibration(stack="hf-deepspeed-zero3-gaudi")
    assert gaudi == replace(load_calibration(stack="deepspeed-zero3"), stack="hf-deepspeed-zero3-gaudi")


def test_gaudi_huggingface_row_on_its_stack_and_megatron_deepspeed_rows_keep_tp():
    (row,) = _rows("Intel-HabanaLabs_HLS-Gaudi2-PT_llama2_70b_lora")
    assert calibration_stack(row) == "hf-deepspeed-zero3-gaudi"
    sc21 = _rows("megatron21_t2_ZeRO-3")
    assert sc21 and all(calibration_stack(r) == "deepspeed-zero3" for r in sc21)
    assert dict(load_stack_parallelism("deepspeed-zero3").allowed)["tp"] is None  # 'all': Megatron-DeepSpeed TP


def test_nemo_2407_fp8_rows_cannot_shard_parameters_or_gradients():
    """NeMo r2.0.0rc1 megatron_base_model.py: 'Torch FSDP does not support FP8.'; Megatron-FSDP came in 2025."""
    rows = _rows("nemo2407_")
    assert rows and all(calibration_stack(r) == "megatron-core-fa2-fp8" for r in rows)
    assert dict(load_stack_parallelism("megatron-core-fa2-fp8").allowed)["zero"] == (0, 1)
    assert dict(load_stack_parallelism("megatron-core-fa2").allowed)["zero"] is None  # BF16: torch FSDP full / grad


@pytest.mark.parametrize(("pattern", "limit"), [("nemo2407_Nemotron-22B_64gpu", 1.45),
                                                ("Intel-HabanaLabs_HLS-Gaudi2-PT_llama2_70b_lora", 1.40),
                                                ("JuniperNetworks_h100_n1_", 1.75)])
def test_search_keeps_to_what_the_row_software_runs(pattern, limit):
    """The search optimism of the rows it exploited through ZeRO-3 / TP the software lacked: Nemotron-22B 1.36 -> 1.24
    (no ZeRO-3 under FP8), the DeepSpeed LoRA rows 1.85 / 2.05 -> their stated mapping (no TP under the HF Trainer).
    Nemotron-22B 1.24 -> 1.27 with the NeMo 24.07 FA2 kernels at FA2's measured H100 rate (s8-fa2: the row's
    in-sample error +3.9 -> +6.2 %; the search's gain over the stated mapping stays 1.19-1.20). Gaudi2 1.30 -> 1.37
    with its MLPerf evaluation at the model's forward time over its step instead of a FLOP share (s9-m1: the
    evaluation adds 7.3 %, not 13.2 %, to the predicted step; the stated mapping itself moved, not the search).
    s10-lora: both rows against their logged steady step: Gaudi2 1.37 -> 1.27, Juniper h100_n1 1.30 -> 1.68.
    s11-lead: Nemotron-22B 1.27 -> 1.43 since the search keeps the TP communication overlap the row ran with
    (tp_overlap=on, a stack key like fa): TP4 PP1 micro-batch 4 with the overlap, the last stage's 256k-vocabulary
    output layer no longer on one of four stages (`benchmarks/optimism_walk.py nemo2407_Nemotron-22B_64gpu`)."""
    (row,) = _rows(pattern)
    (res,) = search_optimism([row])
    assert res.best_over_measured < limit, (res.best_over_measured, res.best_mapping)
    assert "zero_stage=3" not in res.best_mapping if "nemo" in pattern else "tp=1.0," in res.best_mapping
