"""The eager clamp / cat and per-expert bias costs of Megatron-Core's TEGroupedMLP (s12-gptoss) belong to the
Megatron-Core stacks only: stacks that are ``based_on: megatron-core`` for its other kernel constants but do not run
its expert code state zeros (review s12 finding 3, branch s12-m1)."""

from __future__ import annotations

import pytest

from archsweep.load.calibration import load_calibration
from archsweep.validation.fused_mlp import FUSED_AWAY


@pytest.mark.parametrize("stack", ["megatron-2021", "megatron-deepspeed", "xla-tpu"])
def test_non_megatron_core_stacks_pay_no_eager_clamp_or_expert_bias(stack: str) -> None:
    cal = load_calibration(stack=stack)
    assert {key: getattr(cal, key) for key in FUSED_AWAY} == dict.fromkeys(FUSED_AWAY, 0.0)


@pytest.mark.parametrize("stack", ["megatron-core", "megatron-core-flex"])
def test_megatron_core_stacks_keep_them(stack: str) -> None:
    cal = load_calibration(stack=stack)
    assert (cal.clamped_glu_bytes_fwd_per_element, cal.clamped_glu_bytes_bwd_per_element) == (16.0, 30.0)
    assert cal.expert_bias_kernels_fwd_per_expert == 2.0
