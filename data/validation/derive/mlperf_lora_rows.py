"""Add MLPerf Training llama2_70b_lora result rows to data/validation/training_runs.csv from the mllog files.

Source: github.com/mlcommons/training_results_vX.Y (v5.0: @0fdc28f), ``<submitter>/results/<system>/
llama2_70b_lora/result_*.txt`` and ``<submitter>/systems/<system>.json``. The same conventions as the v4.0 / v4.1
llama2_70b_lora rows of the ``mlperf`` group (data/validation/SOURCE.md, "MLPerf Training"):

* time_to_train_min = mean over the result files of (run_stop - run_start);
* tokens_per_s_total = median over the result files of (samples_count of the last evaluation x seq) /
  (time of that evaluation's ``eval_accuracy`` - run_start): wall clock, evaluations and warm-up included;
* step_time_s = global_batch_size x seq / tokens_per_s_total; tokens_per_s_per_gpu = total / GPUs;
* GPUs = ``number_of_nodes`` x ``accelerators_per_node`` of the system file; global batch from the
  ``global_batch_size`` marker; the model columns are the benchmark's (Llama 2 70B, seq 8192).

The layout, recipe, FP8-activation and CUDA-graph columns and ``steady_step_time_s`` are then filled by the scripts
that filled the v4.0 / v4.1 rows, run on the same mirror (in this order): mlperf_lora_layout.py,
mlperf_stated_layouts.py, mlperf_layer_cuda_graphs.py, mlperf_steady_step.py, mlperf_fp8_act.py.

Usage: python data/validation/derive/mlperf_lora_rows.py [--group GROUP] <mirror dir of training_results_vX.Y>
<submitter>/<system> ... reads the mirror at its pinned commit (pinned_mirrors.py ``COMMITS``, named in ``source_locator``) and
adds the row ``mlperf_train_<vX.Y>_<submitter>_<system>_llama2_70b_lora`` or rewrites its base columns in place
(idempotent: the columns the fill scripts set are kept, and so are ``precision`` and ``derived``, which they refine).
Rows added with it (s7-rows, 2026-12-01): v5.0 NVIDIA/nyx_n1_ngc25.04_nemo (1 x DGX B200) and
NVIDIA/tyche_ngpu8_ngc25.04_nemo (2 x 4 GB200 of one NVL72 rack), the two 8-GPU Blackwell submissions whose
launch configs are identical except CPU binding. ``--group mlperf-forward`` (s18-D, 2026-12-02): the v5.0
llama2_70b_lora results of every other NeMo-based submission, a forward test never fitted (``source_group``
``mlperf-forward``, src/archsweep/validation/holdout.py FORWARD_TEST_GROUPS; the list: mlperf_forward_rows.py).
"""

from __future__ import annotations

import statistics
import sys

from _mlperf_common import (
    MLPERF_GROUPS,
    canonical_accelerator,
    last_eval_rate,
    mllog_events,
    result_files,
    result_source,
    system_cell,
    system_file,
    throughput_columns,
)
from pinned_mirrors import Mirror, open_mirror, stamp_locator
from runs_table import read_runs, upsert_rows, write_runs

_SEQ = 8192
_MODEL = {
    "model": "Llama 2 70B LoRA fine-tune (MLPerf llama2_70b_lora)", "arch_type": "dense + LoRA", "params_B": "70",
    "layers": "80", "hidden": "8192", "heads": "64", "kv_heads": "8", "ffn_hidden": "28672", "vocab": "32000",
    "seq_len": str(_SEQ),
}
_DERIVED = ("time_to_train_min = mean over result_*.txt of (run_stop-run_start) (official MLPerf score may use a "
            "different averaging rule); tokens_per_s_total = (last eval samples/tokens count x seq) / (last eval time "
            "- run_start), median over runs; includes eval + checkpoint-free overheads; step_time_s derived = "
            "GBS*seq/tokens_per_s; rows added by data/validation/derive/mlperf_lora_rows.py")


def run_figures(text: str) -> tuple[float, float, int, str] | None:
    """(minutes run_start -> run_stop, tokens/s to the last evaluation, global batch, platform) of one file."""
    ev = mllog_events(text)
    t0 = next((e["time_ms"] for e in ev if e["key"] == "run_start"), None)
    t1 = next((e["time_ms"] for e in ev if e["key"] == "run_stop"), None)
    rate = last_eval_rate(ev, _SEQ)
    gbs = next((e["value"] for e in ev if e["key"] == "global_batch_size"), None)
    platform = next((e["value"] for e in ev if e["key"] == "submission_platform"), "")
    if t0 is None or t1 is None or rate is None or not gbs:
        return None
    return (t1 - t0) / 60000.0, rate, gbs, platform


def make_row(mirror: Mirror, submitter: str, system: str, group: str = "mlperf") -> dict[str, str]:
    version, folder = mirror.version, f"{submitter}/results/{system}/llama2_70b_lora"
    runs = [f for n in result_files(mirror, folder) if (f := run_figures(mirror.show(n)))]
    if not runs:
        raise SystemExit(f"{folder}: no result file with run_start / run_stop / eval_accuracy markers")
    sysj, gpus = system_file(mirror, submitter, system)
    gbs = runs[0][2]
    total = statistics.median(r[1] for r in runs)
    minutes = sorted(r[0] for r in runs)
    accel = sysj["accelerator_model_name"]
    return {
        "run_id": f"mlperf_train_{version}_{submitter}_{system}_llama2_70b_lora",
        "source": result_source(version, folder, submitter, system),
        "source_locator": stamp_locator(f"mllog run_start/run_stop and eval markers, {len(runs)} runs", mirror),
        **_MODEL,
        "global_batch_seqs": str(gbs), "num_accels": str(gpus), "accelerator": accel,
        "accelerator_canonical": canonical_accelerator(accel),
        "system": system_cell(sysj),
        "precision": "per submission (NVIDIA: FP8; see code)",
        **throughput_columns(total, gpus, gbs, _SEQ),
        "other_metric": (f"time_to_train_min mean={statistics.mean(minutes):.2f} min (runs: "
                         + ", ".join(f"{m:.2f}" for m in minutes) + ")"),
        "framework": sysj.get("framework", ""), "derived": _DERIVED,
        "confidence": "high (official MLPerf logs); derived throughput medium",
        "notes": (f"benchmark starts from a checkpoint and trains to a quality target; submission_platform={runs[0][3]}; "
                  f"accelerator memory {sysj['accelerator_memory_capacity']}"),
        "source_group": group,
    }


def main(repo: str, systems: list[str], group: str = "mlperf") -> None:
    if group not in MLPERF_GROUPS:
        raise SystemExit(f"--group {group}: not an MLPerf source group (allowed: {', '.join(MLPERF_GROUPS)})")
    mirror = open_mirror(repo)
    fields, rows = read_runs()
    for spec in systems:
        submitter, system = spec.split("/", 1)
        new = make_row(mirror, submitter, system, group)
        rows = upsert_rows(fields, rows, [new], first_write_only=("precision", "derived"))
        print(f"{new['run_id']}: {new['num_accels']} x {new['accelerator_canonical']}, GBS {new['global_batch_seqs']}, "
              f"{new['tokens_per_s_total']} tokens/s, step {new['step_time_s']} s; {new['other_metric']}")
    write_runs(fields, rows)


if __name__ == "__main__":
    args = sys.argv[1:]
    chosen = "mlperf"
    if args[:1] == ["--group"] and len(args) > 1:
        chosen, args = args[1], args[2:]
    if not args:
        raise SystemExit("usage: mlperf_lora_rows.py [--group GROUP] <mirror of training_results_vX.Y> <submitter>/<system> ...")
    main(args[0], args[1:], chosen)
