"""TP communication overlap only where the stack and the job's recipe can run it, and only with sequence
parallelism (review s12 findings 1 and 2, branch s12-m1).

Megatron-LM asserts sequence parallelism for ``--tp-comm-overlap`` (NVIDIA/Megatron-LM @d98e8a64dd
megatron/training/arguments.py L1441-1442); stacks with ``tp_comm_overlap`` false (megatron-2021, megatron-deepspeed,
xla-tpu, pytorch-fsdp: data/calibration/software_stacks.yaml) cannot overlap at all; the Megatron-Bridge NVFP4 recipes
switch it off (``tp_comm_overlap`` false on nvfp4 in data/calibration/low_precision_recipes.yaml)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.low_precision import load_low_precision_recipes
from archsweep.load.stack_parallelism import job_parallelism, load_stack_parallelism
from archsweep.load.workloads import load_workload
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.mapping import enumerate_mappings, restrict_to_stack
from archsweep.spec.errors import InputError

CAL = load_calibration()
WL = load_workload("llama3-70b")


def _kind(stack: str, strategy: str | None) -> TrainingJobKind:
    return TrainingJobKind(WL, CAL, strategy, load_stack_parallelism(stack))


@pytest.mark.parametrize("stack", ["megatron-2021", "megatron-deepspeed", "xla-tpu", "pytorch-fsdp"])
def test_a_fixed_overlap_is_refused_on_a_stack_without_it(stack: str) -> None:
    assert not load_stack_parallelism(stack).tp_overlap
    with pytest.raises(InputError, match=r"strategy\.tp_overlap.*tp_overlap=0"):
        _kind(stack, "tp_overlap=1").mappings()
    assert not np.any(_kind(stack, None).mappings().tp_overlap > 0)


@pytest.mark.parametrize("stack", ["megatron-2021", "xla-tpu"])
def test_restrict_to_stack_drops_overlapped_mappings_of_a_stack_without_it(stack: str) -> None:
    mappings, _ = enumerate_mappings(WL, {"tp_overlap": 1.0})
    assert np.any(mappings.tp_overlap > 0)
    kept = restrict_to_stack(mappings, load_stack_parallelism(stack))
    assert len(kept) and not np.any(kept.tp_overlap > 0)


def test_overlap_with_sequence_parallelism_off_is_refused() -> None:
    with pytest.raises(InputError, match=r"strategy\.tp_overlap.*with sp on"):
        enumerate_mappings(WL, {"tp": 8.0, "tp_overlap": 1.0, "sequence_parallel": 0.0})
    with pytest.raises(InputError, match="with sp on"):
        _kind("megatron-core", "tp=8,tp_overlap=1,sp=0").mappings()
    # tp 1: nothing to overlap, nothing refused
    mappings, _ = enumerate_mappings(WL, {"tp": 1.0, "tp_overlap": 1.0, "sequence_parallel": 0.0})
    assert len(mappings) and not np.any(mappings.tp_overlap > 0)


def test_a_fixed_overlap_runs_only_with_sequence_parallelism() -> None:
    mappings = _kind("megatron-core", "tp_overlap=1").mappings()
    over = mappings.tp_overlap > 0
    assert np.any(over) and np.all(mappings.sequence_parallel[over] > 0) and np.all(mappings.tp[over] > 1)


def test_nvfp4_recipe_takes_the_overlap_away_from_a_study() -> None:
    recipes = load_low_precision_recipes()
    assert not recipes["nvfp4"].tp_comm_overlap
    assert all(recipes[name].tp_comm_overlap for name in ("delayed", "current", "mxfp8"))
    nvfp4 = replace(WL.training, precision="fp8", low_precision_recipe="nvfp4")
    mxfp8 = replace(WL.training, precision="fp8", low_precision_recipe="mxfp8")
    assert not job_parallelism("megatron-core", nvfp4).tp_overlap
    assert job_parallelism("megatron-core", mxfp8).tp_overlap and job_parallelism("megatron-core", WL.training).tp_overlap
    assert job_parallelism("megatron-core", nvfp4).allowed == load_stack_parallelism("megatron-core").allowed
    kind = TrainingJobKind(replace(WL, training=nvfp4), CAL, None, job_parallelism("megatron-core", nvfp4))
    assert not np.any(kind.mappings().tp_overlap > 0)
    with pytest.raises(InputError, match=r"strategy\.tp_overlap"):
        TrainingJobKind(replace(WL, training=nvfp4), CAL, "tp_overlap=1",
                        job_parallelism("megatron-core", nvfp4)).mappings()
