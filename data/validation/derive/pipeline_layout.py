"""Fill the column ``pipeline_layout`` of data/validation/training_runs.csv: the Megatron-Core
``pipeline_model_parallel_layout`` the row's Megatron-Bridge DeepSeek-V3 or Kimi K2 preset runs (issue 10).

Usage: python data/validation/derive/pipeline_layout.py <Megatron-Bridge git dir>   (idempotent; owns the column)

Rows read: ``run_id`` ``mbridge_`` / ``mbridge-fwd_``, a DeepSeek-V3 model, whose ``moe_recipe_source`` names a
preset (``<tag> scripts/performance/configs/deepseek/<file>:<preset>``) at a tag pinned in pinned_mirrors.py
``MBRIDGE_COMMITS``. Every file is read at that commit (``git show``). What the run's layout is, from the code:

* The builder (scripts/performance/configs/deepseek/deepseek_llm_pretrain.py, the function ``deepseek_v3_*`` of
  the preset's system) either passes ``layout=`` to the recipe (v0.2.0, v0.3.0: a string literal, ``None`` or
  ``base_cfg.pp_layout``), or sets ``cfg.model.pipeline_model_parallel_layout = base_cfg.pp_layout`` when the
  preset has one and otherwise calls the recipe's ``set_deepseek_v3_pipeline_model_parallel_layout(cfg.model)``
  (v0.3.1 .. v0.5.1). The preset's ``pp_layout`` is read with mbridge_archive_rows.presets (absent = None).
* Without a layout the recipe (src/megatron/bridge/recipes/deepseek/deepseek_v3.py
  ``set_deepseek_v3_pipeline_model_parallel_layout``; ``_deepseek_v3_common`` at v0.2.x) takes
  ``layout_map[(pp, vpp)]`` of the row's stated pp and vpp (what ran; the 25.11 rows name a base preset whose
  pp differs from the table's) built with
  ``mtp_num_layers`` 1 (the recipe default; no performance script sets it: ``git grep mtp scripts/performance``
  at v0.2.2 .. v0.5.1 finds none; 0 for the rows the 25.11 table names "w/o MTP"), or leaves the layout unset where the map has no entry. The map's literal is
  evaluated from its syntax tree (list arithmetic only, names ``last_layer`` = ["mtp"] * 1 + ["loss"]).
* The layout is written as Megatron-Core's string form: stages joined by ``|``, runs of one kind as ``x*n``
  (``parse_str_to_list`` reads it back to the same stages). A row whose preset runs no layout keeps an empty cell.

The 25.11 rows (tag v0.2.2): the table names the GB300 / GB200 rows "w/o MTP" although no script of the tag
turns the recipe's default MTP layer off; the label is taken (no MTP, the map built with none).

Kimi K2 (s33; the ``mbridge-fwd_`` rows at v0.3.1 .. v0.5.0): the builder
(scripts/performance/configs/kimi/kimi_llm_pretrain.py ``kimi_k2_pretrain_config_<system>``) sets the preset's
``pp_layout`` where it has one, else ``_get_kimi_k2_pipeline_layout(pp, vp)`` of
src/megatron/bridge/recipes/kimi/kimi_k2.py, whose ``map_pp_vp_to_layout`` literal is read the same way (no MTP).
Not read: every other model.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass

from mbridge_archive_rows import one_function, presets
from pinned_mirrors import MBRIDGE_COMMITS, git_text, mbridge_commits
from runs_table import fill_columns, read_runs, write_runs

COLUMN = "pipeline_layout"
_SOURCE = re.compile(r"^(v[\d.]+(?:rc\d+)?) (scripts/performance/configs/(deepseek|kimi)/\S+\.py):(\w+)$")
_SYSTEM = re.compile(r"_(GB300|GB200|B300|B200|H100|VR200)_")
_KIND = {"embedding": "E", "decoder": "t", "mtp": "m", "loss": "L"}
#: The Megatron-Bridge tags whose presets the rows name (each pinned in MBRIDGE_COMMITS).
TAGS = ("v0.2.0", "v0.2.2", "v0.3.0", "v0.3.1", "v0.4.0", "v0.4.2", "v0.5.0", "v0.5.1")


@dataclass(frozen=True)
class Family:
    """Where a model family's layout comes from: the performance builder, its function per system (``builder_fn``
    with the system in lower case), the recipe and the name of its (pp, vp) -> layout dict literal."""

    builder: str
    builder_fn: Callable[[str, str], bool]
    recipe: str
    map_name: str


#: The preset directory (scripts/performance/configs/<dir>/) -> its family (module doc).
FAMILIES = {
    "deepseek": Family("scripts/performance/configs/deepseek/deepseek_llm_pretrain.py",
                       lambda n, gpu: (n.startswith("deepseek_v3") and n.endswith("_" + gpu))
                       or n == f"deepseek_v3_{gpu}_config",
                       "src/megatron/bridge/recipes/deepseek/deepseek_v3.py", "layout_map"),
    "kimi": Family("scripts/performance/configs/kimi/kimi_llm_pretrain.py",
                   lambda n, gpu: n == f"kimi_k2_pretrain_config_{gpu}",
                   "src/megatron/bridge/recipes/kimi/kimi_k2.py", "map_pp_vp_to_layout"),
}


def owns(row: dict[str, str]) -> bool:
    """A Megatron-Bridge DeepSeek-V3 or Kimi K2 row whose preset is at a tag this script reads (:data:`TAGS`)."""
    match = _SOURCE.match(row["moe_recipe_source"])
    model = row["model"].lower()
    return (row["run_id"].startswith(("mbridge_", "mbridge-fwd_")) and ("deepseek" in model or "kimi" in model)
            and match is not None and match.group(1) in TAGS)


def mtp_layers(row: dict[str, str]) -> int:
    """MTP layers of the run: the DeepSeek-V3 recipe default 1, none where the table names the row "w/o MTP" (the
    25.11 GB300 / GB200 rows; the recipe then builds ``last_layer = ["loss"]``: ``mtp_num_layers ... or 0``); none
    for Kimi K2 (KimiK2Provider ``mtp_num_layers`` None)."""
    return 0 if re.search(r"w/o\s*mtp", row["model"], re.I) or "kimi" in row["model"].lower() else 1


def layout_string(stages: list[list[str]]) -> str:
    """Megatron-Core's string form of a list layout (kinds E t m L, runs as ``x*n``, stages joined by ``|``)."""
    out = []
    for stage in stages:
        kinds = [_KIND[k] for k in stage]
        runs = []
        i = 0
        while i < len(kinds):
            j = i
            while j < len(kinds) and kinds[j] == kinds[i]:
                j += 1
            runs.append(kinds[i] if j - i == 1 else f"{kinds[i]}*{j - i}")
            i = j
        out.append("".join(runs))
    return "|".join(out)


def recipe_map(recipe_source: str, pp: int, vpp: int, mtp: int, family: Family = FAMILIES["deepseek"]) -> str:
    """The recipe's layout map at ``(pp, vpp)`` with ``mtp`` MTP layers as a string, or "" where the map has no entry
    (or maps to None). The map is the module's one dict literal named ``family.map_name`` (DeepSeek-V3's
    ``layout_map``: in ``_deepseek_v3_common`` at v0.2.x, in ``set_deepseek_v3_pipeline_model_parallel_layout`` from
    v0.3.0; Kimi K2's ``map_pp_vp_to_layout`` in ``_get_kimi_k2_pipeline_layout``)."""
    maps = [n.value for n in ast.walk(ast.parse(recipe_source)) if isinstance(n, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == family.map_name for t in n.targets)]
    if len(maps) != 1 or not isinstance(maps[0], ast.Dict):
        raise SystemExit(f"{family.recipe}: expected one dict literal {family.map_name}")
    env = {"last_layer": ["mtp"] * mtp + ["loss"]}
    for key, value in zip(maps[0].keys, maps[0].values):
        if key is not None and ast.literal_eval(key) == (pp, vpp):
            stages = eval(compile(ast.Expression(value), family.recipe, "eval"), {"__builtins__": {}}, env)  # noqa: S307
            return "" if stages is None else layout_string(stages)
    return ""


def row_layout(repo: str, source: str, mtp: int, pp: int, vpp: int) -> str:
    """The layout (string form, "" for none) the preset ``source`` runs with ``mtp`` MTP layers at the row's
    ``pp`` x ``vpp`` (module doc); a stated layout of another stage count is an error."""
    match = _SOURCE.match(source)
    if match is None:
        raise SystemExit(f"moe_recipe_source {source!r}: expected '<tag> scripts/performance/configs/<deepseek|kimi>/"
                         "<file>.py:<name>'")
    tag, path, directory, name = match.groups()
    family = FAMILIES[directory]
    commit = MBRIDGE_COMMITS[tag]
    preset = presets(git_text(repo, "show", f"{commit}:{path}"))[name]
    system = _SYSTEM.search(name + "_")
    if system is None:
        raise SystemExit(f"{source}: no system in the preset name")
    builder_text = git_text(repo, "show", f"{commit}:{family.builder}")
    fn = one_function(ast.parse(builder_text), lambda n: family.builder_fn(n, system.group(1).lower()),
                      f"{tag} {family.builder}")
    passed = [k.value for n in ast.walk(fn) if isinstance(n, ast.Call) for k in n.keywords if k.arg == "layout"]
    stated = preset.get("pp_layout")
    if passed and isinstance(passed[0], ast.Constant):
        stated = passed[0].value  # a literal (or None) passed to the recipe
    elif not passed and "base_cfg.pp_layout" not in ast.get_source_segment(builder_text, fn):  # type: ignore[operator]
        stated = None  # the builder always calls the recipe's map
    if stated:
        stages = len(str(stated).split("|")) if "(" not in str(stated) else None
        if stages is not None and stages != pp * vpp:
            raise SystemExit(f"{source}: layout {stated!r} has {stages} stages, the row pp x vpp = {pp * vpp}")
        return str(stated)
    return recipe_map(git_text(repo, "show", f"{commit}:{family.recipe}"), pp, vpp, mtp, family)


def main(repo: str) -> None:
    """Fill the column (module doc)."""
    header, rows = read_runs([COLUMN])
    tags = {m.group(1) for r in rows if owns(r) and (m := _SOURCE.match(r["moe_recipe_source"]))}
    mbridge_commits(repo, tags)
    cache: dict[tuple[str, int, int, int], str] = {}

    def value(row: dict[str, str]) -> list[str] | None:
        if not owns(row):
            return None
        key = (row["moe_recipe_source"], mtp_layers(row), int(row["pp"]), int(row["vpp"] or 1))
        if key not in cache:
            cache[key] = row_layout(repo, *key)
        return [cache[key]] if cache[key] else None

    n = fill_columns(rows, [COLUMN], value)
    write_runs(header, rows)
    print(n, f"rows with a {COLUMN}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
