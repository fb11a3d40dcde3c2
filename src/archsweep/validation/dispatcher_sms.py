"""The SMs a flex-dispatcher row's overlapped dispatch / combine kernels hold, by the backend the row states.

The megatron-core-flex stack runs either of Megatron-Core's flex backends (``moe_flex_dispatcher_backend``):
HybridEP, whose SMs are the stack's ``moe_a2a_overlap_sms`` (32: every Megatron-Bridge performance preset and the
MoE model zoo set ``moe_hybridep_num_sms = 32``), or DeepEP (``moe_deepep_num_sms``, Megatron-Core's default 20,
``moe_deepep_overlap_sms``). Sources and locators: data/calibration/software_stacks.yaml megatron-core-flex. The
model charges the compute beside an overlapped all-to-all that share of the units
(:func:`archsweep.model.training.communication.a2a_paired_exposed_s`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from archsweep.spec.calibration import Calibration
from archsweep.validation.cells import cell_text

__all__ = ["dispatcher_sms_calibration"]


def dispatcher_sms_calibration(row: Mapping[str, str], calibration: Calibration) -> Calibration:
    """``calibration`` with DeepEP's SMs as the overlapped all-to-all's where the row states
    ``moe_token_dispatcher`` deepep and the stack states them (``moe_deepep_overlap_sms`` > 0); unchanged
    otherwise (HybridEP, the alltoall dispatcher, no MoE)."""
    if cell_text(row, "moe_token_dispatcher").lower() != "deepep" or calibration.moe_deepep_overlap_sms <= 0.0:
        return calibration
    return replace(calibration, moe_a2a_overlap_sms=calibration.moe_deepep_overlap_sms)
