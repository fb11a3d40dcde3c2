"""One path for a catalog part's measured physics (issue 10): ``archsweep eval``, design studies and
``archsweep validate`` evaluate one FP8 job on one part with the same calibration
(archsweep.load.part_physics.job_calibration)."""

from __future__ import annotations

import copy
import csv
import math
from typing import Any

import numpy as np
import pytest

from archsweep.candidates.evaluate import evaluation_columns, study_workload
from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.low_precision import load_low_precision_rates, load_low_precision_recipes
from archsweep.load.part_physics import FP8_PARAM_BYTES, job_calibration
from archsweep.load.paths import data_dir
from archsweep.load.study import parse_study
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload, training_job
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.training import TrainingJob
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import evaluate_plan, plan_row, validate_rows
from archsweep.whatif import WorkloadOverrides, apply_overrides, what_if

CSV = data_dir() / "validation" / "training_runs.csv"
CAL = load_calibration()


def _row(run_id: str) -> dict[str, str]:
    with CSV.open(newline="") as fh:
        return next(r for r in csv.DictReader(fh) if r["run_id"] == run_id)


@pytest.mark.parametrize(("run_id", "stem"), [
    ("mbridge_26.02_DGX-H100_LLAMA3-70B_FP8_64", "llama3-70b"),      # Hopper: TN-only FP8, FP8 MAMF 70.9 %
    ("mbridge_25.11_DGX-B200_LLAMA3-8B_FP8-CS_8", "llama3-8b"),      # Blackwell: any-layout FP8, current scaling
])
def test_eval_of_a_catalog_fp8_job_equals_validation(run_id: str, stem: str) -> None:
    """Before job_calibration eval ran FP8 GEMMs at the BF16 efficiency and without the recipe's casts:
    step time -9.2 % (H100 row) and -5.3 % (B200 row) against validate on the same mapping. The row is compared
    at its stack's gradient buffer (``grad_sync_dtype`` cleared): eval has no option for the BF16 buffer the
    Megatron-Bridge rows state since s18-A3, so it runs the stack's FP32 one."""
    row = dict(_row(run_id), grad_sync_dtype="")
    plan = plan_row(row)
    job = plan.workload.training
    assert job.precision == "fp8" and job.low_precision_recipe == "current"
    overrides = WorkloadOverrides(global_batch_seqs=job.global_batch_seqs, seq_len=job.seq_len, precision="fp8",
                                  low_precision_recipe=job.low_precision_recipe, fp8_params=job.fp8_params)
    # the model file with the row's job is the row's workload (up to its name and run length)
    wl = apply_overrides(load_workload(stem), overrides)
    assert wl.architecture.layers == plan.workload.architecture.layers and wl.training.low_precision_recipe == "current"
    stack, tech, cache = calibration_stack(row), load_technology(), {}
    validated = min((evaluate_plan(plan, s, cache, tech, load_calibration(stack=stack)) for s in plan.strategies),
                    key=lambda r: float(np.ravel(r["step_time_s"])[0]))
    evals = [what_if(stem, plan.accelerator, plan.count, s, overrides, software=stack) for s in plan.strategies]
    best = min(evals, key=lambda r: r["step_time_s"])
    assert best["step_time_s"] == pytest.approx(float(np.ravel(validated["step_time_s"])[0]), rel=1e-12)
    # validate's prediction of the row's metric is eval's throughput on that mapping
    (result,) = validate_rows([row])
    assert result.status == "ok" and result.metric == "tokens_per_s_per_gpu"
    assert result.predicted == pytest.approx(best["tokens_per_s"] / plan.count, rel=1e-9)
    assert best["low_precision_recipe"] == "current" and best["precision"] == "fp8"


def test_job_calibration_folds_the_jobs_recipe_and_the_part_its_columns() -> None:
    h100, b200 = get_accelerator("H100-SXM"), get_accelerator("B200")
    job = TrainingJob(global_batch_seqs=8, seq_len=4096, precision="fp8", low_precision_recipe="delayed")
    cal = job_calibration(CAL, h100, job)
    rates = load_low_precision_rates()["H100-SXM"]
    peak_fp8 = float(HardwareArrays.from_designs(h100.design).peak_matrix_flops_fp8)
    # MAMF FP8 1402.6 / 1979 TFLOP/s over the catalog's BF16 efficiency (MAMF BF16 794.5 / 989): a column
    d = h100.design
    assert d.fp8_matrix_efficiency_ratio == pytest.approx((rates.mamf_fp8_flops_per_s / peak_fp8)
                                                          / h100.design.matrix_efficiency, rel=1e-12)
    assert 0.85 < d.fp8_matrix_efficiency_ratio < 0.92
    assert cal.fp8_quantize_bytes_per_element == load_low_precision_recipes()["delayed"].cast_bytes_tn_only == 4.0
    assert d.fp8_gemm_layouts == "tn_only" and b200.design.fp8_gemm_layouts == "any"
    assert d.softmax_exponentials_per_cycle_per_unit == 16  # FlashAttention-3 Sec. 3.2
    assert d.host_link_bw_bytes_per_s == pytest.approx(55e9)  # catalog host_link_bw (PCIe Gen5 x16)
    assert cal.weight_bytes_per_param == CAL.weight_bytes_per_param == 2
    held = job_calibration(CAL, b200, TrainingJob(8, 4096, precision="fp8", low_precision_recipe="current",
                                                  fp8_params=True))
    assert held.weight_bytes_per_param == FP8_PARAM_BYTES == 1
    assert held.fp8_quantize_bytes_per_element_any_layout == 5.0  # Blackwell: no FP8 transpose
    with pytest.raises(InputError):  # NVFP4 on Hopper: no NVFP4 peak
        job_calibration(CAL, h100, TrainingJob(8, 4096, precision="fp8", low_precision_recipe="nvfp4"))


def test_a_part_without_measurements_gets_the_documented_neutral_values() -> None:
    """TPU v5p: no MAMF, exponential rate or host link in data/: FP8 GEMMs at the BF16 efficiency,
    no softmax-rate factor, no offloading (the columns' neutral defaults, spec.hardware)."""
    d = get_accelerator("TPU v5p").design
    assert d.fp8_matrix_efficiency_ratio == 1.0 and d.nvfp4_matrix_rate_ratio == 0.0
    assert d.softmax_exponentials_per_cycle_per_unit == 0.0
    assert d.host_link_bw_bytes_per_s == 0.0 and d.scaleout_achieved_share == 1.0
    assert (d.gemm_k_half_bf16, d.gemm_k_half_fp8, d.gemm_k_reference) == (0.0, 0.0, 0.0)
    assert (d.gemm_tile_m, d.gemm_tile_n, d.gemm_tile_units) == (0.0, 0.0, 1.0)


STUDY: dict[str, Any] = {
    "name": "p", "base": "B200", "parameters": {"compute_units": {"values": [148, 160]}}, "sampling": {"method": "grid"},
    "objectives": [{"column": "tokens_per_s", "direction": "maximize"}],
    "mapping": {"strategy": "tp=1,pp=1,cp=1,mb=2,recompute=none,zero=1"},
    "workloads": [{"model": "llama3-8b", "name": "l8-fp8",
                   "training": {"global_batch": {"sequences": 128}, "precision": "fp8", "low_precision_recipe": "current"}}],
}


def test_a_design_study_gets_its_base_parts_physics() -> None:
    """A candidate equal to the base part gives eval's number; a perturbed candidate keeps the base
    part's ratios and per-unit rates (the documented default of a parametric design)."""
    study = parse_study(copy.deepcopy(STUDY), file="<test>")
    wl = study_workload(study, "l8-fp8")
    assert wl.training.low_precision_recipe == "current" and wl.training.precision == "fp8"
    b200 = get_accelerator("B200").design
    designs = [b200.replace(accelerator_count=8), b200.replace(accelerator_count=8, compute_units=160)]
    cols = evaluation_columns(study, HardwareArrays.from_designs(designs), np.asarray(["a", "b"]), wl,
                              tech=load_technology(), run_id="r")
    eval_ = what_if("llama3-8b", "B200", 8, STUDY["mapping"]["strategy"],
                    WorkloadOverrides(global_batch_seqs=128, precision="fp8", low_precision_recipe="current"))
    assert float(cols["step_time_s"][0]) == pytest.approx(eval_["step_time_s"], rel=1e-12)
    assert float(cols["step_time_s"][1]) < float(cols["step_time_s"][0])  # more SMs, same per-SM rates
    # without the part's physics (the old study path) the number differs: it is not a no-op
    from archsweep.model.driver import evaluate_design_batch
    bare = evaluate_design_batch(HardwareArrays.from_designs(designs[:1]), wl, tech=load_technology(),
                                 strategy=STUDY["mapping"]["strategy"], calibration=CAL)
    assert not math.isclose(float(np.ravel(bare["step_time_s"])[0]), eval_["step_time_s"], rel_tol=1e-3)


def test_training_job_keys_of_the_low_precision_recipe() -> None:
    job = training_job({"precision": "fp8", "low_precision_recipe": "mxfp8", "fp8_params": True,
                        "activation_offload_layers": 2}, base=TrainingJob(64, 4096), default_seq_len=None,
                       file="f.yaml", key="training")
    assert (job.low_precision_recipe, job.fp8_params, job.activation_offload_layers) == ("mxfp8", True, 2)
    kept = training_job({"global_batch": {"sequences": 32}}, base=job, default_seq_len=None, file="f.yaml",
                        key="training")
    assert (kept.low_precision_recipe, kept.fp8_params, kept.activation_offload_layers) == ("mxfp8", True, 2)
    bf16 = training_job({"precision": "bf16"}, base=job, default_seq_len=None, file="f.yaml", key="training")
    assert (bf16.low_precision_recipe, bf16.fp8_params) == ("delayed", False)
    for raw, key_path in (({"low_precision_recipe": "mxfp8"}, "training.low_precision_recipe"),
                          ({"precision": "fp8", "low_precision_recipe": "fp6"}, "training.low_precision_recipe"),
                          ({"precision": "fp8", "fp8_params": "yes"}, "training.fp8_params"),
                          ({"activation_offload_layers": -1}, "training.activation_offload_layers")):
        with pytest.raises((InputError, InputErrors)) as err:
            training_job(raw, base=TrainingJob(64, 4096), default_seq_len=None, file="f.yaml", key="training")
        problems = err.value.problems if isinstance(err.value, InputErrors) else [err.value.problem]
        assert [p.key_path for p in problems] == [key_path] and problems[0].file == "f.yaml"


def test_eval_fp8_params_and_offload_overrides() -> None:
    wl = load_workload("llama3-8b")
    held = apply_overrides(wl, WorkloadOverrides(precision="fp8", fp8_params=True, activation_offload_layers=4))
    assert held.training.fp8_params and held.training.activation_offload_layers == 4
    with pytest.raises(InputError) as err:
        apply_overrides(wl, WorkloadOverrides(precision="fp8", low_precision_recipe="fp6"))
    assert err.value.problem.key_path == "--recipe"
    with pytest.raises(InputError) as err:
        apply_overrides(wl, WorkloadOverrides(fp8_params=True))  # llama3-8b's own job is BF16
    assert err.value.problem.key_path == "--fp8-params"
    assert not apply_overrides(held, WorkloadOverrides(precision="bf16")).training.fp8_params
    plain = what_if("llama3-8b", "H100-SXM", 8, "tp=1,pp=1,cp=1,mb=1,recompute=none,zero=1",
                    WorkloadOverrides(precision="fp8"))
    fp8w = what_if("llama3-8b", "H100-SXM", 8, "tp=1,pp=1,cp=1,mb=1,recompute=none,zero=1",
                   WorkloadOverrides(precision="fp8", fp8_params=True))
    assert fp8w["fp8_params"] and not plain["fp8_params"]
    assert fp8w["memory_per_accelerator_bytes"] < plain["memory_per_accelerator_bytes"]  # 1 B weights, not 2


@pytest.mark.parametrize(("workload", "part", "job", "n"), [
    ("llama3-70b", "H100-SXM", TrainingJob(512, 8192, precision="fp8", fp8_params=True), 200),
    ("llama3-70b", "GB200", TrainingJob(512, 8192, precision="fp8", low_precision_recipe="mxfp8",
                                        activation_offload_layers=10), 200),
    ("mixtral-8x7b", "B200", TrainingJob(512, 4096, precision="fp8", low_precision_recipe="current"), 30),
])
@pytest.mark.parametrize("objective", ["step_time_s", "energy_per_token_j"])
def test_pruned_search_stays_exact_under_a_parts_physics(workload: str, part: str, job: TrainingJob, n: int,
                                                         objective: str) -> None:
    """A study's candidates now run with the base part's FP8 ratio, cast bytes, host link and FP8 weights:
    the pruned best-mapping search still returns the exhaustive search's mapping."""
    from archsweep.model.driver import evaluate_design_batch

    entry = get_accelerator(part)
    wl = apply_overrides(load_workload(workload), WorkloadOverrides(
        global_batch_seqs=job.global_batch_seqs, seq_len=job.seq_len, precision="fp8",
        low_precision_recipe=job.low_precision_recipe, fp8_params=job.fp8_params,
        activation_offload_layers=job.activation_offload_layers))
    cal = job_calibration(CAL, entry, wl.training)
    rng = np.random.default_rng(n)
    cols = {k: np.full(n, v, dtype=object if isinstance(v, str) else float) for k, v in entry.design.as_dict().items()}
    cols["compute_units"] = rng.integers(64, 300, n).astype(float)
    cols["clock_hz"] = rng.uniform(1.0e9, 2.2e9, n)
    cols["hbm_capacity_per_stack_bytes"] = rng.choice([16e9, 24e9, 36e9], n)
    cols["scaleup_bw_bytes_per_s"] = rng.uniform(100e9, 1.8e12, n)
    cols["scaleout_bw_bytes_per_s"] = rng.uniform(25e9, 400e9, n)
    cols["accelerator_count"] = rng.choice([64.0, 256.0, 1024.0], n)
    hw = HardwareArrays.from_columns(cols)
    tech = load_technology()
    fast = evaluate_design_batch(hw, wl, tech=tech, calibration=cal, objective=objective)
    slow = evaluate_design_batch(hw, wl, tech=tech, calibration=cal, objective=objective, exhaustive=True)
    for key in ("tp", "pp", "cp", "micro_batch", "recompute", "zero_stage", objective):
        np.testing.assert_array_equal(np.asarray(fast[key]), np.asarray(slow[key]), err_msg=key)


def test_a_study_whose_recipe_the_base_part_cannot_run_is_refused_when_read() -> None:
    doc = copy.deepcopy(STUDY)
    doc["base"] = "H100-SXM"  # Hopper: no NVFP4 peak in data/hardware/low_precision_rates.yaml
    doc["parameters"] = {"compute_units": {"values": [132]}}
    doc["workloads"][0]["training"]["low_precision_recipe"] = "nvfp4"
    with pytest.raises(InputError) as err:
        parse_study(doc, file="s.yaml")
    assert (err.value.problem.file, err.value.problem.key_path, err.value.problem.value) == ("s.yaml", "workloads", "'l8-fp8'")
    assert "H100-SXM.peak_dense_nvfp4_flops_per_s" in err.value.problem.allowed
    doc["base"] = "B200"
    assert parse_study(doc, file="s.yaml").base == "B200"
