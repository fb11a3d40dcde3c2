"""Issue 10: a software stack's supported parallelism is data (software_stacks.yaml, sourced), and
the validation searches (validate's unstated keys, the optimism search) never pick what the row's
stack cannot run."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml
from measured_runs import runs, runs_by_id

from archsweep.load.calibration import load_calibration, software_stacks
from archsweep.load.paths import data_dir
from archsweep.load.stack_parallelism import load_stack_parallelism
from archsweep.load.workloads import load_workload
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.memory import _stage_memory, first_stage_layers, memory_per_accelerator
from archsweep.spec.errors import InputError
from archsweep.validation.optimism import _megatron_2021_pipelines, search_optimism
from archsweep.validation.run import plan_row


def test_every_stack_states_its_parallelism_and_fsdp_is_fsdp_only():
    for stack in software_stacks():
        sp = load_stack_parallelism(stack)
        assert [k for k, _ in sp.allowed] == ["tp", "pp", "cp", "ep", "vpp", "zero", "recompute"]
    fsdp = load_stack_parallelism("pytorch-fsdp")
    for key in ("tp", "pp", "cp", "ep", "vpp"):
        assert fsdp.values(key) == (1,)
    assert fsdp.values("zero") == (0, 2, 3) and fsdp.values("recompute") == ("none", "full")
    # Design studies on megatron-core keep the whole space.
    assert all(v is None for _, v in load_stack_parallelism("megatron-core").allowed)
    assert load_stack_parallelism("megatron-core-flex").allowed == load_stack_parallelism("megatron-core").allowed


def test_strategies_fix_open_keys_and_keep_stated_ones():
    fsdp = load_stack_parallelism("pytorch-fsdp")
    out = fsdp.strategies("tp=1,pp=1,mb=4,zero=3,fa=on")
    assert out == ("tp=1,pp=1,mb=4,zero=3,fa=on,cp=1,ep=1,vpp=1,recompute=none",
                   "tp=1,pp=1,mb=4,zero=3,fa=on,cp=1,ep=1,vpp=1,recompute=full")
    assert len(fsdp.strategies("fa=on")) == 3 * 2
    assert load_stack_parallelism("megatron-core").strategies("tp=2") == ("tp=2",)


def test_a_bad_parallelism_entry_names_file_key_and_allowed(tmp_path, monkeypatch):
    shutil.copytree(data_dir() / "calibration", tmp_path / "calibration")
    path = tmp_path / "calibration" / "software_stacks.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["pytorch-fsdp"]["parallelism"]["zero"]["value"] = [1, 5]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.setenv("ARCHSWEEP_DATA_DIR", str(tmp_path))
    load_stack_parallelism.cache_clear()
    try:
        with pytest.raises(InputError) as err:
            load_stack_parallelism("pytorch-fsdp")
        text = str(err.value)
        assert "software_stacks.yaml" in text and "pytorch-fsdp.parallelism.zero.value" in text and "0..3" in text
        del doc["pytorch-fsdp"]["parallelism"]["tp"]["source"]
        doc["pytorch-fsdp"]["parallelism"]["zero"]["value"] = [2, 3]
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        load_stack_parallelism.cache_clear()
        with pytest.raises(InputError, match="pytorch-fsdp.parallelism.tp.source"):
            load_stack_parallelism("pytorch-fsdp")
    finally:
        load_stack_parallelism.cache_clear()


_MPT_080 = "mpt_080_30b_a100_80gb_8192_8gpu_amp_bf16"


def test_fsdp_rows_never_get_a_mapping_their_stack_cannot_run():
    rows = runs(lambda r: r["run_id"] in (_MPT_080, "mpt_020_70b_h100_80gb_2048_32gpu_amp_bf16",
                                          "mpt_149_13b_a100_40gb_2048_8gpu_bf16"))
    results = search_optimism(rows)
    assert len(results) == 3
    for r in results:
        chosen = dict(p.split("=") for p in r.best_mapping.split(","))
        assert float(chosen["tp"]) == float(chosen["pp"]) == float(chosen["cp"]) == float(chosen["vpp"]) == 1.0
        assert float(chosen["zero_stage"]) in (0.0, 2.0, 3.0) and chosen["recompute"] in ("none", "full")
        # Before the stack's parallelism was data, these picked TP x PP / TP x CP: 1.35-1.52 x measured.
        if r.run_id == _MPT_080:
            # The one exception: its stated mapping is itself +32 % in-sample (since s9-dense; the 30B
            # 8192-token outlier of docs/model-accuracy.md s7-zero3), so best / measured exceeds 1.30 on the
            # stated mapping alone; the search must add nothing to it.
            assert r.best_over_given < 1.01, r
        else:
            assert r.best_over_measured < 1.30, r


def test_validate_searches_an_unstated_key_within_the_stack():
    row = runs_by_id()["mpt_149_13b_a100_40gb_2048_8gpu_bf16"]
    plan = plan_row({**row, "fsdp_zero": "", "act_recompute": ""})
    # zero defaults to FULL_SHARD for llm-foundry (rows.py); the unstated recompute is searched
    # over what FSDP offers (none, full), never selective.
    assert sorted(s.split("recompute=")[1] for s in plan.strategies) == ["full", "none"]
    assert all("zero=3" in s for s in plan.strategies)


def test_megatron_2021_pipelines_follow_that_code():
    pipes = _megatron_2021_pipelines(105)  # MT-NLG 530B: SC21 / Korthikanti run pp 35
    assert (35, 1) in pipes and (3, 1) in pipes and all(105 % pp == 0 for pp, _ in pipes)
    pipes = _megatron_2021_pipelines(40)
    assert (4, 2) in pipes and (4, 5) in pipes and (4, 4) not in pipes and (16, 1) not in pipes
    assert not [v for pp, v in pipes if pp <= 2 and v > 1]


def _mapping(**kw: float) -> MappingArrays:
    base = dict(tp=2.0, pp=4.0, cp=1.0, ep=1.0, vpp=1.0, micro_batch=1.0, recompute=0.0, zero_stage=1.0,
                sequence_parallel=1.0, flash_attention=1.0, tp_overlap=0.0, dp_overlap=1.0)
    base.update(kw)
    return MappingArrays(**{k: np.asarray(v, dtype=np.float64) for k, v in base.items()})


@pytest.mark.parametrize("workload", ["llama3-8b", "mixtral-8x7b", "gpt3-175b"])
@pytest.mark.parametrize("recompute", [0.0, 2.0])
@pytest.mark.parametrize("vpp", [1.0, 2.0])
def test_memory_never_decreases_with_micro_batch_or_micro_batches_in_flight(workload, recompute, vpp):
    wl, cal = load_workload(workload), load_calibration()
    dp = np.asarray(8.0)
    by_mb = [float(memory_per_accelerator(wl, _mapping(micro_batch=mb, recompute=recompute, vpp=vpp), dp,
                                          np.asarray(16.0), cal).total_bytes) for mb in (1, 2, 4, 8)]
    assert all(b > a for a, b in zip(by_mb, by_mb[1:], strict=False))
    by_m = [float(memory_per_accelerator(wl, _mapping(recompute=recompute, vpp=vpp), dp, np.asarray(m), cal).total_bytes)
            for m in (1, 2, 4, 8, 16, 64)]
    assert all(b >= a for a, b in zip(by_m, by_m[1:], strict=False))
    # The first stage's in-flight micro-batches grow with m; the fullest stage may be the last (one micro-batch and
    # the logits: s14-fsdpmoe), which does not, so the strict rise is the first stage's.
    mp = _mapping(recompute=recompute, vpp=vpp)
    first = [float(_stage_memory(wl, mp, dp, np.asarray(m), cal, first_stage_layers(wl, mp), "first").total_bytes)
             for m in (1, 64)]
    assert first[1] > first[0] and by_m[-1] >= first[1]
