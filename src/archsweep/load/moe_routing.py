"""Checks of a workload file's group-limited MoE routing (``architecture.moe.router_groups`` /
``router_group_topk``; Megatron-Core ``moe_router_num_groups`` / ``moe_router_group_topk``), after the
schema: the cross-field rules the schema cannot state."""

from __future__ import annotations

from typing import Any

from archsweep.spec.errors import InputError

__all__ = ["check_router_groups"]


def check_router_groups(moe: dict[str, Any], file: str) -> list[InputError]:
    """router_groups divides num_experts; 1 <= router_group_topk <= router_groups (1 without groups);
    the picked groups hold at least top_k experts."""
    groups, topk = moe.get("router_groups", 1), moe.get("router_group_topk", 1)
    key = "architecture.moe"
    if moe["num_experts"] % groups != 0:
        return [InputError(file, f"{key}.router_groups", groups,
                           f"a divisor of num_experts ({moe['num_experts']}); 1 for no group limit")]
    if groups == 1 and topk != 1:
        return [InputError(file, f"{key}.router_group_topk", topk, "1 (or absent) when router_groups is 1")]
    if topk > groups:
        return [InputError(file, f"{key}.router_group_topk", topk, f"at most router_groups ({groups})")]
    if groups > 1 and topk * (moe["num_experts"] // groups) < moe["top_k"]:
        return [InputError(file, f"{key}.router_group_topk", topk,
                           f"enough groups to hold top_k ({moe['top_k']}) experts: at least "
                           f"{-(-moe['top_k'] * groups // moe['num_experts'])}")]
    return []
