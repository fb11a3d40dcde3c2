"""KV-cache size per token, from the architecture, the KV precision and the mapping.

* MHA/GQA/MQA: K and V of every KV head, ``2 * kv_heads * head_dim * bytes`` per token per layer.
* MLA (DeepSeek-V2, arXiv:2405.04434, Sec. 2.1.2-2.1.3 and Table 1): only the compressed latent
  ``c_KV`` (``kv_lora_rank``) and the shared decoupled RoPE key (``qk_rope_head_dim``) are cached,
  ``(kv_lora_rank + qk_rope_head_dim) * bytes`` per token per layer.

Per accelerator: tensor parallelism splits the KV heads (``kv_heads / tp`` each, a head replicated
when ``tp > kv_heads``; the MLA latent is shared by all heads and so replicated on every TP rank);
pipeline parallelism splits the layers (``ceil(layers / pp)`` on the largest stage). With attention
data parallelism every rank keeps the full per-token KV of its own sequences (``tp = 1`` here).
"""

from __future__ import annotations

import numpy as np

from archsweep.spec.architecture import Architecture

__all__ = ["kv_bytes_per_token_per_layer", "kv_bytes_per_token_per_accelerator"]


def kv_bytes_per_token_per_layer(wl: Architecture, bytes_per_element: float) -> float:
    """KV bytes one token adds to one layer's cache (whole model, no parallelism)."""
    if wl.mla is not None:
        return float((wl.mla.kv_lora_rank + wl.mla.qk_rope_head_dim) * bytes_per_element)
    return float(2 * wl.kv_heads * wl.head_dim * bytes_per_element)


def kv_bytes_per_token_per_accelerator(wl: Architecture, bytes_per_element: float, attention_tp: np.ndarray,
                                       pp: np.ndarray) -> np.ndarray:
    """KV bytes per token held by one accelerator (its TP share of heads, its PP share of layers)."""
    per_layer = kv_bytes_per_token_per_layer(wl, bytes_per_element)
    tp = np.asarray(attention_tp, dtype=np.float64)
    if wl.mla is not None:
        share = np.ones_like(tp)  # the latent is replicated across TP ranks
    else:
        share = np.maximum(wl.kv_heads / tp, 1.0) / wl.kv_heads
    return per_layer * share * np.ceil(wl.layers / np.asarray(pp, dtype=np.float64))
