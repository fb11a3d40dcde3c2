"""Serving configurations (how a deployment is laid out) as a struct of arrays.

A deployment of ``N`` accelerators holds ``replicas`` copies of the model; one replica spans
``width * pp`` accelerators. Inside a replica's ``width`` group:

* attention is tensor parallel over ``attention_tp = width`` ranks (Megatron column/row split,
  Shoeybi et al. 2019), or data parallel (``attention_dp = 1``: every rank runs the whole attention
  for its own ``concurrency / width`` sequences, "DEP" in TensorRT-LLM, DeepSeek-V3 Sec. 3.4);
* MoE experts are expert parallel over ``ep`` ranks (``ep`` in {1, width}); the remaining
  ``width / ep`` split each expert's FFN width (tensor parallel);
* ``pp`` pipeline stages split the layers.

``concurrency`` is the number of sequences in flight per replica (a geometric ladder; the model
clips it to what the KV cache holds), ``chunk_tokens`` the engine's tokens per iteration
(chunked prefill / ``max_num_tokens``). ``disaggregated = 1`` splits the deployment into a prefill
pool of ``prefill_accelerators`` and a decode pool of the rest (same replica shape in both).
Only valid combinations are enumerated: TP divides the heads and divides or is a multiple of the
KV heads (the training mapping's rule); EP divides the experts; EP and DEP only for MoE.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields

import numpy as np

from archsweep.spec.architecture import Architecture
from archsweep.spec.serving import ServingJob

__all__ = ["ServingConfigArrays", "enumerate_serving_configs", "CHUNK_SIZES", "CONCURRENCY_LADDER", "SERVING_CONFIG_COLUMNS"]

_WIDTH = (1, 2, 4, 8, 16, 32, 64, 72)
_PP = (1, 2, 4, 8)
#: Sequences in flight per replica: 1, 2, 3, 4, 6, 8, 12, ... 4096, 6144 (ratio ~ sqrt 2).
CONCURRENCY_LADDER: tuple[int, ...] = tuple(sorted({int(b * m) for b in (2 ** i for i in range(13)) for m in (1, 1.5)}))
#: Tokens per engine iteration (chunked prefill / max_num_tokens) to try.
CHUNK_SIZES: tuple[int, ...] = (2048, 8192)


@dataclass(frozen=True)
class ServingConfigArrays:
    """A batch of serving configurations (float64 arrays of one broadcast shape; flags 0/1)."""

    width: np.ndarray
    attention_dp: np.ndarray
    ep: np.ndarray
    pp: np.ndarray
    concurrency: np.ndarray
    chunk_tokens: np.ndarray
    disaggregated: np.ndarray
    prefill_accelerators: np.ndarray
    accelerators: np.ndarray

    @property
    def attention_tp(self) -> np.ndarray:
        return np.where(self.attention_dp > 0, 1.0, self.width)

    @property
    def replica_size(self) -> np.ndarray:
        return self.width * self.pp

    @property
    def decode_accelerators(self) -> np.ndarray:
        return np.where(self.disaggregated > 0, self.accelerators - self.prefill_accelerators, self.accelerators)

    @property
    def replicas(self) -> np.ndarray:
        """Replicas serving decode (the whole deployment when aggregated)."""
        return np.floor(self.decode_accelerators / self.replica_size)

    def take(self, index: np.ndarray) -> ServingConfigArrays:
        return ServingConfigArrays(**{f.name: np.asarray(getattr(self, f.name))[index] for f in fields(self)})

    def reshape(self, shape: tuple[int, ...]) -> ServingConfigArrays:
        return ServingConfigArrays(**{f.name: np.reshape(getattr(self, f.name), shape) for f in fields(self)})

    def __len__(self) -> int:
        return int(np.size(self.width))


SERVING_CONFIG_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ServingConfigArrays))


def _widths(wl: Architecture, attention_dp: bool) -> list[int]:
    if attention_dp:
        return [w for w in _WIDTH if w > 1 and wl.moe is not None and wl.moe.num_experts % w == 0]
    kv = wl.kv_heads
    return [w for w in _WIDTH if wl.heads % w == 0 and (kv % w == 0 or w % kv == 0)]


def enumerate_serving_configs(wl: Architecture, job: ServingJob, accelerators: int, *,
                              concurrency_ladder: tuple[int, ...] = CONCURRENCY_LADDER,
                              chunk_sizes: tuple[int, ...] = CHUNK_SIZES, disaggregation: bool = True,
                              fixed: dict[str, float] | None = None) -> ServingConfigArrays:
    """Every valid configuration of ``wl`` on a deployment of ``accelerators`` accelerators.

    Args:
        job: the serving job (load "concurrency" fixes the concurrency per replica to
            ``ceil(job.concurrency / replicas)``).
        concurrency_ladder: sequences in flight per replica to try.
        chunk_sizes: tokens per engine iteration to try.
        disaggregation: also enumerate prefill/decode pool splits.
        fixed: keep only configurations with these values (keys: field names or ``"tp"`` for
            attention TP); e.g. ``{"width": 4, "attention_dp": 0, "pp": 1}``.

    Returns:
        a 1-D :class:`ServingConfigArrays` (empty when nothing is valid).
    """
    rows: list[tuple[float, ...]] = []
    n = int(accelerators)
    for adp in (False, True):
        for w in _widths(wl, adp):
            eps = [1]
            if wl.moe is not None and wl.moe.num_experts % w == 0 and w > 1:
                eps = [w] if adp else [1, w]
            for pp, ep in itertools.product(_PP, eps):
                size = w * pp
                if pp > wl.layers or size > n or n % size:
                    continue
                splits = [(0, 0)]
                if disaggregation and n // size >= 2:
                    splits += [(1, k * size) for k in range(1, n // size)]
                for (dis, pre), chunk in itertools.product(splits, chunk_sizes):
                    replicas = (n - pre) // size
                    if job.load == "concurrency":
                        ladder: tuple[float, ...] = (float(np.ceil(float(job.concurrency or 1) / replicas)),)
                    else:
                        ladder = tuple(float(b) for b in concurrency_ladder)
                    for b in ladder:
                        if adp and b < w:
                            continue  # every attention-DP rank needs a sequence
                        rows.append((w, float(adp), ep, pp, b, chunk, dis, pre, n))
    names = SERVING_CONFIG_COLUMNS
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, len(names))
    cfg = ServingConfigArrays(**{k: arr[:, i] for i, k in enumerate(names)})
    if fixed:
        mask = np.ones(len(cfg), dtype=bool)
        for key, value in fixed.items():
            col = cfg.attention_tp if key == "tp" else getattr(cfg, key)
            mask &= col == value
        cfg = cfg.take(np.flatnonzero(mask))
    return cfg
