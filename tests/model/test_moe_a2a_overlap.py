"""EP all-to-all overlap with the combined 1F1B schedule (issue 10, MoE rows): the dispatch/combine
of one micro-batch hides under another's compute only where the job asks for it (``moe_a2a_overlap``,
off by default as in Megatron-Core), the stack offers it and Megatron-Core runs the combined schedule
(pp = 1 or an interleaved pipeline, ep > 1, no full recompute); the step is
never slower with the overlap than without, never faster than without the all-to-all at all, and
the pruned search's communication bound stays a lower bound."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays

TECH, CAL = load_technology(), load_calibration()
H100 = get_accelerator("H100-SXM").design.replace(accelerator_count=256)
STRATEGIES = ("tp=2,pp=8,cp=1,ep=32,vpp=4,mb=1,recompute=none,zero=1",
              "tp=2,pp=8,cp=1,ep=32,vpp=1,mb=1,recompute=none,zero=1")


def _workload(name: str = "qwen3-235b-a22b", overlap: bool = True):
    wl = load_workload(name)
    return replace(wl, training=replace(wl.training, moe_a2a_overlap=overlap))


#: Mixtral 8x7B asking for the overlap (the mapping enumeration's workload).
WL = _workload("mixtral-8x7b")


def _run(strategy: str, cal=CAL, overlap: bool = True) -> dict[str, float]:
    wl = _workload(overlap=overlap)
    wl = replace(wl, training=replace(wl.training, seq_len=4096, global_batch_seqs=2048, precision="fp8"))
    out = evaluate_design_batch(HardwareArrays.from_designs([H100]), wl, tech=TECH, calibration=cal,
                                strategy=strategy, infeasible="least_violating")
    return {k: float(np.ravel(out[k])[0]) for k in ("step_time_s", "ep_comm_exposed_s")}


def test_overlap_only_with_interleaving_and_bounded():
    assert CAL.moe_a2a_overlap == 1
    off = replace(CAL, moe_a2a_overlap=0.0)
    inter_on, inter_off = _run(STRATEGIES[0]), _run(STRATEGIES[0], off)
    plain_on, plain_off = _run(STRATEGIES[1]), _run(STRATEGIES[1], off)
    assert plain_on == plain_off  # no interleaving: nothing to pair with
    assert 0.0 < inter_on["ep_comm_exposed_s"] < inter_off["ep_comm_exposed_s"]
    assert inter_on["step_time_s"] <= inter_off["step_time_s"]
    assert inter_on["step_time_s"] >= inter_off["step_time_s"] - inter_off["ep_comm_exposed_s"]


def test_the_overlap_is_off_unless_the_job_asks_for_it():
    """Megatron-Core's default (overlap_moe_expert_parallel_comm False): a job that does not ask hides nothing,
    exactly as on a stack without the overlap; a job that asks does, on an interleaved mapping."""
    assert load_workload("qwen3-235b-a22b").training.moe_a2a_overlap is False
    off = replace(CAL, moe_a2a_overlap=0.0)
    unasked, asked = _run(STRATEGIES[0], overlap=False), _run(STRATEGIES[0])
    assert unasked == _run(STRATEGIES[0], off) == _run(STRATEGIES[0], off, overlap=True)
    assert asked["ep_comm_exposed_s"] < unasked["ep_comm_exposed_s"]


def test_full_recompute_keeps_the_all_to_all_exposed():
    """Megatron-Core (transformer_config.py __post_init__) refuses overlap_moe_expert_parallel_comm
    with full recompute: an interleaved full-recompute mapping exposes every all-to-all, exactly as
    with the overlap off; selective recompute (no 'moe' module) keeps the overlap."""
    off = replace(CAL, moe_a2a_overlap=0.0)
    full = STRATEGIES[0].replace("recompute=none", "recompute=full")
    assert _run(full) == _run(full, off)
    sel = STRATEGIES[0].replace("recompute=none", "recompute=selective")
    sel_on, sel_off = _run(sel), _run(sel, off)
    assert 0.0 < sel_on["ep_comm_exposed_s"] < sel_off["ep_comm_exposed_s"]


def test_unpaired_share_is_one_exactly_where_megatron_refuses_the_overlap():
    """a2a_unpaired_share (used by the step and by the pruned search's bound) over every enumerated
    mapping of a MoE workload: < 1 only with pp = 1 or vpp > 1, ep > 1 and recompute other than full
    (Megatron-Core transformer_config.py __post_init__ and schedules.py, see a2a_overlap_pairs)."""
    from archsweep.model.training.communication import a2a_unpaired_share
    from archsweep.model.training.mapping import RECOMPUTE, enumerate_mappings

    mappings, _ = enumerate_mappings(WL)
    assert np.all(a2a_unpaired_share(_workload("mixtral-8x7b", overlap=False), mappings, CAL,
                                     np.full(len(mappings), 64.0)) == 1.0)
    share = a2a_unpaired_share(WL, mappings, CAL, np.full(len(mappings), 64.0))
    scheduled = (mappings.pp == 1) | (mappings.vpp > 1)
    allowed = scheduled & (mappings.ep > 1) & (mappings.recompute != RECOMPUTE.index("full"))
    assert np.any(allowed) and np.any(mappings.recompute == RECOMPUTE.index("full"))
    assert np.any((mappings.pp > 1) & (mappings.vpp == 1)) and np.any(mappings.ep == 1)
    assert np.all(share[~allowed] == 1.0)
    assert np.all(share[allowed] < 1.0)
    assert np.all(share[allowed & (mappings.pp == 1)] == 1.0 / 64.0)  # one unpaired pass (warm-up 0 + 1) of 64


def test_the_job_overlap_pairs_without_a_pipeline():
    """A job asking for the overlap pairs at pp = 1 too (Megatron-Core forward_backward_no_pipelining runs
    combined_1f1b_schedule_for_no_pipelining): the step is strictly faster at pp = 1, ep = 32 than without
    it, and nothing changes on a stack without the overlap."""
    single = "tp=2,pp=1,cp=1,ep=32,vpp=1,mb=1,recompute=none,zero=1"
    on, off = _run(single), _run(single, overlap=False)
    assert 0.0 <= on["ep_comm_exposed_s"] < off["ep_comm_exposed_s"]
    assert on["step_time_s"] < off["step_time_s"]
    no_stack = replace(CAL, moe_a2a_overlap=0.0)
    assert _run(single, no_stack) == _run(single, no_stack, overlap=False) == off


def test_a_dense_job_asking_for_the_overlap_pairs_nowhere():
    from archsweep.model.training.communication import a2a_overlap_pairs
    from archsweep.model.training.mapping import enumerate_mappings

    dense = _workload("llama3-8b")
    mappings, _ = enumerate_mappings(dense)
    assert not np.any(a2a_overlap_pairs(dense, mappings, CAL))
