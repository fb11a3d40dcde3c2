"""Random accelerator candidates for the best-mapping search tests (tests/model): wide perturbations
of H100-SXM, and the pruned search's per-key tables of a candidate set."""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.training import comm_bound, key_tables
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.search_bounds import block_bounds
from archsweep.model.training.step import training_step
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

TECH = load_technology()
CAL = load_calibration()


def random_candidates(n: int, seed: int) -> HardwareArrays:
    """Wide random perturbations of H100-SXM: compute, clock, HBM, both networks (the scale-out's achieved
    share too), topologies, counts."""
    rng = np.random.default_rng(seed)
    base = get_accelerator("H100-SXM").design
    cols = {k: np.full(n, v, dtype=object if isinstance(v, str) else float) for k, v in base.as_dict().items()}
    cols["compute_units"] = rng.integers(32, 300, n).astype(float)
    cols["matrix_flops_per_cycle_per_unit_fp8"] = rng.choice([0.0, 4096.0, 8192.0], n)
    cols["matrix_efficiency"] = rng.uniform(0.5, 0.95, n)
    cols["clock_hz"] = rng.uniform(0.8e9, 2.5e9, n)
    cols["hbm_stacks"] = rng.integers(2, 9, n).astype(float)
    cols["hbm_bw_per_stack_bytes_per_s"] = rng.uniform(200e9, 2e12, n)
    cols["hbm_capacity_per_stack_bytes"] = rng.choice([8e9, 16e9, 24e9, 36e9], n)
    cols["scaleup_bw_bytes_per_s"] = rng.uniform(50e9, 1.8e12, n)
    cols["scaleout_bw_bytes_per_s"] = rng.uniform(12.5e9, 400e9, n)
    cols["scaleup_latency_s"] = rng.uniform(0.5e-6, 5e-6, n)
    cols["scaleout_latency_s"] = rng.uniform(2e-6, 20e-6, n)
    cols["scaleup_domain_size"] = rng.choice([4.0, 8.0, 16.0, 64.0, 72.0], n)
    cols["scaleup_topology"] = rng.choice(["switched", "torus2d", "torus3d"], n).astype(object)
    cols["scaleout_topology"] = rng.choice(["rail_optimized", "fat_tree", "dragonfly", "torus3d"], n).astype(object)
    cols["scaleout_oversubscription"] = rng.choice([1.0, 2.0, 4.0], n)
    cols["accelerator_count"] = rng.choice([64.0, 512.0, 1024.0, 2048.0, 4096.0, 6144.0], n)
    cols["scaleout_achieved_share"] = rng.uniform(0.3, 1.0, n)  # drawn last: the draws above are unchanged
    return HardwareArrays.from_columns(cols)


def h100_stage(name: str, count: int, split: bool) -> tuple:
    """(workload ``name`` with the embedding / loss pipeline split ``split``, its enumerated mappings,
    ``stage_compute`` of them on ``count`` H100-SXM): the bubble tests' case (test_1f1b_bubble.py,
    test_interleaved_bubble.py)."""
    from archsweep.model.training.mapping import enumerate_mappings
    from archsweep.model.training.step import stage_compute

    wl = load_workload(name)
    wl = replace(wl, training=replace(wl.training, embedding_loss_in_pipeline_split=split))
    mappings, fixed_dp = enumerate_mappings(wl)
    hw = HardwareArrays.from_designs([get_accelerator("H100-SXM").design.replace(accelerator_count=count)])
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return wl, mappings, stage_compute(hw, wl, mappings, CAL, fixed_dp)


def candidate_key_tables(hw: HardwareArrays, wl: Workload, mappings: MappingArrays,
                         fixed_dp: float | None, cal: Calibration = CAL) -> tuple[np.ndarray, ...]:
    """The pruned search's per-key tables for ``hw`` (each key's first candidate as its row):
    (key_of, bound, launch, valid, total), ``key_of[i]`` the table row of candidate i."""
    keys, key_of = key_tables.keys(hw, wl.training.precision == "fp8")
    first = np.zeros(len(keys), dtype=np.int64)
    first[key_of[::-1]] = np.arange(len(key_of))[::-1]
    return (key_of, *key_tables.per_key_tables(hw, wl, mappings, fixed_dp, cal, keys, first))


WORKLOAD_VARIANTS = [("llama3-70b", "base"), ("llama3-70b", "lora"), ("mixtral-8x7b", "fp8"),
                     ("deepseek-v3", "base"), ("deepseek-v3", "modules")]
"""Dense, LoRA, FP8 MoE, DeepSeek-V3 and module-recompute cases for the step-equality tests."""


def assert_bound_below_step(wl: Workload, mappings: MappingArrays, fixed_dp: float | None, cal: Calibration,
                            hw: HardwareArrays) -> None:
    """The pruned search's lower bound (comm_bound.coefficients + search_bounds.block_bounds over the key tables) is
    <= training_step's step time on every valid (candidate, mapping) pair of ``hw`` x ``mappings``, and some pair is
    valid (so the check is not empty)."""
    key_of, bound, launch, _, _ = candidate_key_tables(hw, wl, mappings, fixed_dp, cal)
    mp2 = mappings.reshape((1, len(mappings)))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        res = training_step(HardwareArrays(**{k: v[:, None] for k, v in hw.columns().items()}), wl, mp2, cal, fixed_dp)
    x = comm_bound.features(hw, cal)
    checked = 0
    for i in range(len(hw.accelerator_count)):
        l1, l2, dov, window = comm_bound.coefficients(wl, mp2, cal, fixed_dp, hw.accelerator_count[i],
                                                      hw.scaleup_domain_size[i])
        lb = block_bounds(bound[key_of[i]][None], launch[key_of[i]][None], hw.clock_hz[i:i + 1], x[i:i + 1],
                          l1[0], l2[0], dov[0], window[0])[0]
        ok = res.valid[i]
        assert np.all(lb[ok] <= res.step_time_s[i][ok] * (1 + 1e-8))
        checked += int(ok.sum())
    assert checked > 0


def workload_variant(name: str, variant: str) -> Workload:
    """A shipped workload with one training setting changed: ``fp8`` (precision), ``lora`` (rank-16 LoRA
    fine-tuning), ``modules`` (module-level recompute of core attention, layernorm, MLP and MoE activation);
    ``base`` as shipped."""
    wl = load_workload(name)
    if variant == "fp8":
        return replace(wl, training=replace(wl.training, precision="fp8"))
    if variant == "lora":
        return replace(wl, training=replace(wl.training, mode="finetune_lora", lora_rank=16))
    if variant == "modules":
        return replace(wl, training=replace(wl.training, recompute_modules=("core_attn", "layernorm", "mlp", "moe_act")))
    return wl


def assert_fields_equal(a: Any, b: Any, *, broadcast_nested: bool = False) -> None:
    """Every field of the dataclass ``a`` (a model result: ``StepResult``, ``StageCompute``) equals the one of
    ``b`` element for element (``np.testing.assert_array_equal``: no tolerance, NaN equal to NaN); a field that
    is itself a dataclass (memory, layer costs) field by field, broadcast against each other where
    ``broadcast_nested`` (a per-class constant against its per-pair array). The message names the field."""
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if not is_dataclass(x):
            np.testing.assert_array_equal(x, y, err_msg=f.name)
            continue
        for g in fields(x):
            u, v = getattr(x, g.name), getattr(y, g.name)
            if broadcast_nested:
                u, v = np.broadcast_arrays(u, v)
            np.testing.assert_array_equal(u, v, err_msg=f"{f.name}.{g.name}")


def random_pairs(mappings: MappingArrays, candidates: int, pairs: int, seed: int
                 ) -> tuple[HardwareArrays, np.ndarray, np.ndarray, np.random.Generator]:
    """:func:`random_candidates` (``candidates`` of them, ``seed``) and ``pairs`` random (candidate row, mapping
    column) pairs of them and ``mappings``, drawn with a generator seeded ``seed + 1``; that generator is
    returned too, for further draws."""
    hw = random_candidates(candidates, seed=seed)
    rng = np.random.default_rng(seed + 1)
    rows, cols = rng.integers(0, candidates, pairs), rng.integers(0, len(mappings), pairs)
    return hw, rows, cols, rng


def pair_arrays(hw: HardwareArrays, mappings: MappingArrays, rows: np.ndarray,
                cols: np.ndarray) -> tuple[HardwareArrays, MappingArrays]:
    """The hardware rows ``rows`` of ``hw`` and the mappings ``cols`` of ``mappings``: one element per pair."""
    return HardwareArrays(**{k: np.asarray(v)[rows] for k, v in hw.columns().items()}), mappings.take(cols)
