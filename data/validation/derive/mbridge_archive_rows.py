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
  the same model (the same public model config; the sequence length is the table's), ``accelerator`` /
  ``accelerator_canonical`` from its 26.02 rows of the same system (DGX-H100: H100-SXM5-80GB / H100-SXM);
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
  precision (not re-read at the tag: ``derived`` says so); ``act_recompute`` "none (<preset>: ...)" on the Blackwell
  Llama rows whose preset sets no recompute_num_layers / recompute_modules / cpu_offloading_num_layers, as the
  nemo 26.02 Blackwell Llama rows state it (tests/validation/test_stated_recompute_presets.py), else empty;
* ``source_caveat`` / ``source_caveat_text`` (archsweep.validation.caveats): the kind of caveat a footnote that marks
  the table row states of its figures (:data:`FOOTNOTE_CAVEATS`: 26.06.01 GPT OSS 120B "Performance regression ...
  is a known issue" -> known_regression) and the footnote's words with their locator; empty where no such footnote
  marks it (validation skips a flagged row with those words as the reason);
* no preset of the table's layout at the tag: the 26.02 row's recipe cells (the documented default of the last
  fitted release, ``act_recompute`` included) and confidence low.

The 26.06 SFT and LoRA tables (Llama 3 70B) are read the same way with the ``<MODEL>_{SFT,LORA}_CONFIG_*`` presets
and :func:`_finetune`. Left out (the table model has no ``models/`` YAML): Nemotron_3_Nano, Nemotron_3_Super,
Kimi_K2.

Usage: python data/validation/derive/mbridge_archive_rows.py <Megatron-Bridge git dir>
(idempotent: rows are written over the rows of the same run_id, see runs_table.upsert_rows).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Collection
from typing import Any

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
}
#: MoE table model -> (pretrain script, function prefix): ``<prefix>_pretrain_config_<gpu>`` may set
#: ``cfg.model.moe_token_dispatcher_type`` after the preset's backend (:func:`dispatcher_type`)
MOE_PRETRAIN = {"DeepSeekV3": ("deepseek/deepseek_llm_pretrain.py", "deepseek_v3"),
                "GPT OSS 120B": ("gpt_oss/gpt_oss_llm_pretrain.py", "gpt_oss_120b"),
                "Qwen3_30B_a3B": ("qwen/qwen3_llm_pretrain.py", "qwen3_30b_a3b"),
                "Qwen3_235B_a22B": ("qwen/qwen3_llm_pretrain.py", "qwen3_235b_a22b")}
SKIPPED = {"Nemotron_3_Nano": "no models/ YAML", "Nemotron_3_Super": "no models/ YAML", "Kimi_K2": "no models/ YAML"}
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
    ``"_footnotes"`` (empty: none)."""
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
        head = [c.strip() for c in lines[0].strip("|").split("|")]
        for i, ln in enumerate(lines[2:], start=1):
            marks = re.findall(r"\[\^([\w-]+)\]", ln)
            cells = [re.sub(r"\[\^[\w-]+\]", "", c).strip() for c in ln.strip("|").split("|")]
            row = dict(zip(head, cells, strict=True))
            row["_footnotes"] = " ".join(f"[^{m}]: {footnotes.get(m, '?')}" for m in marks)
            row["_footnote_marks"] = " ".join(marks)
            row["_task"] = task
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
    ``DEEPSEEK_V3_PRETRAIN_CONFIG_GB300_FP8_MX_GBS15360``, the ``--config_variant`` of the 26.06 GBS 15360 row).
    Two named variants of one layout and no ``V<n>``: an error (nothing says which one the table ran)."""
    pattern = re.compile(rf"^{re.escape(prefix)}_{task}_CONFIG_{gpu}_{DTYPE[precision]}_(V(\d+)|[A-Z0-9_]+)$")
    hits = [(m.group(2), name) for name in found if (m := pattern.match(name))
            and all(found[name].get(k) == v for k, v in want.items())]
    versions = [(int(n), name) for n, name in hits if n is not None]
    named = sorted(name for n, name in hits if n is None)
    if versions:
        name = max(versions)[1]
    elif len(named) == 1:
        name = named[0]
    elif named:
        raise SystemExit(f"{prefix} {task} {gpu} {precision}: several named presets of the layout {want}: {named}")
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
    same = [r for (m, s, _), r in bases.items() if m == model and s == system]
    arch = next(r for (m, _, _), r in bases.items() if m == model)
    base = bases.get((model, system, precision)) or (same[0] if same else arch)
    want = layout(cells)
    key = f"{tag}:{cfg_file}"
    if key not in cache:
        cache[key] = presets(_show(repo, tag, f"{_CFG}{cfg_file}"))
    fsdp = cells.get("FSDP", "0") not in ("0", "", "n/a")
    task = cells.get("_task", "PRETRAIN")
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
    for column in _CARRIED:
        row[column] = base.get(column, "") if task == "PRETRAIN" else ""
    notes = ["dp = GPUs/(TP*PP*CP) (EP is carved out of DP)",
             f"architecture from {arch['run_id']}",
             (f"{', '.join(_CARRIED)} carried from {base['run_id']} (not re-read at {tag})" if task == "PRETRAIN"
              else f"{', '.join(_CARRIED)} not stated (fine-tuning: no pre-training row to carry them from)")]
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
        for column in ("act_recompute", "act_offload_layers", "act_offload_source", "moe_token_dispatcher", "moe_cuda_graph_scope",
                       "moe_recompute_modules", "moe_a2a_overlap", "moe_fused_grouped_mlp", "moe_recipe_source"):
            row[column] = base.get(column, "")
        notes.append(f"no {prefix}_{task}_CONFIG_{gpu}_{DTYPE[precision]}_V* preset of this layout at {tag}: "
                     f"recipe cells of {base['run_id']}")
        row["confidence"] = "low (official NVIDIA doc table; recipe not pinned to the release: the 26.02 row's)"
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
    header, rows = read_runs(("moe_fused_grouped_mlp", *CAVEAT_COLUMNS))
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
