"""Measured low-precision matrix rates of catalog parts (``data/hardware/low_precision_rates.yaml``).

Per-part facts about a real accelerator that a design candidate does not have: the maximum
achievable matmul rate per dtype measured with mamf-finder (MAMF) and the FP4 / NVFP4 peaks. The
model never reads them directly: validation turns them into
:attr:`archsweep.spec.calibration.Calibration.fp8_matrix_efficiency_ratio` for the part it
validates; design candidates keep the catalog's ``matrix_efficiency`` for every dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["RECIPE_NAMES", "LowPrecisionRates", "LowPrecisionRecipe", "RecipeName"]

#: Scaling recipes of low-precision training (TransformerEngine ``recipe``): per-tensor delayed
#: scaling (amax history), per-tensor current scaling (``Float8CurrentScaling``), MXFP8 block
#: scaling (``MXFP8BlockScaling``, 32-element blocks), NVFP4 (``NVFP4BlockScaling``).
RecipeName = Literal["delayed", "current", "mxfp8", "nvfp4"]
RECIPE_NAMES: tuple[str, ...] = get_args(RecipeName)


@dataclass(frozen=True)
class LowPrecisionRecipe:
    """HBM traffic and GEMM datatype of one recipe (``data/calibration/low_precision_recipes.yaml``).

    Attributes:
        name: recipe name (:data:`RECIPE_NAMES`).
        gemm_dtype: datatype of the Linear GEMMs (Fprop, Dgrad, Wgrad): "fp8" or "nvfp4".
        cast_bytes_tn_only: HBM bytes per element to quantise a BF16 GEMM input that does not
            come from a norm (and each output gradient), on a part whose low-precision GEMMs take
            only the TN layout (Hopper: a transposed copy is written for the other GEMM).
        cast_bytes_any_layout: the same on a part whose GEMMs take any layout (Blackwell).
        norm_cast_bytes_tn_only / norm_cast_bytes_any_layout: extra HBM bytes per element of a
            GEMM input produced by a LayerNorm/RMSNorm (LayerNormLinear, LayerNormMLP), over a
            norm that writes the quantised tensor itself (0: fully fused).
        gemm_rate_vs_per_tensor: rate of the recipe's GEMM kernels over the per-tensor FP8 GEMM
            kernels at the same shapes, quantisation excluded (block-scaled MXFP8 GEMMs read and
            apply a scale per 32 elements: TransformerEngine's pre-quantised GEMM benchmark on B300
            measures 0.951). 1 for the per-tensor recipes and for NVFP4, whose rate comes from the
            part's NVFP4 peak instead.
        split_quantize_kernels_tn_only / split_quantize_kernels_any_layout: kernels TransformerEngine's
            ``split_quantize`` launches per split (per local expert of a grouped MoE GEMM) to quantise one
            operand, on a TN-only / any-layout part (0: one fused multi-tensor kernel for all splits).
        tp_grad_regather_bytes: bytes per element of the output gradient that a row-parallel Linear
            all-gathers a second time in backward under sequence parallelism (0: none).
        tp_comm_overlap: the recipe runs with TransformerEngine userbuffers TP communication overlap
            (False: the published recipes switch it off, as Megatron-Bridge does for NVFP4).
        weight_copy_bytes_tn_only / weight_copy_bytes_any_layout: bytes per Linear weight parameter of the
            quantised copies TransformerEngine keeps across micro-batches and steps beside BF16 weights (its
            module's cached weight workspace: row-wise copy, and the column-wise copy a data-gradient GEMM reads
            where the part needs one), on a TN-only / any-layout part.
        fp8_param_copy_bytes_tn_only / fp8_param_copy_bytes_any_layout: with the weights held in low precision
            (``fp8_params``), the bytes per parameter kept beyond the 1-byte parameter the model already holds
            (the cached FP8 transpose on a TN-only part; the column-wise copy and block scales of a block-scaled
            parameter).
        fp8_param_gather_bytes: with the weights held in low precision (``fp8_params``), the bytes per parameter
            the distributed optimizer's (ZeRO 1-2) after-step weight all-gather moves (Megatron-Core: the 1 B FP8
            parameter for the per-tensor recipes; BF16 through the gradient buffer for MXFP8).
    """

    name: str
    gemm_dtype: Literal["fp8", "nvfp4"]
    cast_bytes_tn_only: float
    cast_bytes_any_layout: float
    norm_cast_bytes_tn_only: float
    norm_cast_bytes_any_layout: float
    gemm_rate_vs_per_tensor: float = 1.0
    split_quantize_kernels_tn_only: float = 0.0
    split_quantize_kernels_any_layout: float = 0.0
    tp_grad_regather_bytes: float = 0.0
    tp_comm_overlap: bool = True
    weight_copy_bytes_tn_only: float = 0.0
    weight_copy_bytes_any_layout: float = 0.0
    fp8_param_copy_bytes_tn_only: float = 0.0
    fp8_param_copy_bytes_any_layout: float = 0.0
    fp8_param_gather_bytes: float = 0.0

    def weight_copy_bytes(self, fp8_params: bool) -> tuple[float, float]:
        """(TN-only, any-layout) bytes per Linear weight parameter of the quantised copies kept across
        micro-batches: beside BF16 weights, or beyond the 1-byte parameter where ``fp8_params``."""
        if fp8_params:
            return self.fp8_param_copy_bytes_tn_only, self.fp8_param_copy_bytes_any_layout
        return self.weight_copy_bytes_tn_only, self.weight_copy_bytes_any_layout

    def cast_bytes(self, any_layout: bool) -> tuple[float, float]:
        """(input / gradient cast bytes, norm-fed input extra bytes) per element on a part."""
        if any_layout:
            return self.cast_bytes_any_layout, self.norm_cast_bytes_any_layout
        return self.cast_bytes_tn_only, self.norm_cast_bytes_tn_only


@dataclass(frozen=True)
class LowPrecisionRates:
    """Measured and published low-precision rates of one catalog part, FLOP/s (None: not published)."""

    name: str
    mamf_bf16_flops_per_s: float | None = None
    mamf_fp8_flops_per_s: float | None = None
    peak_fp4_flops_per_s: float | None = None
    peak_nvfp4_flops_per_s: float | None = None
    #: The part's FP8 GEMMs take non-TN layouts (Blackwell), so per-tensor recipes write no transpose.
    fp8_gemm_any_layout: bool = False
    #: Exponentials (MUFU.EX2) the special-function units issue per clock per SM (None: unknown).
    softmax_exponentials_per_cycle_per_unit: float | None = None
    #: Pipeline-fill K-half of the part's BF16 / FP8 GEMMs and the K of its measured max matmul
    #: (:func:`archsweep.model.gemm.k_fill`); None: the model-wide ``gemm_k_half``, no normalisation.
    gemm_k_half_bf16: float | None = None
    gemm_k_half_fp8: float | None = None
    gemm_k_reference: float | None = None
    #: Output tile (rows, columns) of the part's GEMM kernels and the compute units that compute one tile
    #: together (:func:`archsweep.model.gemm.gemm_efficiency`); None: the model-wide tile, one unit per tile.
    gemm_tile_m: float | None = None
    gemm_tile_n: float | None = None
    gemm_tile_units: float | None = None
    #: Share of the part's peak HBM bandwidth that TransformerEngine's quantisation kernels of each recipe
    #: reach (their cast bytes over their measured time); None: not measured (the model-wide
    #: ``hbm_bw_efficiency``).
    quantize_hbm_share_delayed: float | None = None
    quantize_hbm_share_current: float | None = None
    quantize_hbm_share_mxfp8: float | None = None
    quantize_hbm_share_nvfp4: float | None = None
    #: Rate of the part's FP8 flash-attention kernel (cuDNN, TransformerEngine ``fp8_dpa``) over its BF16 one at
    #: head dimension 128; None: no published FP8 attention rate (a job's FP8 attention then runs at the BF16 rate).
    fp8_attention_rate_ratio: float | None = None

    def quantize_hbm_share(self, recipe: str) -> float:
        """The share of peak HBM bandwidth the quantisation kernels of ``recipe`` reach on this part; 0 where
        not measured (the model then streams the cast bytes at ``hbm_bw_efficiency``)."""
        value = getattr(self, f"quantize_hbm_share_{recipe}", None)
        return float(value) if value else 0.0

    def fp8_efficiency_ratio(self, bf16_efficiency: float, peak_fp8: float) -> float:
        """Achieved FP8 GEMM efficiency (MAMF FP8 / dense FP8 peak) over ``bf16_efficiency``, the
        part's BF16 matrix efficiency the model uses (the catalog's, itself MAMF BF16 / peak).

        1.0 where the FP8 measurement is missing (the BF16 efficiency is used for FP8 too).
        """
        if not (self.mamf_fp8_flops_per_s and bf16_efficiency > 0 and peak_fp8 > 0):
            return 1.0
        return (self.mamf_fp8_flops_per_s / peak_fp8) / bf16_efficiency

    def nvfp4_rate_ratio(self, bf16_efficiency: float, peak_fp8: float) -> float:
        """Achieved NVFP4 GEMM rate over ``bf16_efficiency`` x the FP8 peak (what the model runs
        FP8 GEMMs at), for a job whose Linear GEMMs run in NVFP4.

        No source measures an NVFP4 max-achievable matmul, so the NVFP4 peak is taken at the
        part's measured FP8 efficiency (MAMF FP8 / FP8 peak; the BF16 efficiency where that is
        missing). 0 where the part has no NVFP4 peak (NVFP4 unsupported).
        """
        if not (self.peak_nvfp4_flops_per_s and bf16_efficiency > 0 and peak_fp8 > 0):
            return 0.0
        return self.fp8_efficiency_ratio(bf16_efficiency, peak_fp8) * self.peak_nvfp4_flops_per_s / peak_fp8
