"""One description of each ZeRO stage's data-parallel collectives (``zero_collectives``, s16-review) that the sync
time and the link bytes both read: the stages' collectives as Rajbhandari et al. (SC20, Sec. 5) and Megatron-Core's
distributed optimizer run them; the bytes of each stage, per buffer byte on each fabric, are those collectives' bytes;
and the link shares are computed only where the work counts are (the ranking path never calls ``dp_link_shares``)."""

from __future__ import annotations

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.workloads import load_workload
from archsweep.model.training import work_counts
from archsweep.model.training.data_parallel import reduced_grad_bytes, zero_collectives
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.step import training_step
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()


def _mapping(zero: float) -> MappingArrays:
    kw = dict(tp=8, pp=1, cp=1, ep=1, vpp=1, micro_batch=1, recompute=0, zero_stage=zero, sequence_parallel=1,
              flash_attention=1, tp_overlap=0, dp_overlap=1)
    return MappingArrays(**{k: np.asarray([float(v)]) for k, v in kw.items()})


def test_each_stage_runs_its_own_collectives() -> None:
    """ZeRO-0: one gradient all-reduce a step; ZeRO-1: a reduce-scatter of the accumulated gradients and a gather of
    the updated weights a step; ZeRO-2: a reduce-scatter every micro-batch (only a gradient shard is kept) and the
    gather a step; ZeRO-3: per micro-batch the reduce-scatter and two weight gathers (forward, backward)."""
    c = zero_collectives(np.asarray([0.0, 1.0, 2.0, 3.0]))
    table = np.column_stack([c.allreduce, c.reduce_scatter, c.gather, c.reduce_scatter_per_microbatch,
                             c.gather_per_microbatch])
    np.testing.assert_array_equal(table, [[1, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 1, 2]])


@pytest.mark.parametrize("zero", [0, 1, 2, 3])
def test_bytes_are_the_stages_collectives(zero: int) -> None:
    """Per buffer byte on a fabric (share s): an all-reduce sends 2 s of the gradients (NCCL's all-reduce bus factor
    twice a reduce-scatter's), a reduce-scatter s of the gradients, a gather s of the weights; 6 micro-batches; a
    group of one sends nothing."""
    params, m, up, out = np.asarray([1e9]), np.asarray([6.0]), np.asarray([0.25]), np.asarray([0.5])
    grad, weights = 1e9 * CAL.dp_grad_bytes_per_param, 1e9 * CAL.weight_bytes_per_param
    sent = {0: 2 * grad, 1: grad + weights, 2: 6 * grad + weights, 3: 6 * (grad + 2 * weights)}[zero]
    got = reduced_grad_bytes(_mapping(zero), CAL, (params,), 1.0, m, np.asarray([4.0]), ((up, out),))
    assert (float(got.scaleup[0]), float(got.scaleout[0])) == pytest.approx((0.25 * sent, 0.5 * sent), rel=1e-12)
    alone = reduced_grad_bytes(_mapping(zero), CAL, (params,), 1.0, m, np.asarray([1.0]), ((up, out),))
    assert float(alone.scaleup[0]) == 0.0 and float(alone.scaleout[0]) == 0.0


def test_the_ranking_step_never_computes_the_link_shares(monkeypatch: pytest.MonkeyPatch) -> None:
    """``work_counts=False`` (the pruned search's exact scores) leaves the DP link shares out; the full step reads
    them."""
    hw = HardwareArrays.from_designs([get_accelerator("H100-SXM").design.replace(accelerator_count=64)])
    wl = load_workload("llama3-70b")

    def refuse(*args: object) -> None:
        raise AssertionError("dp_link_shares called")

    monkeypatch.setattr(work_counts, "dp_link_shares", refuse)
    lean = training_step(hw, wl, _mapping(1), CAL, work_counts=False)
    assert np.isfinite(lean.step_time_s).all() and np.isnan(lean.scaleout_bytes).all()
    with pytest.raises(AssertionError, match="dp_link_shares called"):
        training_step(hw, wl, _mapping(1), CAL)
