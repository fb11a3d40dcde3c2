"""Failures, checkpointing and goodput of a synchronous training job.

Failure rates are calibrated to the Llama 3 405B run (Llama Team 2024, Sec. 3.3.4 Table 5:
419 unexpected interruptions in 54 days on 16,384 H100; 58.7% accelerator-attributed, 72
HBM3): per accelerator = die rate + HBM rate x stacks, plus a per-host rate for the rest.
Any failure stops the whole job (synchronous training).

Checkpoint write time = checkpoint bytes / (storage bandwidth per accelerator x N); restart
cost = fixed restart overhead + one checkpoint read. The checkpoint interval is Daly's
higher-order optimum (Daly, FGCS 22, 2006, eq. 37) and the goodput is the inverse of Daly's
expected wall-time ratio (eq. 20):
``T_wall / T_solve = (M / tau) exp(R / M) (exp((tau + delta) / M) - 1)``, which lies in (0, 1].
"""

from __future__ import annotations

import numpy as np

from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.technology import Technology

__all__ = ["job_failure_rate_per_s", "checkpoint_size_bytes", "checkpoint_write_s", "restart_s",
           "daly_interval_s", "goodput", "time_to_train_s"]


def job_failure_rate_per_s(hw: HardwareArrays, tech: Technology) -> np.ndarray:
    """Interruptions per second of a job spanning all ``accelerator_count`` accelerators."""
    r = tech.reliability
    per_acc = r.die_failure_rate_per_s + r.hbm_stack_failure_rate_per_s * hw.hbm_stacks
    hosts = np.ceil(hw.accelerator_count / tech.economics.accelerators_per_host)
    return hw.accelerator_count * per_acc + hosts * r.host_failure_rate_per_s(tech.economics.accelerators_per_host)


def checkpoint_size_bytes(total_params: float | np.ndarray, tech: Technology) -> np.ndarray:
    """Model state in a checkpoint: weights plus fp32 master copy and Adam moments (ZeRO accounting)."""
    return np.asarray(total_params, dtype=np.float64) * tech.reliability.checkpoint_bytes_per_param


def checkpoint_write_s(hw: HardwareArrays, tech: Technology, checkpoint_bytes: np.ndarray) -> np.ndarray:
    """Time to write one checkpoint, s (storage bandwidth scales with the cluster)."""
    bw = tech.reliability.storage_bw_per_accelerator_bytes_per_s * hw.accelerator_count
    return np.asarray(checkpoint_bytes) / bw


def restart_s(hw: HardwareArrays, tech: Technology, checkpoint_bytes: np.ndarray) -> np.ndarray:
    """Time lost per interruption besides rework: relaunch overhead plus reading the checkpoint, s."""
    return tech.reliability.restart_overhead_s + checkpoint_write_s(hw, tech, checkpoint_bytes)


def daly_interval_s(delta_s: np.ndarray, mtbf_s: np.ndarray) -> np.ndarray:
    """Daly's higher-order optimal compute time between checkpoints (tau = M when delta >= 2M)."""
    d, m = np.asarray(delta_s, dtype=np.float64), np.asarray(mtbf_s, dtype=np.float64)
    x = d / (2 * m)
    tau = np.sqrt(2 * d * m) * (1 + np.sqrt(x) / 3 + x / 9) - d
    return np.where(d < 2 * m, np.maximum(tau, 1e-9 * m), m)


def goodput(delta_s: np.ndarray, restart: np.ndarray, mtbf_s: np.ndarray) -> np.ndarray:
    """Fraction of wall time doing useful work, in (0, 1] (Daly 2006 eq. 20 at the optimal interval)."""
    m = np.asarray(mtbf_s, dtype=np.float64)
    tau = daly_interval_s(delta_s, m)
    # Computed in logs: the product of two large exponentials overflows float64 for systems that
    # fail far more often than they checkpoint (goodput then clips to the smallest positive value).
    log_ratio = (np.log(m / tau) + restart / m
                 + np.log(np.expm1(np.minimum((tau + delta_s) / m, 700.0))))
    return np.clip(np.exp(-log_ratio), np.finfo(np.float64).tiny, 1.0)


def time_to_train_s(total_tokens: np.ndarray, tokens_per_s: np.ndarray, good: np.ndarray) -> np.ndarray:
    """Wall time to process ``total_tokens`` at ``tokens_per_s`` with goodput ``good``, s."""
    return np.asarray(total_tokens) / np.maximum(tokens_per_s, 1e-300) / good
