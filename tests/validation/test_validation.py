"""``archsweep.validation.run``: every row of a measurements file gets a status and a reason.

No accuracy thresholds here (the model's calibration tests own those): these tests check that
rows are read, planned, predicted in the right convention, and never dropped.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from measured_runs import runs, validated

from archsweep.spec.architecture import Architecture
from archsweep.spec.errors import InputError
from archsweep.spec.training import TrainingJob
from archsweep.spec.workload import Workload
from archsweep.validation.cells import read_measurements
from archsweep.validation.metrics import flop_convention, megatron_step_flops
from archsweep.validation.run import plan_row, validate_file, validate_rows
from archsweep.validation.summary import summarize, write_results_csv
from archsweep.validation.types import OUTPUT_COLUMNS, Skip


@pytest.fixture(scope="module")
def public_rows() -> list[dict[str, str]]:
    return runs()


@pytest.fixture(scope="module")
def public_results():
    return validated()  # validate_file(CSV), shared with test_validation_consistency.py (the same rows)


def _row(rows: list[dict[str, str]], run_id: str) -> dict[str, str]:
    return dict(next(r for r in rows if r["run_id"] == run_id))


def _write(path: Path, rows: list[dict[str, str]], header: list[str]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in header} for r in rows)
    return path


def test_every_public_row_gets_a_status(public_rows, public_results):
    # 2026-11-30 copy (nemo + mlperf groups added): 474; + 4 mcore-moe rows (s7-moedata), + 2 MLPerf v5.0
    # llama2_70b_lora rows and + 4 Megatron-Bridge 25.09 rows (s7-rows): 484; + 4 MLPerf v5.1 llama31_8b rows
    # (s8-gb200): 488; + the no-overlap twin of the mcore-moe EP32 row (s8-m3): 489;
    # + 133 mbridge-forward rows (s10-forward, mbridge_archive_rows.py): 622; + 2 NVIDIA dgxc-benchmarking
    # Nemotron-4 15B rows (s15-denseopt): 624; + 53 mlperf-forward rows (s18-D, mlperf_forward_rows.py): 677;
    # + 9 AMD Instinct mlperf-forward rows (s19-D) + 42 MLPerf v5.1 mlperf-forward rows (s19-I, SOURCE.md): 728;
    # s33: + 4 Kimi K2 rows (mbridge-forward, mbridge_archive_rows.py): 732
    assert len(public_results) == len(public_rows) == 732
    assert [r.run_id for r in public_results] == [r["run_id"] for r in public_rows]
    assert {r.status for r in public_results} <= {"ok", "skipped"}
    for r in public_results:
        if r.status == "skipped":
            assert r.reason, r.run_id
            assert math.isnan(r.predicted)
        else:
            assert math.isfinite(r.predicted) and r.predicted > 0, r.run_id
            assert r.error_pct == pytest.approx(100 * (r.predicted - r.measured) / r.measured)
            assert r.mapping in ("given", "partial", "searched")
    # Coverage (not accuracy): the throughput and memory rows of the public set are modelled.
    ok = [r for r in public_results if r.status == "ok"]
    assert len(ok) >= 270
    assert {r.source_group for r in ok} == {"megatron", "memory", "mpt", "nemo", "mlperf", "mcore-moe", "mbridge-forward",
                                            "mlperf-forward"}


def test_public_rows_use_the_metric_the_row_provides(public_results):
    by_id = {r.run_id: r for r in public_results}
    assert by_id["megatron21_t1_1.7B"].metric == "step_time_s"
    assert by_id["megatron21_t2_PTD-P_174.6B_384gpu"].metric == "tflops_per_gpu"
    assert by_id["korthikanti_530B_dp8_fullrecomp"].metric == "mfu_pct"
    assert by_id["mpt_001_70b_h100_80gb_2048_512gpu_amp_bf16"].metric == "tokens_per_s_per_gpu"
    assert by_id["korthikanti_fig1_mem_gpt3-175B_none"].metric == "memory_activations_bytes"
    assert by_id["korthikanti_fig1_mem_gpt3-175B_none"].measured == pytest.approx(66.84375 * 2**30)
    assert by_id["korthikanti_fig7_actmem_gpt3-175B_none"].metric == "activation_memory_pct_of_baseline"
    # The baseline of the ratio is the row's own configuration: 100% by construction.
    assert by_id["korthikanti_fig7_actmem_gpt3-175B_none"].predicted == pytest.approx(100.0)
    # SC21 Sec. 5.9 does not define its "effective bisection bandwidth": skipped, saying so.
    assert "Sec. 5.9 gives no definition" in by_id["megatron21_1T_bw"].reason
    assert by_id["korthikanti_22B_layer_Selective_Recompute"].metric == "layer_time_s"


def test_mapping_flags(public_rows):
    assert plan_row(_row(public_rows, "korthikanti_175B_seqsel")).mapping == "given"
    plan = plan_row(_row(public_rows, "megatron21_t1_145.6B"))
    assert plan.mapping == "partial"  # micro-batch and interleaving chunks not stated
    assert len(plan.strategies) > 1 and all("vpp=1," not in s for s in plan.strategies)
    assert plan_row(_row(public_rows, "megatron21_gpt3_1024gpu")).mapping == "partial"
    row = _row(public_rows, "mpt_010_7b_h100_80gb_2048_512gpu_amp_bf16")
    for key in ("tp", "pp", "dp", "micro_batch", "act_recompute"):
        row[key] = ""
    assert plan_row(row).mapping == "searched"


def test_software_stack_and_parallelism_text(public_rows):
    sc21 = plan_row(_row(public_rows, "megatron21_t2_PTD-P_174.6B_384gpu")).strategies[0]
    assert "fa=off" in sc21 and "zero=0" in sc21 and "sp=off" in sc21 and "dp_overlap=off" in sc21
    zero3 = plan_row(_row(public_rows, "megatron21_t2_ZeRO-3_174.6B_384gpu")).strategies[0]
    assert "zero=3" in zero3 and "dp_overlap=on" in zero3
    mpt = plan_row(_row(public_rows, "mpt_013_3b_h100_80gb_2048_512gpu_amp_bf16"))  # SHARD_GRAD_OP
    assert "zero=2" in mpt.strategies[0] and "fa=on" in mpt.strategies[0]
    assert mpt.convention == "mosaicml" and mpt.workload.ffn_type == "gelu" and mpt.workload.tied_embeddings
    seqsel = plan_row(_row(public_rows, "korthikanti_fig1_mem_gpt3-175B_seqsel")).strategies[0]
    assert "recompute=selective" in seqsel and "sp=on" in seqsel
    fp8 = plan_row(_row(public_rows, "mpt_071_3b_h100_80gb_32768_8gpu_amp_fp8"))
    assert fp8.workload.training.precision == "fp8"


def test_flop_conventions(public_rows):
    assert flop_convention(_row(public_rows, "megatron21_t1_1.7B")) == "megatron"
    assert flop_convention(_row(public_rows, "mpt_001_70b_h100_80gb_2048_512gpu_amp_bf16")) == "mosaicml"
    assert flop_convention({"run_id": "x", "source": "some paper"}) == "archsweep"


def _gpt(layers: int, hidden: int, heads: int, batch: int) -> Workload:
    arch = Architecture(name="gpt", layers=layers, hidden=hidden, heads=heads, kv_heads=heads, head_dim=hidden // heads,
                        ffn_hidden=4 * hidden, ffn_type="gelu", vocab=51200, tied_embeddings=True, attention="mha")
    return Workload(name="gpt", architecture=arch, training=TrainingJob(global_batch_seqs=batch, seq_len=2048))


def test_megatron_eq3_reproduces_the_derived_step_time():
    # SC21 Table 1, 1.7B: 137 TFLOP/s/GPU on 32 GPUs, step time derived with Eq. 3 = 3.53 s.
    flops = megatron_step_flops(_gpt(24, 2304, 24, 512), "full", hardware=True)
    assert flops / (137e12 * 32) == pytest.approx(3.53, rel=0.01)


def test_korthikanti_hfu_over_mfu_ratio():
    # Korthikanti Table 5, 22B selective recompute: MFU 41.5%, HFU 43.7%.
    wl = _gpt(48, 6144, 64, 4)
    ratio = megatron_step_flops(wl, "selective", hardware=True) / megatron_step_flops(wl, "selective", hardware=False)
    assert ratio == pytest.approx(43.7 / 41.5, rel=0.005)
    assert megatron_step_flops(wl, "none", hardware=True) == megatron_step_flops(wl, "none", hardware=False)


def test_synthetic_rows_are_skipped_with_reasons(public_rows, tmp_path):
    header = list(public_rows[0])
    good = _row(public_rows, "korthikanti_22B_full")
    cases = {
        "unknown_accel": {"accelerator_canonical": "Gaudi-9", "accelerator": "Gaudi-9"},
        "bad_recompute": {"act_recompute": "sometimes"},
        "bad_zero": {"fsdp_zero": "HYBRID_SHARD"},
        "bad_sp": {"sp": "maybe"},
        "no_metric": {"step_time_s": "", "mfu_pct": "", "hfu_pct": "", "other_metric": ""},
        "no_layers": {"layers": "", "model": "GPT-18.4B"},  # a size with no models/ file
        "inconsistent": {"num_accels": "16"},
        "moe_unknown": {"arch_type": "moe", "model": "Mystery-MoE 1T"},
        "fp4": {"precision": "NVFP4"},
    }
    rows = [{**good, "run_id": "ok_row"}] + [{**good, **change, "run_id": rid} for rid, change in cases.items()]
    results = validate_file(_write(tmp_path / "synthetic.csv", rows, header))
    by_id = {r.run_id: r for r in results}
    assert len(results) == len(rows)
    assert by_id["ok_row"].status == "ok"
    expected = {"unknown_accel": "Gaudi-9", "bad_recompute": "act_recompute", "bad_zero": "fsdp_zero",
                "bad_sp": "sp=", "no_metric": "no measured metric", "no_layers": "layers",
                "inconsistent": "num_accels", "moe_unknown": "MoE", "fp4": "precision"}
    for rid, fragment in expected.items():
        assert by_id[rid].status == "skipped", rid
        assert fragment in by_id[rid].reason, (rid, by_id[rid].reason)


def test_garbage_number_is_an_input_error_naming_line_and_column(public_rows, tmp_path):
    # Issue 12: a cell that is not a number is a broken file, not a skipped row.
    good = _row(public_rows, "korthikanti_22B_full")
    path = _write(tmp_path / "garbage.csv", [good, {**good, "run_id": "bad_tp", "tp": "eight"}], list(public_rows[0]))
    with pytest.raises(InputError, match=r"line 3 \(run_id 'bad_tp'\), column tp: got 'eight'"):
        read_measurements(path)


def test_any_file_with_few_columns(tmp_path):
    path = tmp_path / "few.csv"
    path.write_text("run_id,model,accelerator,step_time_s\nr1,Llama 9T,H100,3.0\nr2,,,\n")
    results = validate_file(path)
    assert [r.status for r in results] == ["skipped", "skipped"]
    assert all(r.reason for r in results)


def test_file_without_run_id_is_an_input_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="run_id"):
        read_measurements(path)
    with pytest.raises(InputError):
        read_measurements(tmp_path / "missing.csv")


def test_output_columns_and_summary(public_rows, tmp_path):
    rows = [_row(public_rows, rid) for rid in ("korthikanti_22B_seqsel", "megatron21_1T_bw",
                                               "mpt_010_7b_h100_80gb_2048_512gpu_amp_bf16")]
    results = validate_rows(rows)
    out = tmp_path / "out.csv"
    write_results_csv(results, out)
    with out.open() as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames[:7]) == OUTPUT_COLUMNS
        written = list(reader)
    assert [w["status"] for w in written] == ["ok", "skipped", "ok"]
    assert written[1]["predicted"] == "" and written[1]["reason"]
    summary = summarize(results)
    assert summary["overall"][0].ok == 2 and summary["overall"][0].skipped == 1
    assert {g.group for g in summary["source_group"]} == {"megatron", "mpt"}
    mape = summary["overall"][0].mape_pct
    assert mape == pytest.approx(sum(abs(r.error_pct) for r in results if r.status == "ok") / 2)


def test_skip_carries_reason():
    with pytest.raises(Skip) as info:
        raise Skip("because")
    assert info.value.reason == "because"


def test_corrupted_cells_never_raise(public_rows):
    """Any cell value (text, zero, negative, inf, huge) gives a status, never a traceback."""
    import random

    rng = random.Random(3)
    values = ["", "0", "-1", "abc", "1e400", "3.5", "1000000", "yes", "nan", "inf", "full", "FULL_SHARD", "8",
              "interleaved", "H100", "fp8", "moe"]
    keys = list(public_rows[0])
    rows = []
    for i in range(150):
        row = {**rng.choice(public_rows), "run_id": f"fuzz{i}"}
        for _ in range(rng.randint(1, 4)):
            row[rng.choice(keys[1:])] = rng.choice(values)
        rows.append(row)
    results = validate_rows(rows)
    assert [r.run_id for r in results] == [r["run_id"] for r in rows]
    for r in results:
        assert r.status in ("ok", "skipped")
        assert r.status == "ok" or r.reason
        assert "model error" not in r.reason, r.reason
