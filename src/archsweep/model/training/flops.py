"""Model FLOPs per trained token of a training workload (the MFU / TFLOP/s convention of the sources), moved
out of :mod:`archsweep.model.training.step`, which re-exports :func:`model_flops_per_token`."""

from __future__ import annotations

from archsweep.spec.workload import Workload

__all__ = ["eh_proj_params", "model_flops_per_token"]


def eh_proj_params(wl: Workload) -> float:
    """Weights of one MTP layer's ``eh_proj``, the 2h -> h projection of the next token's embedding and the hidden
    state (Megatron-Core ``MultiTokenPredictionLayer``, NVIDIA/Megatron-LM @b0cc2706dd
    megatron/core/transformer/multi_token_prediction.py): 2 h^2. The one count of it (FLOPs per token, the MTP
    block's time and work: :func:`archsweep.model.training.layout_stage.mtp_output_share`)."""
    return 2.0 * wl.hidden ** 2


def model_flops_per_token(wl: Workload) -> float:
    """Model FLOPs per trained token (PaLM Appendix B convention, no recomputation).

    6 x (active matmul parameters, input embedding excluded, + the MTP layers': :func:`_mtp_matmul_params`) +
    12 x (layers + MTP layers) x seq x attention width (non-causal attention, as in Megatron's Eq. 3 and PaLM's MFU).
    """
    matmul_params = wl.active_params - wl.vocab * wl.hidden * (0 if wl.tied_embeddings else 1)
    if wl.tied_embeddings:
        matmul_params = wl.active_params  # the tied matrix is used as the output projection
    qk = wl.head_dim if wl.mla is None else (wl.mla.qk_nope_head_dim + wl.mla.qk_rope_head_dim + wl.mla.v_head_dim) / 2
    return 6.0 * (matmul_params + _mtp_matmul_params(wl)) + 12.0 * (wl.layers + wl.mtp_num_layers) * wl.seq_len * wl.heads * qk


def _mtp_matmul_params(wl: Workload) -> float:
    """Matmul weights one token passes through in the MTP layers (0 without): per layer one layer of the last
    layer's kind (attention + the active experts and router, or the dense FFN), the 2h x h ``eh_proj`` and the
    output layer again; Megatron-LM's count (NVIDIA/Megatron-LM @b0cc2706dd megatron/training/training.py
    L354-358, L556-572: the MTP layers among the MoE layers and the attention term, ``2 h^2`` per MTP layer, the
    logits ``mtp_num_layers + 1`` times), which the Megatron-Bridge DeepSeek-V3 rows' TFLOPS use."""
    if not wl.mtp_num_layers:
        return 0.0
    ffn = (wl.dense_ffn_params if wl.moe is None else
           (wl.moe.top_k + wl.moe.shared_experts) * wl.expert_params + wl.hidden * wl.moe.num_experts)
    return wl.mtp_num_layers * (wl.attention_params_per_layer + ffn + eh_proj_params(wl) + wl.vocab * wl.hidden)
