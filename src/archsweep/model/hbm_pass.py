"""Time of an HBM-bound pass: bytes moved at the part's achievable HBM bandwidth.

The achievable bandwidth is the part's peak (``hbm_stacks x hbm_bw_per_stack_bytes_per_s``,
:attr:`~archsweep.spec.hardware.HardwareArrays.hbm_bw_bytes_per_s`) times the model-wide
``hbm_bw_efficiency`` (data/calibration/model.yaml). One function for every
elementwise / streaming term that moves its bytes at that rate with no other efficiency; a kernel's launch
overhead (``kernel_overhead_s``) is the caller's to add."""

from __future__ import annotations

import numpy as np

from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays

__all__ = ["hbm_pass_s"]


def hbm_pass_s(hw: HardwareArrays, cal: Calibration, nbytes: np.ndarray | float) -> np.ndarray:
    """Seconds to move ``nbytes`` bytes (scalar or array, per accelerator) through HBM at
    ``hbm_bw_bytes_per_s x hbm_bw_efficiency`` bytes/s: ``nbytes / (hbm_bw_bytes_per_s x hbm_bw_efficiency)``."""
    return nbytes / (hw.hbm_bw_bytes_per_s * cal.hbm_bw_efficiency)
