"""Add MLPerf Training v5.1 llama31_8b rows (one 8-GPU launch config, several parts) to training_runs.csv.

Source: github.com/mlcommons/training_results_v5.1 (@441d65f4), ``<submitter>/results/<system>/llama31_8b/
result_*.txt`` and ``<submitter>/systems/<system>.json``; the launch config each row ran is named in ``CONFIGS``
(NVIDIA's own logs do not print it: its only 8-GPU GB200 / GB300 configs are ``config_GB{200,300}_2x4x2xtp1pp1cp1_8b_fp4
.sh``; Oracle's logs name ``DGXB200_1x8x2xtp1pp1cp1_8b_fp4``; Dell's config is named after its system). The configs
are identical but for node count and tags that do not act at TP1 (``GPU_ARCH`` picks the TP-overlap file; GB300's
omits a ``TP_COMM_OVERLAP=False`` that config_common_fp4.sh sets anyway): NVFP4 GEMMs (``FP4_RECIPE=nvfp4``), FP8
dot-product attention (``FP8_DPA=True``, current scaling), TP1 PP1 CP1, ``MINIBS=2`` (GBS 16, GA 1), the distributed
optimizer, ``FP8_PARAM_GATHER=False``, ``TP_COMM_OVERLAP=False``, full-iteration and per-layer CUDA graphs
(config_common_cg.sh), no recomputation.

Columns as the llama2_70b_lora rows (mlperf_lora_rows.py): tokens_per_s_total = median over the files of (samples of
the last evaluation x seq) / (its time - run_start), wall clock; step_time_s = GBS x seq / that;
``steady_step_time_s`` = median over the files of each file's median ``tracked_stats`` ``train_step_time``
(mlperf_pair_steps.py; on the v5.0 LoRA rows that agrees with mlperf_steady_step.py's block rule within 0.2 %).

Usage: python data/validation/derive/mlperf_llama31_8b_rows.py <mirror dir of training_results_v5.1>
adds (or rewrites, idempotent) the rows of ``CONFIGS`` (s8-gb200: the GB200 / B200 / GB300 same-configuration set),
then runs the fill scripts of :data:`_FILLS` on the mirror (mlperf_grad_reduce.py: ``grad_sync_dtype``, s19-P; the
cells the Oracle run's printed config settles, s23-G: mlperf_fp8_act.py, mlperf_fp8_attention.py,
mlperf_tp_overlap_flags.py, whose notes the rewritten ``derived`` would otherwise lose), reading the mirror at its pinned commit (pinned_mirrors.py ``COMMITS``, named in ``source_locator``).
"""

from __future__ import annotations

import statistics
import sys

import mlperf_fp8_act
import mlperf_fp8_attention
import mlperf_grad_reduce
import mlperf_tp_overlap_flags
from _mlperf_common import (
    canonical_accelerator,
    last_eval_rate,
    mllog_events,
    parse_config,
    result_files,
    result_source,
    system_cell,
    system_file,
    throughput_columns,
)
from mlperf_pair_steps import folder_step
from pinned_mirrors import Mirror, open_mirror, stamp_locator
from runs_table import read_runs, upsert_rows, write_runs

#: The fill scripts run after the rows are (re)written, in the order their notes stand in ``derived``.
_FILLS = (mlperf_grad_reduce, mlperf_fp8_act, mlperf_fp8_attention, mlperf_tp_overlap_flags)

_SEQ = 8192
#: (submitter, system, launch config) of every row this script writes.
CONFIGS = (
    ("NVIDIA", "tyche_ngpu8_ngc25.09_nemo",
     "NVIDIA/benchmarks/llama31_8b/implementations/nemo/config_GB200_2x4x2xtp1pp1cp1_8b_fp4.sh"),
    ("NVIDIA", "theia_ngpu8_ngc25.09_nemo",
     "NVIDIA/benchmarks/llama31_8b/implementations/nemo/config_GB300_2x4x2xtp1pp1cp1_8b_fp4.sh"),
    ("Oracle", "1xBM.GPU.B200.8", "Oracle/benchmarks/llama31_8b/config_DGXB200_1x8x2xtp1pp1cp1_8b_fp4.sh"),
    ("Dell", "1xXE9680Lx8B200-SXM-180GB",
     "Dell/benchmarks/llama31_8b/implementations/nemo/config_1xXE9680Lx8B200-SXM-180GB.sh"),
)
_MODEL = {
    "model": "Llama 3.1 8B pre-training (MLPerf llama31_8b)", "arch_type": "dense", "params_B": "8.03",
    "layers": "32", "hidden": "4096", "heads": "32", "kv_heads": "8", "ffn_hidden": "14336", "vocab": "128256",
    "seq_len": str(_SEQ),
}
_LAYOUT = {
    "micro_batch": "2", "tp": "1", "pp": "1", "sp": "no", "cp": "1", "ep": "1", "vpp": "n/a",
    "fsdp_zero": "distributed optimizer (USE_DIST_OPTIMIZER=True, config_common.sh)",
    "precision": ("NVFP4 (TransformerEngine nvfp4 recipe: FP4=True, FP4_RECIPE=nvfp4; FP8 dot-product attention "
                  "FP8_DPA=True, NVTE_DPA_FP8_RECIPE=Float8CurrentScaling)"),
    "act_recompute": "none", "tp_comm_overlap": "no", "fp8_params": "no",
}  # layer_cuda_graphs / fp8_act are not stated here: mlperf_layer_cuda_graphs.py / mlperf_fp8_act.py read the NeMo
#   yamls of llama2_70b_lora / gpt3 only (the configs' CUDA graphs are in `derived`); the Oracle row's fp8_act is its
#   printed config's, written by mlperf_fp8_act.py through :data:`_FILLS` (s23-G)
#: The launch-config variables behind :data:`_LAYOUT` and the value each must have (checked per row, after the
#: files the config sources; a recomputation variable must be absent).
_STATED = (("MINIBS", "2"), ("TENSOR_MODEL_PARALLEL", "1"), ("PIPELINE_MODEL_PARALLEL", "1"), ("SEQ_PARALLEL", "False"),
           ("CONTEXT_PARALLEL", "1"), ("INTERLEAVED_PIPELINE", "null"), ("USE_DIST_OPTIMIZER", "True"), ("FP4", "True"),
           ("FP4_RECIPE", "nvfp4"), ("FP8_DPA", "True"), ("NVTE_DPA_FP8_RECIPE", "Float8CurrentScaling"),
           ("TP_COMM_OVERLAP", "False"), ("FP8_PARAM_GATHER", "False"))


def check_layout(config: str, env: dict[str, str]) -> None:
    """Refuse a launch config whose variables (``env``, as ``parse_config`` reads them) differ from
    :data:`_LAYOUT`: the column values are stated once, so a config that changes them needs a look."""
    wrong = [f"{key}={env.get(key)!r} (expected {value!r})" for key, value in _STATED if env.get(key) != value]
    wrong += [f"{key}={env[key]!r} (no recomputation expected)" for key in env if "RECOMPUTE" in key]
    if wrong:
        raise SystemExit(f"training_results_v5.1/{config}: {', '.join(wrong)}; "
                         "data/validation/derive/mlperf_llama31_8b_rows.py _LAYOUT states otherwise")


def make_row(mirror: Mirror, submitter: str, system: str, config: str) -> dict[str, str]:
    folder = f"{submitter}/results/{system}/llama31_8b"
    near = mirror.ls(config.rsplit("/", 1)[0] + "/")
    check_layout(config, parse_config(mirror, config, set(near)))
    steady, files, markers = folder_step(mirror, folder)
    texts = [mirror.show(n) for n in result_files(mirror, folder)]
    rates = [r for text in texts if (r := last_eval_rate(mllog_events(text), _SEQ))]
    sysj, gpus = system_file(mirror, submitter, system)
    gbs = int(markers["global_batch_size"])  # type: ignore[call-overload]
    total = statistics.median(rates)
    accel = sysj["accelerator_model_name"]
    return {
        "run_id": f"mlperf_train_v5.1_{submitter}_{system}_llama31_8b",
        "source": result_source("v5.1", folder, submitter, system),
        "source_locator": stamp_locator(f"mllog run_start, eval and tracked_stats markers, {files} runs", mirror),
        **_MODEL, **_LAYOUT,
        "global_batch_seqs": str(gbs), "dp": str(gpus), "num_accels": str(gpus), "accelerator": accel,
        "accelerator_canonical": canonical_accelerator(accel),
        "system": system_cell(sysj, networking=False),
        **throughput_columns(total, gpus, gbs, _SEQ), "steady_step_time_s": f"{steady:.4g}",
        "framework": sysj.get("framework", ""),
        "derived": (f"launch config training_results_v5.1/{config} (identical across the parts but node count; "
                    "CUDA graphs FULL_CUDA_GRAPH=1, MCORE_CUDA_GRAPH=1 from config_common_cg.sh; no FP8_ACT); "
                    "tokens_per_s_total = (last eval samples x seq) / (last eval time - run_start), median over runs; "
                    "steady_step_time_s = median over runs of the median tracked_stats train_step_time; rows added by "
                    "data/validation/derive/mlperf_llama31_8b_rows.py"),
        "confidence": "high (official MLPerf logs); launch config per system medium (NVIDIA's logs do not name it)",
        "notes": (f"pre-training to a log-perplexity target; submission_platform={markers.get('submission_platform')}; "
                  f"accelerator memory {sysj.get('accelerator_memory_capacity', '')}; s8-gb200 same-configuration set"),
        "source_group": "mlperf",
    }


def main(repo: str) -> None:
    mirror = open_mirror(repo)
    if mirror.version != "v5.1":
        raise SystemExit(f"{repo}: a mirror of training_results_{mirror.version}; the rows of CONFIGS are v5.1's")
    fields, rows = read_runs()
    for submitter, system, config in CONFIGS:
        new = make_row(mirror, submitter, system, config)
        rows = upsert_rows(fields, rows, [new])  # in place; columns other scripts fill are kept
        print(f"{new['run_id']}: {new['num_accels']} x {new['accelerator_canonical']}, GBS {new['global_batch_seqs']}, "
              f"steady step {new['steady_step_time_s']} s, wall clock {new['step_time_s']} s")
    write_runs(fields, rows)
    for fill in _FILLS:  # grad_sync_dtype from the pretrain.py each ran; the cells a printed config settles
        fill.main([repo])


if __name__ == "__main__":
    main(sys.argv[1])
