"""What the interleaved pipeline schedule waits on, with and without the combined-1F1B EP overlap (issue 10).

    python benchmarks/combined_1f1b_schedule.py

An event simulation of Megatron-Core's interleaved 1F1B schedule as the Megatron-Bridge v0.3.0 pin runs it
(NVIDIA/Megatron-LM @b0cc2706dd megatron/core/pipeline_parallel/schedules.py: ``get_schedule_table`` with
``microbatch_group_size_per_vp_stage`` = pp, ``get_pp_rank_microbatches`` warm-up
``2 (pp - rank - 1) + (vpp - 1) pp`` plus one forward with ``overlap_moe_expert_parallel_comm``, steady state
``forward_k = k + warmup`` with ``backward_k = k``, then the cool-down backwards). Each rank runs its calls
in order; a forward chunk needs the previous stage's forward of the same micro-batch (the previous chunk's
on the last stage), a backward chunk the next stage's backward, and each transfer takes ``p``.

Plain schedule: the forward and the backward of a steady-state step are separate calls (each sends at its
end). Combined schedule (``combined_1f1b.py combined_1f1b_schedule_for_interleaved_pipelining``,
``models/common/model_chunk_schedule_plan.py TransformerModelChunkSchedulePlan.run``): one call runs both,
layer by layer, ``pre_forward`` / ``pre_backward`` wait on the receives at its start and ``post_forward`` /
``post_backward`` send both outputs after the last layer, so a forward's output leaves one whole call
(forward + backward) after it started.

Printed: makespan over the busiest rank's compute (forward 1, backward 2 per chunk) and the exposed
transfer time per steady-state call, for the layouts of the H100 Qwen3 rows. The model charges
``2 x cal.pipeline_p2p_overlap`` = one transfer per chunk pass in the steady state of any interleaved
schedule (archsweep.model.training.communication.pipeline_p2p_exposed_sends).
"""

from __future__ import annotations

import sys

Op = tuple[str, int, int]  # ("f" | "b", micro-batch, model chunk)


def schedule_table(m: int, vpp: int, group: int) -> list[tuple[int, int]]:
    """(micro-batch, chunk) of each virtual micro-batch, in Megatron-Core's ``get_schedule_table`` order."""
    return [(mb, c) for start in range(0, m, group) for c in range(vpp) for mb in range(start, min(start + group, m))]


def rank_calls(rank: int, pp: int, vpp: int, m: int, combined: bool) -> list[list[Op]]:
    """The calls one pipeline rank runs in order: warm-up forwards, steady state, cool-down backwards."""
    table, total = schedule_table(m, vpp, pp), m * vpp
    warmup = min((pp - rank - 1) * 2 + (vpp - 1) * pp + (1 if combined else 0), total)
    calls: list[list[Op]] = [[("f", *table[k])] for k in range(warmup)]
    for k in range(total - warmup):
        mb, c = table[k]
        forward, backward = ("f", *table[k + warmup]), ("b", mb, vpp - 1 - c)
        calls += [[forward, backward]] if combined else [[forward], [backward]]
    calls += [[("b", mb, vpp - 1 - c)] for mb, c in table[total - warmup:]]
    return calls


def _needs(rank: int, op: Op, pp: int, vpp: int) -> tuple[tuple[str, int, int, int] | None, bool]:
    """The operation ``op`` on ``rank`` waits for, and whether that result crosses a pipeline transfer."""
    kind, mb, c = op
    if kind == "f":
        if rank > 0:
            return ("f", rank - 1, mb, c), True
        return (("f", pp - 1, mb, c - 1), True) if c > 0 else (None, False)
    if rank < pp - 1:
        return ("b", rank + 1, mb, c), True
    return (("b", 0, mb, c + 1), True) if c < vpp - 1 else (("f", rank, mb, c), False)


def makespan(pp: int, vpp: int, m: int, combined: bool, p: float, fwd: float = 1.0, bwd: float = 2.0) -> float:
    """Step time of the schedule (compute per chunk ``fwd`` / ``bwd``, transfer ``p``), same time units."""
    calls = {r: rank_calls(r, pp, vpp, m, combined) for r in range(pp)}
    done: dict[tuple[str, int, int, int], float] = {}
    nxt, free = dict.fromkeys(range(pp), 0), dict.fromkeys(range(pp), 0.0)
    moved = True
    while moved:
        moved = False
        for r in range(pp):
            while nxt[r] < len(calls[r]):
                call, start = calls[r][nxt[r]], free[r]
                needs = [_needs(r, op, pp, vpp) for op in call]
                if any(key is not None and key not in done for key, _ in needs):
                    break
                for key, transfer in needs:
                    if key is not None:
                        start = max(start, done[key] + (p if transfer else 0.0))
                end = start + sum(fwd if op[0] == "f" else bwd for op in call)
                done.update({(op[0], r, op[1], op[2]): end for op in call})
                free[r], nxt[r] = end, nxt[r] + 1
                moved = True
    if any(nxt[r] < len(calls[r]) for r in range(pp)):
        raise RuntimeError(f"schedule deadlocks at pp {pp} vpp {vpp} m {m}")
    return max(free.values())


def main() -> int:
    """Print the exposed transfer per steady-state call at the H100 Qwen3 rows' layouts."""
    p = 0.1
    print(f"forward 1, backward 2 per chunk, transfer p = {p}; exposed = (makespan(p) - makespan(0)) / steady calls")
    for name, pp, vpp, m in (("Qwen3-30B 26.02 (pp 2, vpp 12, 128 mb)", 2, 12, 128),
                             ("Qwen3-30B 25.11 (v0.2.0 preset: pp 2, vpp 12, 64 mb)", 2, 12, 64),
                             ("Qwen3-30B 25.09 (pp 2, vpp 24, 32 mb; the 25.11 table's cells)", 2, 24, 32),
                             ("Qwen3-235B (pp 8, vpp 4, 128 mb)", 8, 4, 128)):
        for combined in (False, True):
            base, with_p = makespan(pp, vpp, m, combined, 0.0), makespan(pp, vpp, m, combined, p)
            steady = m * vpp - ((vpp - 1) * pp + (1 if combined else 0))
            print(f"  {name}, {'combined 1F1B' if combined else 'plain       '}: makespan / compute "
                  f"{base / (3.0 * m * vpp):.3f} (p = 0), {with_p / (3.0 * m * vpp):.3f} (p = {p}); exposed per steady "
                  f"step {(with_p - base) / steady / p:.2f} p")
    return 0


if __name__ == "__main__":
    sys.exit(main())
