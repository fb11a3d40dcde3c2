"""Issue 10 (s15-lora): the TP time LoRA cannot overlap.

TransformerEngine (v1.6rc2 .. v1.11 ``module/layernorm_linear.py`` / ``layernorm_mlp.py`` backward) hides a
column-parallel Linear's input-gradient reduce-scatter behind its weight-gradient GEMM (``ub_bulk_wgrad``) and
turns that overlap off when the weight needs no gradient; the reduce-scatter is then waited on with nothing
behind it (QKV and FC1). And a NeMo adapter on a norm-fed projection (QKV, FC1) needs the gathered norm output,
which the overlapped all-gather does not return: the MLPerf configurations turn that projection's all-gather
overlap off (``tp_comm_overlap_disable_qkv``). ``communication.lora_tensor_parallel_s`` charges the
``1 - tp_overlap_residual`` of each that :func:`~archsweep.model.training.communication.tensor_parallel` leaves
out.

s16-mlperflora: the two settings are job options (``tp_overlap_disable_qkv``, ``tp_overlap_rs_dgrad``). Without
the first (Megatron-Core's default; the v4.0 MLPerf copies whose yaml lacks the key) the QKV all-gather stays
overlapped and NeMo's adapter gathers its input again, exposed in full (all-gather forward, reduce-scatter
backward); with the second the frozen reduce-scatters are pipelined with the data-gradient GEMM (FC1 always,
QKV only with its overlap kept) and stay hidden."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model import collectives as coll
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.training.communication import lora_tensor_parallel_s
from archsweep.model.training.mapping import MappingArrays
from archsweep.spec.hardware import HardwareArrays

TECH, CAL = load_technology(), load_calibration()
ATTN = ("attention_qkv", "attention_dense")


def _hw(count: int = 8) -> HardwareArrays:
    return HardwareArrays.from_designs(get_accelerator("H100-SXM").design.replace(accelerator_count=count))


def _lora(stem: str = "llama2-70b", disable_qkv: bool = True, rs_dgrad: bool = False):
    """A LoRA job on attention; by default as NVIDIA's MLPerf configurations run it (QKV all-gather overlap off)."""
    wl = load_workload(stem)
    return replace(wl, training=replace(wl.training, mode="finetune_lora", lora_rank=16, lora_targets=ATTN,
                                        tp_overlap_disable_qkv=disable_qkv, tp_overlap_rs_dgrad=rs_dgrad))


def _mapping(tp: float, overlap: float, sp: float = 1.0, recompute: float = 0.0) -> MappingArrays:
    one = np.array([1.0])
    return MappingArrays(tp=np.array([tp]), pp=one, cp=np.array([2.0]), ep=one, vpp=one, micro_batch=one,
                         recompute=np.array([recompute]), zero_stage=np.array([0.0]), sequence_parallel=np.array([sp]),
                         flash_attention=one, tp_overlap=np.array([overlap]), dp_overlap=one)


def _sharded(hw, tokens, wl, tp):
    """A T x h BF16 reduce-scatter (= all-gather) over ``tp`` ranks, s."""
    return coll.reduce_scatter_time_s(hw, 2.0 * tokens * wl.hidden, np.array([tp]), np.array([1.0]),
                                      CAL.collective_bw_efficiency)


@pytest.mark.parametrize("tp", [2.0, 4.0, 8.0])
def test_overlap_leaves_the_frozen_reduce_scatters_and_the_adapted_gather_exposed(tp):
    """With TP overlap on, LoRA on QKV + out-projection adds (1 - residual) x 3 T x h collectives per layer and
    micro-batch (QKV and FC1 reduce-scatters, QKV all-gather); without overlap nothing is added."""
    hw, wl = _hw(), _lora()
    tokens, mbs, layers = np.array([4096.0]), np.array([3.0]), np.array([80.0])
    on = lora_tensor_parallel_s(hw, wl, _mapping(tp, 1.0), CAL, tokens, mbs, layers)
    off = lora_tensor_parallel_s(hw, wl, _mapping(tp, 0.0), CAL, tokens, mbs, layers)
    expected = mbs * layers * (1.0 - CAL.tp_overlap_residual) * 3.0 * _sharded(hw, tokens, wl, tp)
    np.testing.assert_allclose(on - off, expected, rtol=1e-12)
    assert float(expected[0]) > 0.0


def test_the_unoverlapped_gather_counts_adapted_norm_fed_projections_and_full_recompute():
    hw, tokens, one = _hw(), np.array([4096.0]), np.array([1.0])
    attn = _lora()
    mlp = replace(attn, training=replace(attn.training, lora_targets=ATTN + ("mlp_fc1",)))
    gather = (1.0 - CAL.tp_overlap_residual) * _sharded(hw, tokens, attn, 4.0)

    def extra(wl, recompute=0.0):
        on = lora_tensor_parallel_s(hw, wl, _mapping(4.0, 1.0, recompute=recompute), CAL, tokens, one, one)
        return on - lora_tensor_parallel_s(hw, wl, _mapping(4.0, 0.0, recompute=recompute), CAL, tokens, one, one)

    np.testing.assert_allclose(extra(mlp) - extra(attn), gather, rtol=1e-12)  # llama2-70b: every layer dense
    np.testing.assert_allclose(extra(attn, recompute=2.0) - extra(attn), gather, rtol=1e-12)


def test_no_frozen_exposure_without_tp_or_lora():
    hw, tokens, one = _hw(), np.array([4096.0]), np.array([1.0])
    assert float(lora_tensor_parallel_s(hw, _lora(), _mapping(1.0, 1.0), CAL, tokens, one, one)[0]) == 0.0
    full = load_workload("llama2-70b")
    assert float(lora_tensor_parallel_s(hw, full, _mapping(4.0, 1.0), CAL, tokens, one, one)[0]) == 0.0


@pytest.mark.parametrize("stem", ["llama3-8b", "llama2-70b"])
@pytest.mark.parametrize("tp", [2, 4, 8])
def test_lora_overlap_never_exposes_more_tp_time_than_no_overlap(stem, tp):
    """Overlap can only hide TP time: the two reduce-scatters it cannot hide are 2 of the layer's 8 TP
    collectives, so LoRA's exposed TP time with overlap stays below the time without it."""
    hw, wl = _hw(), _lora(stem)
    kw = dict(tech=TECH, calibration=CAL, infeasible="least_violating")
    base = f"tp={tp},pp=1,cp=1,mb=1,recompute=none,zero=1,sp=on"
    with_overlap = evaluate_design_batch(hw, wl, strategy=base + ",tp_overlap=on", **kw)
    without = evaluate_design_batch(hw, wl, strategy=base + ",tp_overlap=off", **kw)
    assert float(with_overlap["tp_comm_exposed_s"][0]) < float(without["tp_comm_exposed_s"][0])
    assert float(with_overlap["step_time_s"][0]) < float(without["step_time_s"][0])


def test_lora_exposes_more_tp_time_than_full_finetuning_yet_steps_faster():
    """At one mapping with TP overlap, LoRA exposes more TP time than full fine-tuning (the frozen reduce-scatters
    and the adapters' collectives) and still steps faster (no weight-gradient GEMMs)."""
    hw = _hw()
    kw = dict(tech=TECH, calibration=CAL, infeasible="least_violating")
    s = "tp=4,pp=1,cp=1,mb=1,recompute=none,zero=1,sp=on,tp_overlap=on"
    lora = evaluate_design_batch(hw, _lora(), strategy=s, **kw)
    full = evaluate_design_batch(hw, load_workload("llama2-70b"), strategy=s, **kw)
    assert float(lora["step_time_s"][0]) < float(full["step_time_s"][0])
    # the frozen reduce-scatters and the adapters' own collectives come on top of the overlapped base TP time
    assert float(lora["tp_comm_exposed_s"][0]) > float(full["tp_comm_exposed_s"][0])
    assert float(lora["compute_time_s"][0]) < float(lora["step_time_s"][0])


def _extra(wl, tp: float = 4.0, tokens: float = 4096.0, recompute: float = 0.0):
    """LoRA's TP time with overlap minus without, one layer and micro-batch, s."""
    hw, t, one = _hw(), np.array([tokens]), np.array([1.0])
    on = lora_tensor_parallel_s(hw, wl, _mapping(tp, 1.0, recompute=recompute), CAL, t, one, one)
    return float((on - lora_tensor_parallel_s(hw, wl, _mapping(tp, 0.0, recompute=recompute), CAL, t, one, one))[0])


@pytest.mark.parametrize("tp", [2.0, 4.0, 8.0])
def test_overlapped_qkv_gather_makes_the_adapter_gather_its_input_again(tp):
    """QKV all-gather overlap kept (tp_overlap_disable_qkv false): instead of (1 - residual) of that all-gather,
    the adapter's own all-gather (forward) and reduce-scatter (backward) are exposed in full."""
    hw, tokens = _hw(), np.array([4096.0])
    wl_off, wl_kept = _lora(disable_qkv=True), _lora(disable_qkv=False)
    full = float(_sharded(hw, tokens, wl_off, tp)[0])
    res = CAL.tp_overlap_residual
    assert _extra(wl_kept, tp) - _extra(wl_off, tp) == pytest.approx(2.0 * full - (1.0 - res) * full, rel=1e-12)
    # the adapter's second gather is repeated by full recompute (a forward collective)
    assert _extra(wl_kept, tp, recompute=2.0) - _extra(wl_kept, tp) == pytest.approx(full, rel=1e-12)


@pytest.mark.parametrize("disable_qkv", [True, False])
def test_pipelined_dgrad_reduce_scatter_hides_the_frozen_ones_it_reaches(disable_qkv):
    """tp_overlap_rs_dgrad: FC1's frozen reduce-scatter stays hidden; QKV's too unless its overlap is disabled
    (Megatron-Core turns ub_overlap_rs_dgrad off with tp_overlap_disable_qkv)."""
    hw, tokens = _hw(), np.array([4096.0])
    full = float(_sharded(hw, tokens, _lora(), 4.0)[0])
    saved = _extra(_lora(disable_qkv=disable_qkv)) - _extra(_lora(disable_qkv=disable_qkv, rs_dgrad=True))
    hidden = 1.0 if disable_qkv else 2.0
    assert saved == pytest.approx(hidden * (1.0 - CAL.tp_overlap_residual) * full, rel=1e-12)


def test_the_flags_move_nothing_without_lora_tp_or_overlap():
    hw, tokens, one = _hw(), np.array([4096.0]), np.array([1.0])
    full = load_workload("llama2-70b")
    for wl in (replace(full, training=replace(full.training, tp_overlap_disable_qkv=True, tp_overlap_rs_dgrad=True)),
               _lora(disable_qkv=False, rs_dgrad=True)):
        assert float(lora_tensor_parallel_s(hw, wl, _mapping(1.0, 1.0), CAL, tokens, one, one)[0]) == 0.0
    kept, off = _lora(disable_qkv=False), _lora(disable_qkv=True)
    assert float(lora_tensor_parallel_s(hw, kept, _mapping(4.0, 0.0), CAL, tokens, one, one)[0]) == pytest.approx(
        float(lora_tensor_parallel_s(hw, off, _mapping(4.0, 0.0), CAL, tokens, one, one)[0]), rel=1e-12)
    assert float(lora_tensor_parallel_s(hw, full, _mapping(4.0, 1.0), CAL, tokens, one, one)[0]) == 0.0
