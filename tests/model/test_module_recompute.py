"""Module-level selective recompute (issue 10; Megatron-Core ``recompute_modules``): the listed
modules' forward re-runs in the backward and their stored activations leave HBM, so every module list
lies between no recompute and full recompute in both time and memory; more modules never cost less
time nor keep more memory; the default ("core_attn",) is today's selective recompute."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.training.schedule import in_flight_layer_fraction
from archsweep.spec.hardware import HardwareArrays

TECH, CAL = load_technology(), load_calibration()
B200 = get_accelerator("B200")
STRATEGY = "tp={tp},pp=4,vpp=1,cp=1,ep={ep},mb=1,recompute={rc},zero=1,sp={sp}"


def _run(model: str, modules: tuple[str, ...], rc: str, *, tp: int = 2, sp: str = "on",
         precision: str | None = None) -> dict[str, float]:
    wl = load_workload(model)
    training = replace(wl.training, seq_len=4096, global_batch_seqs=64, recompute_modules=modules)
    if precision is not None:
        training = replace(training, precision=precision)
    wl = replace(wl, training=training)
    hw = HardwareArrays.from_designs([B200.design.replace(accelerator_count=64)])
    out = evaluate_design_batch(hw, wl, tech=TECH, calibration=CAL, infeasible="least_violating",
                                strategy=STRATEGY.format(tp=tp, rc=rc, sp=sp, ep=8 if wl.moe else 1))
    found = {k: float(np.ravel(out[k])[0]) for k in ("step_time_s", "recompute_time_s", "memory_activations_bytes")}
    assert all(np.isfinite(v) for v in found.values())  # least_violating: DeepSeek-V3 exceeds 64 B200s' HBM
    return found


LISTS = {
    "deepseek-v3": [("mla_up_proj",), ("moe_act",), ("layernorm",), ("mla_up_proj", "mlp"),
                    ("layernorm", "moe_act", "mla_up_proj", "mlp", "shared_experts")],
    "gpt-oss-120b": [("layernorm",), ("moe_act",), ("layernorm", "moe_act")],
    "llama3-8b": [("layernorm",), ("mlp",), ("layernorm", "mlp")],
}


@pytest.mark.parametrize("precision", ["bf16", "fp8"])
@pytest.mark.parametrize("model", sorted(LISTS))
def test_module_lists_lie_between_none_and_full(model, precision):
    none = _run(model, ("core_attn",), "none", precision=precision)
    full = _run(model, ("core_attn",), "full", precision=precision)
    assert none["recompute_time_s"] == 0.0
    for modules in LISTS[model]:
        sel = _run(model, modules, "selective", precision=precision)
        assert 0.0 < sel["recompute_time_s"] < full["recompute_time_s"], modules
        assert none["step_time_s"] < sel["step_time_s"] < full["step_time_s"], modules
        assert full["memory_activations_bytes"] < sel["memory_activations_bytes"] < none["memory_activations_bytes"], modules


@pytest.mark.parametrize("sp", ["on", "off"])
def test_more_modules_cost_more_time_and_keep_less_memory(sp):
    chain = [("mla_up_proj",), ("mla_up_proj", "moe_act"), ("mla_up_proj", "moe_act", "layernorm"),
             ("mla_up_proj", "moe_act", "layernorm", "mlp", "shared_experts")]
    runs = [_run("deepseek-v3", m, "selective", sp=sp) for m in chain]
    times = [r["recompute_time_s"] for r in runs]
    mems = [r["memory_activations_bytes"] for r in runs]
    assert all(b > a for a, b in zip(times, times[1:]))
    assert all(b < a for a, b in zip(mems, mems[1:]))


def test_layernorm_frees_the_two_norm_outputs():
    """BF16, SP off, tp 2: the QKV and MLP inputs (2 B x tokens x hidden each) stay whole on every TP
    rank without SP; output-discarding recompute of the two norms frees both, per resident layer."""
    wl = load_workload("llama3-8b")
    base = _run("llama3-8b", ("core_attn",), "selective", sp="off")
    ln = _run("llama3-8b", ("core_attn", "layernorm"), "selective", sp="off")
    # pp 4, dp 64 / (2 x 4) = 8, 8 micro-batches: the first stage's layers times the 1F1B in-flight share.
    in_flight = float(np.ravel(in_flight_layer_fraction(np.array(8.0), np.array(4.0), np.array(1.0)))[0])
    freed = base["memory_activations_bytes"] - ln["memory_activations_bytes"]
    assert freed == pytest.approx(4.0 * 4096 * wl.hidden * (wl.layers / 4) * in_flight, rel=1e-9)


def test_default_core_attn_is_todays_selective_recompute():
    """Flash attention keeps no scores: selective with the attention core re-runs nothing."""
    none = _run("llama3-8b", ("core_attn",), "none")
    sel = _run("llama3-8b", ("core_attn",), "selective")
    assert sel == none


@pytest.mark.parametrize("objective", ["step_time_s", "memory_per_accelerator_bytes"])
def test_pruned_search_stays_exact_with_a_module_list(objective):
    """The module time and memory enter training_step's own recompute and memory arrays, which the pruned
    search's bounds and feasibility tables are built from: same best mapping as the exhaustive search."""
    from random_hardware import random_candidates

    from archsweep.model.driver import _best_mappings
    from archsweep.model.training import pruned_search as ps
    from archsweep.model.training.job_kind import TrainingJobKind
    from archsweep.model.training.mapping import enumerate_mappings

    wl = load_workload("deepseek-v3")
    wl = replace(wl, training=replace(wl.training, recompute_modules=("layernorm", "moe_act", "mla_up_proj", "mlp")))
    mappings, fixed_dp = enumerate_mappings(wl, {"recompute": 1.0})  # the default space never tries selective
    assert np.all(mappings.recompute == 1) and len(mappings.recompute) > 1000
    hw = random_candidates(40, seed=3)
    want = _best_mappings(TrainingJobKind(wl, CAL), hw, mappings, objective, TECH)
    got = ps.best_mapping_indices(hw, wl, mappings, fixed_dp, CAL, objective)
    assert np.array_equal(got, want)
