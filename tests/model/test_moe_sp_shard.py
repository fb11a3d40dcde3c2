"""The MoE layer's input under sequence parallelism is the rank's sequence shard (issue 10, s14-h100slow).

Megatron-Core trains MoE with TP > 1 only with sequence parallelism (moe_layer.py ``MoELayer.forward`` raises
otherwise), so the router and the alltoall dispatcher's first permutation / last unpermutation run over the rank's
tokens / tp (token_dispatcher.py ``dispatch_preprocess``: ``hidden_states.view(-1, H)``, "[S/TP, B, H] ->
[S*B/TP, H]"). The flex dispatchers (DeepEP / HybridEP) permute after the dispatch, over the routed copies the rank
received for its local experts (tokens x top-k x expert TP / TP).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from model_helpers import first, mapping_arrays, part_batch, workload_4k

from archsweep.load.calibration import load_calibration
from archsweep.model.transformer import layer_costs

CAL = replace(load_calibration(stack="megatron-core"), moe_local_sort_bytes_per_element=0.0)
FLEXLIKE = replace(CAL, moe_dispatch_per_domain=1.0)  # the same stack but for where the permutation runs
T, K, H, E = 4096.0, 8.0, 2048.0, 128.0  # qwen3-30b-a3b, micro-batch 1 x 4096 tokens


def _costs(cal, tp, sp, etp):
    hw, wl = part_batch("H100-SXM", 64), workload_4k("qwen3-30b-a3b")
    mp = mapping_arrays(tp=tp, ep=16, micro_batch=1, sequence_parallel=sp)
    return hw, layer_costs(hw, wl, mp, cal, hw.peak_matrix_flops_bf16, mp.tp * 0 + etp)


@pytest.mark.parametrize("tp,sp,etp,alltoall_copies,flex_copies", [
    (1.0, 0.0, 1.0, T * K, T * K),            # no TP: every rank permutes its whole micro-batch either way
    (2.0, 1.0, 1.0, T / 2 * K, T / 2 * K),    # EP folded over TP (unsplit experts): the shard, both dispatchers
    (2.0, 1.0, 2.0, T / 2 * K, T * K),        # experts split by TP: the flex rank receives every copy for them
])
def test_first_permutation_bytes_follow_the_shard_or_the_received_copies(tp, sp, etp, alltoall_copies, flex_copies):
    """Permutation 1 + unpermutation 1 read and write 2 B per copy and hidden unit (8 B each way): the difference
    between the alltoall and the flex placement of the pass is 8 x (alltoall copies - flex copies) x H bytes, in
    both the forward and the backward, and its time is those bytes at the HBM rate."""
    hw, a = _costs(CAL, tp, sp, etp)
    _, b = _costs(FLEXLIKE, tp, sp, etp)
    bw = first(hw.hbm_bw_bytes_per_s) * CAL.hbm_bw_efficiency
    expected = 8.0 * (alltoall_copies - flex_copies) * H
    assert first(a.moe_hbm_bytes - b.moe_hbm_bytes) == pytest.approx(expected, abs=1.0)
    assert first(a.moe_fwd_s - b.moe_fwd_s) == pytest.approx(expected / bw, rel=1e-9, abs=1e-15)
    assert first(a.moe_bwd_s - b.moe_bwd_s) == pytest.approx(expected / bw, rel=1e-9, abs=1e-15)


def test_sequence_parallel_halves_the_alltoall_permutation_and_the_router_at_tp2():
    """At TP 2 with EP folded over TP: turning sequence parallelism on removes half the alltoall permutation's
    routed copies (T / 2 x top-k x 8 B x H each way) and half the router GEMM's FLOPs (2 x T / 2 x E x H forward);
    the expert GEMM FLOPs do not move (the experts see the same routed copies)."""
    _, on = _costs(CAL, 2.0, 1.0, 1.0)
    _, off = _costs(CAL, 2.0, 0.0, 1.0)
    _, flex_on = _costs(FLEXLIKE, 2.0, 1.0, 1.0)
    _, flex_off = _costs(FLEXLIKE, 2.0, 0.0, 1.0)
    assert first(off.moe_flops - on.moe_flops) == pytest.approx(2.0 * T / 2 * E * H, rel=1e-9)
    # everything else sequence parallelism changes is the same for both placements; the permutation is not
    perm = first((off.moe_hbm_bytes - on.moe_hbm_bytes) - (flex_off.moe_hbm_bytes - flex_on.moe_hbm_bytes))
    assert perm == pytest.approx(8.0 * T / 2 * K * H, rel=1e-9)
