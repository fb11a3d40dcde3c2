"""Give the Megatron-Bridge 25.11 rows whose table line carries the 25.09 table's layout cells the layout of the
release's preset (issue 10, s18-C).

Sources (github:NVIDIA-NeMo/Megatron-Bridge, read at the commits pinned in pinned_mirrors.py ``MBRIDGE_COMMITS``):
the 25.11 pre-training tables the rows cite (``docs/performance-summary-archive.md`` @067f987df, section "25.11 NeMo
Container"), the 25.09 tables (``docs/performance-summary.md`` @v0.2.0, section "25.09 NeMo Container") and the
presets of the 25.11 container's release, Megatron-Bridge 0.2.0 (``docs/releases/software-versions.md``; tag v0.2.0:
``scripts/performance/configs/<family>/workload_base_configs.py``, whose ``set_workload_base_configs`` in
``scripts/performance/utils/helpers.py`` writes TP / PP / CP / VP / EP / GBS / MBS over the recipe's).

Why the table's cells are not the run's there. The 25.11 tables were written by editing the 25.09 tables in place
(commit 97ad8cc6f, 2025-12-04, "Added 25.11 starter pack"): every line of a model and system that the 25.09 tables
have keeps the 25.09 line's GBS / MBS / FSDP / TP / PP / CP / VP / EP / GA cells verbatim, the new DGX-GB300 lines
carry the 25.09 DGX-GB200 lines' cells, and only the throughput cells changed (the same commit left the GA cell of
the GB200 DeepSeek-V3 line as "32 64", the remains of 25.09's "32 (64)"). Where the release's preset sets another
layout, the carried cells say what 25.09 ran, not what the 25.11 figure ran. Example: the DGX-H100 Qwen3-30B line
keeps 25.09's VP 24 / MBS 2 (the v0.1.0rc3 yaml preset), while the preset left VP 24 on 2025-10-14 (47ff48829, "qwen
cfgs") and MBS 2 on 2025-11-21 (8aed9a229, with ``moe_a2a_overlap=True``, which the row states from the same
preset): v0.2.0 is PP2 VP12 EP8 MBS 1 with the overlap. Such a row takes the preset's layout; the throughput, the
GPU count and everything else stay the table's.

Rows read: group nemo, ``run_id`` ``mbridge_25.11_``. A row is written when its table line (same system, model,
precision; a parenthesised cell gives the second precision's value) has the 25.09 line's layout cells (DGX-GB300:
the DGX-GB200 line) and the v0.2.0 preset of the row (its ``moe_recipe_source`` preset name, else
``<MODEL>_<GPU>_<DTYPE>_BASE_CONFIG``) sets a different layout. The decision reads only the sources, so a re-run
writes the same cells (idempotent); the script's ``derived`` note is replaced in place (``set_note``).

Usage: python data/validation/derive/mbridge_2511_layout.py <Megatron-Bridge git dir>
"""

from __future__ import annotations

import re
import sys
from typing import Any

from mbridge_archive_rows import presets
from pinned_mirrors import MBRIDGE_COMMITS, git_text, mbridge_commits
from runs_table import read_runs, set_note, write_runs

_TAG = "v0.2.0"
_TABLE_2511 = ("067f987df", "docs/performance-summary-archive.md")
_TABLE_2509 = (_TAG, "docs/performance-summary.md")
_HELPERS = "scripts/performance/utils/helpers.py"
_ASSIGNS = ("cfg.model.virtual_pipeline_model_parallel_size = settings.virtual_pipeline_model_parallel_size",
            "cfg.train.micro_batch_size = settings.micro_batch_size",
            "cfg.train.global_batch_size = settings.global_batch_size")
LAYOUT = ("GBS", "MBS", "FSDP", "TP", "PP", "CP", "VP", "EP", "GA")
#: table model name (underscored, parenthesised suffix dropped) -> (preset family folder, preset name prefix)
FAMILIES = {"LLAMA3_8B": ("llama3", "LLAMA3_8B"), "LLAMA3_70B": ("llama3", "LLAMA3_70B"),
            "LLAMA3.1_405B": ("llama31", "LLAMA31_405B"), "Qwen3_30B_a3B": ("qwen3", "QWEN3_30B_A3B"),
            "Qwen3_235B_a22B": ("qwen3", "QWEN3_235B_A22B"), "DeepSeekV3": ("deepseek", "DEEPSEEK_V3"),
            "GPT_OSS_120B": ("gpt_oss", "GPT_OSS_120B")}
_DTYPE = {"FP8-CS": "FP8_CS", "FP8-MX": "FP8_MX", "BF16": "BF16"}
_CELL = re.compile(r"^\s*(\S+)\s*(?:\((\S+)\))?\s*$")
_NOTE = r"layout [^;]*mbridge_2511_layout\.py\)"
CONFIDENCE = ("medium (official NVIDIA doc table for the throughput; the layout is the release's preset: the table "
              "line carries the 25.09 line's layout cells, see derived)")

Line = dict[str, str]


def name_key(model: str) -> str:
    """A model name as both tables and the rows spell it, reduced to one key: 'LLAMA3.1-405B', 'LLAMA3.1_405B' ->
    'LLAMA3.1_405B'; 'GPT OSS 120B' -> 'GPT_OSS_120B'; a parenthesised suffix ('(tokendrop)', '(w/ MTP)') dropped."""
    return re.sub(r"[\s-]+", "_", re.sub(r"\s*\(.*\)\s*$", "", model).strip())


def tables(text: str, release: str) -> list[tuple[str, Line]]:
    """(system, {column: cell}) of every line of the pre-training tables of ``release`` ('25.11', '25.09')."""
    section = text
    for level, heading in (("## ", f"{release} NeMo Container"), ("### ", "Pre-Training Performance")):
        if level + heading not in section:
            raise SystemExit(f"Megatron-Bridge performance summary: no {level + heading!r} section for release {release}")
        section = section.split(level + heading, 1)[1].split("\n" + level, 1)[0]  # up to the next heading as high
    out: list[tuple[str, Line]] = []
    for block in section.split("#### System: ")[1:]:
        system = block.split("\n", 1)[0].strip()
        lines = [ln for ln in block.splitlines() if ln.startswith("|")]
        head = [c.strip() for c in lines[0].strip("|").split("|")]
        out += [(system, dict(zip(head, [c.strip() for c in ln.strip("|").split("|")], strict=True)))
                for ln in lines[2:]]
    return out


def cell(value: str, second: bool) -> str:
    """The first value of a cell 'a' / 'a (b)', or with ``second`` the parenthesised one (a plain cell's own)."""
    match = _CELL.match(value)
    if match is None:
        raise SystemExit(f"Megatron-Bridge table cell {value!r}: expected 'a' or 'a (b)'")
    return (match.group(2) or match.group(1)) if second else match.group(1)


def line_of(row: dict[str, str], lines: list[tuple[str, Line]]) -> tuple[Line, bool]:
    """The 25.11 table line of ``row`` (same system, model by :func:`name_key`, precision) and whether the row's
    precision is the line's parenthesised one."""
    found = []
    for system, line in lines:
        if system != row["system"] or name_key(line["Model"]) != name_key(row["model"]):
            continue
        first, second = cell(line["Precision"], False), cell(line["Precision"], True)
        if row["precision"] in (first, second):
            found.append((line, row["precision"] != first))
    if len(found) != 1:
        raise SystemExit(f"{row['run_id']}: {len(found)} lines of the 25.11 {row['system']} table state model "
                         f"{row['model']!r} in precision {row['precision']!r} (expected one)")
    return found[0]


def carried(line: Line, system: str, lines_2509: list[tuple[str, Line]]) -> bool:
    """Whether the 25.11 ``line`` of ``system`` has the layout cells of the 25.09 line of its model on the same
    system (DGX-GB300, new in 25.11: on DGX-GB200), cell for cell as written."""
    source = "DGX-GB200" if system == "DGX-GB300" else system
    old = [ln for s, ln in lines_2509 if s == source and name_key(ln["Model"]) == name_key(line["Model"])]
    return len(old) == 1 and all(line[c] == old[0][c] for c in LAYOUT)


def preset_name(row: dict[str, str]) -> tuple[str, str]:
    """(family folder, preset name) of the row at v0.2.0: its ``moe_recipe_source`` preset, else the naming rule."""
    key = name_key(row["model"])
    if key not in FAMILIES:
        raise SystemExit(f"{row['run_id']}: model {row['model']!r} (key {key!r}) has no preset family; "
                         f"known: {', '.join(FAMILIES)}")
    family, prefix = FAMILIES[key]
    if row["moe_recipe_source"]:
        return family, row["moe_recipe_source"].rsplit(":", 1)[1]
    gpu = row["system"].removeprefix("DGX-")
    if row["precision"] not in _DTYPE:
        raise SystemExit(f"{row['run_id']}: precision {row['precision']!r}; allowed: {', '.join(_DTYPE)}")
    return family, f"{prefix}_{gpu}_{_DTYPE[row['precision']]}_BASE_CONFIG"


def preset_layout(preset: dict[str, Any], gpus: int) -> dict[str, int]:
    """The row columns a WorkloadBaseConfig sets (VP None = 1, no interleaving); dp = GPUs / (TP x PP x CP)."""
    tp, pp, cp = (int(preset[k]) for k in ("tensor_model_parallel_size", "pipeline_model_parallel_size",
                                            "context_parallel_size"))
    vpp = preset["virtual_pipeline_model_parallel_size"]
    if gpus % (tp * pp * cp):
        raise SystemExit(f"{gpus} GPUs are not a multiple of TP {tp} x PP {pp} x CP {cp}: the preset cannot run there")
    return {"tp": tp, "pp": pp, "cp": cp, "dp": gpus // (tp * pp * cp), "ep": int(preset["expert_model_parallel_size"]),
            "vpp": 1 if vpp is None else int(vpp), "micro_batch": int(preset["micro_batch_size"]),
            "global_batch_seqs": int(preset["global_batch_size"])}


_COLUMNS = (("tp", "TP"), ("pp", "PP"), ("cp", "CP"), ("vpp", "VP"), ("ep", "EP"), ("micro_batch", "MBS"),
            ("global_batch_seqs", "GBS"))


def _value(row: dict[str, str], column: str) -> int:
    text = row[column].strip().lower()
    return 1 if column == "vpp" and text in ("", "n/a") else int(text)


def main(repo: str) -> None:
    """Write the v0.2.0 preset's layout into every 25.11 row whose table line carries the 25.09 layout cells."""
    pinned = mbridge_commits(repo, [_TAG, _TABLE_2511[0]])
    helpers = git_text(repo, "show", f"{pinned[_TAG]}:{_HELPERS}")
    if missing := [a for a in _ASSIGNS if a not in helpers]:
        raise SystemExit(f"Megatron-Bridge {_TAG} {_HELPERS}: no {missing}; re-read set_workload_base_configs")
    lines_2511 = tables(git_text(repo, "show", f"{pinned[_TABLE_2511[0]]}:{_TABLE_2511[1]}"), "25.11")
    lines_2509 = tables(git_text(repo, "show", f"{pinned[_TAG]}:{_TABLE_2509[1]}"), "25.09")
    header, rows = read_runs()
    cache: dict[str, dict[str, dict[str, Any]]] = {}
    written = 0
    for row in rows:
        if row["source_group"] != "nemo" or not row["run_id"].startswith("mbridge_25.11_"):
            continue
        line, second = line_of(row, lines_2511)
        if not carried(line, row["system"], lines_2509):
            continue
        family, name = preset_name(row)
        path = f"scripts/performance/configs/{family}/workload_base_configs.py"
        if family not in cache:
            cache[family] = presets(git_text(repo, "show", f"{pinned[_TAG]}:{path}"))
        if name not in cache[family]:
            raise SystemExit(f"{row['run_id']}: Megatron-Bridge {_TAG} {path} has no preset {name}")
        layout = preset_layout(cache[family][name], int(row["num_accels"]))
        stated = {c: cell(line[c], second) for c in LAYOUT}
        if bool(cache[family][name]["use_megatron_fsdp"]) != (stated["FSDP"] == "1"):
            raise SystemExit(f"{row['run_id']}: {name} and the table line differ in FSDP; not handled by this script")
        if all(str(layout[k]) == stated[c] or (c == "VP" and stated[c] == "n/a" and layout[k] == 1)
               for k, c in _COLUMNS):
            continue  # the carried cells are the preset's too
        changed = {k: v for k, v in layout.items() if _value(row, k) != v}
        source = "DGX-GB200" if row["system"] == "DGX-GB300" else row["system"]
        note = (f"layout {', '.join(f'{k} {v}' for k, v in layout.items())}: Megatron-Bridge {_TAG} "
                f"({MBRIDGE_COMMITS[_TAG][:9]}) {path}:{name}, which {_HELPERS} set_workload_base_configs writes over "
                f"the recipe's, where the 25.11 table line ({_TABLE_2511[0]} {_TABLE_2511[1]}, {row['system']}) states "
                f"{' '.join(f'{c} {stated[c]}' for c in LAYOUT)}, the 25.09 {source} line's layout cells verbatim "
                f"({_TAG} {_TABLE_2509[1]}): carried from 25.09 (the 25.11 tables are the 25.09 tables edited in "
                "place, commit 97ad8cc6f), not the 25.11 run's (data/validation/derive/mbridge_2511_layout.py)")
        for column, value in layout.items():
            if column == "vpp" and row["vpp"].strip().lower() in ("", "n/a") and value == 1:
                continue
            row[column] = str(value)
        row["derived"] = set_note(row["derived"], _NOTE, note)
        row["confidence"] = CONFIDENCE
        written += 1
        print(f"{row['run_id']}: {', '.join(f'{k} {v}' for k, v in layout.items())} ({name}); "
              f"table {' '.join(f'{c} {stated[c]}' for c in LAYOUT)}; changed {changed or 'nothing (re-run)'}")
    write_runs(header, rows)
    print(f"{written} rows given the v0.2.0 preset's layout")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
