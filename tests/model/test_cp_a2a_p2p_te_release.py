"""Issue 10 (s27-Q): a2a+p2p's backward follows the stack's TransformerEngine generation
(data/calibration/software_stacks.yaml ``te_a2a_p2p_backward_sends_output``). Up to v2.14.1 the backward all-to-alls
the saved output with dO (``out, dout = flash_attn_a2a_communicate([out, dout], ...)``, nine all-to-alls per layer
and micro-batch); from v2.15 (commit 8e73f54fe) the forward keeps its output and the backward sends dO alone
(eight). The output's all-to-all and its share of the call's exposed chunk copies drop; nothing else moves."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.workloads import load_workload
from archsweep.model import collectives as coll
from archsweep.model.training.cp_collectives import cp_bytes_per_layer, cp_exposed_s
from archsweep.model.training.mapping import MappingArrays
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

CAL = load_calibration()
OLD = replace(CAL, te_a2a_p2p_backward_sends_output=1.0)  # TransformerEngine up to v2.14.1
NEW = replace(CAL, te_a2a_p2p_backward_sends_output=0.0)  # v2.15 and later
HW = HardwareArrays.from_designs(get_accelerator("H100-SXM").design.replace(accelerator_count=64))
SEQ = 32768


def _job(kind: str, recipe: str = "") -> Workload:
    """llama3-70b at 32K tokens; ``a2a+p2p`` with all-to-all groups of 2; ``recipe``: FP8 attention's recipe."""
    wl = load_workload("llama3-70b")
    job = replace(wl.training, cp_comm_type=kind, cp_a2a_size=2 if kind == "a2a+p2p" else 0, seq_len=SEQ)
    if recipe:
        job = replace(job, precision="fp8", fp8_dot_product_attention=True, low_precision_recipe=recipe)
    return replace(wl, training=job)


def _mapping(cp: float) -> MappingArrays:
    one = np.ones(1)
    return MappingArrays(tp=2 * one, pp=one, cp=cp * one, ep=one, vpp=one, micro_batch=one, recompute=0 * one,
                         zero_stage=one, sequence_parallel=one, flash_attention=one, tp_overlap=one, dp_overlap=one)


def _cp(wl: Workload, cp: float, cal: Calibration) -> tuple[float, float]:
    """(exposed CP time (s), bytes one rank sends) of one layer and micro-batch at tp 2 and ``cp``."""
    mp = _mapping(cp)
    tokens = mp.micro_batch * SEQ / mp.cp
    core = np.asarray([1e-3])
    exposed = cp_exposed_s(HW, wl, mp, cal, tokens, np.ones(1), np.ones(1), core, 2 * core)
    return float(exposed[0]), float(cp_bytes_per_layer(wl, mp, cal, tokens)[0])


@pytest.mark.parametrize(("recipe", "out_b", "dout_b"), [("", 2.0, 2.0), ("delayed", 1.0, 1.0), ("current", 2.0, 1.0)])
def test_the_backward_drops_the_outputs_all_to_all_from_v2_15(recipe, out_b, dout_b):
    """cp 8 as 2 x 4: the new behaviour is the old less one all-to-all of the saved output over the 2-rank group
    (bytes: half of it) and, in time, less the backward call's first exposed copy of the output (read + write at the
    HBM pass rate) plus dO's, which now opens the call. Bytes per element of the saved output / dO: BF16 2 / 2,
    delayed FP8 1 / 1, current scaling 2 / 1 (cp_collectives._hier_a2a_bytes)."""
    wl, cp = _job("a2a+p2p", recipe), 8.0
    old_s, old_b = _cp(wl, cp, OLD)
    new_s, new_b = _cp(wl, cp, NEW)
    heads_q = wl.heads * wl.head_dim / 2  # q's (output's, dO's) elements per token at tp 2
    out = out_b * SEQ / cp * heads_q  # the saved output's bytes on a rank
    assert old_b - new_b == pytest.approx(out / 2, rel=1e-9)
    a2a = float(coll.alltoall_time_s(HW, np.asarray([out]), np.asarray([2.0]), np.asarray([2.0]),
                                     CAL.collective_bw_efficiency)[0])
    rate = float(np.ravel(HW.hbm_bw_bytes_per_s)[0]) * CAL.hbm_bw_efficiency
    copies = 2.0 * (out - dout_b * SEQ / cp * heads_q) / rate
    assert old_s - new_s == pytest.approx(a2a + copies, rel=1e-9)
    assert old_s > new_s and old_b > new_b


@pytest.mark.parametrize("kind", ["a2a", "p2p", "all_gather"])
def test_the_other_kinds_do_not_move(kind):
    """Only a2a+p2p's backward changed between v2.14.1 and v2.15; at cp = its group a2a+p2p runs the plain a2a."""
    assert _cp(_job(kind), 8.0, OLD) == _cp(_job(kind), 8.0, NEW)
    assert _cp(_job("a2a+p2p"), 2.0, OLD) == _cp(_job("a2a+p2p"), 2.0, NEW)


@pytest.mark.parametrize(("stack", "sends"), [("megatron-core", 0.0), ("megatron-core-flex", 0.0),
                                              ("megatron-core-fa2", 1.0), ("megatron-core-fa2-fp8", 1.0),
                                              ("xla-tpu", 1.0), ("megatron-2021", 1.0), ("pytorch-fsdp", 1.0)])
def test_each_stack_takes_its_transformer_engine_generation(stack, sends):
    """megatron-core's newest software is NeMo 26.06 (TE 2.16); NeMo 24.03-24.07 ran TE 1.x; stacks naming no TE
    release and dated before 2026-04 take the behaviour before v2.15 (software_stacks.yaml sources)."""
    assert load_calibration(stack=stack).te_a2a_p2p_backward_sends_output == sends
