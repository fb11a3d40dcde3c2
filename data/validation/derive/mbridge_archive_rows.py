"""Add the Megatron-Bridge performance tables published AFTER the fit set (NeMo containers 26.02.01, 26.04,
26.04.01, 26.06, 26.06.01) as the source group ``mbridge-forward``: a forward test, never fitted.

Source: github:NVIDIA-NeMo/Megatron-Bridge @067f987df ``docs/performance-summary-archive.md``, sections
"<container> NeMo Container" / "Pre-Training Performance", one table per model ("#### Model: X"), one row per
system and precision; the table states GPUs, precision, GBS, MBS, sequence length, FSDP (26.02.01-26.04.01
only), TP, PP, CP, VP, EP, tokens/s/GPU and model TFLOP/s/GPU.

Release -> tag: ``docs/versions1.json`` @067f987df names each docs version with its container
("0.3.1 · 26.02.01", "0.4.0 · 26.04", "0.4.2 · 26.04.01", "0.5.0 · 26.06", "0.5.1 · 26.06.01"); the
performance presets of a row are read at that tag (:data:`RELEASES`), i.e. at the commit pinned for it in
pinned_mirrors.py ``MBRIDGE_COMMITS`` (as the archive at @067f987df), whatever the clone's tags say.

Per row:
* architecture columns (model, arch_type, params, layers, ..., vocab) copied from the nemo group's 26.02 row of
  the same model (the same public model config; the sequence length is the table's); a model with no such row
  (:data:`OWN_ARCH`: Kimi_K2) takes them from the dataclass defaults of its Megatron-Bridge model provider read at
  one tag (:func:`provider_fields`, :func:`provider_arch`: ``src/megatron/bridge/models/kimi/kimi_provider.py``
  @v0.3.1 ``KimiK2Provider``, the values models/kimi-k2.yaml cites; params_B / active_params_B counted from its
  dimensions). ``accelerator`` / ``accelerator_canonical`` from the nemo 26.02 rows of the same system (DGX-H100:
  H100-SXM5-80GB / H100-SXM);
* the recipe cells from the preset ``<MODEL>_PRETRAIN_CONFIG_<GPU>_<DTYPE>_V<n>`` (else the one named variant of
  the layout, e.g. ``..._GBS15360``: :func:`pick`) of
  ``scripts/performance/configs/<family>/<family>_workload_base_configs.py`` at the tag (evaluated from its
  syntax tree: ``WorkloadBaseConfig(...)``, ``replace(BASE, ...)`` and aliases, the dataclass defaults of
  ``scripts/performance/utils/utils.py``) whose layout (GPUs, TP, PP, CP, VP, EP, MBS, GBS) is the table's;
  the highest version where several match. ``moe_token_dispatcher`` (``moe_flex_dispatcher_backend``, else
  alltoall; alltoall where the tag's pretrain function sets ``moe_token_dispatcher_type = "alltoall"``,
  :func:`dispatcher_type`), ``moe_cuda_graph_scope`` (``cuda_graph_scope`` with ``cuda_graph_impl`` transformer_engine; "none"
  without graphs; ``cuda_graph_impl`` full_iteration as "full_iteration": the whole step is one graph, which the
  pretrain scripts make sync-free with a static HybridEP token budget, see ``archsweep.validation.moe_graphs``),
  ``moe_recompute_modules``, ``moe_a2a_overlap``, ``moe_fused_grouped_mlp`` (``cutedsl_fused_grouped_mlp``:
  TransformerEngine's op fuser runs the grouped MLP, :func:`fused_grouped_mlp`),
  ``act_offload_layers`` (``cpu_offloading_num_layers``) and ``moe_recipe_source`` come from it;
* ``tp_comm_overlap`` no on NVFP4 Llama rows where the tag's ``llama3(1)_llm_pretrain.py`` still switches it off
  for nvfp4 (as data/validation/derive/mbridge_tp_overlap.py reads v0.3.0); ``param_gather_overlap``,
  ``fp8_params``, ``fp8_act`` and ``layer_cuda_graphs`` carried from the 26.02 row of the same model, system and
  precision (not re-read at the tag: ``derived`` says so), but ``param_gather_overlap`` "no" on a pre-training row
  whose pretrain function ``<model>_pretrain_config_<gpu>`` at the tag turns the overlap off for the row's precision
  and config variant (:func:`gather_off`: assignments and calls such as v0.4.2 / v0.5.0
  ``llama31_405b_pretrain_config_gb200`` ``if precision == "nvfp4" and config_variant.lower() == "v2":
  disable_param_gather_overlap(cfg)``, Megatron-Bridge issue 3714; the variant is the row's preset's,
  :func:`config_variants`: the 26.04.01 and 26.06 GB200 NVFP4 rows, preset ``..._GB200_NVFP4_V2``), and except on the
  rows of a table the archive marks as run with the Muon optimizer (:data:`OPTIMIZER_NOTES`: "Muon optimizer was
  used for pre-training Kimi-K2.", under the Kimi_K2 tables of 26.02.01 .. 26.06), which have no 26.02 row: there they and ``fsdp_zero`` are read at the
  row's tag (:func:`muon_cells`: the recipe ``src/megatron/bridge/recipes/kimi/kimi_k2.py`` turns
  ``ddp.use_distributed_optimizer`` and ``ddp.overlap_param_gather`` off for Muon, ``training/comm_overlap.py``
  applies the data-parallel overlap only with the distributed optimizer, ``training/optim.py`` builds Megatron-Core's
  LayerWiseDistributedOptimizer for ``dist_muon``, the pretrain script's ``set_kimi_k2_common_configs`` turns
  ``fp8_param_gather`` off for Muon + MXFP8; no ``activation_func_fp8_input_store`` anywhere: ``fp8_act`` no;
  ``cuda_graph_impl`` "none": ``layer_cuda_graphs`` empty as on every Megatron-Bridge row); ``optimizer`` is "muon"
  there and empty on every other row (the stack's Adam); ``act_recompute`` "none (<preset>: ...)" on the Blackwell
  Llama rows whose preset sets no recompute_num_layers / recompute_modules / cpu_offloading_num_layers, as the
  nemo 26.02 Blackwell Llama rows state it (tests/validation/test_stated_recompute_presets.py), else empty;
* ``source_caveat`` / ``source_caveat_text`` (archsweep.validation.caveats): the kind of caveat a footnote that marks
  the table row states of its figures (:data:`FOOTNOTE_CAVEATS`: 26.06.01 GPT OSS 120B "Performance regression ...
  is a known issue" -> known_regression) and the footnote's words with their locator; empty where no such footnote
  marks it (validation skips a flagged row with those words as the reason);
* no preset of the table's layout at the tag: the 26.02 row's recipe cells (the documented default of the last
  fitted release, ``act_recompute`` included) and confidence low.

The 26.06 SFT and LoRA tables (Llama 3 70B) are read the same way with the ``<MODEL>_{SFT,LORA}_CONFIG_*`` presets
and :func:`_finetune`. Left out (the table model has no ``models/`` YAML: hybrid Mamba-MoE): Nemotron_3_Nano,
Nemotron_3_Super. Kimi_K2 (4 rows, s33) is in since models/kimi-k2.yaml.

Presets: a table model whose preset file names its presets without a variant
(``KIMI_K2_PRETRAIN_CONFIG_GB300_FP8_MX``) takes that name when no ``V<n>`` or named variant has the table's layout:
``scripts/performance/utils/utils.py`` ``get_workload_base_config`` falls back to the non-versioned name when the
versioned one is absent (:func:`pick`).

Usage: python data/validation/derive/mbridge_archive_rows.py <Megatron-Bridge git dir>
(idempotent: rows are written over the rows of the same run_id, see runs_table.upsert_rows).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Callable, Collection
from typing import Any

from _mbridge_presets import GatherSetting, compute_dtype, gather_settings, preset_model
from pinned_mirrors import MBRIDGE_COMMITS, git_text, mbridge_commits
from runs_table import read_runs, upsert_rows, write_runs

GROUP = "mbridge-forward"
_COMMIT = "067f987df"
_DOC = "docs/performance-summary-archive.md"
#: container -> Megatron-Bridge tag (docs/versions1.json @067f987df)
RELEASES = {"26.02.01": "v0.3.1", "26.04": "v0.4.0", "26.04.01": "v0.4.2", "26.06": "v0.5.0", "26.06.01": "v0.5.1"}
_CFG = "scripts/performance/configs/"
#: table model -> (data-set model name, preset file, preset prefix, pretrain script for the NVFP4 TP-overlap rule)
MODELS = {
    "LLAMA3_70B": ("LLAMA3-70B", "llama/llama3_workload_base_configs.py", "LLAMA3_70B", "llama/llama3_llm_pretrain.py"),
    "LLAMA3.1_405B": ("LLAMA3.1-405B", "llama/llama31_workload_base_configs.py", "LLAMA31_405B",
                      "llama/llama31_llm_pretrain.py"),
    "DeepSeekV3": ("DeepSeekV3", "deepseek/deepseek_workload_base_configs.py", "DEEPSEEK_V3", ""),
    "GPT OSS 120B": ("GPT OSS 120B", "gpt_oss/gpt_oss_workload_base_configs.py", "GPT_OSS_120B", ""),
    "Qwen3_30B_a3B": ("Qwen3_30B_a3B", "qwen/qwen3_workload_base_configs.py", "QWEN3_30B_A3B", ""),
    "Qwen3_235B_a22B": ("Qwen3_235B_a22B", "qwen/qwen3_workload_base_configs.py", "QWEN3_235B_A22B", ""),
    "Kimi_K2": ("Kimi_K2", "kimi/kimi_workload_base_configs.py", "KIMI_K2", ""),
}
#: MoE table model -> (pretrain script, function prefix): ``<prefix>_pretrain_config_<gpu>`` may set
#: ``cfg.model.moe_token_dispatcher_type`` after the preset's backend (:func:`dispatcher_type`)
MOE_PRETRAIN = {"DeepSeekV3": ("deepseek/deepseek_llm_pretrain.py", "deepseek_v3"),
                "GPT OSS 120B": ("gpt_oss/gpt_oss_llm_pretrain.py", "gpt_oss_120b"),
                "Qwen3_30B_a3B": ("qwen/qwen3_llm_pretrain.py", "qwen3_30b_a3b"),
                "Qwen3_235B_a22B": ("qwen/qwen3_llm_pretrain.py", "qwen3_235b_a22b"),
                "Kimi_K2": ("kimi/kimi_llm_pretrain.py", "kimi_k2")}
SKIPPED = {"Nemotron_3_Nano": "no models/ YAML (hybrid Mamba-MoE)",
           "Nemotron_3_Super": "no models/ YAML (hybrid Mamba-MoE)"}
#: Table model with no nemo 26.02 row -> (tag, provider file, provider class, models/ file) whose dataclass defaults
#: give its architecture columns (:func:`provider_arch`). Kimi_K2: the provider exists at v0.3.1 only; from v0.4.0 the
#: recipe builds the same model from the HF config moonshotai/Kimi-K2-Instruct (src/megatron/bridge/models/kimi/
#: kimi_bridge.py), which the mirror does not hold; models/kimi-k2.yaml cites the same provider fields.
OWN_ARCH = {"Kimi_K2": ("v0.3.1", "src/megatron/bridge/models/kimi/kimi_provider.py", "KimiK2Provider",
                        "models/kimi-k2.yaml")}
#: Table model -> (the archive's words under its pre-training tables naming the optimizer, ``optimizer`` cell).
OPTIMIZER_NOTES = {"Kimi_K2": ("Muon optimizer was used for pre-training Kimi-K2.", "muon")}
#: ``fsdp_zero`` of a Muon row: the recipe's Muon optimizer is Megatron-Core's layer-wise distributed optimizer
#: (archsweep.validation.cells reads "distributed optimizer" as ZeRO stage 1).
MUON_ZERO = "layer-wise distributed optimizer (Megatron-Core LayerWiseDistributedOptimizer, Muon)"
#: archive section title -> preset task name (``<MODEL>_<TASK>_CONFIG_<GPU>_<DTYPE>_V<n>``)
TASKS = {"Pre-Training Performance": "PRETRAIN", "SFT Performance": "SFT", "LoRA Performance": "LORA"}
_TITLE = {task: title for title, task in TASKS.items()}
DTYPE = {"FP8": "FP8_CS", "MXFP8": "FP8_MX", "NVFP4": "NVFP4", "BF16": "BF16"}
#: WorkloadBaseConfig defaults (scripts/performance/utils/utils.py, the same at every tag read)
_DEFAULTS: dict[str, Any] = {"num_gpus": 1, "tensor_model_parallel_size": 1, "pipeline_model_parallel_size": 1,
                             "context_parallel_size": 1, "virtual_pipeline_model_parallel_size": None,
                             "expert_model_parallel_size": 1, "global_batch_size": 1, "micro_batch_size": 1,
                             "use_megatron_fsdp": None, "cuda_graph_impl": None, "cuda_graph_scope": None,
                             "cpu_offloading_num_layers": None, "recompute_modules": None,
                             "moe_flex_dispatcher_backend": None, "moe_a2a_overlap": False,
                             "cutedsl_fused_grouped_mlp": False}
_ARCH = ("model", "arch_type", "params_B", "active_params_B", "layers", "hidden", "heads", "kv_heads", "ffn_hidden",
         "vocab", "notes")
_CARRIED = ("param_gather_overlap", "fp8_params", "fp8_act", "layer_cuda_graphs")
#: Footnote of the archive -> the kind of caveat (archsweep.validation.caveats.SOURCE_CAVEATS) it states of the
#: figures of the table rows it marks; validation skips such a row with the footnote's words as the reason.
FOOTNOTE_CAVEATS = {
    # "Performance regression in GPT-OSS 120B pre-training is a [known issue](https://github.com/NVIDIA/
    # cudnn-frontend/issues/256). It will be resolved with the next container release." (26.06.01 GPT OSS 120B)
    "gpt-oss-note": "known_regression",
    # "Mapping used for MXFP8 precision could not fit for  NVFP4 precision for this model. We expect to achieve better
    # performance for NVFP4 precision in future when NVFP4 param gather is supported." (26.04.01 Nemotron_3_Super
    # B200 NVFP4: a SKIPPED model, no row derived)
    "nemotron-3-super-b200-nvfp4-note": "not_tuned",
}
#: Footnotes that describe the method, not a flaw of the figures they mark ("In MoE training benchmarks, we
#: force-balance the token distribution among experts and all benchmarks are token-dropless.").
FOOTNOTE_METHOD = ("moe-training-note",)
CAVEAT_COLUMNS = ("source_caveat", "source_caveat_text")
_FULL_ITERATION = "full_iteration"


def tables(text: str, containers: Collection[str] = tuple(RELEASES)) -> list[tuple[str, str, int, dict[str, str]]]:
    """(container, table model, row number from 1, {column: cell}) of every pre-training, SFT and LoRA table row
    of the archive's ``containers`` (default: those in :data:`RELEASES`); the task (:data:`TASKS` value) is under
    ``"_task"``; footnote marks are taken out of the cells and the footnotes they point to are under
    ``"_footnotes"`` (empty: none); the lines of prose under the row's table (up to the next table or section, e.g.
    "-  Muon optimizer was used for pre-training Kimi-K2.") are under ``"_text"``."""
    footnotes = dict(re.findall(r"^\[\^([\w-]+)\]:\s*(.+)$", text, flags=re.MULTILINE))
    out = []
    for part in text.split("\n## ")[1:]:
        container = part.split(" NeMo Container", 1)[0].strip()
        if container not in containers:
            continue
        for section in part.split("\n### ")[1:]:
            task = TASKS.get(section.split("\n", 1)[0].strip())
            if task is not None:
                out.extend(_rows(container, task, section, footnotes))
    return out


def _rows(container: str, task: str, section: str,
          footnotes: dict[str, str]) -> list[tuple[str, str, int, dict[str, str]]]:
    """The rows of one ``### <task> Performance`` section (see :func:`tables`)."""
    out = []
    for block in section.split("#### Model: ")[1:]:
        model = block.split("\n", 1)[0].strip()
        lines = [ln for ln in block.splitlines() if ln.startswith("|")]
        prose = "\n".join(ln.strip() for ln in block.splitlines()[1:] if ln.strip() and not ln.startswith("|"))
        head = [c.strip() for c in lines[0].strip("|").split("|")]
        for i, ln in enumerate(lines[2:], start=1):
            marks = re.findall(r"\[\^([\w-]+)\]", ln)
            cells = [re.sub(r"\[\^[\w-]+\]", "", c).strip() for c in ln.strip("|").split("|")]
            row = dict(zip(head, cells, strict=True))
            row["_footnotes"] = " ".join(f"[^{m}]: {footnotes.get(m, '?')}" for m in marks)
            row["_footnote_marks"] = " ".join(marks)
            row["_task"] = task
            row["_text"] = prose
            out.append((container, model, i, row))
    return out


def presets(source: str) -> dict[str, dict[str, Any]]:
    """Preset name -> fields (defaults filled) of a ``*_workload_base_configs.py`` text, from its syntax tree."""
    env: dict[str, Any] = {}
    out: dict[str, dict[str, Any]] = {}

    def value(node: ast.expr) -> Any:
        try:
            return ast.literal_eval(node)
        except ValueError:
            if isinstance(node, ast.Name) and node.id in env:
                return env[node.id]
            return ast.unparse(node)

    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name, v = node.targets[0].id, node.value
        if isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "WorkloadBaseConfig":
            out[name] = {**_DEFAULTS, **{k.arg: value(k.value) for k in v.keywords if k.arg}}
        elif (isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "replace" and v.args
              and isinstance(v.args[0], ast.Name) and v.args[0].id in out):
            out[name] = {**out[v.args[0].id], **{k.arg: value(k.value) for k in v.keywords if k.arg}}
        elif isinstance(v, ast.Name) and v.id in out:
            out[name] = dict(out[v.id])
        else:
            try:
                env[name] = ast.literal_eval(v)
            except ValueError:
                pass
    return out


def _int(cell: str, default: int | None) -> int | None:
    return default if cell in ("", "n/a") else int(cell)


def layout(cells: dict[str, str]) -> dict[str, Any]:
    """The table row's layout in the preset's field names."""
    return {"num_gpus": int(cells["#-GPUs"]), "tensor_model_parallel_size": int(cells["TP"]),
            "pipeline_model_parallel_size": int(cells["PP"]), "context_parallel_size": int(cells["CP"]),
            "virtual_pipeline_model_parallel_size": _int(cells["VP"], None),
            "expert_model_parallel_size": _int(cells["EP"], 1), "global_batch_size": int(cells["GBS"]),
            "micro_batch_size": int(cells["MBS"])}


def pick(found: dict[str, dict[str, Any]], prefix: str, gpu: str, precision: str,
         want: dict[str, Any], task: str = "PRETRAIN") -> tuple[str, dict[str, Any]] | None:
    """The preset ``<prefix>_<task>_CONFIG_<gpu>_<dtype>_<variant>`` with the table's layout: the highest version
    ``V<n>`` where several match; else the one named variant of that layout (e.g. v0.5.0
    ``DEEPSEEK_V3_PRETRAIN_CONFIG_GB300_FP8_MX_GBS15360``, the ``--config_variant`` of the 26.06 GBS 15360 row);
    else the preset without a variant, ``<prefix>_<task>_CONFIG_<gpu>_<dtype>`` (e.g. v0.3.1
    ``KIMI_K2_PRETRAIN_CONFIG_GB300_FP8_MX``: ``get_workload_base_config`` of scripts/performance/utils/utils.py takes
    it when the versioned name is absent). Two named variants of one layout and no ``V<n>``: an error (nothing says
    which one the table ran)."""
    bare = f"{prefix}_{task}_CONFIG_{gpu}_{DTYPE[precision]}"
    pattern = re.compile(rf"^{re.escape(bare)}_(V(\d+)|[A-Z0-9_]+)$")
    fits = [name for name in found if all(found[name].get(k) == v for k, v in want.items())]
    hits = [(m.group(2), name) for name in fits if (m := pattern.match(name))]
    versions = [(int(n), name) for n, name in hits if n is not None]
    named = sorted(name for n, name in hits if n is None)
    if versions:
        name = max(versions)[1]
    elif len(named) == 1:
        name = named[0]
    elif named:
        raise SystemExit(f"{prefix} {task} {gpu} {precision}: several named presets of the layout {want}: {named}")
    elif bare in fits:
        name = bare
    else:
        return None
    return name, found[name]


def scope_of(preset: dict[str, Any]) -> tuple[str, str]:
    """(moe_cuda_graph_scope cell, note) of a preset."""
    impl = str(preset.get("cuda_graph_impl") or "none")
    if impl == "full_iteration":
        return _FULL_ITERATION, ("cuda_graph_impl full_iteration: the step is one CUDA graph, the MoE dispatch "
                                 "sync-free (the pretrain script's set_full_iter_cg_configs: "
                                 "moe_expert_rank_capacity_factor 1.5)")
    if impl != "transformer_engine":
        return "none", ""
    scope = preset.get("cuda_graph_scope") or []
    parts = [scope] if isinstance(scope, str) else list(scope)
    return ("+".join(parts) if parts else "none"), ""


def base_rows(rows: list[dict[str, str]]) -> dict[tuple[str, str, str], dict[str, str]]:
    """(model, system, precision) -> the nemo group's 26.02 row."""
    return {(r["model"], r["system"], r["precision"]): r for r in rows
            if r["source_group"] == "nemo" and r["run_id"].startswith("mbridge_26.02_")}


def make_row(container: str, table_model: str, index: int, cells: dict[str, str], bases: dict[tuple[str, str, str],
             dict[str, str]], repo: str, cache: dict[str, Any]) -> dict[str, str]:
    """One training_runs.csv row of the table row ``cells`` (module doc)."""
    model, cfg_file, prefix, pretrain = MODELS[table_model]
    tag = RELEASES[container]
    system, precision = cells["System"], cells["Precision"]
    gpu = system.removeprefix("DGX-")
    task = cells.get("_task", "PRETRAIN")
    words, optimizer = OPTIMIZER_NOTES.get(table_model, ("", ""))
    if words and words not in cells.get("_text", ""):
        raise SystemExit(f"{_DOC}@{_COMMIT}: {container} {table_model} table no longer says {words!r}: re-read it")
    if table_model in OWN_ARCH:
        if task != "PRETRAIN" or not optimizer:
            raise SystemExit(f"{container} {table_model} {task}: no nemo 26.02 row to carry {_CARRIED} from and no "
                             "reading of them at the tag (muon_cells): read the row by hand")
        arch, arch_note = provider_arch(table_model, repo)
        base: dict[str, str] | None = None
    else:
        same = [r for (m, s, _), r in bases.items() if m == model and s == system]
        arch = next(r for (m, _, _), r in bases.items() if m == model)
        arch_note = f"architecture from {arch['run_id']}"
        base = bases.get((model, system, precision)) or (same[0] if same else arch)
    want = layout(cells)
    key = f"{tag}:{cfg_file}"
    if key not in cache:
        cache[key] = presets(_show(repo, tag, f"{_CFG}{cfg_file}"))
    fsdp = cells.get("FSDP", "0") not in ("0", "", "n/a")
    found = pick(cache[key], prefix, gpu, precision, want, task)
    gpus, tp, pp, cp = want["num_gpus"], int(cells["TP"]), int(cells["PP"]), int(cells["CP"])
    row = {k: arch[k] for k in _ARCH}
    row.update({
        "source": "NVIDIA Megatron-Bridge docs \"Performance\" archive (docs/performance-summary-archive.md)",
        "source_locator": (f"{container} NeMo container, {_TITLE[task]}, Model: {table_model} table, row {index} "
                           f"({system} {precision}); NVIDIA-NeMo/Megatron-Bridge@{_COMMIT}:{_DOC}"),
        "source_group": GROUP, "seq_len": cells["Sequence Length"], "global_batch_seqs": cells["GBS"],
        "micro_batch": cells["MBS"], "tp": str(tp), "pp": str(pp), "dp": str(gpus // (tp * pp * cp)), "cp": str(cp),
        "ep": cells["EP"], "vpp": cells["VP"], "num_accels": str(gpus), "system": system, "precision": precision,
        "fsdp_zero": "Megatron-FSDP" if fsdp else "none (DDP, distributed optimizer)",
        "framework": f"Megatron-Bridge / NeMo {container}", "tflops_per_gpu": cells["Model TFLOP / sec / GPU"],
        "tokens_per_s_per_gpu": cells["Tokens / sec / GPU"],
    })
    part = next(r for (_, s, _), r in bases.items() if s == system)  # the part as the 26.02 rows of the system name it
    row["accelerator"], row["accelerator_canonical"] = part["accelerator"], part["accelerator_canonical"]
    notes = ["dp = GPUs/(TP*PP*CP) (EP is carved out of DP)", arch_note]
    if base is not None:
        for column in _CARRIED:
            row[column] = base.get(column, "") if task == "PRETRAIN" else ""
        off = None
        if task == "PRETRAIN" and not optimizer:  # the tag's pretrain function may turn the overlap off (module doc)
            variants = found and config_variants(found[0], f"{prefix}_{task}_CONFIG_{gpu}_{DTYPE[precision]}",
                                                 cache[key])
            off = gather_off(repo, tag, table_model, model, gpu, precision, variants, found[0] if found else "")
        carried = [c for c in _CARRIED if off is None or c != "param_gather_overlap"]
        notes.append(f"{', '.join(carried)} carried from {base['run_id']} (not re-read at {tag})" if task == "PRETRAIN"
                     else f"{', '.join(_CARRIED)} not stated (fine-tuning: no pre-training row to carry them from)")
        if off is not None:
            row["param_gather_overlap"] = "no"
            notes.append(off)
    moe = arch["arch_type"] != "dense"
    if found is not None:
        name, preset = found
        graph, graph_note = scope_of(preset)
        source = f"{tag} {_CFG}{cfg_file}:{name}"
        offload = preset.get("cpu_offloading_num_layers")
        row["act_offload_layers"] = str(offload or "")
        row["act_offload_source"] = f"Megatron-Bridge {source}: cpu_offloading_num_layers={offload}" if offload else ""
        if not moe and gpu != "H100" and not any(preset.get(k) for k in (
                "recompute_num_layers", "recompute_modules", "cpu_offloading_num_layers")):
            row["act_recompute"] = (f"none (Megatron-Bridge {source}: no recompute_num_layers / recompute_modules, "
                                    "no cpu_offloading_num_layers)")
        else:
            row["act_recompute"] = ""
        if moe:
            modules = preset.get("recompute_modules") or []
            row.update({"moe_token_dispatcher": str(preset.get("moe_flex_dispatcher_backend") or "alltoall"),
                        "moe_cuda_graph_scope": graph,
                        "moe_recompute_modules": "+".join(modules) if modules else "none",
                        "moe_a2a_overlap": "yes" if preset.get("moe_a2a_overlap") else "no",
                        "moe_fused_grouped_mlp": fused_grouped_mlp(preset),
                        "moe_recipe_source": source})
            script, prefix_fn = MOE_PRETRAIN[table_model]
            function = f"{prefix_fn}_pretrain_config_{gpu.lower()}"
            if row["moe_token_dispatcher"] != "alltoall" and dispatcher_type(
                    _show(repo, tag, f"{_CFG}{script}"), function) == "alltoall":
                notes.append(f"moe_token_dispatcher alltoall: {tag} {_CFG}{script} {function} sets "
                             f"moe_token_dispatcher_type = \"alltoall\" (the preset's "
                             f"moe_flex_dispatcher_backend {row['moe_token_dispatcher']} is read only by \"flex\")")
                row["moe_token_dispatcher"] = "alltoall"
            if row["moe_fused_grouped_mlp"] == "yes":
                notes.append(f"moe_fused_grouped_mlp yes: {source} cutedsl_fused_grouped_mlp=True "
                             f"(scripts/performance/utils/overrides.py at {tag}: use_transformer_engine_op_fuser)")
        if preset.get("use_megatron_fsdp") and not fsdp:
            row["fsdp_zero"] = "Megatron-FSDP"
            notes.append("FSDP from the preset (use_megatron_fsdp), the table has no FSDP column")
        notes.append(f"recipe from Megatron-Bridge {source} (layout = the table's)"
                     + (f"; {graph_note}" if graph_note else ""))
        row["confidence"] = "high (official NVIDIA doc table; preset of the same layout at the release's tag)"
    else:
        if base is None:
            raise SystemExit(f"{container} {table_model} {system} {precision}: no preset of the table's layout at {tag} "
                             "and no nemo 26.02 row to take the recipe from: read the row by hand")
        for column in ("act_recompute", "act_offload_layers", "act_offload_source", "moe_token_dispatcher", "moe_cuda_graph_scope",
                       "moe_recompute_modules", "moe_a2a_overlap", "moe_fused_grouped_mlp", "moe_recipe_source"):
            row[column] = base.get(column, "")
        notes.append(f"no {prefix}_{task}_CONFIG_{gpu}_{DTYPE[precision]}_V* preset of this layout at {tag}: "
                     f"recipe cells of {base['run_id']}")
        row["confidence"] = "low (official NVIDIA doc table; recipe not pinned to the release: the 26.02 row's)"
    if optimizer:  # read at the tag (no 26.02 row to carry them from; module doc)
        if fsdp or row["fsdp_zero"] != "none (DDP, distributed optimizer)" or found is None:
            raise SystemExit(f"{container} {table_model} {system}: a Muon row with FSDP or no preset: read it by hand")
        muon, muon_note = muon_cells(repo, tag, table_model, gpu, precision, found[1])
        row.update(muon)
        notes.append(muon_note)
    row["optimizer"] = optimizer
    row["source_caveat"], row["source_caveat_text"] = footnote_caveat(cells, container, task, table_model, index)
    if cells.get("_footnotes"):  # e.g. 26.06.01 GPT-OSS: "Performance regression ... is a known issue"
        row["notes"] = f"table footnote {cells['_footnotes']}; {row['notes']}"
        row["confidence"] = ("low (official NVIDIA doc table, but its footnote flags the row: "
                             + cells["_footnotes"][:200] + ")")
    if precision == "NVFP4" and pretrain and 'precision == "nvfp4"' in _show(repo, tag, f"{_CFG}{pretrain}"):
        row["tp_comm_overlap"] = "no"
        notes.append(f"tp_comm_overlap no: {tag} {_CFG}{pretrain} switches it off for nvfp4")
    if task != "PRETRAIN":
        _finetune(row, notes, task, gpu, tag, repo)
    notes.append("row added by data/validation/derive/mbridge_archive_rows.py")
    row["derived"] = "; ".join(notes)
    label = {"PRETRAIN": "", "SFT": "SFT_", "LORA": "LoRA_"}[task]
    row["run_id"] = f"mbridge-fwd_{container}_{system}_{model.replace(' ', '_')}_{label}{precision}_{gpus}"
    return row


def footnote_caveat(cells: dict[str, str], container: str, task: str, table_model: str,
                    index: int) -> tuple[str, str]:
    """(``source_caveat``, ``source_caveat_text``) of a table row: the kind :data:`FOOTNOTE_CAVEATS` gives the
    footnote that marks it and the footnote's words with their locator; ("", "") for a row no caveat footnote marks.
    A footnote in neither :data:`FOOTNOTE_CAVEATS` nor :data:`FOOTNOTE_METHOD` is an error (read it first)."""
    marks = cells.get("_footnote_marks", "").split()
    unknown = [m for m in marks if m not in FOOTNOTE_CAVEATS and m not in FOOTNOTE_METHOD]
    if unknown:
        raise SystemExit(f"{_DOC}@{_COMMIT}: {container} {table_model} row {index}: footnote(s) {unknown} are in "
                         "neither FOOTNOTE_CAVEATS nor FOOTNOTE_METHOD (read them and say which)")
    flagged = [m for m in marks if m in FOOTNOTE_CAVEATS]
    if not flagged:
        return "", ""
    kinds = {FOOTNOTE_CAVEATS[m] for m in flagged}
    if len(kinds) > 1:
        raise SystemExit(f"{_DOC}@{_COMMIT}: {container} {table_model} row {index}: footnotes {flagged} state "
                         f"different caveats {sorted(kinds)}")
    words = re.findall(r"\[\^([\w-]+)\]: (.*?)(?= \[\^[\w-]+\]: |$)", cells["_footnotes"])
    quoted = " ".join(f'"{text}" (footnote [^{mark}])' for mark, text in words if mark in flagged)
    return kinds.pop(), (f"{quoted}; NVIDIA-NeMo/Megatron-Bridge@{_COMMIT}:{_DOC}, {container} NeMo container, "
                         f"{_TITLE[task]}, Model: {table_model} table, row {index} ({cells['System']} "
                         f"{cells['Precision']})")


def _finetune(row: dict[str, str], notes: list[str], task: str, gpu: str, tag: str, repo: str) -> None:
    """The fine-tuning cells of an SFT / LoRA row of Llama 3 70B (the only fine-tuning tables), from the tag's
    ``scripts/performance/configs/llama/llama3_llm_finetune.py`` ``llama3_70b_{sft,lora}_config_<gpu>`` (packed
    sequences of 4096; ``CommOverlapConfig(tp_comm_overlap=TP > 1)``; LoRA ``cfg.peft.target_modules =
    ["linear_qkv"]``), ``src/megatron/bridge/recipes/llama/llama3.py`` ``llama3_70b_peft_config`` (LoRA dim 16)
    and ``src/megatron/bridge/peft/lora.py`` (dropout default 0.0). A statement not found at the tag is an error."""
    script = f"{_CFG}llama/llama3_llm_finetune.py"
    text = _show(repo, tag, script)
    function = f"def llama3_70b_{task.lower()}_config_{gpu.lower()}("
    body = text.split(function, 1)[1].split("\ndef ", 1)[0] if function in text else ""
    overlap = "tp_comm_overlap=bool(cfg.model.tensor_model_parallel_size > 1)"
    if overlap not in body or "packed_sequence_size = seq_length" not in body:
        raise SystemExit(f"{tag}:{script}: {function} no longer sets {overlap!r} and packed sequences")
    row["tp_comm_overlap"] = "yes" if int(row["tp"]) > 1 else "no"
    notes.append(f"tp_comm_overlap {row['tp_comm_overlap']}: {tag} {script} {function[4:-1]} {overlap}")
    kind = "SFT" if task == "SFT" else "LoRA"
    row["notes"] = f"fine-tuning workload ({kind}, packed sequences of 4096); {row['notes']}"
    row["model"] = f"{row['model']} {kind}"  # as the nemo 24.07 rows name it: validation reads the mode from it
    if task == "LORA":
        recipe = _show(repo, tag, "src/megatron/bridge/recipes/llama/llama3.py")
        lora = _show(repo, tag, "src/megatron/bridge/peft/lora.py")
        if ('cfg.peft.target_modules = ["linear_qkv"]' not in body or "peft_cfg.dim = 16" not in recipe
                or "dropout: float = 0.0" not in lora):
            raise SystemExit(f"{tag}: the LoRA recipe of {function[4:-1]} is no longer qkv-only, dim 16, dropout 0.0")
        row.update({"lora_rank": "16", "lora_targets": "attention_qkv", "lora_dropout": "0",
                    "lora_recipe_source": (f"Megatron-Bridge {tag} {script} {function[4:-1]} (target_modules "
                                           "['linear_qkv']); src/megatron/bridge/recipes/llama/llama3.py "
                                           "llama3_70b_peft_config (dim 16); src/megatron/bridge/peft/lora.py "
                                           "(dropout 0.0)")})


def _literal(node: ast.expr) -> Any:
    """The value of a literal, or of list / number arithmetic on literals (``[0] + [1] * 60``)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
        left, right = _literal(node.left), _literal(node.right)
        return left + right if isinstance(node.op, ast.Add) else left * right
    return ast.literal_eval(node)


def provider_fields(source: str, cls: str) -> dict[str, Any]:
    """Field -> default of the dataclass ``cls`` in ``source`` (its own body, not the bases') where the default is a
    literal, list arithmetic (:func:`_literal`) or ``field(default_factory=lambda: <such a value>)``; fields with
    any other default (a function, a dtype, a conditional) are left out."""
    found = [n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == cls]
    if len(found) != 1:
        raise SystemExit(f"expected one class {cls}, found {len(found)}")
    out: dict[str, Any] = {}
    for stmt in found[0].body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None):
            continue
        value = stmt.value
        if isinstance(value, ast.Call) and ast.unparse(value.func) == "field":
            factory = [k.value for k in value.keywords if k.arg == "default_factory"]
            if not (factory and isinstance(factory[0], ast.Lambda)):
                continue
            value = factory[0].body
        try:
            out[stmt.target.id] = _literal(value)
        except (ValueError, TypeError):
            continue
    return out


def provider_arch(table_model: str, repo: str) -> tuple[dict[str, str], str]:
    """(architecture columns, ``derived`` note) of a table model with no nemo 26.02 row (:data:`OWN_ARCH`), from the
    dataclass defaults of its Megatron-Bridge provider: an MLA + MoE model with SwiGLU FFNs, no bias, untied
    embeddings and no MTP layer (else an error). params_B / active_params_B are counted from the dimensions: input
    embedding and output layer (V x h each), per layer the MLA projections (h x q_lora, q_lora x heads x (qk + rope),
    h x (kv_lora + rope), kv_lora x heads x (qk + v), heads x v x h), a dense layer's SwiGLU (3 h x ffn), a MoE
    layer's routed + shared experts (3 h x moe_ffn each; active: top-k + shared) and router (h x experts); norm
    weights not counted (as models/*.yaml count them)."""
    tag, path, cls, yaml_file = OWN_ARCH[table_model]
    f = provider_fields(_show(repo, tag, path), cls)
    need = ("num_layers", "hidden_size", "ffn_hidden_size", "num_moe_experts", "moe_ffn_hidden_size",
            "moe_shared_expert_intermediate_size", "moe_layer_freq", "num_attention_heads", "moe_router_topk",
            "q_lora_rank", "kv_lora_rank", "qk_head_dim", "qk_pos_emb_head_dim", "v_head_dim", "vocab_size",
            "multi_latent_attention", "gated_linear_unit", "share_embeddings_and_output_weights", "add_bias_linear")
    if missing := [k for k in need if k not in f]:
        raise SystemExit(f"{tag} {path} {cls}: no literal default of {missing}: re-read it")
    if (not f["multi_latent_attention"] or not f["gated_linear_unit"] or f["share_embeddings_and_output_weights"]
            or f["add_bias_linear"] or f.get("mtp_num_layers")):
        raise SystemExit(f"{tag} {path} {cls}: not an untied, bias-free SwiGLU MLA model without MTP: re-read it")
    h, layers, heads, vocab = f["hidden_size"], f["num_layers"], f["num_attention_heads"], f["vocab_size"]
    experts, top_k, width = f["num_moe_experts"], f["moe_router_topk"], f["moe_ffn_hidden_size"]
    shared, rest = divmod(f["moe_shared_expert_intermediate_size"], width)
    freq = f["moe_layer_freq"]
    if rest or not isinstance(freq, list) or len(freq) != layers or set(freq) - {0, 1}:
        raise SystemExit(f"{tag} {path} {cls}: shared-expert width or moe_layer_freq not as read: re-read it")
    dense = freq.count(0)
    q, kv, qk, rope, v = (f[k] for k in ("q_lora_rank", "kv_lora_rank", "qk_head_dim", "qk_pos_emb_head_dim",
                                         "v_head_dim"))
    attention = h * q + q * heads * (qk + rope) + h * (kv + rope) + kv * heads * (qk + v) + heads * v * h
    common = 2 * vocab * h + layers * attention + dense * 3 * h * f["ffn_hidden_size"]
    total = common + (layers - dense) * ((experts + shared) * 3 * h * width + h * experts)
    active = common + (layers - dense) * ((top_k + shared) * 3 * h * width + h * experts)
    first = "first layer dense" if dense == 1 else f"first {dense} layers dense"
    where = f"Megatron-Bridge {tag} {path} {cls}"
    arch = {"model": MODELS[table_model][0], "arch_type": f"moe (MLA; {experts} routed + {shared} shared expert, "
            f"top-{top_k}; {first})", "params_B": f"{total / 1e9:.1f}", "active_params_B": f"{active / 1e9:.1f}",
            "layers": str(layers), "hidden": str(h), "heads": str(heads), "kv_heads": "",
            "ffn_hidden": f"dense {f['ffn_hidden_size']} / expert {width}", "vocab": str(vocab),
            "notes": ("MoE benchmarks force-balanced routing, token-dropless (the archive's MoE note); architecture "
                      f"fields from {where} (the values {yaml_file} cites), not from the perf table itself")}
    note = (f"architecture from {where} (no nemo 26.02 row of the model; params_B / active_params_B counted from its "
            f"dimensions, {total:,} / {active:,}, norms not counted)")
    return arch, note


def one_function(tree: ast.Module, name: str | Callable[[str], bool], where: str) -> ast.FunctionDef:
    """The one top-level function of ``tree`` named ``name`` (or whose name passes the test ``name``); an error
    naming ``where`` and the functions found where there is not exactly one (pipeline_layout.py reads it too)."""
    test = name if callable(name) else name.__eq__
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and test(n.name)]
    if len(found) != 1:
        raise SystemExit(f"{where}: expected one function {name if isinstance(name, str) else 'of the test'}, found "
                         f"{[f.name for f in found]}: re-read it")
    return found[0]


def _constant_sets(nodes: list[ast.stmt]) -> dict[str, tuple[Any, int]]:
    """{target: (constant value, line)} of every ``<x> = <constant>`` in ``nodes`` (nested blocks included; a later
    assignment wins)."""
    out: dict[str, tuple[Any, int]] = {}
    for stmt in (n for top in nodes for n in ast.walk(top)):
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant):
            for target in stmt.targets:
                out[ast.unparse(target)] = (stmt.value.value, stmt.lineno)
    return out


def _line_of(text: str, pattern: str, where: str) -> int:
    """The line (from 1) where the regular expression ``pattern`` first matches ``text``; an error naming ``where``."""
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise SystemExit(f"{where}: no {pattern!r}: re-read it")
    return text.count("\n", 0, match.start()) + 1


def _mentions(repo: str, ref: str, word: str, paths: tuple[str, ...]) -> list[str]:
    """The files under ``paths`` that contain ``word`` at the commit pinned for ``ref`` (``git grep -l``)."""
    done = subprocess.run(["git", "-C", repo, "grep", "-l", "-F", word, MBRIDGE_COMMITS[ref], "--", *paths],
                          capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{repo}: git grep {word} at {ref} failed: {done.stderr.strip()}")
    return done.stdout.split()


def muon_cells(repo: str, tag: str, table_model: str, gpu: str, precision: str,
               preset: dict[str, Any]) -> tuple[dict[str, str], str]:
    """(cells, ``derived`` note) of a pre-training row run with the Muon optimizer, read at ``tag`` (module doc):
    ``optimizer`` muon, ``fsdp_zero`` :data:`MUON_ZERO`, ``param_gather_overlap`` no, ``fp8_params`` no (MXFP8; empty
    for BF16 / NVFP4), ``fp8_act`` no; ``layer_cuda_graphs`` empty as on every Megatron-Bridge row (the MLPerf NeMo
    per-layer-graph statement; these rows state their graphs in ``moe_cuda_graph_scope``, "none" here, which the check
    below confirms). Every statement read must be there at the tag (else an error naming the file): the pretrain
    function ``<prefix>_pretrain_config_<gpu>`` defaults ``optimizer_type``
    to "muon", passes it to the recipe it imports as ``pretrain_config`` and calls a function whose ``if`` on
    ``"dist_muon"`` and ``"mxfp8"`` sets ``fp8_param_gather = False``; the recipe's Muon branch (the ``else`` of
    ``optimizer_type == "adam"``) calls ``distributed_muon_with_cosine_annealing`` and sets
    ``ddp.use_distributed_optimizer`` and ``ddp.overlap_param_gather`` False, and the recipe sets
    ``cuda_graph_impl`` "none" (the preset sets none); recipes/utils/optimizer_utils.py names the optimizer
    "dist_muon"; training/optim.py builds Megatron-Core's layer-wise distributed optimizer for a "dist" Muon;
    training/comm_overlap.py turns on the data-parallel overlaps only with ``use_distributed_optimizer``; no file
    under scripts/performance or src/megatron/bridge names ``activation_func_fp8_input_store``."""
    script_file, prefix_fn = MOE_PRETRAIN[table_model]
    script_path = f"{_CFG}{script_file}"
    script = _show(repo, tag, script_path)
    tree = ast.parse(script)
    function = f"{prefix_fn}_pretrain_config_{gpu.lower()}"
    fn = one_function(tree, function, f"{tag} {script_path}")
    defaults = dict(zip([a.arg for a in fn.args.args][-len(fn.args.defaults):], fn.args.defaults))
    if "optimizer_type" not in defaults or _literal(defaults["optimizer_type"]) != "muon":
        raise SystemExit(f"{tag} {script_path} {function}: optimizer_type does not default to 'muon': re-read it")
    imported = re.search(r"^from (megatron\.bridge\.recipes\.[\w.]+) import (\w+) as pretrain_config$", script, re.M)
    if imported is None or "pretrain_config(optimizer_type=optimizer_type)" not in ast.unparse(fn):
        raise SystemExit(f"{tag} {script_path} {function}: no recipe call pretrain_config(optimizer_type=...)")
    recipe_path = "src/" + imported.group(1).replace(".", "/") + ".py"
    calls = {ast.unparse(c.func) for c in ast.walk(fn) if isinstance(c, ast.Call)}
    offs = [(f.name, line) for f in tree.body if isinstance(f, ast.FunctionDef) and f.name in calls
            for node in ast.walk(f) if isinstance(node, ast.If)
            and "'dist_muon'" in ast.unparse(node.test) and "'mxfp8'" in ast.unparse(node.test)
            for target, (value, line) in _constant_sets(node.body).items()
            if target.endswith(".fp8_param_gather") and value is False]
    recipe = _show(repo, tag, recipe_path)
    rfn = one_function(ast.parse(recipe), imported.group(2), f"{tag} {recipe_path}")
    branch = [n.orelse for n in ast.walk(rfn) if isinstance(n, ast.If) and ast.unparse(n.test) == "optimizer_type == 'adam'"]
    muon = {k: v for orelse in branch for k, v in _constant_sets(orelse).items()}
    muon_calls = {ast.unparse(c.func) for orelse in branch for top in orelse for c in ast.walk(top) if isinstance(c, ast.Call)}
    model_sets = _constant_sets(rfn.body)
    ddp = [muon.get(f"cfg.ddp.{k}", (None, 0)) for k in ("use_distributed_optimizer", "overlap_param_gather")]
    if (any(d[0] is not False for d in ddp) or "distributed_muon_with_cosine_annealing" not in muon_calls
            or model_sets.get("cfg.model.cuda_graph_impl", (None,))[0] != "none" or preset.get("cuda_graph_impl")):
        raise SystemExit(f"{tag} {recipe_path} {imported.group(2)}: the Muon branch no longer turns the distributed "
                         "optimizer and parameter-gather overlap off, or CUDA graphs are on: re-read it")
    utils = "src/megatron/bridge/recipes/utils/optimizer_utils.py"
    ufn = one_function(ast.parse(_show(repo, tag, utils)), "distributed_muon_with_cosine_annealing", f"{tag} {utils}")
    if not any(k.arg == "optimizer" and ast.unparse(k.value) == "'dist_muon'"
               for c in ast.walk(ufn) if isinstance(c, ast.Call) for k in c.keywords):
        raise SystemExit(f"{tag} {utils}: distributed_muon_with_cosine_annealing no longer builds 'dist_muon'")
    optim, comm = "src/megatron/bridge/training/optim.py", "src/megatron/bridge/training/comm_overlap.py"
    layer_wise = _line_of(_show(repo, tag, optim), r'layer_wise_distributed_optimizer="dist" in optimizer_config\.optimizer',
                          f"{tag} {optim}")
    guard = _line_of(_show(repo, tag, comm), r"and ddp_config\.use_distributed_optimizer\s*\)\s*:\s*\n\s*comm_overlap_cfg "
                     r"= self\._get_optimizer_overlap_cfgs\(", f"{tag} {comm}")
    if stored := _mentions(repo, tag, "fp8_input_store", ("scripts/performance", "src/megatron/bridge")):
        raise SystemExit(f"{tag}: {stored} name activation_func_fp8_input_store: read fp8_act by hand")
    dtype = precision.upper()
    if dtype == "MXFP8" and not offs:
        raise SystemExit(f"{tag} {script_path} {function}: no dist_muon + mxfp8 fp8_param_gather = False: re-read it")
    if dtype not in ("MXFP8", "BF16", "NVFP4"):
        raise SystemExit(f"{tag} {table_model} {precision}: fp8_params of a Muon row not read: read it by hand")
    cells = {"optimizer": "muon", "fsdp_zero": MUON_ZERO, "param_gather_overlap": "no",
             "fp8_params": "no" if dtype == "MXFP8" else "", "fp8_act": "no", "layer_cuda_graphs": ""}
    default = defaults["optimizer_type"].lineno
    fp8 = (f"fp8_params no ({script_path} L{offs[0][1]} {offs[0][0]}: dist_muon + mxfp8 -> fp8_param_gather = False); "
           if dtype == "MXFP8" else "")
    note = (f"Muon, read at {tag} (no nemo 26.02 row to carry {', '.join(_CARRIED)} from): optimizer muon (the "
            f"table's note \"{OPTIMIZER_NOTES[table_model][0]}\"; {script_path} L{default} {function} "
            f"optimizer_type=\"muon\" -> {recipe_path} {imported.group(2)} distributed_muon_with_cosine_annealing, "
            f"optimizer \"dist_muon\" ({utils}); {optim} L{layer_wise} layer_wise_distributed_optimizer: Megatron-Core "
            f"LayerWiseDistributedOptimizer, fsdp_zero); param_gather_overlap no ({recipe_path} "
            f"L{ddp[0][1]} ddp.use_distributed_optimizer = False, "
            f"L{ddp[1][1]} ddp.overlap_param_gather = False; {comm} L{guard} overlaps data-parallel "
            f"communication only with the distributed optimizer); {fp8}fp8_act no (no "
            "activation_func_fp8_input_store under scripts/performance or src/megatron/bridge: Megatron-Core's "
            f"default); no CUDA graphs ({recipe_path} L{model_sets['cfg.model.cuda_graph_impl'][1]} "
            "cuda_graph_impl = \"none\", the preset sets no cuda_graph_impl: moe_cuda_graph_scope none, "
            "layer_cuda_graphs left empty as on every Megatron-Bridge row)")
    return cells, note


def config_variants(name: str, bare: str, found: dict[str, dict[str, Any]]) -> frozenset[str] | None:
    """The ``config_variant`` values the pretrain function of a row can have been called with, given the preset
    ``name`` of the table's layout (:func:`pick`) among the ``found`` presets: scripts/performance/utils/utils.py
    ``get_workload_base_config`` loads ``<bare>_<CONFIG_VARIANT>`` (``--config_variant``, default "v2" in
    argument_parser.py), falling back from "v2" to ``_V1`` and then to the bare name, and the pretrain function gets
    the variant as given. ``<bare>_V2`` or a named variant ``<bare>_GBS15360``: that variant in lower case; ``_V1``:
    "v1", and "v2" too where no ``_V2`` preset exists; the bare name: None (any variant)."""
    if name == bare:
        return None
    variant = name.removeprefix(f"{bare}_").lower()
    return frozenset({"v1", "v2"} if variant == "v1" and f"{bare}_V2" not in found else {variant})


def gather_off(repo: str, tag: str, table_model: str, model: str, gpu: str, precision: str,
               variants: frozenset[str] | None, preset: str = "") -> str | None:
    """The ``derived`` note of a pre-training row whose pretrain function ``<model>_pretrain_config_<gpu>`` of the
    model's pretrain script (:data:`MODELS`, :data:`MOE_PRETRAIN`) at ``tag`` turns the parameter all-gather overlap
    off for the row's compute dtype and config variant (``variants``, :func:`config_variants` of the row's preset
    ``preset``; None: not known); None where it does not. Read with _mbridge_presets.py :func:`gather_settings`: assignments and calls of a
    function of the same file that makes them (v0.4.2 ``llama31_405b_pretrain_config_gb200``: ``if precision ==
    "nvfp4" and config_variant.lower() == "v2": disable_param_gather_overlap(cfg)``, Megatron-Bridge issue 3714); the
    last ``comm_overlap.overlap_param_gather`` setting that applies decides, as src/megatron/bridge/training/
    comm_overlap.py applies the recipe's ``comm_overlap`` values over CommOverlapConfig's data-parallel default (on
    when DP > 1) and copies them onto the optimizer and DDP configs (the file must still say so). An error where
    the variant decides but is not known or the variants disagree, where a ``ddp`` / ``optimizer`` setting to False
    comes with no ``comm_overlap`` one, or where the function is not in the script."""
    script = MODELS[table_model][3] or MOE_PRETRAIN[table_model][0]
    path = f"{_CFG}{script}"
    function = f"{preset_model({'model': model, 'run_id': f'{tag} {table_model}'})}_pretrain_config_{gpu.lower()}"
    text = _show(repo, tag, path)
    if not any(isinstance(n, ast.FunctionDef) and n.name == function for n in ast.parse(text).body):
        raise SystemExit(f"{tag} {path}: no function {function}: read the row's param_gather_overlap by hand")
    dtype = compute_dtype(precision)
    settings = [s for s in gather_settings(text).get(function, []) if s.dtype in ("*", dtype)]

    def decide(variant: str | None) -> tuple[GatherSetting, ...]:
        """The settings that apply for ``variant`` (None: those under no variant test) ending with the deciding
        ``comm_overlap`` one, if it turns the overlap off; () where the overlap stays on."""
        apply = [s for s in settings if s.variant in ("*", variant)]
        comm = [s for s in apply if s.config == "comm_overlap"]
        if not comm or comm[-1].value:
            if any(s.value is False for s in apply) and not comm:
                raise SystemExit(f"{tag} {path} {function}: sets ddp / optimizer overlap_param_gather = False but not "
                                 "comm_overlap.overlap_param_gather, which CommOverlapConfig copies over it: read it by hand")
            return ()
        return tuple(s for s in apply if s.line == comm[-1].line and s.value is False)

    if variants is None and any(s.variant != "*" for s in settings):
        raise SystemExit(f"{tag} {path} {function}: overlap_param_gather set under a config_variant test, and the "
                         "row's variant is not known (no versioned preset of its layout): read it by hand")
    outcomes = {v: decide(v) for v in (sorted(variants) if variants else [None])}
    if len({bool(o) for o in outcomes.values()}) > 1:
        raise SystemExit(f"{tag} {path} {function}: overlap_param_gather depends on the config variant, and the row's "
                         f"could be any of {sorted(variants or ())}: read it by hand")
    variant, found = next(iter(outcomes.items()))
    if not found:
        return None
    comm_path = "src/megatron/bridge/training/comm_overlap.py"
    comm = _show(repo, tag, comm_path)
    user = _line_of(comm, r"^\s+setattr\(comm_overlap_cfg, field\.name, user_value\)", f"{tag} {comm_path}")
    ddp = _line_of(comm, r"^\s+self\._apply_cfgs\(comm_overlap_cfg, ddp_config\)", f"{tag} {comm_path}")
    first = found[0]
    call = (f"{first.via[0][0]}(cfg) (" + ", ".join(f"L{line} {s.config}.overlap_param_gather = False"
                                                   for s in found for _, line in s.via[:1]) + ")"
            if first.via else ", ".join(f"L{s.line} {s.config}.overlap_param_gather = False" for s in found))
    where = f"if {first.test}: " if first.test else ""
    why = (f", config_variant {variant} (the preset of the table's layout is {preset})"
           if variant and first.variant != "*" else "")
    return (f"param_gather_overlap no: Megatron-Bridge {tag} {path} L{first.line} {function}: {where}{call}{why}, "
            f"{comm_path} L{user} (the recipe's comm_overlap values override CommOverlapConfig's DP > 1 default) "
            f"and L{ddp} (copied onto the DDP config)")


def dispatcher_type(script: str, function: str) -> str | None:
    """The last ``cfg.model.moe_token_dispatcher_type = "..."`` of ``def <function>(`` in the pretrain script text
    (None: not set there). "alltoall" there means Megatron-Core's MoEAlltoAllTokenDispatcher: the preset's
    ``moe_flex_dispatcher_backend`` is read only by the "flex" dispatcher (e.g. v0.3.1
    ``qwen3_235b_a22b_pretrain_config_h100``: backend "deepep" from BASE_QWEN3_235B_A22B_CONFIG, type "alltoall")."""
    body = script.split(f"def {function}(", 1)[1].split("\ndef ", 1)[0] if f"def {function}(" in script else ""
    found = re.findall(r'cfg\.model\.moe_token_dispatcher_type = "(\w+)"', body)
    return found[-1] if found else None


def fused_grouped_mlp(preset: dict[str, Any]) -> str:
    """``moe_fused_grouped_mlp`` of a MoE row: "yes" where the preset sets ``cutedsl_fused_grouped_mlp`` (from
    v0.5.0: scripts/performance/utils/overrides.py then sets ``cfg.model.use_transformer_engine_op_fuser = True`` and
    perf_plugins.py ``NVTE_CUTEDSL_FUSED_GROUPED_MLP=1``, so Megatron-Core's TEGroupedMLP runs FC1 + bias, the
    clamped GLU with the routing probabilities and FC2 + bias as TransformerEngine fused ops), else "no"."""
    return "yes" if preset.get("cutedsl_fused_grouped_mlp") else "no"


def _show(repo: str, ref: str, path: str) -> str:
    """The file ``path`` of the Megatron-Bridge clone ``repo`` at the commit pinned for the tag / commit ``ref``."""
    return git_text(repo, "show", f"{MBRIDGE_COMMITS[ref]}:{path}")


def main(repo: str) -> None:
    mbridge_commits(repo, [_COMMIT, *RELEASES.values()])  # the clone holds every commit read (else a clear error)
    text = _show(repo, _COMMIT, _DOC)
    header, rows = read_runs(("moe_fused_grouped_mlp", *CAVEAT_COLUMNS, "optimizer"))
    bases = base_rows(rows)
    cache: dict[str, Any] = {}
    new: list[dict[str, str]] = []
    skipped: dict[str, int] = {}
    for container, model, index, cells in tables(text):
        if model not in MODELS:
            if model not in SKIPPED:
                raise SystemExit(f"{_DOC}@{_COMMIT}: {container} table model {model!r} is neither in MODELS nor SKIPPED")
            skipped[model] = skipped.get(model, 0) + 1
            continue
        new.append(make_row(container, model, index, cells, bases, repo, cache))
    seen: dict[str, int] = {}
    for row in new:  # same system / precision / GPUs twice in one table (26.06 DeepSeek-V3 GB300): GBS in the id
        seen[row["run_id"]] = seen.get(row["run_id"], 0) + 1
    for row in new:
        if seen[row["run_id"]] > 1:
            row["run_id"] += f"_gbs{row['global_batch_seqs']}"
    for row in new:
        print(f"{row['run_id']}: {row['tokens_per_s_per_gpu']} tok/s/GPU, {row['confidence'].split(' ')[0]}, "
              f"{row.get('moe_recipe_source') or row['derived'].split('; ')[-2]}")
    print(f"{len(new)} rows; skipped (no models/ YAML): {skipped}")
    write_runs(header, upsert_rows(header, rows, new))


if __name__ == "__main__":
    main(sys.argv[1])
