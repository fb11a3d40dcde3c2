"""CUDA-graph padding of generation-only iterations (TensorRT-LLM's PyTorch backend).

Source (read, not copied): TensorRT-LLM ``_torch/pyexecutor/model_engine.py``
``_filter_cuda_graph_batch_sizes`` and ``cuda_graph_runner.py`` ``CUDAGraphRunner.pad_batch``. The
engine captures a graph for every listed batch size up to ``min(max_batch_size, max_num_tokens)``
and, with ``cuda_graph_config.enable_padding``, also for that cap when the list holds a larger size;
an iteration that can replay a graph (no context request on any rank) and holds fewer generation
requests than the largest captured size is padded with a dummy generation request up to the next
captured size (``_round_up_batch_size``). The dummy requests (one token each, a one-token context)
run every GEMM, the LM head and the MoE of the padded batch; their attention reads no cache to speak
of. The perf-overview @585c7565 options of every model of the latest table set ``enable_padding: true``
and :data:`~archsweep.spec.serving.PERF_OVERVIEW_BATCH_SIZES`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["captured_batch_sizes", "padded_batch"]


def captured_batch_sizes(listed: tuple[int, ...], max_batch_size: int, max_num_tokens: int) -> tuple[int, ...]:
    """The batch sizes the engine captures (per rank): ``listed`` (ascending) up to ``min(max_batch_size,
    max_num_tokens)``, and that cap itself where ``listed`` goes beyond it (padding enabled)."""
    cap = min(int(max_batch_size), int(max_num_tokens))
    kept = tuple(b for b in listed if b <= cap)
    if any(b > cap for b in listed) and (not kept or kept[-1] != cap) and cap >= 1:
        kept = (*kept, cap)
    return kept


def padded_batch(batch: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
    """Requests a graph iteration runs with ``batch`` generation requests (per rank): the smallest of
    ``sizes`` (ascending) holding them, or ``batch`` itself at or above the largest (or with no sizes)."""
    b = np.asarray(batch, dtype=float)
    if not sizes:
        return b
    grid = np.asarray(sizes, dtype=float)
    idx = np.searchsorted(grid, np.ceil(b - 1e-9), side="left")
    return np.where(idx < grid.size, grid[np.minimum(idx, grid.size - 1)], b)
