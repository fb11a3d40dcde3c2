"""State the virtual-pipeline size (column ``vpp``) of the Megatron-Bridge rows of data/validation/training_runs.csv
whose table leaves VP empty or "n/a" with a pipeline (pp > 1): the value their performance preset sets (issue 10).

Usage: python data/validation/derive/mbridge_preset_vpp.py <Megatron-Bridge git dir>
(idempotent: a row this script wrote is re-read and written again; run it after mbridge_archive_rows.py, which
writes the table's empty VP cell back over the forward rows).

Rows read (groups nemo and mbridge-forward, ``run_id`` ``mbridge_`` / ``mbridge-fwd_``, pp > 1, ``vpp`` empty or
"n/a", or a ``vpp`` this script wrote): their ``moe_recipe_source`` names the preset, ``<tag>
scripts/performance/configs/<family>/<file>:<preset>`` (moe_recipes.py for the 26.02 rows, mbridge_archive_rows.py
for the forward rows). The preset is read at the commit pinned for the tag (pinned_mirrors.py ``MBRIDGE_COMMITS``)
and evaluated from its syntax tree as mbridge_archive_rows.presets does (``replace`` chains and aliases, the
``WorkloadBaseConfig`` defaults of scripts/performance/utils/utils.py: ``virtual_pipeline_model_parallel_size:
int | None = None``). Its ``pipeline_model_parallel_size`` must be the row's (else an error).

Why the preset's value is the run's: at every tag read (v0.3.0 .. v0.5.0) the performance builders
(``scripts/performance/configs/{deepseek,qwen,gpt_oss}/*_llm_pretrain.py``) call ``set_workload_base_configs(cfg,
base_cfg)`` after the recipe, and ``scripts/performance/utils/overrides.py set_workload_base_configs`` assigns
``cfg.model.virtual_pipeline_model_parallel_size = settings.virtual_pipeline_model_parallel_size`` without a
condition (v0.3.0 L200, v0.3.1 L201, v0.4.0 L202, v0.4.2 L207, v0.5.0 L223): the preset's value replaces whatever
the recipe set, and ``None`` is Megatron-Core's no interleaving (one model chunk per stage; the DeepSeek-V3 recipe
then picks its ``(pp, 1)`` layout, src/megatron/bridge/recipes/deepseek/deepseek_v3.py
``set_deepseek_v3_pipeline_model_parallel_layout``). The script checks that assignment line at each commit it reads.
A preset's None is written as vpp 1, an integer as itself.

Left as they are (said in the docs section of s11-vpp): rows with no preset named (the 26.02.01 Llama 3 70B MXFP8
GB300 row: no preset of its layout at v0.3.1; the NeMo 24.03.01 long-sequence Llama 2 7B row, not a Megatron-Bridge
run) keep "n/a"/empty, which ``archsweep validate`` reads as "not stated" (the mapping search picks vpp).
"""

from __future__ import annotations

import re
import sys

from mbridge_archive_rows import presets
from pinned_mirrors import MBRIDGE_COMMITS, git_text, mbridge_commits
from runs_table import read_runs, set_note, write_runs

GROUPS = ("nemo", "mbridge-forward")
_SOURCE = re.compile(r"^(v[\d.]+(?:rc\d+)?) (scripts/performance/configs/\S+\.py):(\w+)$")
_ASSIGN = "cfg.model.virtual_pipeline_model_parallel_size = settings.virtual_pipeline_model_parallel_size"
_OVERRIDES = "scripts/performance/utils/overrides.py"
_NOTE = r"vpp \d+: Megatron-Bridge [^;]*mbridge_preset_vpp\.py"


def owns(row: dict[str, str]) -> bool:
    """A Megatron-Bridge row with a pipeline whose vpp is unstated or was written by this script."""
    if row["source_group"] not in GROUPS or not row["run_id"].startswith(("mbridge_", "mbridge-fwd_")):
        return False
    if not row["pp"] or int(row["pp"]) <= 1:
        return False
    return row["vpp"].strip().lower() in ("", "n/a") or re.search(_NOTE, row["derived"]) is not None


def preset_vpp(repo: str, source: str, cache: dict[tuple[str, str], dict[str, dict[str, object]]]) -> tuple[int, int]:
    """(pp, vpp) that the preset ``source`` (a ``moe_recipe_source`` cell) sets; None -> 1."""
    match = _SOURCE.match(source)
    if match is None:
        raise SystemExit(f"moe_recipe_source {source!r}: expected '<tag> scripts/performance/configs/<file>.py:<name>'")
    tag, path, name = match.groups()
    commit = MBRIDGE_COMMITS[tag]
    if (tag, path) not in cache:
        if _ASSIGN not in git_text(repo, "show", f"{commit}:{_OVERRIDES}"):
            raise SystemExit(f"Megatron-Bridge {tag} ({commit}) {_OVERRIDES}: no '{_ASSIGN}'; re-read the builder")
        cache[(tag, path)] = presets(git_text(repo, "show", f"{commit}:{path}"))
    found = cache[(tag, path)]
    if name not in found:
        raise SystemExit(f"Megatron-Bridge {tag} {path}: no preset {name}")
    vpp = found[name]["virtual_pipeline_model_parallel_size"]
    return int(found[name]["pipeline_model_parallel_size"]), (1 if vpp is None else int(vpp))  # type: ignore[call-overload]


def main(repo: str) -> None:
    header, rows = read_runs()
    mine = [r for r in rows if owns(r)]
    tags = {m.group(1) for r in mine if (m := _SOURCE.match(r["moe_recipe_source"]))}
    mbridge_commits(repo, tags)
    cache: dict[tuple[str, str], dict[str, dict[str, object]]] = {}
    written = 0
    for row in mine:
        if not row["moe_recipe_source"]:
            print(f"{row['run_id']}: no preset named (moe_recipe_source empty): vpp left {row['vpp'] or 'empty'}")
            continue
        pp, vpp = preset_vpp(repo, row["moe_recipe_source"], cache)
        if pp != int(row["pp"]):
            raise SystemExit(f"{row['run_id']}: preset {row['moe_recipe_source']} has pp {pp}, the row {row['pp']}")
        tag, rest = row["moe_recipe_source"].split(" ", 1)
        said = "sets none (WorkloadBaseConfig default None: no interleaving)" if vpp == 1 else f"sets {vpp}"
        note = (f"vpp {vpp}: Megatron-Bridge {tag} ({MBRIDGE_COMMITS[tag][:9]}) {rest} {said}, "
                f"which {_OVERRIDES} set_workload_base_configs writes over the recipe's, "
                "data/validation/derive/mbridge_preset_vpp.py")
        row["vpp"] = str(vpp)
        row["derived"] = set_note(row["derived"], _NOTE, note)
        written += 1
        print(f"{row['run_id']}: vpp {vpp} ({row['moe_recipe_source']})")
    write_runs(header, rows)
    print(f"{written} rows given the preset's vpp")


if __name__ == "__main__":
    main(sys.argv[1])
