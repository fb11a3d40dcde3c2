"""Part- and job-specific physics of a catalog accelerator, folded into the model's calibration.

A catalog part is more than its :class:`~archsweep.spec.hardware.AcceleratorDesign` columns: it
has a measured FP8 GEMM rate (max achievable matmul, MAMF), GEMM pipeline-fill constants, an NVFP4
peak, a special-function (exponential) rate, a GEMM layout rule (Hopper FP8 GEMMs take only the TN
layout) and a host link (``data/hardware/low_precision_rates.yaml``, ``data/hardware/catalog.yaml``); a training job
has a low-precision recipe (``data/calibration/low_precision_recipes.yaml``) and may hold its
weights in FP8 (``fp8_params``). :func:`job_calibration` reads them once, at the edge, and
returns the :class:`~archsweep.spec.calibration.Calibration` the model takes, so that
``archsweep eval``, what-if studies, design studies (their ``base`` part) and ``archsweep
validate`` evaluate one job on one part with the same numbers.

A design study's candidates perturb the base part's columns; they keep the base part's ratios
and per-unit rates (FP8 / BF16 achieved-efficiency ratio, NVFP4 / FP8 rate ratio, exponentials
per clock per compute unit, quantisation bytes of its GEMM layout rule) and its host-link
bandwidth. A part with no figure gets the neutral value of :class:`Calibration`: FP8 GEMMs at the
BF16 efficiency (ratio 1), no softmax-rate factor, no host link (activation offloading infeasible).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.load.low_precision import load_low_precision_rates, load_low_precision_recipes
from archsweep.spec.calibration import Calibration
from archsweep.spec.catalog import CatalogEntry
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.low_precision import LowPrecisionRates
from archsweep.spec.training import TrainingJob

__all__ = ["part_calibration", "job_calibration", "gemm_rate_ratio", "FP8_PARAM_BYTES"]

#: Bytes per parameter of weights held and gathered in FP8 (TransformerEngine ``fp8_model_init``;
#: NeMo ``fp8_params``, Megatron ``--fp8-param-gather``): one E4M3 byte instead of BF16's two.
FP8_PARAM_BYTES = 1.0
#: HBM bytes per weight element of an FP8 transpose kernel (read 1 B, write 1 B).
FP8_TRANSPOSE_BYTES = 2.0


def part_calibration(calibration: Calibration, entry: CatalogEntry, recipe: str = "delayed") -> Calibration:
    """``calibration`` for a low-precision job of ``recipe`` on the catalog part: the measured FP8 /
    BF16 GEMM efficiency ratio (data/hardware/low_precision_rates.yaml, MAMF; 1 where the part has
    no measurement), for an NVFP4 recipe times the NVFP4 / FP8 peak ratio, and the recipe's
    quantisation bytes on the part's GEMM layouts (data/calibration/low_precision_recipes.yaml), and
    the part's exponential rate (softmax in the attention kernel; BF16 jobs too), and its host-link
    bandwidth (catalog ``host_link_bw``; activation offloading), and its GEMM pipeline-fill constants
    (``gemm_k_half_bf16`` / ``_fp8`` / ``gemm_k_reference``; the model-wide ``gemm_k_half`` without them).

    Raises:
        InputError: an NVFP4 recipe on a part without an NVFP4 peak.
    """
    rates = load_low_precision_rates().get(entry.name) or LowPrecisionRates(name=entry.name)
    cast, norm_cast = load_low_precision_recipes()[recipe].cast_bytes(rates.fp8_gemm_any_layout)
    host = entry.published.get("host_link_bw_bytes_per_s")  # activation offloading (data/hardware/catalog.yaml)
    return replace(calibration, fp8_matrix_efficiency_ratio=gemm_rate_ratio(entry, recipe),
                   fp8_quantize_bytes_per_element=cast,
                   fp8_norm_quantize_bytes_per_element=norm_cast,
                   softmax_exponentials_per_cycle_per_unit=rates.softmax_exponentials_per_cycle_per_unit or 0.0,
                   host_link_bw_bytes_per_s=float(host.value) if host is not None else 0.0,
                   gemm_k_half_bf16=rates.gemm_k_half_bf16 or 0.0,
                   gemm_k_half_fp8=rates.gemm_k_half_fp8 or 0.0,
                   gemm_k_reference=rates.gemm_k_reference or 0.0)


def gemm_rate_ratio(entry: CatalogEntry, recipe: str = "delayed") -> float:
    """Achieved low-precision GEMM rate of ``recipe`` on the part over what the model runs FP8 GEMMs at
    without it (the part's BF16 efficiency x its FP8 peak): MAMF FP8 / FP8 peak over the BF16
    efficiency (1 without a measurement) times the recipe's GEMM kernel rate over the per-tensor
    kernels (``gemm_rate_vs_per_tensor``: MXFP8 block-scaled GEMMs 0.951), or, for an NVFP4 recipe,
    times the NVFP4 / FP8 peak ratio.

    Raises:
        InputError: an NVFP4 recipe on a part without an NVFP4 peak.
    """
    rates = load_low_precision_rates().get(entry.name) or LowPrecisionRates(name=entry.name)
    hw = HardwareArrays.from_designs(entry.design)
    bf16_eff, peak_fp8 = float(np.ravel(hw.matrix_efficiency)[0]), float(np.ravel(hw.peak_matrix_flops_fp8)[0])
    spec = load_low_precision_recipes()[recipe]
    if spec.gemm_dtype != "nvfp4":
        return rates.fp8_efficiency_ratio(bf16_eff, peak_fp8) * spec.gemm_rate_vs_per_tensor
    ratio = rates.nvfp4_rate_ratio(bf16_eff, peak_fp8)
    if ratio <= 0:
        raise InputError("data/hardware/low_precision_rates.yaml", f"{entry.name}.peak_dense_nvfp4_flops_per_s",
                         "<missing>", "an NVFP4 peak for a part that runs an NVFP4 recipe")
    return ratio


def job_calibration(calibration: Calibration, entry: CatalogEntry, job: TrainingJob) -> Calibration:
    """``calibration`` for training ``job`` on the catalog part ``entry`` (or on designs based on it):
    :func:`part_calibration` for the job's ``low_precision_recipe``, and FP8 weights
    (:data:`FP8_PARAM_BYTES` per parameter) where the job sets ``fp8_params``, with the weight
    transpose re-formed every backward (:data:`FP8_TRANSPOSE_BYTES`) where the job does not cache it.

    The one path of ``archsweep eval``, studies, sensitivity and validation.

    Raises:
        InputError: an NVFP4 recipe on a part without an NVFP4 peak.
    """
    out = part_calibration(calibration, entry, job.low_precision_recipe)
    if job.fp8_params:
        rates = load_low_precision_rates().get(entry.name) or LowPrecisionRates(name=entry.name)
        # An uncached FP8 weight transpose is re-formed in every backward, except where FP8 GEMMs
        # take any layout (Blackwell: no transpose is needed at all).
        uncached = not job.fp8_weight_transpose_cached and not rates.fp8_gemm_any_layout
        out = replace(out, weight_bytes_per_param=FP8_PARAM_BYTES,
                      fp8_weight_transpose_bytes_per_element=FP8_TRANSPOSE_BYTES if uncached else 0.0)
    return out
