"""Published numbers the training model must reproduce, with stated tolerances.

Targets of issue 3 on the public validation set (data/validation/training_runs.csv, copied from
the project's reference data): Narayanan et al. SC21 Table 1 and Korthikanti et al. MLSys'23
Table 5 step times: mean |error| <= 5 %, max <= 15 % (Calculon: 3.65 % / 8.9 %); the MosaicML rows
<= 8 % mean; Korthikanti
Fig. 1 activation memory within 10 %. One set of constants (data/calibration/model.yaml) plus one per
software stack (data/calibration/software_stacks.yaml).
"""

from __future__ import annotations

import numpy as np
import pytest
from measured_runs import runs, validated

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation.metrics import megatron_step_flops


@pytest.fixture(scope="module")
def results():
    """Every row's result (the session's one validation pass, measured_runs.validated: validate_rows over the same
    rows) and the rows, by run_id."""
    rows = runs()
    return {r.run_id: r for r in validated()}, {row["run_id"]: row for row in rows}


def _select(results, predicate):
    by_id, rows = results
    return [by_id[i] for i, row in rows.items() if predicate(row) and by_id[i].status == "ok"]


def test_megatron_table1_and_korthikanti_table5(results):
    chosen = _select(results, lambda row: row["source_group"] == "megatron" and (
        row["source_locator"].startswith("Table 1") or "Table 5" in row["source_locator"]))
    assert len(chosen) >= 18
    errors = np.abs([r.error_pct for r in chosen])
    assert errors.mean() <= 5.0, errors
    assert errors.max() <= 15.0, errors


def test_megatron_table2_ptdp(results):
    chosen = _select(results, lambda row: row["run_id"].startswith("megatron21_t2_PTD-P"))
    errors = np.abs([r.error_pct for r in chosen])
    assert len(chosen) == 6 and errors.max() <= 10.0, errors


def test_korthikanti_memory_figures(results):
    """Korthikanti Fig. 1 (activation GiB per GPU) and Fig. 7 (activation memory relative to the
    tensor-parallel baseline, for SP / selective / full recompute): every row within 10 %."""
    chosen = _select(results, lambda row: row["source_group"] == "memory")
    errors = np.abs([r.error_pct for r in chosen])
    assert len(chosen) == 28 and errors.max() <= 10.0, errors


def test_golden_gpt3_175b_on_1536_a100():
    """SC21 Table 2: GPT-3 175B, PTD-P tp=8 pp=12 dp=16 on 1,536 A100: 141 TFLOP/s per GPU (Eq. 3). +-10 %."""
    wl = load_workload("gpt3-175b")
    hw = HardwareArrays.from_designs(get_accelerator("A100-SXM4").design.replace(accelerator_count=1536))
    out = evaluate_design_batch(hw, wl, tech=load_technology(), calibration=load_calibration(),
                                strategy="tp=8,pp=12,dp=16,mb=1,vpp=1,recompute=full,zero=0,sp=off,fa=off,dp_overlap=off")
    tflops = megatron_step_flops(wl, "full", hardware=True) / (out["step_time_s"][0] * 1536) / 1e12
    assert tflops == pytest.approx(141.0, rel=0.10)


def test_golden_llama3_405b_on_16384_h100():
    """Llama 3 paper (Dubey et al. 2024, Table 4): 405B on 16,384 H100, tp=8 cp=1 pp=16 dp=128,
    38 % BF16 MFU. The model's remaining choices (vpp, micro-batch, recompute) are searched.
    Tolerance +-20 % (relative): the paper's tuned uneven pipeline schedule is not modelled exactly."""
    out = evaluate_design_batch(
        HardwareArrays.from_designs(get_accelerator("H100-SXM").design.replace(accelerator_count=16384)),
        load_workload("llama3-405b"), tech=load_technology(), calibration=load_calibration(), strategy="tp=8,cp=1,pp=16,dp=128")
    assert out["feasible"][0]
    assert out["mfu"][0] == pytest.approx(0.38, rel=0.20)


def test_mosaicml_rows_with_the_pytorch_fsdp_stack(results):
    """MosaicML llm-foundry benchmark table (216 rows, A100 40/80 GB and H100, seq 512-65536):
    mean |error| <= 8 % with the `pytorch-fsdp` software stack (data/calibration/software_stacks.yaml)."""
    chosen = _select(results, lambda row: row["source_group"] == "mpt")
    errors = np.abs([r.error_pct for r in chosen])
    assert len(chosen) == 216
    assert errors.mean() <= 8.0


def test_unknown_software_stack_is_a_clear_error():
    from archsweep.load.calibration import load_calibration
    from archsweep.spec.errors import InputError

    with pytest.raises(InputError, match="megatron-core"):
        load_calibration(stack="jax-magic")
