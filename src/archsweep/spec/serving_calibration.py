"""Constants of the serving model (SI), passed in as an argument; never read here.

Loaded from ``data/calibration/serving.yaml`` by :func:`archsweep.load.serving_calibration.load_serving_calibration`;
that file gives the source, locator and confidence of every value and names the rows a fitted
value was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServingCalibration"]


@dataclass(frozen=True)
class ServingCalibration:
    """Serving-model constants (dimensionless unless the suffix says otherwise).

    Attributes:
        gemm_ratio: fraction of the design's large-GEMM efficiency (``matrix_efficiency``)
            reached by the linear layers of an inference step (replaces the training ratio).
        low_precision_gemm_ratio: extra factor on FP8/FP4 GEMM efficiency (measured FP8
            max-achievable matmul over peak is lower than the BF16 one).
        weight_stream_bw_efficiency: achievable fraction of peak HBM bandwidth when streaming
            weights in decode GEMMs.
        kv_read_bw_efficiency: achievable fraction of peak HBM bandwidth of decode attention
            kernels reading the KV cache.
        prefill_attention_efficiency: fraction of ``matrix_efficiency`` x BF16/FP8 peak reached by
            prefill (flash) attention.
        kernels_per_layer: kernel launches per transformer layer per step (each costs
            ``kernel_overhead_s``).
        kernel_overhead_s: fixed time per kernel launch, s.
        step_overhead_s: fixed time per engine iteration (scheduler, sampling, host sync), s.
        kv_cache_memory_fraction: fraction of HBM left after weights and activations that the
            engine gives to the KV cache.
        reserved_bytes: runtime context, communication buffers, fragmentation per accelerator.
        activation_bytes_per_token_per_hidden: activation workspace per scheduled token per
            hidden unit (all live intermediates of one layer).
        max_batch_size: engine limit on sequences in flight per replica.
        collective_bw_efficiency: fraction of link bandwidth reached by collectives.
        kv_transfer_bw_efficiency: fraction of link bandwidth reached by the KV-cache transfer
            of disaggregated serving.
        moe_gemm_ratio: factor on the GEMM efficiency of the routed experts' grouped GEMM (many
            small per-expert GEMMs plus token gather/scatter) relative to a dense GEMM of that shape.
        moe_min_token_tile: smallest tile along the tokens of one expert's GEMM (grouped MoE GEMM
            kernels pick their tile by the tokens per expert, down to this many, by swapping the
            operands); the tokens are padded to a power of two between it and ``gemm_tile_m``.
        eager_host_s_per_layer: host time to launch one layer's kernels eagerly (no CUDA graph), s;
            the floor of an iteration that carries a prompt when the job's
            ``eager_prompt_iterations`` is set (:mod:`archsweep.model.inference.eager`).
    """

    gemm_ratio: float
    low_precision_gemm_ratio: float
    weight_stream_bw_efficiency: float
    kv_read_bw_efficiency: float
    prefill_attention_efficiency: float
    kernels_per_layer: float
    kernel_overhead_s: float
    step_overhead_s: float
    kv_cache_memory_fraction: float
    reserved_bytes: float
    activation_bytes_per_token_per_hidden: float
    max_batch_size: float
    collective_bw_efficiency: float
    kv_transfer_bw_efficiency: float
    moe_gemm_ratio: float
    moe_min_token_tile: float = 16.0
    eager_host_s_per_layer: float = 0.0
