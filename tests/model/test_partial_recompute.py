"""Partial full recompute (issue 10, s19-D; Megatron-Core ``recompute_method`` / ``recompute_num_layers``):
block recompute of k layers per (virtual) pipeline stage lies between no recompute and full recompute in time and
memory, is monotone in k, and equals full recompute at k >= the stage's layers; uniform units of k layers cost the
full recompute's time and store fewer inputs; the pruned search stays exact with either method; bad values are
refused with the option's name."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from random_hardware import CAL, TECH, candidate_key_tables, random_candidates

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.job_options import job_fits_model, job_option_values
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import _exhaustive_best, evaluate_design_batch
from archsweep.model.training import comm_bound
from archsweep.model.training import pruned_search as ps
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.mapping import enumerate_mappings
from archsweep.model.training.search_bounds import block_bounds
from archsweep.model.training.step import training_step
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.strategy import parse_strategy, strategy_problems
from archsweep.spec.training import TrainingJob

TECH_, CAL_ = load_technology(), load_calibration()
B200 = get_accelerator("B200")
KEYS = ("step_time_s", "compute_time_s", "recompute_time_s", "tp_comm_exposed_s", "memory_activations_bytes",
        "memory_recompute_working_bytes")


def _run(model: str, rc: str, method: str = "uniform", k: int = 0, *, tp: int = 2, pp: int = 4, vpp: int = 1,
         ep: int = 1) -> dict[str, float]:
    wl = load_workload(model)
    wl = replace(wl, training=replace(wl.training, seq_len=4096, global_batch_seqs=64, recompute_method=method,
                                      recompute_num_layers=k))
    hw = HardwareArrays.from_designs([B200.design.replace(accelerator_count=64)])
    out = evaluate_design_batch(hw, wl, tech=TECH_, calibration=CAL_, infeasible="least_violating",
                                strategy=f"tp={tp},pp={pp},vpp={vpp},cp=1,ep={ep},mb=1,recompute={rc},zero=1,sp=on,fa=on,"
                                         "tp_overlap=off,dp_overlap=on")
    return {key: float(np.ravel(out[key])[0]) for key in KEYS}


@pytest.mark.parametrize(("model", "ep"), [("llama3-70b", 1), ("mixtral-8x7b", 8)])
def test_block_lies_between_none_and_full_and_is_monotone(model, ep):
    """llama3-70b / Mixtral at pp 4: 20 / 8 layers per stage. Time (step, recompute, exposed TP) grows with k,
    stored activations shrink; k = the stage's layers (and more) is full recompute, to the bit."""
    none, full = _run(model, "none", ep=ep), _run(model, "full", ep=ep)
    stage = -(-load_workload(model).layers // 4)
    ks = [1, stage // 4, stage // 2, stage - 1]
    runs = [_run(model, "full", "block", k, ep=ep) for k in ks]
    for run in runs:
        assert none["step_time_s"] < run["step_time_s"] < full["step_time_s"]
        assert 0.0 < run["recompute_time_s"] < full["recompute_time_s"]
        assert full["memory_activations_bytes"] < run["memory_activations_bytes"] < none["memory_activations_bytes"]
        assert run["memory_recompute_working_bytes"] == full["memory_recompute_working_bytes"]  # one layer at a time
    for a, b in zip(runs, runs[1:], strict=False):
        assert a["step_time_s"] < b["step_time_s"] and a["recompute_time_s"] < b["recompute_time_s"]
        assert a["tp_comm_exposed_s"] < b["tp_comm_exposed_s"]
        assert a["memory_activations_bytes"] > b["memory_activations_bytes"]
    for k in (stage, stage + 3, load_workload(model).layers):
        assert _run(model, "full", "block", k, ep=ep) == full
    assert _run(model, "none", "block", 3, ep=ep) == none  # the method only shapes recompute = full


def test_block_recompute_time_is_the_recomputed_share():
    """The recompute time is k / L_vs of full recompute's (every layer alike at pp 1: llama3-70b's 80 layers), per
    unit of compute time (the power-capped clock differs between the two jobs: both scale with it, all but the
    kernel launch overheads, a few 1e-6 of it)."""
    full = _run("llama3-70b", "full", tp=8, pp=1)
    block = _run("llama3-70b", "full", "block", 21, tp=8, pp=1)
    assert block["recompute_time_s"] / block["compute_time_s"] == pytest.approx(
        21 / 80 * full["recompute_time_s"] / full["compute_time_s"], rel=1e-4)  # launch overheads do not scale with the clock


def test_block_counts_per_virtual_stage():
    """Megatron-Core counts k per TransformerBlock (virtual stage): with vpp 2 a stage of 20 holds two blocks of 10,
    so k = 10 recomputes every layer and k = 5 half of them."""
    full = _run("llama3-70b", "full", pp=4, vpp=2)
    assert _run("llama3-70b", "full", "block", 10, pp=4, vpp=2) == full
    half = _run("llama3-70b", "full", "block", 5, pp=4, vpp=2)
    assert half["recompute_time_s"] / half["compute_time_s"] == pytest.approx(
        0.5 * full["recompute_time_s"] / full["compute_time_s"], rel=1e-4)  # launch overheads do not scale with the clock


def test_uniform_units_cost_full_time_and_store_fewer_inputs():
    """Uniform units of k layers: the full recompute's time; one stored input per unit (fewer bytes), the unit's
    k layers re-materialised together (a larger working set); k = 1 is the default."""
    full = _run("llama3-70b", "full")
    assert _run("llama3-70b", "full", "uniform", 1) == full
    for k in (2, 4, 20):
        unit = _run("llama3-70b", "full", "uniform", k)
        assert unit["step_time_s"] == full["step_time_s"] and unit["recompute_time_s"] == full["recompute_time_s"]
        assert unit["memory_activations_bytes"] < full["memory_activations_bytes"]
        assert unit["memory_recompute_working_bytes"] == pytest.approx(k * full["memory_recompute_working_bytes"])


def _block_case(workload: str, method: str, k: int, n: int) -> tuple:
    wl = load_workload(workload)
    return replace(wl, training=replace(wl.training, recompute_method=method, recompute_num_layers=k)), \
        random_candidates(n, seed=11)


@pytest.mark.parametrize(("workload", "method", "k", "n"), [("llama3-70b", "block", 7, 60), ("mixtral-8x7b", "block", 3, 12),
                                                           ("llama3-70b", "uniform", 4, 30)])
@pytest.mark.parametrize("objective", ["step_time_s", "memory_per_accelerator_bytes"])
def test_pruned_search_stays_exact(workload, method, k, n, objective):
    """The pruned search's bound charges the same recomputed share (comm_bound), so it returns the exhaustive
    search's mapping with a partial recompute too."""
    wl, hw = _block_case(workload, method, k, n)
    mappings, fixed_dp = enumerate_mappings(wl, tp_overlap=True)
    want = _exhaustive_best(TrainingJobKind(wl, CAL), hw, mappings, (objective,), TECH)[objective]
    assert np.array_equal(ps.best_mapping_indices(hw, wl, mappings, fixed_dp, CAL, objective), want)


@pytest.mark.parametrize(("workload", "k"), [("llama3-70b", 7), ("mixtral-8x7b", 3)])
def test_bound_is_below_every_step_time_with_block_recompute(workload, k):
    wl, hw = _block_case(workload, "block", k, 6)
    mappings, fixed_dp = enumerate_mappings(wl, tp_overlap=True)
    key_of, bound, launch, valid, total = candidate_key_tables(hw, wl, mappings, fixed_dp, CAL)
    rows = HardwareArrays(**{c: v[:, None] for c, v in hw.columns().items()})
    mp2 = mappings.reshape((1, len(mappings)))
    res = training_step(rows, wl, mp2, CAL, fixed_dp)
    x = comm_bound.features(hw, CAL)
    lb = np.empty(res.step_time_s.shape)
    for i in range(len(hw.clock_hz)):
        l1, l2, dov, window = comm_bound.coefficients(wl, mp2, CAL, fixed_dp, hw.accelerator_count[i],
                                                      hw.scaleup_domain_size[i])
        lb[i] = block_bounds(bound[key_of[i]][None], launch[key_of[i]][None], hw.clock_hz[i:i + 1], x[i:i + 1],
                             l1[0], l2[0], dov[0], window[0])[0]
    assert np.array_equal(total[key_of], res.memory.total_bytes)
    assert np.all(lb[res.valid] <= res.step_time_s[res.valid] * (1 + 1e-8))


def test_bad_values_are_refused_with_the_option_named():
    problems: list[InputError] = []
    job_option_values({"recompute_num_layers": -1}, None, "bf16", "swiglu", "f.yaml", "training", problems)
    assert [p.problem.key_path for p in problems] == ["training.recompute_num_layers"]
    problems.clear()
    job_option_values({"recompute_method": "block"}, None, "bf16", "swiglu", "f.yaml", "training", problems)
    assert [p.problem.key_path for p in problems] == ["training.recompute_num_layers"]
    assert ">= 1 with recompute_method block" in problems[0].problem.allowed
    problems.clear()
    job_option_values({"recompute_method": "blocks"}, None, "bf16", "swiglu", "f.yaml", "training", problems)
    assert "uniform, block" in problems[0].problem.allowed
    job = TrainingJob(8, 4096, recompute_method="block", recompute_num_layers=81)
    (err,) = job_fits_model(job, 80, 0, False, "llama2-70b", "f.yaml", "training")
    assert err.problem.key_path == "training.recompute_num_layers" and "80 layers" in err.problem.allowed
    with pytest.raises(InputError, match="recompute_num_layers"):
        TrainingJob(8, 4096, recompute_method="block", recompute_num_layers=0)


def test_strategy_refuses_more_layers_than_a_fixed_stage_holds():
    wl = load_workload("llama3-70b")
    wl = replace(wl, training=replace(wl.training, recompute_method="block", recompute_num_layers=21))
    assert strategy_problems(parse_strategy("tp=8,pp=4,recompute=full"), wl)[0][0] == "pp"  # 20 per stage
    assert strategy_problems(parse_strategy("tp=8,pp=2,vpp=2,recompute=full"), wl)  # 20 per virtual stage
    assert not strategy_problems(parse_strategy("tp=8,pp=2,recompute=full"), wl)
    assert not strategy_problems(parse_strategy("tp=8,pp=4,recompute=none"), wl)


@pytest.mark.parametrize("schema", ["workload", "study"])
def test_the_schemas_and_the_training_key_take_the_options(schema: str) -> None:
    """The ``training:`` keys of a model file / study entry (schema generated from the job option table), read
    by the one reader; a bad method is reported at its key path."""
    from archsweep.load.schema import load_schema
    from archsweep.load.workloads import training_job
    from archsweep.spec.errors import InputErrors

    def keyed(node: object, key: str) -> list[object]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == key] + [x for v in node.values() for x in keyed(v, key)]
        return [x for v in node for x in keyed(v, key)] if isinstance(node, list) else []

    [method] = [p for p in keyed(load_schema(schema), "recompute_method") if isinstance(p, dict)]
    [count] = [p for p in keyed(load_schema(schema), "recompute_num_layers") if isinstance(p, dict)]
    assert method["enum"] == ["uniform", "block"] and (count["type"], count["minimum"]) == ("integer", 0)
    job = training_job({"recompute_method": "block", "recompute_num_layers": 21}, base=TrainingJob(8, 8192),
                       default_seq_len=None, file="f.yaml", key="training")
    assert (job.recompute_method, job.recompute_num_layers) == ("block", 21)
    with pytest.raises((InputError, InputErrors)) as err:
        training_job({"recompute_method": "blocks"}, base=TrainingJob(8, 8192), default_seq_len=None, file="f.yaml",
                     key="training")
    problems = err.value.problems if isinstance(err.value, InputErrors) else [err.value.problem]
    assert [p.key_path for p in problems] == ["training.recompute_method"]
