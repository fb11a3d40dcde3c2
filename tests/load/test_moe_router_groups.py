"""Group-limited MoE routing in workload files (issue 10, s9-m4): ``architecture.moe.router_groups`` /
``router_group_topk`` (Megatron-Core ``moe_router_num_groups`` / ``moe_router_group_topk``, HF ``n_group`` /
``topk_group``): DeepSeek-V3 ships 8 / 4, every other shipped MoE model no group limit, bad values a
clear error naming file, key path and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsweep.load.workloads import list_workloads, load_architecture, load_workload
from archsweep.spec.errors import InputError, InputErrors

TOY = """\
name: toy
source: test
architecture:
  layers: 4
  hidden: 1024
  heads: 8
  attention: mha
  ffn_hidden: 4096
  ffn_type: swiglu
  vocab: 32000
  seq_len: 4096
  tied_embeddings: false
  dropout: 0.0
  moe:
    num_experts: 16
    top_k: 4
    expert_ffn_hidden: 512
{extra}training:
  global_batch: {{sequences: 64}}
  precision: bf16
  mode: pretrain
"""


def _toy(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(TOY.format(extra=extra), encoding="utf-8")
    return path


def test_shipped_group_limits() -> None:
    """DeepSeek-V3: 8 groups, top-4 groups (HF config.json n_group / topk_group; V3 report Sec. 2.1.2:
    at most 4 nodes); every other shipped MoE model routes without a group limit (1 / 1)."""
    seen = {}
    for name in list_workloads():
        moe = load_architecture(name).moe
        if moe is not None:
            seen[name] = (moe.router_groups, moe.router_group_topk)
    assert seen.pop("deepseek-v3") == (8, 4)
    assert seen and set(seen.values()) == {(1, 1)}


def test_groups_default_to_no_limit(tmp_path: Path) -> None:
    moe = load_workload(_toy(tmp_path, "")).architecture.moe
    assert moe is not None and (moe.router_groups, moe.router_group_topk) == (1, 1)
    moe = load_workload(_toy(tmp_path, "    router_groups: 4\n    router_group_topk: 2\n")).architecture.moe
    assert moe is not None and (moe.router_groups, moe.router_group_topk) == (4, 2)


@pytest.mark.parametrize(("extra", "key", "allowed"), [
    ("    router_groups: 3\n", "router_groups", "a divisor of num_experts (16)"),
    ("    router_group_topk: 2\n", "router_group_topk", "1 (or absent) when router_groups is 1"),
    ("    router_groups: 4\n    router_group_topk: 5\n", "router_group_topk", "at most router_groups (4)"),
    ("    router_groups: 8\n    router_group_topk: 1\n", "router_group_topk", "at least 2"),
    ("    router_groups: 0\n", "router_groups", "a number >= 1"),
])
def test_bad_groups_are_clear_errors(tmp_path: Path, extra: str, key: str, allowed: str) -> None:
    path = _toy(tmp_path, extra)
    with pytest.raises((InputError, InputErrors)) as info:
        load_workload(path)
    assert str(path) in str(info.value) or str(path.resolve()) in str(info.value)
    assert f"architecture.moe.{key}" in str(info.value) and allowed in str(info.value)
