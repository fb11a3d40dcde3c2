"""Issue 10 (s24-G): the job's ``cp_comm_type`` and TransformerEngine's all-to-all / all-gather context parallelism
(release_v2.8 context_parallel.py ``AttnFuncWithCPAndQKVOA2A``, ``AttnFuncWithCPAndKVAllGather``): every collective
exposed, zero at cp 1, growing with sequence length and cp size; the ring (p2p, the default) unchanged."""

from __future__ import annotations

import copy
from dataclasses import replace

import job_option_checks as opt
import numpy as np
import pytest

from archsweep.candidates.evaluate import study_workload
from archsweep.cli.app import main
from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.study import parse_study
from archsweep.load.workloads import load_workload
from archsweep.model import collectives as coll
from archsweep.model.training.cp_collectives import cp_bytes_per_layer, cp_exposed_s, cp_kernel_extra_s, ring_steps
from archsweep.model.training.mapping import MappingArrays, enumerate_mappings
from archsweep.model.training.ring_attention import context_parallel_bytes_per_layer, context_parallel_exposed_s
from archsweep.spec.calibration import Calibration
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.strategy import strategy_problems
from archsweep.spec.training import TrainingJob
from archsweep.spec.workload import Workload
from archsweep.validation.cells import Skip, stated_job_options

CAL = load_calibration()
#: TransformerEngine up to v2.14.1 (release_v2.8, whose line numbers these tests cite): a2a+p2p's backward sends the
#: saved output with dO (software_stacks.yaml te_a2a_p2p_backward_sends_output 1; megatron-core states v2.15+, 0).
V2_8 = replace(CAL, te_a2a_p2p_backward_sends_output=1.0)
HW = HardwareArrays.from_designs(get_accelerator("H100-SXM").design.replace(accelerator_count=64))
P2P = load_workload("llama3-70b")


def _kind(wl: Workload, kind: str, seq: int | None = None, fp8: bool = False) -> Workload:
    job = replace(wl.training, cp_comm_type=kind, seq_len=seq or wl.training.seq_len)
    if fp8:
        job = replace(job, precision="fp8", fp8_dot_product_attention=True)
    return replace(wl, training=job)


def _mapping(tp: float, cp: float) -> MappingArrays:
    one = np.ones(1)
    return MappingArrays(tp=tp * one, pp=one, cp=cp * one, ep=one, vpp=one, micro_batch=one, recompute=0 * one,
                         zero_stage=one, sequence_parallel=one, flash_attention=one, tp_overlap=one, dp_overlap=one)


def _exposed(wl: Workload, mp: MappingArrays, core: float = 1e-3, cal: Calibration = CAL) -> float:
    tokens = mp.micro_batch * wl.seq_len / mp.cp
    return float(cp_exposed_s(HW, wl, mp, cal, tokens, np.ones(1), np.ones(1), np.asarray([core]),
                              np.asarray([2 * core]))[0])


def _copies(calls: list[list[float]]) -> float:
    """TransformerEngine's exposed chunk copies around the all-to-alls (release_v2.8 ``flash_attn_a2a_communicate``):
    per call the first tensor's copy before its send and the last one's after its receive, each read and written
    at the HBM pass rate, one kernel each."""
    moved = sum(2.0 * c[0] + 2.0 * c[-1] for c in calls)
    rate = float(np.ravel(HW.hbm_bw_bytes_per_s)[0]) * CAL.hbm_bw_efficiency
    return moved / rate + 2 * len(calls) * CAL.kernel_overhead_s


def test_p2p_is_the_ring_bit_for_bit():
    for tp, cp in ((1, 2), (2, 4), (8, 8), (4, 16)):
        mp = _mapping(tp, cp)
        tokens = mp.micro_batch * P2P.seq_len / mp.cp
        for core in (1e-6, 1e-3):
            ring = context_parallel_exposed_s(HW, P2P, mp, CAL, tokens, np.ones(1), np.ones(1), np.asarray([core]),
                                              np.asarray([2 * core]))
            assert _exposed(P2P, mp, core) == float(ring[0])
        assert float(cp_bytes_per_layer(P2P, mp, CAL, tokens)[0]) == float(context_parallel_bytes_per_layer(P2P, mp, tokens)[0])


@pytest.mark.parametrize("kind", ["a2a", "all_gather"])
def test_zero_at_cp_1_and_monotone_in_cp_and_sequence(kind):
    assert _exposed(_kind(P2P, kind), _mapping(2, 1)) == 0.0
    # a rank's share shrinks with its tokens (s / cp); the CP group's exposed GPU-seconds for one sequence grow
    by_cp = [cp * _exposed(_kind(P2P, kind, seq=32768), _mapping(2, cp)) for cp in (1, 2, 4, 8, 16)]
    assert all(b > a for a, b in zip(by_cp, by_cp[1:]))
    by_seq = [_exposed(_kind(P2P, kind, seq=s), _mapping(2, 8)) for s in (8192, 16384, 65536, 131072)]
    assert all(b > a for a, b in zip(by_seq, by_seq[1:]))


@pytest.mark.parametrize("kind", ["a2a", "all_gather"])
def test_nothing_hides_them_behind_the_attention_kernel(kind):
    """The ring hides behind long enough steps; the all-to-all / all-gather do not depend on the kernel time."""
    mp = _mapping(1, 8)
    assert _exposed(_kind(P2P, kind), mp, 1e-6) == _exposed(_kind(P2P, kind), mp, 10.0) > 0.0
    assert _exposed(P2P, mp, 10.0) == 0.0


def test_a2a_is_eight_all_to_alls_and_halves_under_fp8_attention():
    """Forward q, k, v, out and backward dO, dq, dk, dv, each one all-to-all of its tensor (own share included), and
    the chunk copies of the four calls [q, k, v], [out], [dO], [dq, dk, dv] that no transfer hides."""
    mp, wl = _mapping(2, 4), _kind(P2P, "a2a")
    tokens = mp.micro_batch * wl.seq_len / mp.cp
    q = 2.0 * tokens * wl.heads * wl.head_dim / mp.tp
    kv = 2.0 * tokens * wl.kv_heads * wl.head_dim / np.minimum(mp.tp, wl.kv_heads)  # one of k, v
    a2a = lambda size: float(coll.alltoall_time_s(HW, size, mp.cp, mp.tp, CAL.collective_bw_efficiency)[0])  # noqa: E731
    qf, kvf = float(q[0]), float(kv[0])
    copies = _copies([[qf, kvf, kvf], [qf], [qf], [qf, kvf, kvf]])
    assert copies == pytest.approx(2 * (6 * qf + 2 * kvf) / (float(np.ravel(HW.hbm_bw_bytes_per_s)[0]) * CAL.hbm_bw_efficiency)
                                   + 8 * CAL.kernel_overhead_s)
    assert _exposed(wl, mp) == pytest.approx(4 * a2a(q) + 4 * a2a(kv) + copies)
    assert float(cp_bytes_per_layer(wl, mp, CAL, tokens)[0]) == pytest.approx(float((4 * q + 4 * kv)[0]) * 3 / 4)
    fp8 = _kind(P2P, "a2a", fp8=True)
    assert float(cp_bytes_per_layer(fp8, mp, CAL, tokens)[0]) == pytest.approx(float(cp_bytes_per_layer(wl, mp, CAL, tokens)[0]) / 2)
    assert _exposed(fp8, mp) < _exposed(wl, mp)


def test_a2a_under_current_scaling_moves_the_output_and_the_gradients_in_bf16():
    """Issue 10 (s26-R): under FP8 attention with current scaling TransformerEngine's all-to-all CP quantizes q, k, v
    and dO before their all-to-alls (1 byte) but creates the output and dq, dk, dv unquantized (BF16, 2 bytes:
    release_v2.8 attention.cpp ``quantizer_helper(..., true, ...)`` L133, L423-425); delayed scaling moves all eight
    as FP8 data. Their transfers and chunk copies are priced at those bytes."""
    mp, bf16 = _mapping(2, 4), _kind(P2P, "a2a")
    delayed = _kind(P2P, "a2a", fp8=True)
    current = replace(delayed, training=replace(delayed.training, low_precision_recipe="current"))
    tokens = mp.micro_batch * bf16.seq_len / mp.cp
    q = tokens * bf16.heads * bf16.head_dim / mp.tp  # elements
    kv = tokens * bf16.kv_heads * bf16.head_dim / np.minimum(mp.tp, bf16.kv_heads)  # one of k, v
    a2a = lambda size: float(coll.alltoall_time_s(HW, size, mp.cp, mp.tp, CAL.collective_bw_efficiency)[0])  # noqa: E731
    qf, kvf = float(q[0]), float(kv[0])
    copies = _copies([[qf, kvf, kvf], [2 * qf], [qf], [2 * qf, 2 * kvf, 2 * kvf]])
    expected = 2 * a2a(q) + 2 * a2a(kv) + 2 * a2a(2 * q) + 2 * a2a(2 * kv) + copies
    assert _exposed(current, mp) == pytest.approx(expected, rel=1e-12)
    sent = float(cp_bytes_per_layer(current, mp, CAL, tokens)[0])
    assert sent == pytest.approx((2 * qf + 2 * kvf + 2 * (2 * qf + 2 * kvf)) * 3 / 4, rel=1e-12)
    low, high = (float(cp_bytes_per_layer(w, mp, CAL, tokens)[0]) for w in (delayed, bf16))
    assert low < sent < high and _exposed(delayed, mp) < _exposed(current, mp) < _exposed(bf16, mp)
    gathered = float(cp_bytes_per_layer(_kind(P2P, "all_gather"), mp, CAL, tokens)[0])  # 4 all-gathers, 2 reduce-scatters
    assert gathered == pytest.approx(2 * 3 * 2 * kvf * 3, rel=1e-12)  # BF16, (cp - 1) shards of one of K, V each


def test_the_option_is_checked_where_it_is_read():
    with pytest.raises(InputError, match=r"cp_comm_type.*one of p2p, a2a, all_gather, a2a\+p2p"):
        TrainingJob(1, 1, cp_comm_type="ulysses")  # type: ignore[arg-type]
    assert TrainingJob(1, 1).cp_comm_type == "p2p"
    assert TrainingJob(1, 1, cp_comm_type="a2a+p2p", cp_a2a_size=4).cp_a2a_size == 4
    for kind, size in (("a2a+p2p", 0), ("a2a+p2p", 1), ("a2a", 4), ("p2p", 2)):
        with pytest.raises(InputError, match=r"cp_a2a_size.*>= 2 with cp_comm_type a2a\+p2p, 0 with any other"):
            TrainingJob(1, 1, cp_comm_type=kind, cp_a2a_size=size)  # type: ignore[arg-type]
    assert stated_job_options({"cp_comm_type": "a2a"})["cp_comm_type"] == "a2a"
    assert stated_job_options({"cp_comm_type": ""})["cp_comm_type"] == "p2p"
    with pytest.raises(Skip, match=r"cp_comm_type='a2a\+p2p' needs its all-to-all group size"):
        stated_job_options({"cp_comm_type": "a2a+p2p"})
    with pytest.raises(Skip, match=r"cp_comm_type='ring' not understood; allowed: one of p2p, a2a, all_gather"):
        stated_job_options({"cp_comm_type": "ring"})



def test_a_study_entry_sets_it_and_a_bad_value_names_file_key_and_choices() -> None:
    doc = opt.study_doc("opt", "tp=4,pp=1,cp=2,mb=1,recompute=none,zero=1",
                        [{"model": "llama3-8b", "name": "asked", "training": {"cp_comm_type": "a2a"}}, "llama3-8b"])
    study = parse_study(copy.deepcopy(doc), file="s.yaml")
    assert study_workload(study, "asked").training.cp_comm_type == "a2a"
    assert study_workload(study, "llama3-8b").training.cp_comm_type == "p2p"
    doc["workloads"][0]["training"]["cp_comm_type"] = "ulysses"
    problem = opt.study_problem(copy.deepcopy(doc))
    assert (problem.file, problem.value, problem.allowed) == ("s.yaml", "'ulysses'",
                                                              "one of p2p, a2a, all_gather, a2a+p2p")
    assert problem.key_path.endswith("training.cp_comm_type")
    doc["workloads"][0]["training"]["cp_comm_type"] = "a2a+p2p"  # without its all-to-all group size
    problem = opt.study_problem(copy.deepcopy(doc))
    assert problem.file == "s.yaml" and problem.key_path.endswith("cp_a2a_size") and problem.value == "<missing>"
    doc["workloads"][0]["training"]["cp_a2a_size"] = 0  # written: shown as written
    assert opt.study_problem(copy.deepcopy(doc)).value == "0"
    assert opt.bad_value_problem("cp_comm_type", "ring").key_path == "training.cp_comm_type"


def test_a2a_mappings_split_each_ranks_heads_over_cp():
    """s24-R: TransformerEngine's all-to-all asserts heads / tp and KV heads / tp divisible by cp; the search offers
    no other a2a mapping, and a fixed one is refused (the ring and all_gather keep them)."""
    a2a = _kind(P2P, "a2a")  # llama3-70b: 64 heads, 8 KV heads
    mp, _ = enumerate_mappings(a2a)
    kv = np.maximum(a2a.kv_heads // mp.tp, 1)
    assert np.any(mp.cp > 1)
    assert np.all(((a2a.heads // mp.tp) % mp.cp == 0) & (kv % mp.cp == 0))
    for kind in ("p2p", "all_gather"):
        other, _ = enumerate_mappings(_kind(P2P, kind))
        assert np.any((other.tp == 8) & (other.cp == 2))
    assert [k for k, _, _ in strategy_problems({"tp": 8, "cp": 2}, a2a)] == ["cp"]
    assert strategy_problems({"tp": 4, "cp": 2}, a2a) == []
    assert strategy_problems({"tp": 8, "cp": 2}, P2P) == []


def _extra(kind: str, cp: float, tp: float = 2.0) -> tuple[float, float]:
    """(forward, backward) s around the attention kernels for the 70B at 8k tokens a rank, BF16 q and K / V."""
    wl = _kind(P2P, kind)
    tokens, heads, kv_heads, d = 8192.0 / cp, wl.heads / tp, max(wl.kv_heads / tp, 1.0), wl.head_dim
    q, kv = 2.0 * tokens * heads * d, 4.0 * tokens * kv_heads * d
    fwd, bwd = cp_kernel_extra_s(HW, wl, CAL, np.asarray([cp]), np.asarray([q]), np.asarray([kv]))
    return float(fwd[0]), float(bwd[0])


def test_ring_merges_are_the_p2p_formula_and_the_all_to_all_merges_nothing():
    """p2p: cp steps of output correction / dq, dkv accumulation plus cp - 1 extra kernels (the formula transformer.py
    held inline before s25-C); a2a runs one attention kernel over the whole sequence: nothing around it."""
    over = CAL.kernel_overhead_s
    wl = _kind(P2P, "p2p")
    tokens, heads, kv_heads, d = 8192.0 / 4, wl.heads / 2, wl.kv_heads / 2, wl.head_dim
    q, kv = 2.0 * tokens * heads * d, 4.0 * tokens * kv_heads * d
    rate = float(np.ravel(HW.hbm_bw_bytes_per_s)[0]) * CAL.hbm_bw_efficiency
    fwd, bwd = _extra("p2p", 4.0)
    assert fwd == pytest.approx(4 * (3 * q / rate + 2 * over) + 3 * over, rel=1e-12)
    assert bwd == pytest.approx(4 * ((3 * q + 5 * kv) / rate + 3 * over) + 3 * over, rel=1e-12)
    for cp in (2.0, 8.0, 16.0):
        assert _extra("a2a", cp) == (0.0, 0.0)


@pytest.mark.parametrize("kind", ["p2p", "a2a", "all_gather"])
def test_nothing_around_the_kernel_at_cp_1(kind):
    assert _extra(kind, 1.0) == (0.0, 0.0)


def test_all_gather_copies_grow_with_the_gathered_k_v():
    """The all-gather reorders the gathered (cp x local) K / V and adds each chunk's dK / dV into the gathered
    gradient: more ranks, more bytes a rank moves for the same local tokens; the backward (zero fill, reorders, dq
    copies, accumulation) above the forward (reorder, output copies). In Megatron-Core's sbhd layout the chunk
    selections copy nothing: forward 2 q + 2 G bytes and 5 kernels, backward 2 q + (5 + 3 f) G and 13."""
    by_cp = []
    for cp in (2.0, 4.0, 8.0, 16.0):
        wl = _kind(P2P, "all_gather")
        tokens, d = 4096.0, wl.head_dim
        q, kv = 2.0 * tokens * wl.heads / 2 * d, 4.0 * tokens * wl.kv_heads / 2 * d
        fwd, bwd = cp_kernel_extra_s(HW, wl, CAL, np.asarray([cp]), np.asarray([q]), np.asarray([kv]))
        assert 0.0 < float(fwd[0]) < float(bwd[0])
        by_cp.append(float(fwd[0]) + float(bwd[0]))
        rate, over, gathered = float(np.ravel(HW.hbm_bw_bytes_per_s)[0]) * CAL.hbm_bw_efficiency, CAL.kernel_overhead_s, cp * kv
        assert float(fwd[0]) == pytest.approx((2 * q + 2 * gathered) / rate + 5 * over, rel=1e-12)
        reach = (2 * cp + 1) / (2 * cp)
        assert float(bwd[0]) == pytest.approx((2 * q + (5 + 3 * reach) * gathered) / rate + 13 * over, rel=1e-12)
    assert all(b > a for a, b in zip(by_cp, by_cp[1:]))


def _hier(a2a_size: int, seq: int = 32768) -> Workload:
    """The 70B under the hierarchical CP: an all-to-all over ``a2a_size`` CP ranks, the ring over the groups."""
    return replace(P2P, training=replace(P2P.training, cp_comm_type="a2a+p2p", cp_a2a_size=a2a_size, seq_len=seq))


def test_hierarchical_mappings_take_a_cp_that_is_a_multiple_of_the_group_with_its_heads_split():
    """Megatron-Core's hierarchical sizes multiply to cp; the all-to-all level splits each rank's heads (TE's assert)."""
    wl = _hier(4)
    mp, _ = enumerate_mappings(wl)
    assert set(np.unique(mp.cp)) <= {1.0, 4.0, 8.0, 12.0, 16.0, 32.0, 64.0} and np.any(mp.cp == 8)
    assert np.all((mp.cp == 1) | (((wl.heads // mp.tp) % 4 == 0) & (np.maximum(wl.kv_heads // mp.tp, 1) % 4 == 0)))
    assert [k for k, _, _ in strategy_problems({"tp": 2, "cp": 2}, wl)] == ["cp"]  # 2 is no multiple of 4
    assert [k for k, _, _ in strategy_problems({"tp": 4, "cp": 8}, wl)] == ["cp"]  # 2 KV heads a rank, not by 4
    assert strategy_problems({"tp": 2, "cp": 8}, wl) == []
    # a fixed cp without a fixed tp is refused where no tp runs it (s25-R: the search had no mapping and crashed)
    assert [k for k, _, _ in strategy_problems({"cp": 2}, wl)] == ["cp"]
    assert strategy_problems({"cp": 8}, wl) == [] and strategy_problems({"cp": 1}, wl) == []
    assert [k for k, _, _ in strategy_problems({"cp": 16}, _kind(P2P, "a2a"))] == ["cp"]  # 8 KV heads at tp 1
    assert strategy_problems({"cp": 8}, _kind(P2P, "a2a")) == []


def test_hierarchical_at_cp_equal_to_its_group_is_the_plain_all_to_all():
    """TransformerEngine runs a2a when the p2p group has one rank (attn_forward_func_with_cp)."""
    mp = _mapping(2, 4)
    tokens = mp.micro_batch * 32768 / mp.cp
    for core in (1e-6, 1e-3):
        assert _exposed(_hier(4), mp, core) == _exposed(_kind(P2P, "a2a", seq=32768), mp, core)
    assert float(cp_bytes_per_layer(_hier(4), mp, CAL, tokens)[0]) == float(
        cp_bytes_per_layer(_kind(P2P, "a2a", seq=32768), mp, CAL, tokens)[0])
    assert float(ring_steps(_hier(4), mp.cp)[0]) == 1.0
    q = np.asarray([1e7])
    assert [float(x[0]) for x in cp_kernel_extra_s(HW, _hier(4), CAL, mp.cp, q, q)] == [0.0, 0.0]


def _group_a2a(sizes: list[float]) -> float:
    """Time (s) of one all-to-all per size over a 2-rank group at stride tp 2 (the hierarchical tests' group)."""
    return sum(float(coll.alltoall_time_s(HW, np.asarray([b]), np.asarray([2.0]), np.asarray([2.0]),
                                          CAL.collective_bw_efficiency)[0]) for b in sizes)


def test_hierarchical_is_its_all_to_all_plus_a_ring_of_the_groups():
    """cp 8 as 2 x 4: the all-to-all over 2 ranks at stride tp, then a 4-rank ring at stride 2 tp holding twice the
    tokens and half the heads; 4 ring steps and their merges. TransformerEngine release_v2.8 all-to-alls q, k, v and
    the output forward and the saved output, dO, dq, dk, dv backward (L2013-2027: nine, BF16, one more than a2a's)."""
    wl, mp = _hier(2), _mapping(2, 8)
    tokens = mp.micro_batch * 32768 / mp.cp
    q_b = float((2.0 * tokens * wl.heads * wl.head_dim / 2)[0])  # BF16 bytes of q (output, dO, dq alike)
    kv_b = float((2.0 * tokens * wl.kv_heads * wl.head_dim / 2)[0])  # of one of k, v (dk, dv alike)
    ring_mp = _mapping(4, 4)
    ring_wl = _kind(P2P, "p2p", seq=32768)
    for core in (1e-6, 1e-3, 10.0):
        ring = float(context_parallel_exposed_s(HW, ring_wl, ring_mp, CAL, tokens * 2, np.ones(1), np.ones(1),
                                                np.asarray([core]), np.asarray([2 * core]))[0])
        plain = float(cp_exposed_s(HW, _kind(P2P, "a2a", seq=32768), _mapping(2, 2), CAL, tokens, np.ones(1),
                                   np.ones(1), np.asarray([core]), np.asarray([2 * core]))[0])
        copies = _copies([[q_b, kv_b, kv_b], [q_b], [q_b, q_b], [q_b, kv_b, kv_b]])  # L1191, L1675, L2020, L2471
        assert _exposed(wl, mp, core, V2_8) == pytest.approx(_group_a2a([q_b] * 5 + [kv_b] * 4) + copies + ring,
                                                             rel=1e-12)
        assert _exposed(wl, mp, core, V2_8) == pytest.approx(plain + _group_a2a([q_b]) + ring, rel=1e-12)
    assert float(ring_steps(wl, mp.cp)[0]) == 4.0
    q, kv = np.asarray([2e7]), np.asarray([5e6])
    hier = cp_kernel_extra_s(HW, wl, CAL, mp.cp, q, kv)
    ring4 = cp_kernel_extra_s(HW, ring_wl, CAL, np.asarray([4.0]), q, kv)
    assert [float(x[0]) for x in hier] == [float(x[0]) for x in ring4]
    ring_bytes = float(context_parallel_bytes_per_layer(ring_wl, ring_mp, tokens * 2)[0])
    assert float(cp_bytes_per_layer(wl, mp, V2_8, tokens)[0]) == pytest.approx(ring_bytes + (5 * q_b + 4 * kv_b) / 2,
                                                                               rel=1e-12)


@pytest.mark.parametrize(("recipe", "per_element"), [("delayed", (2, 2, 2, 4, 1, 1, 2, 2, 2)),
                                                     ("current", (2, 2, 2, 4, 2, 1, 4, 4, 4))])
def test_hierarchical_all_to_alls_under_fp8_attention_move_what_transformer_engine_moves(recipe, per_element):
    """FP8 attention without FP8 inputs (release_v2.8 AttnFuncWithCPAndKVP2P): q, k, v go BF16 and are quantized
    after the all-to-all; the forward output is the merge's FP32; backward the saved output (FP8 delayed, BF16
    current), dO FP8, dq, dk, dv BF16 (delayed) or FP32 (current's accumulators). Bytes per element in the order
    q, k, v, out | out, dO, dq, dk, dv; at cp = the group the plain a2a's FP8 (1 byte) all-to-alls."""
    wl = _hier(2)
    wl = replace(wl, training=replace(wl.training, precision="fp8", fp8_dot_product_attention=True,
                                      low_precision_recipe=recipe))
    mp = _mapping(2, 8)
    tokens = mp.micro_batch * 32768 / mp.cp
    q = float((tokens * wl.heads * wl.head_dim / 2)[0])  # elements of q (output, dO, dq alike)
    kv = float((tokens * wl.kv_heads * wl.head_dim / 2)[0])  # of one of k, v
    sizes = [b * n for b, n in zip(per_element, (q, kv, kv, q, q, q, q, kv, kv))]
    ring_mp, ring_wl = _mapping(4, 4), replace(wl, training=replace(wl.training, cp_comm_type="p2p", cp_a2a_size=0))
    ring = float(context_parallel_exposed_s(HW, ring_wl, ring_mp, CAL, tokens * 2, np.ones(1), np.ones(1),
                                            np.asarray([1e-3]), np.asarray([2e-3]))[0])
    copies = _copies([sizes[0:3], sizes[3:4], sizes[4:6], sizes[6:9]])
    assert _exposed(wl, mp, cal=V2_8) == pytest.approx(_group_a2a(sizes) + copies + ring, rel=1e-12)
    ring_bytes = float(context_parallel_bytes_per_layer(ring_wl, ring_mp, tokens * 2)[0])
    assert float(cp_bytes_per_layer(wl, mp, V2_8, tokens)[0]) == pytest.approx(ring_bytes + sum(sizes) / 2, rel=1e-12)
    plain = replace(wl, training=replace(wl.training, cp_comm_type="a2a", cp_a2a_size=0))
    assert _exposed(wl, _mapping(2, 2)) == _exposed(plain, _mapping(2, 2))


def test_a_study_entry_and_eval_take_the_hierarchical_option():
    doc = opt.study_doc("opt", "tp=1,pp=1,cp=8,mb=1,recompute=none,zero=1",
                        [{"model": "llama3-8b", "name": "hier",
                          "training": {"cp_comm_type": "a2a+p2p", "cp_a2a_size": 2}}, "llama3-8b"])
    study = parse_study(copy.deepcopy(doc), file="s.yaml")
    job = study_workload(study, "hier").training
    assert (job.cp_comm_type, job.cp_a2a_size) == ("a2a+p2p", 2)
    doc["workloads"][0]["training"]["cp_a2a_size"] = 1
    problem = opt.study_problem(copy.deepcopy(doc))
    assert problem.key_path.endswith("training.cp_a2a_size") and problem.value == "1"


def test_a_sliding_window_model_gets_cp_only_under_the_all_to_all_or_all_gather():
    """TransformerEngine (release_v2.8 ``attn_forward_func_with_cp`` L3742-3745) refuses sliding-window attention
    under the ring (p2p, a2a+p2p): a model with banded layers and a vanilla softmax gets cp > 1 only under a2a /
    all_gather; Llama 4's chunked local attention is not a window and keeps the ring."""
    windowed = _vanilla(load_workload("gpt-oss-120b"))
    assert _cps(windowed, "p2p") == {1.0} and _cps(windowed, "a2a+p2p", 2) == {1.0}
    assert max(_cps(windowed, "a2a")) > 1 and max(_cps(windowed, "all_gather")) > 1
    assert max(_cps(load_workload("llama4-scout-17b-16e"), "p2p")) > 1
    ring = replace(windowed, training=replace(windowed.training, seq_len=32768))
    ((key, value, allowed),) = strategy_problems({"cp": 2}, ring)
    assert (key, value) == ("cp", 2) and "sliding-window" in allowed and "a2a or all_gather" in allowed
    assert strategy_problems({"cp": 2}, replace(ring, training=replace(ring.training, cp_comm_type="all_gather"))) == []


def test_attention_sinks_get_cp_only_under_the_all_to_all():
    """gpt-oss's learnable softmax (``softmax_type``, its attention sinks): TransformerEngine runs a non-vanilla
    softmax under context parallelism only with cp_comm_type a2a (release_v2.8 L3761-3763, v2.18 L5065-5067), so
    the all-gather that takes its window is refused too; a dense model with sinks and no window likewise."""
    oss = load_workload("gpt-oss-120b")
    assert oss.softmax_type == "learnable"
    assert _cps(oss, "all_gather") == {1.0} and _cps(oss, "p2p") == {1.0} and max(_cps(oss, "a2a")) > 1
    gathered = replace(oss, training=replace(oss.training, seq_len=32768, cp_comm_type="all_gather"))
    ((key, value, allowed),) = strategy_problems({"cp": 2}, gathered)
    assert (key, value) == ("cp", 2) and "learnable softmax" in allowed and "cp_comm_type a2a (here all_gather)" in allowed
    dense = replace(P2P, architecture=replace(P2P.architecture, softmax_type="off-by-one"))
    assert _cps(dense, "p2p") == {1.0} and max(_cps(dense, "a2a")) > 1


def _vanilla(wl: Workload) -> Workload:
    return replace(wl, architecture=replace(wl.architecture, softmax_type="vanilla"))


def _cps(wl: Workload, kind: str, a2a_size: int = 0) -> set[float]:
    job = replace(wl.training, seq_len=32768, cp_comm_type=kind, cp_a2a_size=a2a_size)
    return {float(c) for c in np.unique(enumerate_mappings(replace(wl, training=job))[0].cp)}


def test_switching_a_model_files_hierarchical_kind_is_reported_at_the_kind(tmp_path, capsys, monkeypatch):
    """A model file's ``cp_comm_type: a2a+p2p`` with its ``cp_a2a_size``, switched to another kind by a study entry
    or ``--cp-comm-type``: the size it keeps does not fit, and the error names the key that switched it, not a
    ``cp_a2a_size`` the entry never wrote; setting both is taken."""
    model = opt.model_file_with(tmp_path, "llama3-8b", "cp_comm_type: a2a+p2p\n  cp_a2a_size: 2")
    monkeypatch.setenv("ARCHSWEEP_MODELS_DIR", str(tmp_path))
    doc = opt.study_doc("opt", "tp=1,pp=1,cp=8,mb=1,recompute=none,zero=1",
                        [{"model": "llama3-8b", "name": "ring", "training": {"cp_comm_type": "p2p"}}])
    problem = opt.study_problem(copy.deepcopy(doc))
    assert problem.key_path.endswith("training.cp_comm_type") and problem.value == "'p2p'"
    assert "cp_a2a_size 2 stands" in problem.allowed and "training.cp_a2a_size" in problem.allowed
    doc["workloads"][0]["training"]["cp_a2a_size"] = 0
    assert study_workload(parse_study(copy.deepcopy(doc), file="s.yaml"), "ring").training.cp_comm_type == "p2p"
    assert main(["eval", "--model", str(model), "--accelerator", "H100-SXM", "--count", "64",
                 "--cp-comm-type", "a2a"]) == 2
    err = capsys.readouterr().err
    assert "--cp-comm-type" in err and "Traceback" not in err


def test_a_hierarchical_kind_without_its_size_is_reported_as_a_missing_size(capsys):
    """s26-R: ``--cp-comm-type a2a+p2p`` on a model file without a ``cp_a2a_size`` (nor one set beside it): the error
    is at the size, shown missing rather than as a 0 nobody wrote."""
    assert main(["eval", "--model", "llama3-8b", "--accelerator", "H100-SXM", "--count", "64", "--cp-comm-type",
                 "a2a+p2p"]) == 2
    assert "<command line>: --cp-a2a-size: got <missing>; allowed: an integer >= 2" in capsys.readouterr().err
