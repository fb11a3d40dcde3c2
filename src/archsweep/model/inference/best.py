"""The throughput vs per-user speed curve of one candidate (every SLO-feasible configuration).

The best configuration per candidate is the driver's search
(:func:`archsweep.model.driver.evaluate_job` with the serving job kind, through
:func:`archsweep.model.inference.batch.evaluate_serving_batch`); this module keeps the whole
non-dominated curve for the report.
"""

from __future__ import annotations

import numpy as np

from archsweep.model.inference.configs import ServingConfigArrays
from archsweep.model.inference.serving import serving_performance
from archsweep.spec.architecture import Architecture
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.serving import ServingJob
from archsweep.spec.serving_calibration import ServingCalibration

__all__ = ["throughput_latency_curve"]


def _score(res) -> tuple[np.ndarray, np.ndarray]:
    feasible = res.valid & (res.memory_violation <= 0) & (res.violation_ttft <= 0) & (res.violation_tpot <= 0)
    return np.where(feasible, -res.output_tokens_per_s_per_accelerator, np.inf), feasible


def throughput_latency_curve(hw: HardwareArrays, wl: Architecture, job: ServingJob, configs: ServingConfigArrays,
                             scal: ServingCalibration, cal: Calibration, *,
                             fp4_supported: bool = False) -> dict[str, np.ndarray]:
    """Pareto curve of one candidate: output tokens/s per accelerator vs tokens/s per user.

    ``hw`` holds one candidate (0-d or shape (1,)). Returns the non-dominated feasible
    configurations (both maximised), sorted by tokens/s per user, with their mapping columns.
    """
    one = hw.flat()
    res = serving_performance(one.rows(slice(0, 1), trailing=True), wl, configs.reshape((1, len(configs))), job, scal, cal,
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
