"""MoE rows carry their Megatron-Bridge recipe (issue 10): the flex dispatcher (DeepEP / HybridEP)
selects the megatron-core-flex stack, which inherits megatron-core and overrides only the host time."""

from __future__ import annotations

from dataclasses import fields

import pytest
from measured_runs import runs

from archsweep.load.calibration import load_calibration
from archsweep.validation.rows import calibration_stack


def test_flex_stack_inherits_megatron_core_except_host_time_and_dispatch():
    """The flex stack differs from megatron-core only in its MoE host time and, since s9-a2a, in sending a token
    across the network once per remote domain (DeepEP / HybridEP forwarding, ``moe_dispatch_per_domain``), and, since
    s12-gptoss, in the bytes of the per-expert FC2 bias add (the flex dispatchers' FP32 router probabilities), and, since
    s12-moetok, in having no sort of the received tokens by local expert (``moe_local_sort_bytes_per_element``), and,
    since s13-gptfused, in the SMs its overlapped dispatch / combine kernels hold (HybridEP 32, DeepEP 20; the
    alltoall dispatcher's NCCL all-to-all is not charged them)."""
    core, flex = load_calibration(stack="megatron-core"), load_calibration(stack="megatron-core-flex")
    differ = {f.name for f in fields(core) if getattr(core, f.name) != getattr(flex, f.name)}
    assert differ == {"stack", "moe_layer_host_overhead_s", "moe_dispatch_per_domain",
                      "expert_bias_bytes_fwd_per_element", "expert_bias_bytes_bwd_per_element",
                      "moe_local_sort_bytes_per_element", "moe_a2a_overlap_sms", "moe_deepep_overlap_sms"}
    assert (core.moe_local_sort_bytes_per_element, flex.moe_local_sort_bytes_per_element) == (8.0, 0.0)
    assert (flex.expert_bias_bytes_fwd_per_element, flex.expert_bias_bytes_bwd_per_element) == (28.0, 40.0)
    assert 0 < flex.moe_layer_host_overhead_s < core.moe_layer_host_overhead_s
    assert (core.moe_dispatch_per_domain, flex.moe_dispatch_per_domain) == (0.0, 1.0)


@pytest.mark.parametrize(("dispatcher", "stack"), [("hybridep", "megatron-core-flex"), ("deepep", "megatron-core-flex"),
                                                   ("alltoall", "megatron-core"), ("", "megatron-core")])
def test_dispatcher_column_picks_the_stack(dispatcher, stack):
    rows = runs()
    row = dict(next(r for r in rows if r["run_id"].startswith("mbridge_25.11_DGX-GB200_Qwen3_235B")))
    row["moe_token_dispatcher"] = dispatcher
    assert calibration_stack(row) == stack


def test_every_nemo_moe_row_states_its_dispatcher():
    rows = runs()
    moe = [r for r in rows if r["source_group"] == "nemo" and r["arch_type"] != "dense"]
    assert len(moe) >= 36
    assert {r["moe_token_dispatcher"] for r in moe} <= {"alltoall", "deepep", "hybridep"}
    assert all(r["moe_recipe_source"].startswith("v0.") for r in moe)
