"""Best serving configuration per hardware candidate, and the throughput vs per-user speed curve.

The search is chunked over candidates like the training mapping search
(:func:`archsweep.model.evaluate._best_mappings`): candidates (n, 1) x configurations (1, m),
at most ``_MAX_CHUNK_ELEMENTS`` at once. Score: SLO-feasible output tokens/s per accelerator
(feasible = valid, memory, TTFT and TPOT violations <= 0). A candidate with no feasible
configuration is returned with ``feasible = False`` and the least-violating valid configuration;
nothing raises.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from archsweep.model.inference.configs import ServingConfigArrays
from archsweep.model.inference.serving import (
    SERVING_RESULT_COLUMNS,
    serving_performance,
)
from archsweep.spec.architecture import Architecture
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.serving import ServingJob
from archsweep.spec.serving_calibration import ServingCalibration

__all__ = ["best_serving_configs", "throughput_latency_curve", "SERVING_COLUMNS"]

_MAX_CHUNK_ELEMENTS = 1 << 19

#: Flat columns returned by :func:`best_serving_configs`.
SERVING_COLUMNS: tuple[str, ...] = (
    "tp", "pp", "ep", "dp", "attention_dp", "width", "replicas", "concurrency_per_replica", "chunk_tokens",
    "disaggregated", "prefill_accelerators", "decode_accelerators",
) + tuple(c for c in SERVING_RESULT_COLUMNS if c != "valid") + ("violation_mapping", "feasible")


def _rows(hw: HardwareArrays, sl: slice) -> HardwareArrays:
    return HardwareArrays(**{f.name: np.asarray(getattr(hw, f.name))[sl, None] for f in fields(hw)})


def _flat(hw: HardwareArrays) -> HardwareArrays:
    shape = hw.shape
    return HardwareArrays(**{f.name: np.broadcast_to(getattr(hw, f.name), shape).reshape(-1) for f in fields(hw)})


def _score(res) -> tuple[np.ndarray, np.ndarray]:
    feasible = res.valid & (res.memory_violation <= 0) & (res.violation_ttft <= 0) & (res.violation_tpot <= 0)
    score = np.where(feasible, -res.output_tokens_per_s_per_accelerator, np.inf)
    worst = np.maximum(np.maximum(res.memory_violation, res.violation_ttft), res.violation_tpot)
    fallback = np.where(res.valid, worst, np.inf)
    fallback = np.where(np.isfinite(fallback), fallback, 1e300)
    return score, fallback


def best_serving_configs(hw: HardwareArrays, wl: Architecture, job: ServingJob, configs: ServingConfigArrays,
                         scal: ServingCalibration, cal: Calibration, *,
                         fp4_supported: np.ndarray | bool = False) -> dict[str, np.ndarray]:
    """Best SLO-feasible configuration of every candidate (flat columns of length prod(hw.shape)).

    ``configs`` is 1-D (from :func:`enumerate_serving_configs`); every candidate shares it, so
    ``configs.accelerators`` fixes the deployment size.
    """
    flat = _flat(hw)
    n, m = int(np.size(flat.clock_hz)), len(configs)
    fp4 = np.broadcast_to(np.asarray(fp4_supported, dtype=bool), hw.shape).reshape(-1)
    cfg2 = configs.reshape((1, m))
    best = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    chunk = max(1, _MAX_CHUNK_ELEMENTS // max(m, 1))
    if m:
        for start in range(0, n, chunk):
            sl = slice(start, min(n, start + chunk))
            res = serving_performance(_rows(flat, sl), wl, cfg2, job, scal, cal, fp4_supported=fp4[sl, None])
            score, fallback = _score(res)
            has = np.isfinite(score).any(axis=1)
            best[sl] = np.where(has, np.argmin(score, axis=1), np.argmin(fallback, axis=1))
            ok[sl] = has
    if m == 0:
        nan = np.full(n, np.nan)
        out = {c: nan for c in SERVING_COLUMNS}
        out["feasible"] = np.zeros(n, dtype=bool)
        out["violation_mapping"] = np.ones(n)
        return out
    chosen = configs.take(best)
    res = serving_performance(flat, wl, chosen, job, scal, cal, fp4_supported=fp4)
    cols: dict[str, np.ndarray] = {
        "tp": chosen.attention_tp, "pp": chosen.pp, "ep": chosen.ep,
        "dp": chosen.replicas * np.where(chosen.attention_dp > 0, chosen.width, 1.0),
        "attention_dp": chosen.attention_dp > 0, "width": chosen.width, "replicas": chosen.replicas,
        "concurrency_per_replica": res.concurrency / np.maximum(chosen.replicas, 1.0),
        "chunk_tokens": chosen.chunk_tokens, "disaggregated": chosen.disaggregated > 0,
        "prefill_accelerators": np.where(chosen.disaggregated > 0, chosen.prefill_accelerators, 0.0),
        "decode_accelerators": chosen.decode_accelerators,
    }
    rc = res.columns()
    for c in SERVING_RESULT_COLUMNS:
        if c != "valid":
            cols[c] = rc[c]
    cols["violation_mapping"] = np.where(res.valid, -1.0, 1.0)
    cols["feasible"] = ok & res.valid
    return cols


def throughput_latency_curve(hw: HardwareArrays, wl: Architecture, job: ServingJob, configs: ServingConfigArrays,
                             scal: ServingCalibration, cal: Calibration, *,
                             fp4_supported: bool = False) -> dict[str, np.ndarray]:
    """Pareto curve of one candidate: output tokens/s per accelerator vs tokens/s per user.

    ``hw`` holds one candidate (0-d or shape (1,)). Returns the non-dominated feasible
    configurations (both maximised), sorted by tokens/s per user, with their mapping columns.
    """
    one = _flat(hw)
    res = serving_performance(_rows(one, slice(0, 1)), wl, configs.reshape((1, len(configs))), job, scal, cal,
                              fp4_supported=fp4_supported)
    score, _ = _score(res)
    ok = np.isfinite(score[0])
    x = res.tokens_per_s_per_user[0][ok]
    y = res.output_tokens_per_s_per_accelerator[0][ok]
    idx = np.flatnonzero(ok)
    order = np.lexsort((-y, -x))  # by per-user speed descending, then throughput
    keep, best_y = [], -np.inf
    for i in order:
        if y[i] > best_y:
            keep.append(i)
            best_y = y[i]
    keep_idx = idx[np.asarray(keep, dtype=np.int64)] if keep else np.zeros(0, dtype=np.int64)
    sel = configs.take(keep_idx)
    out = {"tokens_per_s_per_user": res.tokens_per_s_per_user[0][keep_idx],
           "output_tokens_per_s_per_accelerator": res.output_tokens_per_s_per_accelerator[0][keep_idx],
           "ttft_s": res.ttft_s[0][keep_idx], "tpot_s": res.tpot_s[0][keep_idx],
           "tp": sel.attention_tp, "pp": sel.pp, "ep": sel.ep, "attention_dp": sel.attention_dp,
           "concurrency": res.concurrency[0][keep_idx], "disaggregated": sel.disaggregated,
           "prefill_accelerators": sel.prefill_accelerators}
    order2 = np.argsort(out["tokens_per_s_per_user"])
    return {k: np.asarray(v)[order2] for k, v in out.items()}
