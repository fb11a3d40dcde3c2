"""Attention-kernel efficiency by head dimension (archsweep.model.attention_kernel)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.model.attention_kernel import attention_head_dim_factor

CAL = load_calibration()


def test_head_dim_64_matches_flashattention3_figure5():
    # FlashAttention-3 (NeurIPS 2024) Fig. 5, H100 BF16 forward, causal, 16k: head dim 64 / 128 =
    # 473 / 616 = 0.77 (FA3), 388 / 539 = 0.72 (cuDNN). The rule gives 0.75.
    f = float(attention_head_dim_factor(64.0, 64.0, CAL))
    assert 0.72 - 0.02 <= f <= 0.77 + 0.02


def test_reference_and_larger_head_dims_unchanged():
    # Fig. 5: head dim 256 runs no faster than 128 (FA3 642 vs 616, cuDNN 509 vs 539): capped at 1.
    assert float(attention_head_dim_factor(128.0, 128.0, CAL)) == 1.0
    assert float(attention_head_dim_factor(256.0, 256.0, CAL)) == 1.0


def test_monotone_in_head_dim_and_off_when_zero():
    d = np.array([16.0, 32.0, 64.0, 96.0, 128.0, 192.0])
    f = attention_head_dim_factor(d, d, CAL)
    assert np.all(np.diff(f) >= 0) and np.all((f > 0) & (f <= 1))
    off = replace(CAL, attention_softmax_flop_equivalent=0.0)
    assert np.all(attention_head_dim_factor(d, d, off) == 1.0)
