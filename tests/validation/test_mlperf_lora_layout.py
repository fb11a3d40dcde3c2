"""MLPerf llama2_70b_lora rows carry the layout of the submitter's launch config (issue 10)."""

from __future__ import annotations

from measured_runs import runs_by_id

from archsweep.validation.metrics import measured_of
from archsweep.validation.row_workload import workload_of
from archsweep.validation.rows import mapping_of


def _rows() -> dict[str, dict[str, str]]:
    return runs_by_id(lambda r: r["source_group"] == "mlperf" and r["run_id"].endswith("llama2_70b_lora"))


def test_filled_layouts_multiply_to_the_gpu_count_and_batch() -> None:
    """tp*pp*cp*dp = GPUs and the global batch is a whole number of micro-batches per DP rank."""
    filled = [r for r in _rows().values() if "mlperf_lora_layout.py" in r["derived"]]
    assert len(filled) >= 30
    for r in filled:
        tp, pp, cp, dp, mb = (int(r[k]) for k in ("tp", "pp", "cp", "dp", "micro_batch"))
        assert tp * pp * cp * dp == int(r["num_accels"]), r["run_id"]
        assert int(r["global_batch_seqs"]) % (dp * mb) == 0, r["run_id"]
        assert "config_" in r["derived"] and "FP8" in r["precision"], r["run_id"]


def test_nvidia_multi_node_rows_run_tp4_cp2_one_sequence_per_rank() -> None:
    """NVIDIA's config_DGXH100_8x8x1xtp4pp1cp2.sh / 128x8x1: TP4 CP2, MINIBS 1, no recomputation."""
    rows = _rows()
    for run in ("mlperf_train_v4.1_NVIDIA_eos_n8_ngc24.09_nemo_llama2_70b_lora",
                "mlperf_train_v4.0_NVIDIA_eos_n128_ngc24.04_nemo_llama2_70b_lora"):
        r = rows[run]
        assert (r["tp"], r["pp"], r["cp"], r["micro_batch"], r["act_recompute"]) == ("4", "1", "2", "1", "none")
        assert int(r["dp"]) == int(r["global_batch_seqs"])
        metric, _ = measured_of(r)
        notes: list[str] = []
        _, strategies, _, source = mapping_of(r, workload_of(r, metric, notes), metric, notes)
        assert "tp=4" in strategies[0] and "cp=2" in strategies[0] and "recompute=none" in strategies[0]
        assert source in ("given", "partial")
