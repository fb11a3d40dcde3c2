"""Add MLPerf Training v5.0 llama31_405b rows (the ``mlperf-forward`` group, never fitted) to training_runs.csv.

Source: github.com/mlcommons/training_results_v5.0 (@0fdc28f0), ``<submitter>/results/<system>/llama31_405b/
result_*.txt``, ``<submitter>/systems/<system>.json`` and the launch config of the implementation folder of the same
name, ``<submitter>/benchmarks/llama31_405b/implementations/<system>/config_*.sh`` (the one config there other than
``config_common*.sh`` / ``config_mounts.sh``; after the files it sources, in order, last assignment wins; a sourced
file not in the folder is read from the one other folder of the submitter that ships it, and one shipped nowhere,
``config_common_blackwell.sh`` of every GB200 config, is named in ``notes`` and makes the row's confidence medium), with the defaults of
that folder's NeMo ``conf/custom.yaml`` (``key: ${oc.decode:${oc.env:VAR,DEFAULT}}`` resolved against the config):

* tp / pp / vpp / cp / micro_batch: ``TENSOR_MODEL_PARALLEL``, ``PIPELINE_MODEL_PARALLEL``, ``INTERLEAVED_PIPELINE``
  (yaml default 12), ``CONTEXT_PARALLEL`` (default 4), ``MICRO_BATCH_SIZE``; dp = GPUs / (tp x pp x cp); the global
  batch is the log's ``global_batch_size`` and must equal ``MINIBS x dp`` (the yaml's formula), else the row is refused;
* sp ``SEQ_PARALLEL`` (default True); act_recompute ``ACT_CKPT_GRANULARITY`` (default null: none);
  fsdp_zero from ``USE_DIST_OPTIMIZER``; tp_comm_overlap ``TP_COMM_OVERLAP``; fp8_params ``FP8_PARAMS``;
  param_gather_overlap ``OVERLAP_PARAM_GATHER``; precision FP8 where ``FP8`` is true (TransformerEngine
  ``fp8_recipe`` ``FP8_RECIPE``, default delayed; no ``fp8_dot_product_attention`` key: BF16 attention);
* pp_split_embedding_loss ``yes`` where both ``ASYM_PP_EMBED`` and ``ASYM_PP_LOSS`` are true (Megatron-Core
  ``account_for_embedding_in_pipeline_split`` / ``account_for_loss_in_pipeline_split``); this script is the cell's
  only writer on these rows (pipeline_split.py, which fills the column elsewhere, leaves them);
* layer_cuda_graphs from ``external_cuda_graph: LAYER_CUDA_GRAPH`` / ``enable_cuda_graph: MCORE_CUDA_GRAPH`` /
  ``full_cuda_graph: FULL_CUDA_GRAPH`` (25.04 yaml; the whole step in one graph, which holds every layer's): yes when
  one is true (which one in ``notes``); fp8_params ``FP8_PARAMS`` (25.01 yaml ``fp8_params``) or
  ``FP8_PARAM_GATHER`` (25.04 yaml ``fp8_param_gather``).

Throughput as the llama31_8b rows (mlperf_llama31_8b_rows.py): tokens_per_s_total = median over the files of
(samples of the last evaluation x seq) / (its time - run_start), wall clock; step_time_s = GBS x seq / that;
``steady_step_time_s`` = median over the files of each file's median ``tracked_stats`` ``train_step_time``
(mlperf_pair_steps.py ``folder_step``), what validation compares with. Model columns: Llama 3.1 405B (126 layers,
hidden 16384, 128 heads, 8 KV heads, FFN 53248, vocabulary 128256, sequence 8192 as the benchmark's
``max_sequence_length``), as the nemo group's Llama 3.1 405B rows state them.

v5.1 (s19-I; github.com/mlcommons/training_results_v5.1 @441d65f4): the rows of :data:`SYSTEMS_V51`, by the same
rules, with the launch config each result ran named in the table (NVIDIA's 25.09 folders ship seven or eight
configs each: the one the folder's ``README-<system>.md`` names; University of Florida's
``hpg.dgxb200x8`` configs by node count, their sourced files and ``conf/custom.yaml`` from the submitter's one other
folder, ``b200_nemo``). The 25.09 yaml adds ``fp4`` / ``fp4_recipe`` (``FP4`` / ``FP4_RECIPE``): precision NVFP4
where ``fp4`` is true (then ``FP8=False``, ``FP8_PARAM_GATHER=False``: fp8_params no), and
``fp8_dot_product_attention`` (``FP8_DPA``), stated in the precision text; its ``fp8_recipe`` default
``tensorwise`` is Megatron-Core's per-tensor current scaling (``Fp8Recipe.tensorwise`` ->
TransformerEngine ``Float8CurrentScaling``), said so in the text for validation.precision ``recipe_of``.

Usage: python data/validation/derive/mlperf_llama31_405b_rows.py <mirror dir of training_results_v5.0 or v5.1>
adds (or rewrites in place, idempotent) the rows of :data:`SYSTEMS` (v5.0) or :data:`SYSTEMS_V51` (v5.1),
source_group ``mlperf-forward``.
"""

from __future__ import annotations

import re
import statistics
import sys
from pathlib import PurePosixPath

from _mlperf_common import (
    canonical_accelerator,
    is_true,
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

_SEQ = 8192
GROUP = "mlperf-forward"
#: ``<submitter>/<system>`` of every v5.0 llama31_405b result (all NeMo-based: NVIDIA's implementation and copies).
SYSTEMS: tuple[str, ...] = (
    "IBM+CoreWeave+NVIDIA/carina_ngpu512_ngc25.04_nemo", "IBM+CoreWeave+NVIDIA/carina_ngpu1024_ngc25.04_nemo",
    "IBM+CoreWeave+NVIDIA/carina_ngpu1536_ngc25.04_nemo", "IBM+CoreWeave+NVIDIA/carina_ngpu2048_ngc25.04_nemo",
    "IBM+CoreWeave+NVIDIA/carina_ngpu2496_ngc25.04_nemo",
    "NVIDIA/eos-dfw_n64_ngc25.01_nemo", "NVIDIA/eos-dfw_n256_ngc25.01_nemo", "NVIDIA/eos-dfw_n304_ngc25.01_nemo",
    "NVIDIA/eos-dfw_n320_ngc25.01_nemo", "NVIDIA/eos-dfw_n1024_ngc25.01_nemo",
    "NVIDIA/tyche_ngpu256_ngc25.04_nemo", "NVIDIA/tyche_ngpu512_ngc25.04_nemo",
    "Nebius/nebius_soperator_8xH200_n64_ngc25.01_nemo", "Nebius/nebius_soperator_8xH200_n128_ngc25.01_nemo",
)
_V51_IMPL = "NVIDIA/benchmarks/llama31_405b/implementations"
#: (submitter, system, launch config) of every v5.1 llama31_405b result of a NeMo-based submitter on a part of the
#: catalog (s19-I) but Nebius's two H200 results, whose result files are v5.0's, blob for blob (SKIPPED_V51):
#: NVIDIA's configs are the ones each folder's README-<system>.md names; University of Florida's results hpg.dgxb200x8.n<N> ran config_DGXB200_<N>x8x144... of its hpg.dgxb200x8 folder.
SYSTEMS_V51: tuple[tuple[str, str, str], ...] = (
    ("NVIDIA", "tyche_ngpu512_ngc25.09_nemo",
     f"{_V51_IMPL}/tyche_ngpu512_ngc25.09_nemo/config_GB200_128x4x144xtp4pp8cp2_cg_fp4.sh"),
    ("NVIDIA", "hsg_ngpu2560_ngc25.09_nemo",
     f"{_V51_IMPL}/hsg_ngpu2560_ngc25.09_nemo/config_GB200_640x4x24xtp4pp8cp2_cg_fp4.sh"),
    ("NVIDIA", "hsg_ngpu5120_ngc25.09_nemo",
     f"{_V51_IMPL}/hsg_ngpu5120_ngc25.09_nemo/config_GB200_1280x4x16xtp4pp8cp2_cg_fp4.sh"),
    ("NVIDIA", "theia_ngpu512_ngc25.09_nemo",
     f"{_V51_IMPL}/theia_ngpu512_ngc25.09_nemo/config_GB300_128x4x72xtp2pp8cp2_cg_fp4.sh"),
    ("University-of-Florida", "hpg.dgxb200x8.n32",
     "University-of-Florida/benchmarks/llama31_405b/implementations/hpg.dgxb200x8/config_DGXB200_32x8x144xtp4pp8cp2_cg.sh"),
    ("University-of-Florida", "hpg.dgxb200x8.n56",
     "University-of-Florida/benchmarks/llama31_405b/implementations/hpg.dgxb200x8/config_DGXB200_56x8x144xtp4pp8cp2_cg.sh"),
)
#: v5.1 llama31_405b results not added, and why.
SKIPPED_V51: dict[str, str] = {
    f"Nebius/{system} llama31_405b": (f"its result_1..3.txt are the v5.0 {v50}'s files (same git blobs; "
                                     "scaling.json aside): already a mlperf-forward row, not repeated")
    for system, v50 in (("nebius_h200_n64", "nebius_soperator_8xH200_n64_ngc25.01_nemo"),
                        ("nebius_h200_n128", "nebius_soperator_8xH200_n128_ngc25.01_nemo"))
}
_MODEL = {
    "model": "Llama 3.1 405B pre-training (MLPerf llama31_405b)", "arch_type": "dense", "params_B": "405",
    "layers": "126", "hidden": "16384", "heads": "128", "kv_heads": "8", "ffn_hidden": "53248", "vocab": "128256",
    "seq_len": str(_SEQ),
}
_YAML_KEY = r"^\s*{key}:\s*\$\{{oc\.decode:\$\{{oc\.env:(\w+)(?:,([^}}]*))?\}}\}}"


def _sourced(mirror: Mirror, submitter: str, impl: str, name: str, files: set[str]) -> str | None:
    """The path of the file ``name`` a config of ``impl`` sources: in ``impl``, else in the one other
    implementation folder of the submitter's llama31_405b that ships it (NVIDIA tyche_ngpu256: its
    ``config_common_cg.sh`` is shipped only with tyche_ngpu512); None when none or several do."""
    if f"{impl}/{name}" in files:
        return f"{impl}/{name}"
    found = [p for p in mirror.ls(f"{submitter}/benchmarks/llama31_405b/implementations/")
             if PurePosixPath(p).name == name and PurePosixPath(p).parent.parent.name == "implementations"]
    return found[0] if len(found) == 1 else None


def _nemo_yaml(mirror: Mirror, submitter: str, impl: str, files: set[str]) -> str | None:
    """``conf/custom.yaml`` of ``impl``, else of the one other llama31_405b implementation folder of the submitter
    that ships one (University of Florida v5.1 ``hpg.dgxb200x8``: ``b200_nemo``); None when none or several do."""
    if f"{impl}/conf/custom.yaml" in files:
        return f"{impl}/conf/custom.yaml"
    found = [p for p in mirror.ls(f"{submitter}/benchmarks/llama31_405b/implementations/")
             if p.endswith("/conf/custom.yaml") and PurePosixPath(p).parent.parent.parent.name == "implementations"]
    return found[0] if len(found) == 1 else None


def launch_config(mirror: Mirror, submitter: str, system: str,
                  config: str | None = None) -> tuple[str, dict[str, str], str, list[str]]:
    """(config path, its environment after the files it sources in order, the folder's conf/custom.yaml text, the
    notes on sourced files taken from another folder or shipped nowhere). ``config`` (v5.1: :data:`SYSTEMS_V51`)
    names the launch config; without it, the one config of the implementation folder named ``system`` (v5.0)."""
    impl = str(PurePosixPath(config).parent) if config else f"{submitter}/benchmarks/llama31_405b/implementations/{system}"
    files = set(mirror.ls(impl + "/"))
    configs = [config] if config else sorted(
        f for f in files if re.fullmatch(r"config_[^/]+\.sh", PurePosixPath(f).name)
        and not re.search(r"common|mounts", PurePosixPath(f).name) and PurePosixPath(f).parent.name == system)
    if len(configs) != 1 or configs[0] not in files:
        raise SystemExit(f"{impl}: {len(configs)} launch configs ({configs}); expected one, shipped in the folder")
    notes: list[str] = []

    def resolve(name: str) -> str | None:
        path = _sourced(mirror, submitter, impl, name, files)
        if path is None:
            notes.append(f"{name} (sourced) is shipped in no llama31_405b folder of {submitter}: what it sets is unknown")
        elif not path.startswith(impl + "/"):
            notes.append(f"{name} (sourced, not in the folder) read from {path}")
        return path

    env = parse_config(mirror, configs[0], files, resolve=resolve)
    yaml = _nemo_yaml(mirror, submitter, impl, files)
    if yaml is None:
        raise SystemExit(f"{impl}: no conf/custom.yaml in the folder or in one other folder of {submitter}")
    if not yaml.startswith(impl + "/"):
        notes.append(f"NeMo yaml defaults read from {yaml} (the folder ships none)")
    return configs[0], env, mirror.show(yaml), notes


def setting(yaml: str, env: dict[str, str], key: str, optional: bool = False) -> str:
    """The value of the NeMo yaml ``key`` (``${oc.decode:${oc.env:VAR,DEFAULT}}``) under the launch config ``env``;
    ``key`` may name alternatives ``a|b`` (the 25.01 yaml's ``fp8_params``, the 25.04 one's ``fp8_param_gather``);
    "" for an ``optional`` key the yaml lacks."""
    m = re.search(_YAML_KEY.format(key=f"(?:{key})"), yaml, re.M)
    if m is None:
        if optional:
            return ""
        raise SystemExit(f"conf/custom.yaml: no {key}: ${{oc.decode:${{oc.env:...}}}} line")
    return env.get(m.group(1), (m.group(2) or "").strip())


def _precision(yaml: str, env: dict[str, str], fp8: bool, fp4: bool) -> str:
    """The ``precision`` text of a row: the GEMM recipe and the attention precision the yaml states (module
    docstring); the v5.0 yamls have no ``fp4`` / ``fp8_dot_product_attention`` key (their text is unchanged)."""
    dpa = setting(yaml, env, "fp8_dot_product_attention", optional=True)
    attention = ("attention BF16: no fp8_dot_product_attention key" if dpa == "" else
                 f"FP8 dot-product attention (FP8_DPA={dpa})" if is_true(dpa) else f"attention BF16: FP8_DPA={dpa}")
    if fp4:
        return (f"NVFP4 (TransformerEngine {setting(yaml, env, 'fp4_recipe')} recipe: FP4=True, FP8={env.get('FP8')}; "
                f"{attention})")
    if not fp8:
        return "BF16"
    recipe = setting(yaml, env, "fp8_recipe")
    scaling = " = per-tensor current scaling, Megatron-Core Fp8Recipe.tensorwise" if recipe == "tensorwise" else ""
    return f"FP8 (TransformerEngine {recipe} recipe{scaling}, FP8=True; {attention})"


def layout_columns(config: str, env: dict[str, str], yaml: str, gpus: int, gbs: int) -> dict[str, str]:
    """The layout and recipe columns of one row from its launch config and yaml (module docstring)."""
    get = lambda key: setting(yaml, env, key)  # noqa: E731
    tp, pp, cp = int(env["TENSOR_MODEL_PARALLEL"]), int(env["PIPELINE_MODEL_PARALLEL"]), int(get("context_parallel_size"))
    vpp, mbs = int(get("virtual_pipeline_model_parallel_size")), int(env["MICRO_BATCH_SIZE"])
    dp = gpus // (tp * pp * cp)
    if tp * pp * cp * dp != gpus or int(env["MINIBS"]) * dp != gbs:
        raise SystemExit(f"{config}: MINIBS {env['MINIBS']} x dp {dp} != global batch {gbs} of the log (or "
                         f"tp*pp*cp does not divide {gpus} GPUs)")
    acg = get("activations_checkpoint_granularity")
    graphs = [k for k in ("external_cuda_graph", "enable_cuda_graph", "full_cuda_graph")
              if is_true(setting(yaml, env, k, optional=True))]
    fp8, fp4 = is_true(get("fp8")), is_true(setting(yaml, env, "fp4", optional=True))
    return {
        "tp": str(tp), "pp": str(pp), "vpp": str(vpp if pp > 1 else 1), "cp": str(cp), "dp": str(dp), "ep": "1",
        "micro_batch": str(mbs), "sp": "yes" if is_true(get("sequence_parallel")) and tp > 1 else "no",
        "act_recompute": acg if acg not in ("", "null", "None") else "none",
        "fsdp_zero": ("distributed optimizer (USE_DIST_OPTIMIZER)" if is_true(get("use_distributed_optimizer"))
                      else "none"),
        "precision": _precision(yaml, env, fp8, fp4),
        "tp_comm_overlap": "yes" if is_true(get("ub_tp_comm_overlap")) and tp > 1 else "no",
        "fp8_params": ("yes" if fp8 and is_true(get("fp8_params|fp8_param_gather"))
                       else ("no" if fp8 or fp4 else "")),
        "param_gather_overlap": "yes" if is_true(get("overlap_param_gather")) else "no",
        "layer_cuda_graphs": "yes" if graphs else "no",
        "notes": "CUDA graphs: " + (", ".join(graphs) + " true" if graphs else "none of external_cuda_graph / "
                                    "enable_cuda_graph / full_cuda_graph set"),
        "pp_split_embedding_loss": ("yes" if is_true(get("account_for_embedding_in_pipeline_split"))
                                    and is_true(get("account_for_loss_in_pipeline_split")) else ""),
    }


def _yaml_folder(config: str, notes: list[str]) -> str:
    """The folder of the NeMo yaml a row's defaults came from (the config's own, unless ``notes`` name another)."""
    other = next((n.split("read from ", 1)[1].split(" ", 1)[0] for n in notes if n.startswith("NeMo yaml")), "")
    return str(PurePosixPath(other).parent.parent) if other else str(PurePosixPath(config).parent)


def make_row(mirror: Mirror, submitter: str, system: str, config: str | None = None) -> dict[str, str]:
    """The training_runs.csv row of one llama31_405b result ``<submitter>/<system>`` of ``mirror`` (v5.0, or v5.1 with
    the launch ``config`` :data:`SYSTEMS_V51` names; module docstring)."""
    version = mirror.version
    chosen = ("launch config of the implementation folder named like the result" if config is None else
              "launch config as mlperf_llama31_405b_rows.py SYSTEMS_V51 names it: the one the folder's README names, "
              "or the folder's only one")
    folder = f"{submitter}/results/{system}/llama31_405b"
    steady, files, markers = folder_step(mirror, folder)
    rates = [r for n in result_files(mirror, folder) if (r := last_eval_rate(mllog_events(mirror.show(n)), _SEQ))]
    sysj, gpus = system_file(mirror, submitter, system)
    gbs = int(markers["global_batch_size"])  # type: ignore[call-overload]
    config, env, yaml, unshipped = launch_config(mirror, submitter, system, config)
    total = statistics.median(rates)
    accel = sysj["accelerator_model_name"]
    layout = layout_columns(config, env, yaml, gpus, gbs)
    graph_note = layout.pop("notes")  # joined into the row's notes below
    return {
        "run_id": f"mlperf_train_{version}_{submitter}_{system}_llama31_405b",
        "source": result_source(version, folder, submitter, system),
        "source_locator": stamp_locator(f"mllog run_start, eval and tracked_stats markers, {files} runs", mirror),
        **_MODEL, **layout,
        "global_batch_seqs": str(gbs), "num_accels": str(gpus), "accelerator": accel,
        "accelerator_canonical": canonical_accelerator(accel),
        "system": system_cell(sysj),
        **throughput_columns(total, gpus, gbs, _SEQ), "steady_step_time_s": f"{steady:.4g}",
        "framework": sysj.get("framework", ""),
        "derived": (f"layout and recipe columns from the launch config training_results_{version}/{config} (after the "
                    f"files it sources) and {_yaml_folder(config, unshipped)}/conf/custom.yaml defaults; tokens_per_s_total = "
                    "(last eval samples x seq) / (last eval time - run_start), median over runs; step_time_s = "
                    "GBS*seq/tokens_per_s; steady_step_time_s = median over runs of the median tracked_stats "
                    "train_step_time; rows added by data/validation/derive/mlperf_llama31_405b_rows.py"),
        "confidence": (f"high (official MLPerf logs; {chosen})" if not unshipped else "medium (official MLPerf logs; the launch config sources files not in its "
                       "folder: notes)"),
        "notes": (f"pre-training from a checkpoint to a log-perplexity target; submission_platform="
                  f"{markers.get('submission_platform')}; accelerator memory {sysj.get('accelerator_memory_capacity', '')}; "
                  + "; ".join([graph_note, *unshipped])),
        "source_group": GROUP,
    }


def main(repo: str) -> None:
    mirror = open_mirror(repo)
    if mirror.version not in ("v5.0", "v5.1"):
        raise SystemExit(f"{repo}: a mirror of training_results_{mirror.version}; the rows of SYSTEMS / SYSTEMS_V51 "
                         "are v5.0's / v5.1's")
    specs = ([(*spec.split("/", 1), None) for spec in SYSTEMS] if mirror.version == "v5.0"
             else [(sub, system, config) for sub, system, config in SYSTEMS_V51])
    fields, rows = read_runs()
    for submitter, system, config in specs:
        new = make_row(mirror, submitter, system, config)
        rows = upsert_rows(fields, rows, [new])  # in place; columns other scripts fill are kept
        print(f"{new['run_id']}: {new['num_accels']} x {new['accelerator_canonical']} tp{new['tp']} pp{new['pp']} "
              f"vpp{new['vpp']} cp{new['cp']} dp{new['dp']} mb{new['micro_batch']} GBS {new['global_batch_seqs']}, "
              f"steady {new['steady_step_time_s']} s, wall clock {new['step_time_s']} s; graphs {new['layer_cuda_graphs']}")
    write_runs(fields, rows)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
