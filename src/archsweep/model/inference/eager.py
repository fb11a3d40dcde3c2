"""Iterations that carry a prompt run without CUDA graphs: their host time as a floor on the step.

TensorRT-LLM's PyTorch backend replays a captured CUDA graph only for an iteration that holds no
context request, and under attention DP only when every rank's iteration holds none (the ranks
all-gather ``can_run_cuda_graph``: ``_torch/pyexecutor`` CUDA-graph runner, ``maybe_get_cuda_graph``
/ ``is_all_gen_only``). An iteration with a prompt on any rank runs eagerly: the Python host code
launches every kernel of every layer itself, so that iteration takes at least the host's launch time
(``layers x eager_host_s_per_layer``) however little work the GPU has (the CUDA graph's "22 % E2E"
for DeepSeek R1 throughput, TensorRT-LLM tech blog 3, "particularly on the PyTorch flow, because the
python host code normally executes slower than C++").

Which iterations carry a prompt. Without chunked prefill (trtllm-bench's default) the micro-batch
scheduler admits a prompt whole, after the generation requests (one token each), while the
iteration's ``max_num_tokens`` holds it (``microBatchScheduler.cpp``, no-chunking branch): ``p =
max(1, floor((T - B) / ISL))`` prompts an eager iteration on a rank with ``B`` sequences and budget
``T``. A rank needs ``B / OSL`` new prompts an iteration on average, so a fraction ``q = min(1, B /
(OSL p))`` of its iterations carry a prompt, and with ``W`` attention-DP ranks taking prompts
independently ``1 - (1 - q)^W`` of the replica's iterations run eagerly. All inputs broadcast.
"""

from __future__ import annotations

import numpy as np

__all__ = ["prompt_iteration_fraction", "with_eager_floor"]


def prompt_iteration_fraction(batch: np.ndarray, token_budget: np.ndarray, ranks: np.ndarray,
                              input_tokens: float, output_tokens: float) -> np.ndarray:
    """Fraction of a replica's iterations in which some rank schedules a prompt (module docstring).

    Args:
        batch: sequences in flight per replica.
        token_budget: tokens per iteration per replica (``max_num_tokens`` x ranks under attention DP).
        ranks: attention-DP ranks of the replica (1 without attention DP).
        input_tokens / output_tokens: ISL / OSL of every request, tokens.
    """
    b_rank = np.asarray(batch, dtype=float) / ranks
    t_rank = np.asarray(token_budget, dtype=float) / ranks
    whole = np.maximum(np.floor((t_rank - b_rank) / input_tokens), 1.0)
    q = np.clip(b_rank / (output_tokens * whole), 0.0, 1.0)
    return 1.0 - np.power(1.0 - q, ranks)


def with_eager_floor(step_s: np.ndarray, stage_s: np.ndarray, host_s: np.ndarray | float,
                     stages: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """Mean time per round: graph iterations at ``step_s``, the ``fraction`` that run eagerly with
    each of the ``stages`` stage iterations taking at least ``host_s`` (``stage_s``: one stage
    iteration's device time; ``step_s = stages x stage_s +`` the per-round overhead). Never below
    ``step_s``."""
    eager = step_s + stages * np.maximum(np.asarray(host_s, dtype=float) - stage_s, 0.0)
    return (1.0 - fraction) * step_s + fraction * eager
