"""A study searches with the TP communication overlap its software stack can run (issue 10, s12-correct).

Megatron-Core's ``--tp-comm-overlap`` (TransformerEngine userbuffers; NVIDIA/Megatron-LM @d98e8a64dd
megatron/training/arguments.py L1441-1442: only with sequence parallelism) is a stack feature, like flash
attention: validation keeps what a row states (s11-lead), and a study's enumeration now offers it on every
TP + sequence-parallel mapping of a stack whose ``tp_comm_overlap`` is true (data/calibration/software_stacks.yaml).
Only the overlapped variant is offered: the model prices it as ``tp_overlap_residual`` of the same exposed TP
time and charges it no memory, so it never makes a mapping slower or bigger (checked here on every mapping)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.stack_parallelism import load_stack_parallelism
from archsweep.load.workloads import load_workload
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.step import training_step
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()


def _mappings(stack: str | None, workload: str = "llama3-70b", strategy: str | None = None, overlap: bool = True):
    wl = load_workload(workload)
    parallelism = None if stack is None else load_stack_parallelism(stack)
    if parallelism is not None and not overlap:
        parallelism = replace(parallelism, tp_overlap=False)
    kind = TrainingJobKind(wl, CAL, strategy, parallelism)
    return wl, kind.mappings(), kind.fixed_dp


@pytest.mark.parametrize("stack", ["megatron-core", "megatron-core-flex", "megatron-core-fa2", "megatron-core-fa2-fp8"])
def test_megatron_core_stacks_offer_the_overlap_on_tp_with_sequence_parallel(stack):
    assert load_stack_parallelism(stack).tp_overlap
    _, with_stack, _ = _mappings(stack)
    _, without, _ = _mappings(stack, overlap=False)
    _, bare, _ = _mappings(None)
    assert len(with_stack) == len(without)  # the overlapped variant replaces the plain one: no more mappings
    for name in ("tp", "pp", "cp", "vpp", "micro_batch", "recompute", "zero_stage", "sequence_parallel"):
        np.testing.assert_array_equal(getattr(with_stack, name), getattr(without, name))
    tp_sp = (with_stack.tp > 1) & (with_stack.sequence_parallel > 0)
    assert tp_sp.any() and np.all(with_stack.tp_overlap[tp_sp] == 1.0)
    assert np.all(with_stack.tp_overlap[~tp_sp] == 0.0)
    assert np.all(without.tp_overlap == 0.0) and np.all(bare.tp_overlap == 0.0)  # no stack (validation): the row's statement or off


@pytest.mark.parametrize("stack", ["megatron-2021", "megatron-deepspeed", "deepspeed-zero3", "pytorch-fsdp", "xla-tpu"])
def test_stacks_without_userbuffers_keep_it_off(stack):
    assert not load_stack_parallelism(stack).tp_overlap
    _, mp, _ = _mappings(stack)
    assert np.all(mp.tp_overlap == 0.0)


def test_not_without_sequence_parallel_and_a_stated_value_is_kept():
    _, no_sp, _ = _mappings("megatron-core", strategy="sp=off")
    assert (no_sp.tp > 1).any() and np.all(no_sp.tp_overlap == 0.0)
    _, off, _ = _mappings("megatron-core", strategy="tp_overlap=off")
    assert np.all(off.tp_overlap == 0.0)


@pytest.mark.parametrize(("workload", "count"), [("llama3-70b", 512), ("mixtral-8x7b", 256)])
def test_overlap_never_costs_more_in_the_model(workload, count):
    wl, mp, fixed_dp = _mappings("megatron-core", workload)
    assert (mp.tp_overlap > 0).any() and 0.0 <= CAL.tp_overlap_residual <= 1.0
    hw = HardwareArrays.from_designs([get_accelerator("H100-SXM").design.replace(accelerator_count=count)])
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        on = training_step(hw, wl, mp, CAL, fixed_dp)
        off = training_step(hw, wl, replace(mp, tp_overlap=np.zeros_like(mp.tp_overlap)), CAL, fixed_dp)
    ok = np.isfinite(off.step_time_s)
    assert ok.any()
    assert np.all(on.step_time_s[ok] <= off.step_time_s[ok] * (1 + 1e-12))
    assert np.all(on.tp_comm_exposed_s[ok] <= off.tp_comm_exposed_s[ok] * (1 + 1e-12))
    assert (on.step_time_s[ok] < off.step_time_s[ok]).any()
    np.testing.assert_array_equal(on.memory.total_bytes, off.memory.total_bytes)


def test_a_bad_or_missing_flag_names_file_and_key(tmp_path, monkeypatch):
    import shutil

    import yaml

    from archsweep.load.paths import data_dir
    from archsweep.spec.errors import InputError

    shutil.copytree(data_dir() / "calibration", tmp_path / "calibration")
    path = tmp_path / "calibration" / "software_stacks.yaml"
    doc = yaml.safe_load(path.read_text())
    monkeypatch.setenv("ARCHSWEEP_DATA_DIR", str(tmp_path))
    try:
        doc["pytorch-fsdp"]["tp_comm_overlap"]["value"] = "yes"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        load_stack_parallelism.cache_clear()
        with pytest.raises(InputError) as err:
            load_stack_parallelism("pytorch-fsdp")
        assert "software_stacks.yaml" in str(err.value) and "pytorch-fsdp.tp_comm_overlap.value" in str(err.value)
        assert "true or false" in str(err.value)
        del doc["pytorch-fsdp"]["tp_comm_overlap"]  # a stack with its own block and no based_on must state it
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        load_stack_parallelism.cache_clear()
        with pytest.raises(InputError, match="pytorch-fsdp.tp_comm_overlap"):
            load_stack_parallelism("pytorch-fsdp")
        doc = yaml.safe_load((data_dir() / "calibration" / "software_stacks.yaml").read_text())
        del doc["megatron-2021"]["tp_comm_overlap"]  # a based_on stack without it inherits megatron-core's
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        load_stack_parallelism.cache_clear()
        assert load_stack_parallelism("megatron-2021").tp_overlap
    finally:
        load_stack_parallelism.cache_clear()
