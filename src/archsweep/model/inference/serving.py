"""Serving performance of a configuration: the job kind's performance function (combining rules here).

Continuous batching in steady state (Orca, Yu et al. OSDI'22; chunked prefill, Sarathi-Serve,
Agrawal et al. OSDI'24), per replica with ``B`` sequences in flight:

* aggregated: every iteration advances the ``B`` sequences by one token and carries, on average,
  ``B * ISL / OSL`` prompt tokens of the requests that replace finished ones (each request brings
  ISL prefill tokens over its OSL decode steps). ``TPOT`` = that iteration's time; ``B`` is capped
  by the engine limits (``max_batch_size``, ``B (1 + ISL/OSL) <= chunk_tokens``) and by the KV cache.
  Throughput = replicas x B / TPOT output tokens/s.
* disaggregated (Splitwise, Patel et al. ISCA'24; DistServe, Zhong et al. OSDI'24): a prefill pool
  and a decode pool; TPOT = pure decode iteration; the KV of the ISL prompt tokens crosses the
  scale-up fabric when the deployment fits one scale-up domain (rank to rank: on a full mesh over
  the links joining the pair), else the scale-out network, and is added to TTFT; throughput = min(prefill pool rate, decode pool rate).
* TTFT = half an iteration of waiting for the running one to finish + the iteration carrying the
  prompt's prefill (whose time the prefill dominates), plus queueing under load "qps": Poisson arrivals at rate lambda per replica on a
  prefill server of deterministic service time S (M/D/1, Pollaczek-Khinchine mean wait
  ``Wq = rho S / (2 (1 - rho))``, rho = lambda S; Kleinrock, "Queueing Systems" Vol. 1, Eq. 5.105).
  The deployment is overloaded (TTFT infinite, violated) when lambda >= its service rate; the
  in-flight batch follows Little's law, ``B = lambda (TTFT + OSL TPOT(B))`` (fixed-point, 4 steps).
* Offline: no queueing delay is reported (all requests are queued by construction); TTFT is the
  service part only.

Memory per accelerator: weights + activation workspace (chunk tokens) + reserved + KV of
``B (ISL + OSL)`` tokens; the KV cache gets ``kv_cache_memory_fraction`` of what is left.
Speculative decoding is not modelled (refused by :class:`ServingJob`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from archsweep.model.activity import ActivityCounts
from archsweep.model.collectives import p2p_time_s
from archsweep.model.gemm import scalar_part_physics
from archsweep.model.inference.attention_span import kv_tokens_held
from archsweep.model.inference.configs import ServingConfigArrays
from archsweep.model.inference.cuda_graph import padded_batch
from archsweep.model.inference.decode import decode_step_time_s
from archsweep.model.inference.eager import prompt_iteration_fraction, with_eager_floor
from archsweep.model.inference.kv_cache import (
    kv_bytes_per_token_per_accelerator,
    kv_bytes_per_token_per_layer,
)
from archsweep.model.inference.prefill import prefill_time_s
from archsweep.model.inference.step import (
    matrix_peak_flops,
    weight_bytes_per_accelerator,
)
from archsweep.spec.architecture import Architecture
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.serving import ServingJob
from archsweep.spec.serving_calibration import ServingCalibration

__all__ = ["ServingResult", "serving_performance", "serving_activity", "SERVING_RESULT_COLUMNS"]


@dataclass(frozen=True)
class ServingResult:
    """Serving metrics (arrays of the broadcast shape, SI; violations > 0 mean violated).

    Work fields are per accelerator per second (deployment average) for the power model.
    """

    ttft_s: np.ndarray
    tpot_s: np.ndarray
    e2e_latency_s: np.ndarray
    output_tokens_per_s: np.ndarray
    output_tokens_per_s_per_accelerator: np.ndarray
    tokens_per_s_per_user: np.ndarray
    requests_per_s: np.ndarray
    concurrency: np.ndarray
    kv_capacity_sequences: np.ndarray
    prefill_time_s: np.ndarray
    kv_transfer_s: np.ndarray
    memory_per_accelerator_bytes: np.ndarray
    memory_violation: np.ndarray
    violation_ttft: np.ndarray
    violation_tpot: np.ndarray
    valid: np.ndarray
    matrix_flops_per_s: np.ndarray
    hbm_bytes_per_s: np.ndarray
    link_bytes_per_s: np.ndarray

    def columns(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


SERVING_RESULT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ServingResult))


def _violation(value: np.ndarray, limit: float | None) -> np.ndarray:
    if limit is None:
        return np.full(np.shape(value), -1.0)
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(value), (value - limit) / limit, np.inf)


def serving_performance(hw: HardwareArrays, wl: Architecture, cfg: ServingConfigArrays, job: ServingJob,
                        scal: ServingCalibration, cal: Calibration, *,
                        fp4_supported: np.ndarray | bool = False) -> ServingResult:
    """Serving metrics of ``wl`` under ``job`` on hardware ``hw`` with configurations ``cfg``.

    Args:
        hw: hardware candidates, e.g. shape (n, 1).
        cfg: serving configurations, e.g. shape (1, m) (``cfg.accelerators`` = deployment size).
        scal: serving constants; ``cal``: the shared GEMM tile constants (``gemm_tile_*``, ``gemm_k_half``).
        fp4_supported: per candidate, whether the matrix engines run FP4 at 2x FP8 (Blackwell NVFP4).

    Returns:
        :class:`ServingResult` of the broadcast shape of ``hw`` and ``cfg``.
    """
    isl, osl = float(job.input_tokens), float(job.output_tokens)
    peak = matrix_peak_flops(hw, job.activation_precision, fp4_supported)
    dis = cfg.disaggregated > 0
    adp = cfg.attention_dp > 0
    replicas = cfg.replicas
    prefill_replicas = np.where(dis, np.floor(cfg.prefill_accelerators / cfg.replica_size), 0.0)

    # ---- memory and KV capacity (sequences per replica)
    weights = weight_bytes_per_accelerator(wl, cfg, job)
    act = scal.activation_bytes_per_token_per_hidden * cfg.chunk_tokens * wl.hidden
    hbm = hw.hbm_capacity_bytes
    kv_tok = kv_bytes_per_token_per_accelerator(wl, job.kv_bytes_per_element, cfg.attention_tp, cfg.pp)
    free = (hbm - weights - act - scal.reserved_bytes) * scal.kv_cache_memory_fraction
    # One pool at full length for every layer when the engine is not given the per-layer windows.
    per_seq = kv_tok * (isl + osl if job.full_length_kv_pool else kv_tokens_held(wl, isl + osl))
    capacity = np.floor(np.maximum(free, 0.0) / per_seq) * np.where(adp, cfg.width, 1.0)

    # ---- sequences in flight per replica
    limit = np.minimum(cfg.concurrency, scal.max_batch_size * np.where(adp, cfg.width, 1.0))
    token_cap = np.where(dis, np.inf, np.maximum(np.floor(cfg.chunk_tokens / (1.0 + isl / osl)), 1.0))
    requested = np.minimum(limit, token_cap)
    batch = np.maximum(np.minimum(requested, capacity), 1.0)
    kv_needed = per_seq * (requested if job.load == "concurrency" else batch) / np.where(adp, cfg.width, 1.0)
    memory = weights + act + scal.reserved_bytes + kv_needed
    memory_violation = np.where(capacity >= 1.0, (memory - hbm) / hbm, np.maximum((memory - hbm) / hbm, 1e-3))
    if job.load == "concurrency":
        memory_violation = np.where(requested > capacity, np.maximum(memory_violation, (requested - capacity) / np.maximum(capacity, 1.0)), memory_violation)

    # ---- prefill of one prompt (TTFT service part) and the prefill pool's rate
    part = scalar_part_physics(hw)  # once: the stage iterations' GEMMs read batch-wide part columns as scalars
    t_prefill, _ = prefill_time_s(part, wl, cfg, job, scal, cal, peak, 1.0)
    prompts_per_iter = np.maximum(cfg.chunk_tokens / isl, 1.0)
    t_pool_iter, pre_st = prefill_time_s(part, wl, cfg, job, scal, cal, peak, prompts_per_iter)
    prefill_rate = prefill_replicas * prompts_per_iter / t_pool_iter  # requests/s of the prefill pool

    host_stage = np.ceil(wl.layers / cfg.pp) * scal.eager_host_s_per_layer

    ranks = np.where(adp, cfg.width, 1.0)

    def tpot_at(b: np.ndarray):
        prompt = np.where(dis, 0.0, b * isl / osl)
        t, st = decode_step_time_s(part, wl, cfg, job, scal, cal, peak, b, prompt)
        if not (job.eager_prompt_iterations or job.cuda_graph_batch_sizes):
            return t, st
        frac = np.zeros_like(prompt)
        if job.eager_prompt_iterations:  # iterations carrying a prompt run without CUDA graphs
            frac = np.where(dis, 0.0, prompt_iteration_fraction(b, cfg.chunk_tokens, ranks, isl, osl))
        graph_t = t
        if job.cuda_graph_batch_sizes:  # graph iterations run padded to a captured batch size
            # per rank and per pipeline micro-batch (each micro-batch is one forward, padded on its own)
            graphs = ranks * cfg.pp
            pad = (padded_batch(b / graphs, job.cuda_graph_batch_sizes) - b / graphs) * graphs
            graph_t, _pst = decode_step_time_s(part, wl, cfg, job, scal, cal, peak, b, prompt, pad)
            # above the largest captured size no graph exists: the iteration runs eager, unpadded
            # (CUDAGraphRunner.maybe_get_cuda_graph: batch size not captured -> eager forward)
            frac = np.where(b / graphs > job.cuda_graph_batch_sizes[-1] + 1e-9, 1.0, frac)
        eager_t = with_eager_floor(t, st.time_s, host_stage, cfg.pp, np.ones_like(prompt))
        return (1.0 - frac) * graph_t + frac * eager_t, st

    tpot, dec_st = tpot_at(batch)
    decode_rate = replicas * batch / (osl * tpot)  # requests/s at the full batch
    service_rate = np.where(dis, np.minimum(prefill_rate, decode_rate), decode_rate)

    # ---- KV transfer (disaggregated)
    kv_request = kv_tokens_held(wl, isl) * kv_bytes_per_token_per_layer(wl, job.kv_bytes_per_element) * wl.layers
    # Each prefill rank sends its shard to the decode rank holding the same shard: a point-to-point send per
    # pair, over the scale-up fabric where the deployment fits one domain (on a full mesh over the one
    # peer's links, :func:`~archsweep.model.collectives.mesh_share`), else over the scale-out network.
    crosses = cfg.accelerators > hw.scaleup_domain_size
    kv_transfer = np.where(dis, p2p_time_s(hw, kv_request / cfg.replica_size, crosses, scal.kv_transfer_bw_efficiency), 0.0)

    base_ttft = np.where(dis, t_prefill + kv_transfer, 0.5 * tpot + t_prefill)
    if job.load == "qps":
        lam = float(job.qps or 0.0)
        rho_total = lam / service_rate
        lam_r = lam / np.where(dis, np.maximum(prefill_replicas, 1.0), replicas)
        rho_p = np.minimum(lam_r * t_prefill, 0.999)
        wait = rho_p * t_prefill / (2.0 * (1.0 - rho_p))
        b = np.minimum(batch, lam / replicas * osl * tpot_at(np.ones_like(batch))[0])
        b = np.maximum(b, 1.0)
        for _ in range(4):
            t_b, _st = tpot_at(b)
            ttft_b = np.where(dis, t_prefill + kv_transfer, 0.5 * t_b + t_prefill) + wait
            b = np.clip(lam / replicas * (ttft_b + osl * t_b), 1.0, batch)
        tpot, dec_st = tpot_at(b)
        overloaded = rho_total >= 1.0
        ttft = np.where(overloaded, np.inf, np.where(dis, t_prefill + kv_transfer, 0.5 * tpot + t_prefill) + wait)
        requests = np.minimum(lam, service_rate)
        batch = np.where(overloaded, batch, b)
        tpot = np.where(overloaded, tpot_at(batch)[0], tpot)
    else:
        ttft = base_ttft
        requests = service_rate
    if job.num_requests is not None:
        # A finite offline run (all requests queued at t = 0): the first ``B`` prompts are prefilled
        # at most ``chunk_tokens`` per iteration, so the batch fills over ``R = B ISL / chunk``
        # iterations; slots start staggered over R and, serving equal requests, end staggered over R.
        # The fill iterations are as full as steady ones (prompt tokens instead of decode tokens);
        # the drain adds R decode-only iterations at half the batch:
        # time = (N / B) OSL t_steady + R t_decode(B / 2) (aggregated serving).
        steady = float(job.num_requests) * osl / np.maximum(batch * replicas, 1.0) * tpot
        fill_iters = np.where(dis, 0.0, batch * isl / cfg.chunk_tokens)
        t_drain, _st = decode_step_time_s(hw, wl, cfg, job, scal, cal, peak, np.maximum(0.5 * batch, 1.0), 0.0)
        requests = requests * steady / (steady + fill_iters * t_drain)
    out_tps = requests * osl
    n = cfg.accelerators
    e2e = ttft + (osl - 1.0) * tpot

    # ---- work per accelerator per second (deployment average) for the power model
    dec_acc = replicas * cfg.replica_size
    pre_acc = prefill_replicas * cfg.replica_size
    rounds = requests * osl / np.maximum(replicas * batch, 1e-30)  # decode rounds per s per replica
    dec_scale = rounds * cfg.pp * dec_acc / n  # stage iterations per s per accelerator (decode pool share)
    pre_iters = np.where(dis, requests / np.maximum(prefill_replicas * prompts_per_iter, 1e-30), 0.0)
    pre_scale = pre_iters * cfg.pp * pre_acc / n
    flops = dec_scale * dec_st.matrix_flops + pre_scale * pre_st.matrix_flops
    hbm_b = dec_scale * dec_st.hbm_bytes + pre_scale * pre_st.hbm_bytes
    link = dec_scale * dec_st.link_bytes + pre_scale * pre_st.link_bytes + np.where(dis, requests * kv_request / n, 0.0)

    valid = (replicas >= 1) & (~dis | (prefill_replicas >= 1))
    shape = np.broadcast_shapes(np.shape(tpot), np.shape(ttft), np.shape(memory), np.shape(valid))

    def bc(x) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=np.float64), shape)

    return ServingResult(
        ttft_s=bc(ttft), tpot_s=bc(tpot), e2e_latency_s=bc(e2e), output_tokens_per_s=bc(out_tps),
        output_tokens_per_s_per_accelerator=bc(out_tps / n), tokens_per_s_per_user=bc(1.0 / tpot),
        requests_per_s=bc(requests), concurrency=bc(batch * replicas), kv_capacity_sequences=bc(capacity),
        prefill_time_s=bc(t_prefill), kv_transfer_s=bc(kv_transfer),
        memory_per_accelerator_bytes=bc(memory), memory_violation=bc(memory_violation),
        violation_ttft=bc(_violation(ttft, job.ttft_max_s)), violation_tpot=bc(_violation(tpot, job.tpot_max_s)),
        valid=np.broadcast_to(valid, shape), matrix_flops_per_s=bc(flops), hbm_bytes_per_s=bc(hbm_b),
        link_bytes_per_s=bc(link),
    )


def serving_activity(res: ServingResult, job: ServingJob, cal: Calibration, in_domain: np.ndarray) -> ActivityCounts:
    """Per-accelerator work in one second of serving, for :func:`archsweep.model.ppa.power_area_cost`
    with ``step_time_s = 1`` and ``tokens_per_step = output_tokens_per_s``.

    FP4 matrix work is counted as FP8 (ActivityCounts has no FP4 energy class).
    """
    low = job.activation_precision != "bf16"
    zeros = np.zeros_like(res.matrix_flops_per_s)
    bpe = 2.0 if not low else 1.0
    sram = res.matrix_flops_per_s / 2.0 * bpe * (1.0 / cal.gemm_tile_m + 1.0 / cal.gemm_tile_n)
    return ActivityCounts(
        matrix_flops_bf16=zeros if low else res.matrix_flops_per_s,
        matrix_flops_fp8=res.matrix_flops_per_s if low else zeros,
        vector_flops=2.0 * res.hbm_bytes_per_s, hbm_bytes=res.hbm_bytes_per_s, sram_bytes=sram,
        scaleup_bytes=np.where(in_domain, res.link_bytes_per_s, 0.0),
        scaleout_bytes=np.where(in_domain, 0.0, res.link_bytes_per_s),
    )
