"""Issue 10 (s17-H2): what the distributed optimizer's after-step weight all-gather moves where the weights are held
in low precision (``fp8_params``). Megatron-Core (NVIDIA/Megatron-LM @d98e8a64dd
megatron/core/distributed/param_and_grad_buffer.py) remaps a per-tensor FP8 parameter's 1 B storage into the
param buffer the gather fills; an MXFP8 parameter under ``reuse_grad_buf_for_mxfp8_param_ag`` (which Megatron-Bridge
requires with MXFP8 ``fp8_param_gather``) is gathered in BF16 through the gradient buffer and quantised afterwards.
data/calibration/low_precision_recipes.yaml ``fp8_param_gather_bytes``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from model_helpers import mapping_arrays

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.part_physics import FP8_PARAM_BYTES, job_calibration
from archsweep.model.training.data_parallel import reduced_grad_bytes
from archsweep.spec.training import TrainingJob

GATHER = {"delayed": 1.0, "current": 1.0, "mxfp8": 2.0, "nvfp4": 0.5625}


@pytest.mark.parametrize("recipe", sorted(GATHER))
def test_fp8_parameters_are_held_at_one_byte_and_gathered_at_the_recipes_bytes(recipe: str) -> None:
    part = get_accelerator("B200" if recipe in ("mxfp8", "nvfp4") else "H100-SXM")
    mc = load_calibration()
    held = job_calibration(mc, part, TrainingJob(8, 4096, precision="fp8", low_precision_recipe=recipe, fp8_params=True))
    assert held.weight_bytes_per_param == FP8_PARAM_BYTES
    assert held.dp_gather_bytes_per_param() == GATHER[recipe]
    bf16_weights = job_calibration(mc, part, TrainingJob(8, 4096, precision="fp8", low_precision_recipe=recipe))
    assert bf16_weights.dp_gather_bytes_per_param() == bf16_weights.weight_bytes_per_param == mc.weight_bytes_per_param


def test_mxfp8_parameters_gather_as_many_bytes_as_bf16_weights() -> None:
    """The MXFP8 parameter gather saves no bytes over BF16 weights (both 2 B per parameter); per-tensor halves it."""
    mc = load_calibration()
    part = get_accelerator("B200")
    mx = job_calibration(mc, part, TrainingJob(8, 4096, precision="fp8", low_precision_recipe="mxfp8", fp8_params=True))
    cs = job_calibration(mc, part, TrainingJob(8, 4096, precision="fp8", low_precision_recipe="current", fp8_params=True))
    assert mx.dp_gather_bytes_per_param() == mc.dp_gather_bytes_per_param() == 2.0 * cs.dp_gather_bytes_per_param()
    assert replace(mc, param_gather_bytes_per_param=0.0).dp_gather_bytes_per_param() == mc.weight_bytes_per_param


@pytest.mark.parametrize("zero", [1, 2, 3])
def test_only_the_after_step_gather_moves_the_recipes_bytes(zero: int) -> None:
    """The data-parallel bytes read ``dp_gather_bytes_per_param`` in the ZeRO 1-2 after-step gather only: an MXFP8
    job holding FP8 parameters sends one more byte per parameter there than a per-tensor one (2 B gathered
    against 1 B) and the same in ZeRO-3's per-micro-batch gathers of the held 1 B weights and in the reduce-scatters."""
    mc, part = load_calibration(), get_accelerator("B200")
    mx, cs = (job_calibration(mc, part, TrainingJob(8, 4096, precision="fp8", low_precision_recipe=r, fp8_params=True))
              for r in ("mxfp8", "current"))
    assert mx.weight_bytes_per_param == cs.weight_bytes_per_param == FP8_PARAM_BYTES
    mp = mapping_arrays(zero_stage=float(zero))
    params, share = np.asarray([1e9]), (np.asarray([0.25]), np.asarray([0.5]))
    sent = [reduced_grad_bytes(mp, cal, (params,), 1.0, np.asarray([6.0]), np.asarray([4.0]), (share,))
            for cal in (mx, cs)]
    extra = 1e9 * (2.0 - 1.0) if zero < 3 else 0.0
    assert float(sent[0].scaleup[0] - sent[1].scaleup[0]) == pytest.approx(0.25 * extra, abs=1e-3)
    assert float(sent[0].scaleout[0] - sent[1].scaleout[0]) == pytest.approx(0.5 * extra, abs=1e-3)
