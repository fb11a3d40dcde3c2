"""Give the ``mbridge-forward`` rows whose table line carries the previous release's layout cells, where the
figure says the release's preset ran, the preset's layout and recipe (issue 10, s21-K; the forward-release sibling
of mbridge_2511_layout.py, s18-C).

Sources (github:NVIDIA-NeMo/Megatron-Bridge, read at the commits pinned in pinned_mirrors.py ``MBRIDGE_COMMITS``):
the pre-training tables of the archive the rows cite (@067f987df ``docs/performance-summary-archive.md``, one
section per container) and each release's presets (``scripts/performance/configs/<family>/<family>_workload_base_
configs.py`` at the tag of the row's container, mbridge_archive_rows.py ``RELEASES``).

The audit (s21-K). A forward table line is *carried* when its layout cells (GBS, MBS, FSDP, TP, PP, CP, VP, EP, as
written; a column only one of the two tables has is not compared) are those of the previous container's line of
the same model, system and precision. Every carried line was compared with the presets at its release's tag; a
carried line is a *candidate* when no preset of its layout exists at the tag (mbridge_archive_rows.py then gave the
row the 26.02 row's recipe, confidence low) and the release's default preset (``--config_variant`` "Defaults to
'v2' ('v1' if 'v2' doens't exist)", ``scripts/performance/argument_parser.py`` at the tag) sets another layout. Two
candidates, both in the 26.02.01 tables (written by cfeddcd94, 2026-03-21, the day after v0.3.1 was tagged); every
other carried line of 26.02 .. 26.06.01 has a preset of its layout at its tag. Each candidate is decided by hand in
:data:`DECISIONS` from what the figures show; the script stops on a candidate without a decision, or a decision
whose row is no longer a candidate (the sources changed: re-read them).

A row decided ``preset`` is written as mbridge_archive_rows.py ``make_row`` writes a row whose table line states the
default preset's layout (so the dispatcher, the all-to-all overlap, the CUDA-graph scope, the recompute modules, the
fused grouped MLP and ``moe_recipe_source`` are the preset's, read as that script reads them); the throughput, the GPU
count and every column ``make_row`` does not write stay the table's. Its "no ... preset of this layout" note is
replaced by this script's, with tag, file and line of the preset. Idempotent (the decision reads only the sources).
Run after mbridge_archive_rows.py and before the scripts that read a row's preset (mbridge_param_gather.py,
mbridge_fp8_params.py, mbridge_grad_reduce.py, mbridge_preset_vpp.py, pipeline_layout.py).

Usage: python data/validation/derive/mbridge_carried_layout.py <Megatron-Bridge git dir>
"""

from __future__ import annotations

import ast
import sys
from typing import Any, NamedTuple

from mbridge_archive_rows import DTYPE, MODELS, RELEASES, base_rows, layout, make_row, pick, presets, tables
from pinned_mirrors import MBRIDGE_COMMITS, git_text, mbridge_commits
from runs_table import read_runs, set_note, write_runs

#: The containers of the archive in release order; the first is the previous release of the first forward one.
ORDER = ("26.02", "26.02.01", "26.04", "26.04.01", "26.06", "26.06.01")
_COMMIT = "067f987df"
_DOC = "docs/performance-summary-archive.md"
_CFG = "scripts/performance/configs/"
LAYOUT = ("GBS", "MBS", "FSDP", "TP", "PP", "CP", "VP", "EP")
_PARSER = "scripts/performance/argument_parser.py"
_DEFAULT_VARIANT = "Defaults to 'v2' ('v1' if 'v2' doens't exist)"
_ROW_CELLS = ("tp", "pp", "cp", "dp", "ep", "vpp", "micro_batch", "global_batch_seqs", "act_recompute",
              "act_offload_layers", "act_offload_source", "moe_token_dispatcher", "moe_cuda_graph_scope",
              "moe_recompute_modules", "moe_a2a_overlap", "moe_fused_grouped_mlp", "moe_recipe_source")
_NOTE = r"(?:no [A-Z0-9_]+_V\* preset of this layout at v[\d.]+: recipe cells of \S+|layout and recipe of [^;]*" \
        r"mbridge_carried_layout\.py\))"
CONFIDENCE = ("medium (official NVIDIA doc table for the throughput; layout and recipe the release's preset: the "
              "table line carries the previous release's layout cells, see derived)")


class Decision(NamedTuple):
    """What a candidate row takes and why (the figures that say which layout ran; no ';', the notes' separator)."""

    action: str  # "preset": the release's default preset; "table": the table's cells stay (ambiguous)
    why: str


DECISIONS = {
    "mbridge-fwd_26.02.01_DGX-H100_Qwen3_30B_a3B_FP8_16": Decision(
        "preset", "9,058 tokens/s/GPU is 1.77x the 26.02 line's 5,113 at the same cells (PP 2 VP 12 EP 8, DeepEP "
        "with the EP overlap, v0.3.0) and within 1.8 % of the 26.04 line's 8,901 at the v0.3.1 / v0.4.0 preset's "
        "EP 16 PP 1 HybridEP without the overlap (f29a269f8, 2026-02-24, 'Update Qwen3 30B H100 Base Configs with "
        "HybridEP'), and no preset at v0.3.1 has the carried layout"),
    "mbridge-fwd_26.02.01_DGX-B300_Qwen3_235B_a22B_MXFP8_256": Decision(
        "table", "2,644 tokens/s/GPU is 0.98x the 26.02 line's 2,691 at the same cells (VP 4 with the EP overlap, "
        "v0.3.0), while the layout v0.3.1 moved to (6f5e31aab, 2026-03-10: no VP, no overlap, 'to match Qwen3 B200 "
        "Configs') measured 3,805 on DGX-B200 in 26.02 and the next B300 line (26.04, MBS 2) 4,865: the figure does "
        "not show the preset's run, so the cells are left as the table states them"),
}


def carried(cells: dict[str, str], before: dict[str, str]) -> bool:
    """Whether a table line has the layout cells of the previous release's line (columns both tables have)."""
    return all(cells[c] == before[c] for c in LAYOUT if c in cells and c in before)


def default_preset(found: dict[str, dict[str, Any]], prefix: str, gpu: str, precision: str) -> str | None:
    """The preset the performance scripts run without ``--config_variant``: ``..._V2``, else ``..._V1``."""
    stem = f"{prefix}_PRETRAIN_CONFIG_{gpu}_{DTYPE[precision]}"
    return next((f"{stem}_{v}" for v in ("V2", "V1") if f"{stem}_{v}" in found), None)


def preset_line(source: str, name: str) -> int:
    """The line of the assignment of preset ``name`` in a preset file's text."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node.lineno
    raise SystemExit(f"preset {name}: no assignment in the preset file")


def preset_cells(cells: dict[str, str], preset: dict[str, Any]) -> dict[str, str]:
    """The table line ``cells`` with its layout cells replaced by the preset's."""
    vpp = preset["virtual_pipeline_model_parallel_size"]
    ep = int(preset["expert_model_parallel_size"])
    return {**cells, "TP": str(preset["tensor_model_parallel_size"]), "PP": str(preset["pipeline_model_parallel_size"]),
            "CP": str(preset["context_parallel_size"]), "VP": "n/a" if vpp is None else str(vpp),
            "EP": str(ep) if ep > 1 else "n/a", "MBS": str(preset["micro_batch_size"]),
            "GBS": str(preset["global_batch_size"])}


def candidates(repo: str, text: str, cache: dict[str, Any]) -> list[tuple[str, str, int, dict[str, str], str, str]]:
    """(container, table model, row number, cells, preset file, default preset) of every carried pre-training line
    of a forward container that no preset of its layout at the tag has and whose default preset differs."""
    lines = tables(text, ORDER)
    before = {(c, m, cells["System"], cells["Precision"]): cells
              for c, m, _, cells in lines if cells["_task"] == "PRETRAIN"}
    out = []
    for container, model, index, cells in lines:
        if container not in RELEASES:
            continue
        previous = ORDER[ORDER.index(container) - 1] if container in ORDER[1:] else None
        old = before.get((previous, model, cells["System"], cells["Precision"])) if previous else None
        if cells["_task"] != "PRETRAIN" or model not in MODELS or old is None or not carried(cells, old):
            continue
        _, cfg_file, prefix, _ = MODELS[model]
        tag = RELEASES[container]
        key = f"{tag}:{cfg_file}"
        if key not in cache:
            cache[key] = presets(git_text(repo, "show", f"{MBRIDGE_COMMITS[tag]}:{_CFG}{cfg_file}"))
        gpu = cells["System"].removeprefix("DGX-")
        want = layout(cells)
        if pick(cache[key], prefix, gpu, cells["Precision"], want) is not None:
            continue
        name = default_preset(cache[key], prefix, gpu, cells["Precision"])
        if name is None:
            continue
        if any(cache[key][name].get(k) != v for k, v in want.items()):
            out.append((container, model, index, cells, cfg_file, name))
    return out


def main(repo: str) -> None:
    """Write the default preset's layout and recipe into every candidate row :data:`DECISIONS` sends to it."""
    if odd := [k for k, d in DECISIONS.items() if d.action not in ("preset", "table") or ";" in d.why]:
        raise SystemExit(f"DECISIONS {odd}: action must be 'preset' or 'table' and why without ';'")
    pinned = mbridge_commits(repo, [_COMMIT, *RELEASES.values()])
    for tag in sorted(set(RELEASES.values())):
        if _DEFAULT_VARIANT not in git_text(repo, "show", f"{pinned[tag]}:{_PARSER}"):
            raise SystemExit(f"Megatron-Bridge {tag} {_PARSER}: no {_DEFAULT_VARIANT!r}; re-read --config_variant")
    header, rows = read_runs()
    by_id = {r["run_id"]: r for r in rows}
    cache: dict[str, Any] = {}
    bases = base_rows(rows)
    found = candidates(repo, git_text(repo, "show", f"{pinned[_COMMIT]}:{_DOC}"), cache)
    seen = set()
    for container, model, index, cells, cfg_file, name in found:
        tag = RELEASES[container]
        made = make_row(container, model, index, cells, bases, repo, cache)
        run_id = made["run_id"]
        seen.add(run_id)
        if run_id not in DECISIONS or run_id not in by_id:
            raise SystemExit(f"{run_id}: its table line carries the {ORDER[ORDER.index(container) - 1]} line's layout "
                             f"cells and {tag} {name} sets another layout; decide it in DECISIONS (row in the CSV: "
                             f"{run_id in by_id})")
        decision = DECISIONS[run_id]
        if decision.action == "table":
            print(f"{run_id}: table cells kept ({decision.why[:80]}...)")
            continue
        preset = cache[f"{tag}:{cfg_file}"][name]
        new = make_row(container, model, index, preset_cells(cells, preset), bases, repo, cache)
        if not new["confidence"].startswith("high"):
            raise SystemExit(f"{run_id}: {name} at {tag} was not picked for its own layout; re-read the preset")
        row = by_id[run_id]
        for column in _ROW_CELLS:
            row[column] = new[column]
        line = preset_line(git_text(repo, "show", f"{pinned[tag]}:{_CFG}{cfg_file}"), name)
        stated = " ".join(f"{c} {cells[c]}" for c in LAYOUT if c in cells)
        note = (f"layout and recipe of Megatron-Bridge {tag} ({pinned[tag][:9]}) {_CFG}{cfg_file}:{line} {name} "
                f"(the default --config_variant), where the {container} table line ({_COMMIT} {_DOC}, row {index}) "
                f"states {stated}, the {ORDER[ORDER.index(container) - 1]} line's layout cells verbatim, which no "
                f"preset at {tag} has: {decision.why} (data/validation/derive/mbridge_carried_layout.py)")
        row["derived"] = set_note(row["derived"], _NOTE, note)
        row["confidence"] = CONFIDENCE
        print(f"{run_id}: {', '.join(f'{c} {row[c]}' for c in _ROW_CELLS[:8])}, {row['moe_token_dispatcher']}, "
              f"a2a overlap {row['moe_a2a_overlap']} ({name} @{tag})")
    if stale := sorted(set(DECISIONS) - seen):
        raise SystemExit(f"DECISIONS {stale}: no longer a carried line without a preset of its layout; re-read them")
    write_runs(header, rows)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
