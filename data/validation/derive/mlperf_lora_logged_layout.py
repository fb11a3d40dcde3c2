"""Fill the layout of the MLPerf llama2_70b_lora rows that ship no launch config from the NeMo config their logs print.

Source: github.com/mlcommons/training_results_v4.0 / _v4.1, ``<submitter>/results/<system>/llama2_70b_lora/
result_*.txt``. Some NeMo-based submissions publish no implementation of their own (Red Hat v4.0, Fujitsu v4.1)
but their result files print the resolved NeMo configuration (hydra) before training: ``model:
tensor_model_parallel_size``, ``pipeline_model_parallel_size``, ``context_parallel_size``, ``sequence_parallel``,
``micro_batch_size``, ``activations_checkpoint_granularity``, ``ub_tp_comm_overlap`` (TP communication overlap),
``fp8`` / ``fp8_params``, ``enable_cuda_graph``, ``activation_func_fp8_input_store``, ``optim: name``. A row is
filled only when its ``tp`` is empty (no launch config found by mlperf_lora_layout.py) and every result file of the
row prints the same values; the key path and file are written to ``derived``. The NeMo 25.09 code (MLPerf v5.1)
prints no ``fp8_params`` key: its rows state FP8 weights where the result files show it built the model under
``te.fp8_model_init`` (``_mlperf_common.logged_fp8_model_init``, s19-L).

The printed config wins over a launch config (s22-R): a row whose layout a launch config wrote is filled here too
where every result file prints a layout that contradicts it (``_mlperf_common.printed_layout_conflict``; HPE v5.0
n2 / n4 24.09 print TP4 CP1 where their folder's only config of that size says CP 2, mlperf_lora_layout.py then
leaving them); the launch-config note keeps only the precision it set, the stated-layouts note goes.

Usage: python data/validation/derive/mlperf_lora_logged_layout.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place (idempotent), reading each mirror at its pinned commit
(pinned_mirrors.py ``COMMITS``, named in the ``source_locator`` of the rows filled).
"""

from __future__ import annotations

import re
import sys

from _mlperf_common import is_true, logged_fp8_model_init, mlperf_rows, printed_layout_conflict, printed_values
from pinned_mirrors import Mirror, open_mirrors, stamp_locator
from runs_table import read_runs, set_note, write_runs

_SOURCE = re.compile(r"training_results_(v[\d.]+)\), (\S+?/results/[^/]+/llama2_70b_lora)/result_\*\.txt")
_NOTE = "data/validation/derive/mlperf_lora_logged_layout.py"
# The printed keys this script reads (``_mlperf_common.printed_values``: the first line of each in a file, every result
# file alike), and the optimizer's name, ``name:`` right under ``optim:``, written ``optim`` in the note.
_KEYS = ("tensor_model_parallel_size", "pipeline_model_parallel_size", "context_parallel_size", "sequence_parallel",
         "micro_batch_size", "activations_checkpoint_granularity", "ub_tp_comm_overlap", "fp8", "fp8_params",
         "enable_cuda_graph", "activation_func_fp8_input_store")
_OPTIM = "optim.name"
#: The notes of the launch-config scripts whose layout a printed config overrides (s22-R).
_LAYOUT_NOTE = re.compile(r"tp/pp/cp/dp/sp/micro_batch/act_recompute/precision from the launch config "
                          r"(training_results_v[\d.]+/\S+?\.sh) .*?mlperf_lora_layout\.py")
_STATED_NOTE = re.compile(r"(?:^|; )tp_comm_overlap / fp8_params / fsdp_zero from TP_COMM_OVERLAP .*?mlperf_stated_layouts\.py")


def row_settings(mirror: Mirror, folder: str) -> dict[str, str] | str:
    """The settings every ``result_*.txt`` of ``folder`` prints alike (:data:`_KEYS` in the order printed, then
    ``optim``), or why there are none."""
    cfg = printed_values(mirror, folder, (*_KEYS, _OPTIM))
    if cfg is None:
        return "the result files print different settings"
    if "tensor_model_parallel_size" not in cfg:
        return "no NeMo config printed in the result files"
    if _OPTIM in cfg:
        cfg["optim"] = cfg.pop(_OPTIM)
    return cfg


def _yes(value: str) -> str:
    return "yes" if is_true(value) else "no"


def fill(row: dict[str, str], version: str, folder: str, cfg: dict[str, str], model_init: str | None = None,
         conflict: str | None = None) -> None:
    """Write the logged layout and software settings into ``row``; ``model_init``: where the result files show the
    NeMo 25.09 code built the frozen weights in FP8 (``_mlperf_common.logged_fp8_model_init``), which its printed
    config has no ``fp8_params`` key for; ``conflict``: what the printed config says against the layout a launch
    config had written (mlperf_lora_layout.py's note is then cut to the precision it set, mlperf_stated_layouts.py's
    dropped: this fill writes its cells)."""
    tp, pp = int(cfg["tensor_model_parallel_size"]), int(cfg.get("pipeline_model_parallel_size", "1"))
    cp = int(cfg.get("context_parallel_size", "1"))
    gpus = int(row["num_accels"])
    if gpus % (tp * pp * cp):
        raise SystemExit(f"{row['run_id']}: num_accels {gpus} is not a multiple of tp x pp x cp = {tp} x {pp} x {cp} "
                         f"(training_results_{version}/{folder}/result_*.txt): no whole data-parallel size")
    acg = cfg.get("activations_checkpoint_granularity", "null")
    row.update(tp=str(tp), pp=str(pp), cp=str(cp), dp=str(gpus // (tp * pp * cp)),
               sp=_yes(cfg.get("sequence_parallel", "0")), micro_batch=cfg.get("micro_batch_size", "1"),
               act_recompute="none" if acg in ("", "null", "None") else acg,
               tp_comm_overlap=_yes(cfg.get("ub_tp_comm_overlap", "0")),
               fp8_params=_yes(cfg.get("fp8_params", "1" if model_init else "0")),
               layer_cuda_graphs=_yes(cfg.get("enable_cuda_graph", "0")),
               fp8_act=_yes(cfg.get("activation_func_fp8_input_store", "0")))
    optim = cfg.get("optim", "")
    if optim == "fused_adam":
        row["fsdp_zero"] = "ZeRO-0 (optim fused_adam, not the distributed optimizer)"
    elif "distributed" in optim:
        row["fsdp_zero"] = f"distributed optimizer (optim {optim})"
    printed = ", ".join(f"{k} {v}" for k, v in cfg.items())
    held = f", and fp8_params yes from {model_init}" if model_init and "fp8_params" not in cfg else ""
    note = (f"tp/pp/cp/dp/sp/micro_batch/act_recompute/tp_comm_overlap/fp8_params/layer_cuda_graphs/fp8_act/fsdp_zero "
            f"from the NeMo config printed in training_results_{version}/{folder}/result_*.txt (all alike: {printed}{held}), "
            f"{_NOTE}")
    row["derived"] = set_note(row["derived"], rf"tp/pp/cp/dp/sp/micro_batch/act_recompute/tp_comm_overlap.*?"
                              rf"{re.escape(_NOTE)}", note)
    if conflict and (stale := _LAYOUT_NOTE.search(row["derived"])):
        # the launch config's layout is not the run's: its note keeps only the precision it set (FP8 / FP8_DPA)
        kept = (f"precision from FP8 / FP8_DPA of {stale.group(1)}, whose layout is not the run's (the result files "
                f"print {conflict}), {_NOTE}")
        row["derived"] = row["derived"][:stale.start()] + kept + row["derived"][stale.end():]
        row["derived"] = _STATED_NOTE.sub("", row["derived"])


def main(mirrors: list[str]) -> None:
    repos = open_mirrors(mirrors)
    fields, rows = read_runs()
    for row, match in mlperf_rows(repos, rows, _SOURCE):
        version, folder = match.groups()
        conflict = printed_layout_conflict(repos[version], folder, row) if row["tp"] else None
        if row["tp"] and _NOTE not in row["derived"] and not conflict:
            continue  # a launch config states it (mlperf_lora_layout.py / mlperf_stated_layouts.py), as the run printed
        cfg = row_settings(repos[version], folder)
        if isinstance(cfg, str):
            print(f"{row['run_id']}: left as is ({cfg})")
            continue
        fill(row, version, folder, cfg, None if "fp8_params" in cfg else logged_fp8_model_init(repos[version], folder),
             conflict)
        row["source_locator"] = stamp_locator(row["source_locator"], repos[version])
        print(f"{row['run_id']}: tp{row['tp']} pp{row['pp']} cp{row['cp']} dp{row['dp']} mb{row['micro_batch']} "
              f"overlap {row['tp_comm_overlap']} fp8_params {row['fp8_params']} graphs {row['layer_cuda_graphs']} "
              f"fp8_act {row['fp8_act']} {row['fsdp_zero']}")
    write_runs(fields, rows)


if __name__ == "__main__":
    main(sys.argv[1:])
