"""The gradient dtype a row's software states: Megatron-Bridge's performance scripts reduce in BF16 (validation only).

Megatron-Core's DDP keeps the gradient buffer, and reduce-scatters it, in FP32 when
``grad_reduce_in_fp32`` is set and in the parameter dtype otherwise (NVIDIA/Megatron-LM @b0cc2706dd
``megatron/core/distributed/distributed_data_parallel.py``: ``grad_dtype = torch.float if
self.ddp_config.grad_reduce_in_fp32 else param.dtype``). Megatron-Bridge's library recipes keep FP32
(``MixedPrecisionConfig.grad_reduce_in_fp32 = True``), which is the stack's ``dp_grad_bytes_per_param``
(4 B); every performance script the rows of NVIDIA's Megatron-Bridge performance tables ran sets it False
(``set_*_common_configs``: ``cfg.mixed_precision.grad_reduce_in_fp32 = False``, ``cfg.ddp.grad_reduce_in_fp32
= False``; sources in data/calibration/software_stacks.yaml ``bridge_perf_grad_bytes_per_param``). A row
whose ``framework`` names Megatron-Bridge therefore holds and reduces that many bytes per parameter: one
value for the gradient buffer (``model.training.memory``) and the DP reduce-scatter / all-reduce
(``model.training.data_parallel``, ``comm_bound``). A stack without the key (0) changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from archsweep.spec.calibration import Calibration
from archsweep.validation.cells import _text

__all__ = ["runs_bridge_performance_script", "stated_grad_calibration"]


def runs_bridge_performance_script(row: Mapping[str, str]) -> bool:
    """Whether the row is a run of a Megatron-Bridge performance script (``framework`` "Megatron-Bridge / NeMo
    YY.MM": NVIDIA's Megatron-Bridge performance tables, data/validation/derive/mbridge_*_rows.py)."""
    return _text(row, "framework").lower().startswith("megatron-bridge")


def stated_grad_calibration(row: Mapping[str, str], calibration: Calibration) -> Calibration:
    """``calibration`` with ``dp_grad_bytes_per_param`` the stack's ``bridge_perf_grad_bytes_per_param`` on a
    Megatron-Bridge performance-script row (module doc); unchanged otherwise or where the stack has none (0)."""
    value = calibration.bridge_perf_grad_bytes_per_param
    if value <= 0.0 or not runs_bridge_performance_script(row):
        return calibration
    return replace(calibration, dp_grad_bytes_per_param=value)
