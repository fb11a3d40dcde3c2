"""Issue 14 (DeepSeek-V3 first batch): the compute classes and the refined bound of the pruned search.

* ``stage_compute`` (and the offload check) never read the ZeRO stage or the overlap flags, so the
  tables evaluate them once per compute class (a third of DeepSeek-V3's mappings);
* the count tables built from those parts equal training_step's own (launch, valid, memory);
* the refined bound (the candidate's exact compute side + the communication bound) lies between
  the table bound and the step time;
* the answer stays the exhaustive search's, batch after batch, on MoE and dense candidates that
  share one accelerator count (the benchmark's shape: most pairs reach the refined bound).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from random_hardware import CAL, TECH, candidate_key_tables, random_candidates

from archsweep.load.workloads import load_workload
from archsweep.model.driver import _best_mappings
from archsweep.model.training import comm_bound, key_tables
from archsweep.model.training import pruned_search as ps
from archsweep.model.training.activation_memory import layer_activation_bytes
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.mapping import MappingArrays, enumerate_mappings
from archsweep.model.training.search_bounds import block_bounds, refined_bounds
from archsweep.model.training.step import stage_compute, training_step
from archsweep.spec.hardware import HardwareArrays

WORKLOADS = ["llama3-70b", "mixtral-8x7b", "deepseek-v3"]


def _one_count(n: int, seed: int, count: float = 4096.0) -> HardwareArrays:
    cols = {k: np.asarray(v).copy() for k, v in random_candidates(n, seed).columns().items()}
    cols["accelerator_count"][:] = count
    return HardwareArrays(**cols)


def _scrambled(mp: MappingArrays, seed: int) -> MappingArrays:
    """``mp`` with every field the classes ignore set at random (ZeRO 0-3, overlap flags 0/1)."""
    rng = np.random.default_rng(seed)
    n = len(mp)
    return replace(mp, zero_stage=rng.integers(0, 4, n).astype(float), tp_overlap=rng.integers(0, 2, n).astype(float),
                   dp_overlap=rng.integers(0, 2, n).astype(float))


@pytest.mark.parametrize("workload", WORKLOADS)
def test_compute_side_ignores_the_fields_the_classes_drop(workload):
    wl = load_workload(workload)
    mappings, fixed_dp = enumerate_mappings(wl)
    assert set(key_tables._COMPUTE_FREE) == {"zero_stage", "tp_overlap", "dp_overlap"}
    rows = HardwareArrays(**{k: v[:, None] for k, v in random_candidates(4, seed=21).columns().items()})
    mp2 = mappings.reshape((1, len(mappings)))
    other = _scrambled(mappings, seed=22).reshape((1, len(mappings)))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        a, b = stage_compute(rows, wl, mp2, CAL, fixed_dp), stage_compute(rows, wl, other, CAL, fixed_dp)
    for name in ("dp", "microbatches", "etp", "valid", "layers_stage", "t_layer_f", "t_layer_b", "t_layer_rc", "t_b",
                 "compute", "recompute", "bubble"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(layer_activation_bytes(wl, mp2, a.etp), layer_activation_bytes(wl, other, b.etp))
    class_of, first = key_tables.compute_classes(mappings)
    assert np.array_equal(class_of[first], np.arange(len(first)))  # each class's first mapping is in it
    if wl.moe is not None:
        assert len(first) * 3 <= len(mappings) * 1.01  # the three ZeRO stages share one evaluation


@pytest.mark.parametrize("workload", WORKLOADS)
def test_count_tables_are_training_steps_own(workload):
    wl = load_workload(workload)
    mappings, fixed_dp = enumerate_mappings(wl)
    counts = np.array([64.0, 1024.0, 4096.0])
    hw = random_candidates(1, seed=23)
    launch, valid, total = key_tables._count_tables(hw, wl, mappings, fixed_dp, CAL, counts, np.zeros(3, dtype=np.int64))
    cols = {k: np.repeat(np.asarray(v), 3)[:, None] for k, v in hw.columns().items()}
    cols["accelerator_count"] = counts[:, None]
    cols["clock_hz"] = np.full((3, 1), 1e40)
    cols["hbm_stacks"] = np.ones((3, 1))
    cols["hbm_bw_per_stack_bytes_per_s"] = np.full((3, 1), 1e40)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        res = training_step(HardwareArrays(**cols), wl, mappings.reshape((1, len(mappings))), CAL, fixed_dp)
    np.testing.assert_array_equal(valid, res.valid)
    np.testing.assert_array_equal(total, res.memory.total_bytes)
    np.testing.assert_array_equal(launch, (res.compute_time_s + res.recompute_time_s + res.bubble_time_s) * (1 - 1e-12))


@pytest.mark.parametrize(("workload", "n"), [("llama3-70b", 12), ("mixtral-8x7b", 4), ("deepseek-v3", 3)])
def test_refined_bound_lies_between_the_table_bound_and_the_step(workload, n):
    wl = load_workload(workload)
    mappings, fixed_dp = enumerate_mappings(wl)
    m = len(mappings)
    hw = random_candidates(n, seed=24)
    key_of, bound, launch, valid, _ = candidate_key_tables(hw, wl, mappings, fixed_dp)
    res = training_step(HardwareArrays(**{k: v[:, None] for k, v in hw.columns().items()}), wl,
                        mappings.reshape((1, m)), CAL, fixed_dp)
    x = comm_bound.features(hw, CAL)
    classes = key_tables.compute_classes(mappings)
    checked = 0
    for i in range(n):
        cols = np.flatnonzero(res.valid[i])
        l1, l2, dov, window = (a[0] for a in comm_bound.coefficients(wl, mappings.take(cols).reshape((1, len(cols))), CAL,
                                                                     fixed_dp, hw.accelerator_count[i], hw.scaleup_domain_size[i]))
        table = block_bounds(bound[key_of[i], cols][None], launch[key_of[i], cols], hw.clock_hz[i:i + 1], x[i:i + 1],
                                 l1, l2, dov, window)[0]
        rows = np.full(len(cols), i)
        comm = np.maximum(np.einsum("ij,ij->i", x[rows], l1), np.einsum("ij,ij->i", x[rows], l2))
        refined = refined_bounds(hw, wl, mappings, fixed_dp, CAL, classes, rows, cols, comm,
                                     np.einsum("ij,ij->i", x[rows], dov), window)
        step = res.step_time_s[i, cols]
        assert np.all(refined <= step * (1 + 1e-8))  # rounding ~1e-10; the search's margin is 1e-6
        assert np.all(refined >= table * (1 - 1e-8))
        checked += len(cols)
    assert checked > 0


@pytest.mark.parametrize(("workload", "n"), [("deepseek-v3", 60), ("mixtral-8x7b", 60), ("llama3-70b", 300)])
def test_exhaustive_answer_batch_after_batch_at_one_count(workload, n):
    """Three batches in one process (the cache warming) at one accelerator count: each equals the
    exhaustive search, for the step time and for the memory objective."""
    wl = load_workload(workload)
    mappings, fixed_dp = enumerate_mappings(wl)
    key_tables.clear_cache()
    for seed in (31, 32, 33):
        hw = _one_count(n, seed)
        for objective in ("step_time_s", "memory_per_accelerator_bytes") if seed == 31 else ("step_time_s",):
            want = _best_mappings(TrainingJobKind(wl, CAL), hw, mappings, objective, TECH)
            got = ps.best_mapping_indices(hw, wl, mappings, fixed_dp, CAL, objective)
            np.testing.assert_array_equal(got, want)
