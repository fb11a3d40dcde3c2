"""Fill ``fp8_params`` of the Megatron-Bridge performance rows (``mbridge_YY.MM_*`` and ``mbridge-fwd_*``) of
data/validation/training_runs.csv whose precision is per-tensor FP8 or MXFP8, from the precision preset of the
release each row ran.

The release a row ran: its ``run_id`` names the NeMo container; the Megatron-Bridge tag of each is the one
mbridge_param_gather.py (25.09 / 25.11 / 26.02) and mbridge_archive_rows.py (26.02.01 .. 26.06.01) read, at the
commits pinned in pinned_mirrors.py ``MBRIDGE_COMMITS``.

What is read at each tag:
* ``src/megatron/bridge/training/mixed_precision.py``: the last ``cfg.fp8_param_gather = <bool>`` of the preset
  function the performance scripts take for the row's compute dtype (:data:`_PRESETS`: per-tensor current scaling
  ``bf16_with_fp8_current_scaling_mixed``, MXFP8 ``bf16_with_mxfp8_mixed``; for the 25.09 per-tensor rows, whose
  ``--fp8_recipe`` (``ds`` or ``cs``) is not stated, both the delayed- and the current-scaling preset, which must
  agree). ``MixedPrecisionConfig.__setattr__`` / ``__post_init__`` keep ``fp8_param`` equal to
  ``fp8_param_gather`` (same file), so the gather flag is the FP8-parameter flag.
* the performance scripts' ``get_precision_config`` (``scripts/performance/utils/helpers.py`` at v0.1.0rc3 /
  v0.2.0, ``scripts/performance/utils/precision.py`` from v0.3.0): it must call that preset (else the script stops).
* every ``<x>.fp8_param_gather = <bool>`` / ``<x>.fp8_param = <bool>`` in ``scripts/performance/configs/**/*.py``
  (parsed with ``ast``), with the function it is in and the ``precision == "<dtype>"`` test it is under: one in the
  row's preset function (``{model}_..._{gpu}`` / ``{model}_..._config_{gpu}``) or in a function that one calls
  overrides the preset. v0.1.0rc3 configures the runs with yaml files: the script stops if one names
  ``fp8_param``.

Found: every per-tensor and MXFP8 preset sets ``fp8_param_gather = True`` at all eight tags; the overrides are
Kimi (``kimi_llm_pretrain.py`` ``set_kimi_k2_common_configs``: Muon with MXFP8 turns it off), GPT-OSS 20B
(``get_gpt_oss_20b_precision_config``, no row) and DeepSeek-V4 (no row); only Kimi's reaches rows (s33: the four
Kimi K2 GB300 MXFP8 rows, ``no``), so every other row is ``yes``. BF16 and NVFP4 rows are left as they are.

Usage: python data/validation/derive/mbridge_fp8_params.py <Megatron-Bridge git dir>
rewrites data/validation/training_runs.csv in place (idempotent).
"""

from __future__ import annotations

import ast
import re
import sys

from _mbridge_presets import RELEASES, compute_dtype, config_functions, precision_test, preset_model, row_release
from pinned_mirrors import git_text, mbridge_commits
from runs_table import read_runs, set_note, write_runs

#: NeMo container -> Megatron-Bridge tag: every release of the rows (_mbridge_presets.py ``RELEASES``).
_RELEASES = RELEASES
#: Compute dtype -> the preset functions of mixed_precision.py the performance scripts take for it.
_PRESETS = {"fp8_cs": ("bf16_with_fp8_current_scaling_mixed",), "fp8_mx": ("bf16_with_mxfp8_mixed",),
            "fp8_ds_or_cs": ("bf16_with_fp8_delayed_scaling_mixed", "bf16_with_fp8_current_scaling_mixed")}
_NOTE = r"fp8_params (?:yes|no): Megatron-Bridge .*?mbridge_fp8_params\.py"
_SCRIPT = "data/validation/derive/mbridge_fp8_params.py"
_MIXED = "src/megatron/bridge/training/mixed_precision.py"


def preset_values(text: str) -> dict[str, bool]:
    """{preset function: its last ``cfg.fp8_param_gather = <bool>``} of mixed_precision.py ``text``."""
    values = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef):
            for stmt in ast.walk(node):
                if (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant)
                        and isinstance(stmt.value.value, bool)
                        and any(ast.unparse(t) == "cfg.fp8_param_gather" for t in stmt.targets)):
                    values[node.name] = stmt.value.value
    return values


def _sets(body: list[ast.stmt], dtype: str) -> list[tuple[str, bool, int]]:
    """(condition ("*" = any dtype), value, line) of each ``<x>.fp8_param[_gather] = <bool>`` in ``body``."""
    found = []
    for stmt in body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, bool):
            if any(ast.unparse(t).endswith((".fp8_param_gather", ".fp8_param")) for t in stmt.targets):
                found.append((dtype, stmt.value.value, stmt.lineno))
        elif isinstance(stmt, ast.If):
            found += _sets(stmt.body, precision_test(stmt.test) or dtype)
            found += _sets(stmt.orelse, dtype)
    return found


def overrides(repo: str, commit: str) -> dict[str, tuple[str, list[tuple[str, bool, int]], set[str]]]:
    """{function: (file, its fp8-parameter assignments, the names it calls)} of the performance configs."""
    files = git_text(repo, "ls-tree", "-r", "--name-only", commit, "scripts/performance").split()
    texts = {}
    for path in files:
        text = git_text(repo, "show", f"{commit}:{path}")
        if path.endswith((".yaml", ".yml")) and re.search(r"fp8_param", text):
            raise SystemExit(f"{commit}:{path} names fp8_param in yaml: read it by hand")
        if path.startswith("scripts/performance/configs/") and path.endswith(".py"):
            texts[path] = text
    return config_functions(texts, lambda _path, node: _sets(node.body, "*"))


def _precision_source(repo: str, commit: str) -> tuple[str, str]:
    """(path, source) of the performance scripts' ``get_precision_config`` at ``commit``."""
    for path in ("scripts/performance/utils/precision.py", "scripts/performance/utils/helpers.py"):
        files = git_text(repo, "ls-tree", "--name-only", commit, path).split()
        if files:
            text = git_text(repo, "show", f"{commit}:{path}")
            for node in ast.parse(text).body:
                if isinstance(node, ast.FunctionDef) and node.name == "get_precision_config":
                    return path, ast.unparse(node)
    raise SystemExit(f"{commit}: no get_precision_config in scripts/performance/utils")


def _function_matches(name: str, model: str, gpu: str) -> bool:
    return re.fullmatch(rf"{model}_(?:\w+_)?{gpu}(?:_config)?", name) is not None


def _dtype(row: dict[str, str]) -> str | None:
    dtype = compute_dtype(row["precision"])
    if dtype == "fp8_cs" and "per-tensor" in row["precision"].lower() and row["run_id"].startswith("mbridge_25.09_"):
        return "fp8_ds_or_cs"
    return dtype if dtype in _PRESETS else None


def main(repo: str) -> None:
    commits = mbridge_commits(repo, _RELEASES.values())
    header, rows = read_runs(["fp8_params"])
    presets = {tag: preset_values(git_text(repo, "show", f"{commits[tag]}:{_MIXED}")) for tag in _RELEASES.values()}
    sources = {tag: _precision_source(repo, commits[tag]) for tag in _RELEASES.values()}
    configs = {tag: overrides(repo, commits[tag]) for tag in _RELEASES.values()}
    counts = {"yes": 0, "no": 0}
    for row in rows:
        dtype = _dtype(row)
        ran = row_release(row) if dtype is not None else None
        if ran is None:
            continue
        release, tag, gpu = ran
        model = preset_model(row)
        path, source = sources[tag]
        values = set()
        for preset in _PRESETS[dtype]:
            if preset not in presets[tag] or f"{preset}()" not in source:
                raise SystemExit(f"{tag}: {path} get_precision_config does not take {preset} with a stated "
                                 f"fp8_param_gather in {_MIXED}: read it by hand")
            values.add(presets[tag][preset])
        if len(values) != 1:
            raise SystemExit(f"{row['run_id']}: the presets {_PRESETS[dtype]} disagree on fp8_param_gather at {tag}")
        value = values.pop()
        where = f"{_MIXED} {' / '.join(_PRESETS[dtype])} cfg.fp8_param_gather = {value}"
        functions = [f for f in configs[tag] if _function_matches(f, model, gpu)]
        named = {f for f in functions} | {c for f in functions for c in configs[tag][f][2] if c in configs[tag]}
        hits = [(f, cond, v, line) for f in sorted(named) for cond, v, line in configs[tag][f][1]
                if cond in ("*", compute_dtype(row["precision"]))]
        if hits:
            if len({v for _, _, v, _ in hits}) != 1:
                raise SystemExit(f"{row['run_id']}: {tag} {hits}: several fp8_param settings: read them by hand")
            function, _cond, value, line = hits[-1]
            where = f"{configs[tag][function][0]} L{line} {function}: fp8_param_gather = {value} over the preset"
        elif not functions and configs[tag]:  # v0.1.0rc3: yaml configs (checked in overrides), no functions
            raise SystemExit(f"{row['run_id']}: {tag} has no performance config function for {model} {gpu}")
        text = "yes" if value else "no"
        row["fp8_params"] = text
        row["derived"] = set_note(row["derived"], _NOTE, f"fp8_params {text}: Megatron-Bridge {tag} "
                                  f"({commits[tag][:9]}, NeMo {release}) {where}, {_SCRIPT}")
        counts[text] += 1
    if not counts["yes"] + counts["no"]:
        raise SystemExit("training_runs.csv has no Megatron-Bridge FP8 performance row")
    write_runs(header, rows)
    print(f"fp8_params: {counts['yes']} yes, {counts['no']} no")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
