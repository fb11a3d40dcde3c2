"""Tokens one attention layer reads and caches, averaged over the layers: full, sliding-window and chunked.

A full (global) layer attends to the whole context. A local layer (``Architecture.local_layers``,
``sliding_window = W`` tokens) attends to

* ``"sliding"``: the last ``W`` tokens (Beltagy et al., "Longformer", 2020, Sec. 3.1; Mistral 7B,
  Jiang et al. 2023, Sec. 2; gpt-oss: W = 128 on every second layer, OpenAI gpt-oss model card
  Sec. 2.1), and caches only those ``W`` (a rolling buffer: Mistral 7B Sec. 2, "Rolling Buffer
  Cache"; TensorRT-LLM's cyclic KV cache, ``max_attention_window`` per layer);
* ``"chunked"``: the tokens of its own ``W``-token chunk (Llama 4 iRoPE: attention_chunk_size 8192
  on three layers of four, the fourth a full-attention NoPE layer; vLLM ``ChunkedLocalAttention``,
  TensorRT-LLM ``attention_chunk_size``), and caches at most the current chunk.

Every function returns the layer mean, so that ``layers x span`` is the model's total (the
per-layer cost is linear in the span). Arrays broadcast; spans in tokens.
"""

from __future__ import annotations

import numpy as np

from archsweep.spec.architecture import Architecture

__all__ = ["decode_span", "prefill_span", "kv_tokens_held"]


def _mix(wl: Architecture, full: np.ndarray, local: np.ndarray) -> np.ndarray:
    f_local = wl.local_layers / wl.layers
    return (1.0 - f_local) * full + f_local * local


def decode_span(wl: Architecture, context: np.ndarray | float) -> np.ndarray:
    """KV tokens one decode token reads per layer (layer mean), at ``context`` cached tokens.

    Chunked layers past the first chunk read the tokens of the current chunk: ``W / 2`` on average
    over the positions of a chunk.
    """
    c = np.asarray(context, dtype=np.float64)
    if wl.sliding_window is None:
        return c
    w = float(wl.sliding_window)
    local = np.minimum(c, w) if wl.local_attention == "sliding" else np.where(c <= w, c, 0.5 * w)
    return _mix(wl, c, local)


def prefill_span(wl: Architecture, prompt: np.ndarray | float) -> np.ndarray:
    """Tokens a prompt token attends to per layer under a causal mask (layer mean), prompt of ``prompt`` tokens.

    Full: ``P / 2``. Sliding: the mean of ``min(p, W)`` over ``p = 1..P``, ``W - W^2 / (2P)`` when
    ``P > W``. Chunked: ``k`` whole chunks of ``W`` (``W^2 / 2`` each) and a remainder ``r``
    (``r^2 / 2``), over ``P``.
    """
    p = np.maximum(np.asarray(prompt, dtype=np.float64), 1.0)
    full = 0.5 * p
    if wl.sliding_window is None:
        return full
    w = float(wl.sliding_window)
    if wl.local_attention == "sliding":
        local = np.where(p <= w, 0.5 * p, w - w * w / (2.0 * p))
    else:
        k = np.floor(p / w)
        r = p - k * w
        local = (k * w * w + r * r) / (2.0 * p)
    return _mix(wl, full, local)


def kv_tokens_held(wl: Architecture, length: np.ndarray | float) -> np.ndarray:
    """KV-cache tokens per layer (layer mean) of a sequence of ``length`` tokens (local layers: at most ``W``)."""
    n = np.asarray(length, dtype=np.float64)
    if wl.sliding_window is None:
        return n
    return _mix(wl, n, np.minimum(n, float(wl.sliding_window)))
