"""State ``sp`` and ``tp_comm_overlap`` of the NeMo 24.07 GPT-3 175B 128-GPU pre-training row of
data/validation/training_runs.csv: its launcher recipe runs sequence parallelism without the userbuffer
TP communication overlap.

Provenance (github:NVIDIA/NeMo-Framework-Launcher, read at tag 24.07, not copied): the performance
table's row (NeMo docs performance_summary.md, 128 H100, GBS 256, MBS 1, TP4 PP8, FP8) is the launcher's
``examples/training/gpt/h100/175b_fp8_16node.sh`` (16 nodes, ``global_batch_size=256``,
``micro_batch_size=1``, TP4, PP8, ``fp8=true``, ``+training.model.optim.grad_sync_dtype=bf16``), which
overrides neither ``ub_tp_comm_overlap`` nor ``sequence_parallel``, so
``launcher_scripts/conf/training/gpt3/175b.yaml`` holds: ``sequence_parallel: True``,
``ub_tp_comm_overlap: False`` (the same at tags 24.05, 24.07, 24.09 and at 95c77b59, the later
"Enable cuDNN FlashAtt only for 175B" edit of the same script). The script sets
``virtual_pipeline_model_parallel_size=12`` where the table states VP 6 (175b.yaml at 95c77b59 and 24.09
reads 6): the table's run is that script with VP 6, so confidence medium. The 512-GPU twin (GBS 2048,
MBS 2) has no launcher script (its TFLOP/s cell links to the MLPerf results, whose NeMo GPT-3 configs
run the TP overlap) and the other TP > 1 rows of the table run the overlap by their configs
(gpt3/20b, llama2_70b, llama3_70b, nemotron_8b, nemotron_22b: ``ub_tp_comm_overlap: True``): not
touched. Nemotron-340B's conf (``ub_tp_comm_overlap: False``) is for another layout (TP8 PP12 VP8,
GBS 2304) with no example script of the table's (TP8 PP8 VP12, GBS 32): not touched.

Run: ``python data/validation/derive/nemo2407_tp_overlap.py`` (re-runnable).
"""

from __future__ import annotations

from runs_table import read_runs, set_note, write_runs

RUN_ID = "nemo2407_GPT3-175B_128gpu"
_NOTE = ("sp yes, tp_comm_overlap no: NeMo-Framework-Launcher 24.07 examples/training/gpt/h100/175b_fp8_16node.sh "
         "+ launcher_scripts/conf/training/gpt3/175b.yaml (sequence_parallel: True, ub_tp_comm_overlap: False), "
         "data/validation/derive/nemo2407_tp_overlap.py")


def main() -> None:
    header, rows = read_runs()
    found = [row for row in rows if row["run_id"] == RUN_ID]
    if len(found) != 1:
        raise SystemExit(f"training_runs.csv has {len(found)} rows with run_id {RUN_ID}, expected 1")
    row = found[0]
    row["sp"] = "yes"
    row["tp_comm_overlap"] = "no"
    row["derived"] = set_note(row["derived"], r"sp yes, tp_comm_overlap no: NeMo-Framework-Launcher .*?"
                              r"nemo2407_tp_overlap\.py", _NOTE)
    write_runs(header, rows)
    print(f"{RUN_ID}: sp yes, tp_comm_overlap no")


if __name__ == "__main__":
    main()
