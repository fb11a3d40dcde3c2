"""Part- and job-specific physics of a catalog accelerator: the part's columns and the job's calibration.

A catalog part is more than its ``data/hardware/catalog.yaml`` parameters: it has a measured FP8 GEMM
rate (max achievable matmul, MAMF), GEMM pipeline-fill constants, an NVFP4 peak, a special-function
(exponential) rate, a GEMM layout rule (Hopper FP8 GEMMs take only the TN layout), a host link and the
share of its scale-out line rate its system achieves (``data/hardware/low_precision_rates.yaml``, the
catalog's published ``host_link_bw_bytes_per_s`` and ``scaleout_achieved_share``).
:func:`part_columns` turns them into the part-physics columns of its design
(:data:`~archsweep.spec.hardware.PART_PHYSICS_PARAMETERS`), once, when the catalog is loaded; a design
study's candidates keep their base part's values unless the study varies them (a parameter like any
other). A part with no figure gets the neutral default of the column: FP8 GEMMs at the BF16 efficiency
(ratio 1), no NVFP4, no softmax-rate factor, no host link (activation offloading infeasible), the
model-wide GEMM fill.

A training job has a low-precision recipe (``data/calibration/low_precision_recipes.yaml``) and may
hold its weights in FP8 (``fp8_params``): :func:`job_calibration` folds them into the
:class:`~archsweep.spec.calibration.Calibration` the model takes (the recipe's cast bytes on either
layout rule; the model picks per candidate by ``fp8_gemm_layouts``), so that ``archsweep eval``,
what-if studies, design studies and ``archsweep validate`` evaluate one job with the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from archsweep.load.low_precision import load_low_precision_rates, load_low_precision_recipes
from archsweep.spec.calibration import Calibration
from archsweep.spec.catalog import CatalogEntry, SourcedValue
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import AcceleratorDesign, HardwareArrays
from archsweep.spec.low_precision import LowPrecisionRates
from archsweep.spec.training import OPTIMIZER_DTYPE_BYTES, TrainingJob

__all__ = ["part_columns", "recipe_calibration", "job_calibration", "weight_copy_calibration", "check_recipe", "runs_nvfp4", "FP8_PARAM_BYTES"]

#: Bytes per parameter of weights held and gathered in FP8 (TransformerEngine ``fp8_model_init``;
#: NeMo ``fp8_params``, Megatron ``--fp8-param-gather``): one E4M3 byte instead of BF16's two.
FP8_PARAM_BYTES = 1.0
#: HBM bytes per weight element of an FP8 transpose kernel (read 1 B, write 1 B).
FP8_TRANSPOSE_BYTES = 2.0


def part_columns(name: str, design: AcceleratorDesign, published: Mapping[str, SourcedValue]) -> dict[str, Any]:
    """The part-physics columns of catalog part ``name`` (its ``design`` and published figures): the
    measured FP8 / BF16 GEMM efficiency ratio (MAMF; 1 where the part has no measurement), the NVFP4
    rate ratio (0 without an NVFP4 peak), its FP8 GEMM layout rule, its exponential rate (softmax in the
    attention kernel), its host-link bandwidth (activation offloading), the share of its scale-out line rate
    its system achieves (1 where none is published), the clock of its die's reference bin
    (the V/f curve's nominal point; 0: its own clock) and its GEMM pipeline-fill
    constants (``gemm_k_half_bf16`` / ``_fp8`` / ``gemm_k_reference``; 0: the model-wide ``gemm_k_half``) and
    its GEMM output tile (``gemm_tile_m`` / ``_n``, 0: the model-wide tile; ``gemm_tile_units``, the compute units
    that compute one tile together, 1 where the part has no figure).
    """
    rates = load_low_precision_rates().get(name) or LowPrecisionRates(name=name)
    hw = HardwareArrays.from_designs(design)
    bf16_eff, peak_fp8 = float(np.ravel(hw.matrix_efficiency)[0]), float(np.ravel(hw.peak_matrix_flops_fp8)[0])
    host = published.get("host_link_bw_bytes_per_s")  # activation offloading (data/hardware/catalog.yaml)
    die_ref = published.get("die_reference_clock_hz")  # the same die's reference bin (V/f curve, model/power.py)
    achieved = published.get("scaleout_achieved_share")  # of the scale-out line rate (model/collectives.py)
    if achieved is not None and not 0.0 < float(achieved.value) <= 1.0:
        raise InputError("data/hardware/catalog.yaml", f"{name}.published.scaleout_achieved_share.value",
                         float(achieved.value), "a share of the scale-out line rate in (0, 1]")
    return {"fp8_matrix_efficiency_ratio": rates.fp8_efficiency_ratio(bf16_eff, peak_fp8),
            "nvfp4_matrix_rate_ratio": rates.nvfp4_rate_ratio(bf16_eff, peak_fp8),
            "fp8_gemm_layouts": "any" if rates.fp8_gemm_any_layout else "tn_only",
            "softmax_exponentials_per_cycle_per_unit": rates.softmax_exponentials_per_cycle_per_unit or 0.0,
            "host_link_bw_bytes_per_s": float(host.value) if host is not None else 0.0,
            "die_reference_clock_hz": float(die_ref.value) if die_ref is not None else 0.0,
            "scaleout_achieved_share": float(achieved.value) if achieved is not None else 1.0,
            "gemm_k_half_bf16": rates.gemm_k_half_bf16 or 0.0,
            "gemm_k_half_fp8": rates.gemm_k_half_fp8 or 0.0,
            "gemm_k_reference": rates.gemm_k_reference or 0.0,
            "gemm_tile_m": rates.gemm_tile_m or 0.0,
            "gemm_tile_n": rates.gemm_tile_n or 0.0,
            "gemm_tile_units": rates.gemm_tile_units or 1.0}


def recipe_calibration(calibration: Calibration, recipe: str = "delayed") -> Calibration:
    """``calibration`` for a low-precision job of ``recipe``: its GEMM datatype, its GEMM kernel rate over
    the per-tensor FP8 kernels, its quantisation bytes on a TN-only part and on an any-layout part, and the
    output-gradient bytes its row-parallel Linears gather a second time under sequence parallelism
    (data/calibration/low_precision_recipes.yaml)."""
    rec = load_low_precision_recipes()[recipe]
    cast, norm_cast = rec.cast_bytes(False)
    cast_any, norm_cast_any = rec.cast_bytes(True)
    return replace(calibration, low_precision_gemm_dtype=rec.gemm_dtype,
                   low_precision_gemm_rate_factor=rec.gemm_rate_vs_per_tensor,
                   fp8_quantize_bytes_per_element=cast,
                   fp8_norm_quantize_bytes_per_element=norm_cast,
                   fp8_quantize_bytes_per_element_any_layout=cast_any,
                   fp8_norm_quantize_bytes_per_element_any_layout=norm_cast_any,
                   fp8_split_quantize_kernels=rec.split_quantize_kernels_tn_only,
                   fp8_split_quantize_kernels_any_layout=rec.split_quantize_kernels_any_layout,
                   fp8_tp_grad_regather_bytes_per_element=rec.tp_grad_regather_bytes)


def runs_nvfp4(recipe: str) -> bool:
    """Whether ``recipe``'s Linear GEMMs run in NVFP4 (``gemm_dtype``, data/calibration/low_precision_recipes.yaml)."""
    return load_low_precision_recipes()[recipe].gemm_dtype == "nvfp4"


def check_recipe(entry: CatalogEntry, recipe: str = "delayed", designs: HardwareArrays | None = None) -> None:
    """The one check that catalog part ``entry`` (or every candidate of ``designs``, a study's, based on
    it) runs low-precision ``recipe``: an NVFP4 recipe needs an NVFP4 rate (``nvfp4_matrix_rate_ratio`` > 0:
    the part's NVFP4 peak, or the candidates' own column); every part runs the FP8 recipes (at its
    ``fp8_matrix_efficiency_ratio`` x the recipe's ``gemm_rate_vs_per_tensor``, :func:`recipe_calibration`).

    Raises:
        InputError: an NVFP4 recipe on a part (or a candidate of ``designs``) without an NVFP4 rate.
    """
    if not runs_nvfp4(recipe):
        return
    rates = np.asarray(entry.design.nvfp4_matrix_rate_ratio if designs is None else designs.nvfp4_matrix_rate_ratio)
    if not np.any(rates <= 0):
        return
    if designs is None:
        raise InputError("data/hardware/low_precision_rates.yaml", f"{entry.name}.peak_dense_nvfp4_flops_per_s",
                         "<missing>", "an NVFP4 peak for a part that runs an NVFP4 recipe")
    raise InputError("<candidates>", "nvfp4_matrix_rate_ratio", float(np.min(rates)),
                     f"> 0 on every candidate of a job with the NVFP4 recipe {recipe!r}")


def job_calibration(calibration: Calibration, entry: CatalogEntry, job: TrainingJob, *,
                    designs: HardwareArrays | None = None) -> Calibration:
    """``calibration`` for training ``job`` on the catalog part ``entry`` (or on designs based on it):
    :func:`recipe_calibration` for the job's ``low_precision_recipe``, the share of peak HBM bandwidth that
    recipe's quantisation kernels reach on the part (``quantize_hbm_share_<recipe>``,
    data/hardware/low_precision_rates.yaml; candidates of a study keep their base part's), the part's FP8
    attention rate over its BF16 one where the job runs FP8 attention (``fp8_attention_rate_ratio``; a part
    without one keeps 1, the BF16 rate), and FP8 weights
    (:data:`FP8_PARAM_BYTES` per parameter, gathered after the step at the recipe's ``fp8_param_gather_bytes``:
    BF16 for MXFP8) where the job sets ``fp8_params``, with the weight
    transpose re-formed every backward (:data:`FP8_TRANSPOSE_BYTES`) where the job does not cache it
    (on a part whose FP8 GEMMs take any layout no transpose is needed: the model drops it there,
    ``fp8_gemm_layouts``), and the stack's gradient buffer and data-parallel reduce at
    the bytes of the job's ``dfa_grad_sync_dtype`` (:data:`~archsweep.spec.training.OPTIMIZER_DTYPE_BYTES`) where it
    names one without an Apex optimizer (Megatron-Core ``grad_reduce_in_fp32`` False: BF16; NVIDIA/Megatron-LM
    megatron/core/distributed/param_and_grad_buffer.py ``grad_dtype``): the stated dtype wins over the stack's
    default (data/calibration/software_stacks.yaml ``dp_grad_bytes_per_param`` / ``dp_grad_reduce_bytes_per_param``).

    The one path of ``archsweep eval``, studies, sensitivity and validation. ``designs``: the candidates
    evaluated (a study's, based on ``entry``): an NVFP4 recipe then needs their ``nvfp4_matrix_rate_ratio``
    > 0, not the base part's (a study may give a Hopper base an NVFP4 rate; the study checks refuse a
    candidate without one when the study is read, :mod:`archsweep.load.studychecks`).

    Raises:
        InputError: an NVFP4 recipe on a part (or a candidate of ``designs``) without an NVFP4 peak.
    """
    check_recipe(entry, job.low_precision_recipe, designs)
    out = recipe_calibration(calibration, job.low_precision_recipe)
    rates = load_low_precision_rates().get(entry.name)
    if rates is not None:
        out = replace(out, fp8_quantize_hbm_share=rates.quantize_hbm_share(job.low_precision_recipe))
    if job.fp8_dot_product_attention and rates is not None and rates.fp8_attention_rate_ratio:
        out = replace(out, fp8_attention_rate_ratio=rates.fp8_attention_rate_ratio)
    if job.fp8_params:
        gather = load_low_precision_recipes()[job.low_precision_recipe].fp8_param_gather_bytes
        out = replace(out, weight_bytes_per_param=FP8_PARAM_BYTES, param_gather_bytes_per_param=gather,
                      fp8_weight_transpose_bytes_per_element=0.0 if job.fp8_weight_transpose_cached else FP8_TRANSPOSE_BYTES)
    if not job.dfa_state_dtype and job.dfa_grad_sync_dtype:
        out = replace(out, dp_grad_bytes_per_param=OPTIMIZER_DTYPE_BYTES[job.dfa_grad_sync_dtype],
                      dp_grad_reduce_bytes_per_param=0.0)  # the stated dtype is the buffer's and the reduce's
    return weight_copy_calibration(out, job)


def weight_copy_calibration(calibration: Calibration, job: TrainingJob) -> Calibration:
    """``calibration`` with the bytes per Linear weight parameter of the quantised weight copies a low-precision
    ``job`` keeps over a step (``fp8_weight_copy_bytes_per_param[_any_layout]``, the recipe's
    ``weight_copy_bytes_*`` beside BF16 weights or ``fp8_param_copy_bytes_*`` beyond FP8 ones,
    data/calibration/low_precision_recipes.yaml), where the job caches them (``fp8_weight_transpose_cached``:
    without it, Megatron-Core's ``disable_parameter_transpose_cache``, TransformerEngine quantises the weight anew
    in every forward and keeps no copy); 0 for a BF16 job. BF16 weights: only on a stack that counts
    TransformerEngine's cached module workspaces (``te_fp8_weight_cache``, off by default, s17-H2). FP8 weights
    (``fp8_params``) on every stack (s21-C): there the copy is no module workspace but a usage of the parameter
    itself, which TransformerEngine creates in each training forward and never drops (NVIDIA/TransformerEngine
    v2.9 module/base.py ``get_weight_workspace`` L1370-1380: a ``QuantizedTensor`` weight gets
    ``update_usage(columnwise_usage=True)``, "do not destroy unnecessary usages since they may be used later";
    tensor/storage/float8_tensor_storage.py ``update_usage`` L191-229 creates the FP8 transpose on a TN-only part
    and keeps none where non-TN FP8 GEMMs run; module/grouped_linear.py L207-210 the same for the experts; v1.8
    ``transpose_2d(fill_cache=True)`` at a step's first micro-batch: the recipes' ``fp8_param_copy_bytes_*``), and
    the time side already takes the kept transpose (``fp8_weight_transpose_bytes_per_element`` 0 where cached).
    The ``fp8_weight_transpose_cached`` = False rule (no copy) is TransformerEngine 1.x's for FP8 weights (v1.8
    module/linear.py L983-994 fills the transpose cache only at a first micro-batch; the backward's
    ``transpose_2d()`` L463 is transient); in v2.x (release_v2.8 linear.py L243-263 with base.py L1366-1376, v2.9
    the same) the parameter gets and keeps its column-wise usage whatever ``is_first_microbatch``, so a 2.x job
    with FP8 weights is a cached job (``fp8_weight_transpose_cached`` True, as validation states it per row:
    data/validation/derive/mlperf_fp8_transpose_cache.py, s22-P) and keeps the copy here."""
    if job.precision != "fp8" or not job.fp8_weight_transpose_cached or (
            calibration.te_fp8_weight_cache <= 0 and not job.fp8_params):
        return replace(calibration, fp8_weight_copy_bytes_per_param=0.0, fp8_weight_copy_bytes_per_param_any_layout=0.0)
    tn_only, any_layout = load_low_precision_recipes()[job.low_precision_recipe].weight_copy_bytes(job.fp8_params)
    return replace(calibration, fp8_weight_copy_bytes_per_param=tn_only,
                   fp8_weight_copy_bytes_per_param_any_layout=any_layout)
