"""Fill ``grad_sync_dtype`` of the Megatron-Bridge performance rows (``mbridge_YY.MM_*`` and ``mbridge-fwd_*``) of
data/validation/training_runs.csv from the performance preset of the release each row ran: ``bf16`` where it sets
``grad_reduce_in_fp32`` False (a BF16 gradient buffer and data-parallel reduce), ``fp32`` where True.

The release a row ran and its tag / commit: _mbridge_presets.py ``RELEASES`` (pinned_mirrors.py
``MBRIDGE_COMMITS``). ``optim_dtype`` stays empty: the optimizer is Megatron-Core's (FP32 state).

What is read at each tag:
* ``src/megatron/bridge/training/mixed_precision.py``: ``MixedPrecisionConfig.setup`` passes the mixed-precision
  config's fields to the DDP config (``update_config_with_precision_overrides``), so
  ``mixed_precision.grad_reduce_in_fp32`` is the buffer dtype; the class default is True (the script checks both).
* v0.1.0rc3: the row's ``scripts/performance/configs/<family>/<model>_llm_pretrain.yaml`` (the file
  ``run_script.py`` merges over the recipe and its precision config): its ``ConfigContainer.mixed_precision.
  grad_reduce_in_fp32`` (and
  ``ddp.grad_reduce_in_fp32`` if stated; they must agree).
* later tags: every ``<x>.grad_reduce_in_fp32 = <bool>`` in ``scripts/performance/configs/**/*.py`` (``ast``) in
  the row's preset function (``{model}_{task}_config_{gpu}``, at v0.2.0 ``{model}_{gpu}_config`` /
  ``{model}_{gpu}_{task}_config``; task ``pretrain``, ``sft`` or ``lora`` from the model
  name) or a function it calls (``set_<family>_common[_peft]_configs``); they must agree, and one must be found.

Found: ``False`` for every row at all eight tags (Llama3 / Llama3.1 / DeepSeek-V3 / Qwen3 / GPT-OSS pre-training
and the Llama3 70B SFT / LoRA presets; since s33 also the four Kimi K2 rows), so all 214 rows are ``bf16``. Not applied in s17-I (nemo's in-sample
MAPE 7.916 -> 8.356 %, over the 8 % keep bound); applied in s18-A3 (2026-12-02) once s18-A2 (no Megatron-FSDP
MXFP8 parameters before NeMo 26.02), s18-C (the 25.11 rows' preset layouts) and the 25.11 B200 GPT-OSS row's EP 64
had landed: nemo in-sample 7.461 -> 7.672 %, held-out 8.12 -> 8.34 %, two rows newly above 1.25 in search optimism
(the H100 Qwen3-235B FP8-CS 256 rows: docs/model-accuracy.md, s18-A3).

Usage: python data/validation/derive/mbridge_grad_reduce.py <Megatron-Bridge git dir>
rewrites data/validation/training_runs.csv in place (idempotent).
"""

from __future__ import annotations

import ast
import re
import sys

import yaml
from _mbridge_presets import RELEASES, config_functions, preset_model, row_release
from pinned_mirrors import git_text, mbridge_commits
from runs_table import read_runs, set_note, write_runs

_NOTE = r"grad_sync_dtype (?:bf16|fp32): Megatron-Bridge .*?mbridge_grad_reduce\.py"
_SCRIPT = "data/validation/derive/mbridge_grad_reduce.py"
_MIXED = "src/megatron/bridge/training/mixed_precision.py"
_YAML_TAG = "v0.1.0rc3"

#: (file, line, value) of one setting.
Setting = tuple[str, int, bool]


def _check_mixed_precision(text: str, tag: str) -> None:
    """Stop unless mixed_precision.py passes its fields to the DDP config and defaults the flag to True."""
    if "update_config_with_precision_overrides(self, ddp_config)" not in text:
        raise SystemExit(f"{tag}: {_MIXED} no longer passes grad_reduce_in_fp32 to the DDP config: read it by hand")
    if not re.search(r"^\s+grad_reduce_in_fp32: bool = True$", text, re.M):
        raise SystemExit(f"{tag}: {_MIXED} MixedPrecisionConfig.grad_reduce_in_fp32 default is not True")


def _functions(repo: str, commit: str) -> dict[str, tuple[str, list[Setting], set[str]]]:
    """{function: (file, its ``grad_reduce_in_fp32`` settings, the names it calls)} of the performance configs."""
    files = git_text(repo, "ls-tree", "-r", "--name-only", commit, "scripts/performance/configs").split()
    texts = {path: git_text(repo, "show", f"{commit}:{path}") for path in files if path.endswith(".py")}
    return config_functions(texts, _settings)


def _settings(path: str, function: ast.FunctionDef) -> list[Setting]:
    """Every ``<x>.grad_reduce_in_fp32 = <bool>`` in ``function`` (under any test)."""
    return [(path, s.lineno, s.value.value) for s in ast.walk(function)
            if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, bool)
            and any(ast.unparse(t).endswith(".grad_reduce_in_fp32") for t in s.targets)]


def _yaml_setting(repo: str, commit: str, model: str) -> tuple[str, list[Setting]]:
    files = git_text(repo, "ls-tree", "-r", "--name-only", commit, "scripts/performance/configs").split()
    paths = [p for p in files if p.endswith(f"/{model}_llm_pretrain.yaml")]
    if len(paths) != 1:
        raise SystemExit(f"{_YAML_TAG}: {len(paths)} performance yaml files for {model}: read them by hand")
    text = git_text(repo, "show", f"{commit}:{paths[0]}")
    conf = yaml.safe_load(text)
    conf = conf.get("ConfigContainer", conf)  # run_script.py merges that subtree over the recipe
    lines = {i + 1 for i, line in enumerate(text.splitlines()) if "grad_reduce_in_fp32" in line}
    sets = [(paths[0], min(lines), bool(conf[k]["grad_reduce_in_fp32"])) for k in ("mixed_precision", "ddp")
            if isinstance(conf.get(k), dict) and "grad_reduce_in_fp32" in conf[k]]
    return paths[0], sets


def _task(model_name: str) -> str:
    name = model_name.lower()
    return "lora" if "lora" in name else "sft" if "sft" in name else "pretrain"


def main(repo: str) -> None:
    commits = mbridge_commits(repo, RELEASES.values())
    for tag in RELEASES.values():
        _check_mixed_precision(git_text(repo, "show", f"{commits[tag]}:{_MIXED}"), tag)
    configs = {tag: _functions(repo, commits[tag]) for tag in RELEASES.values() if tag != _YAML_TAG}
    header, rows = read_runs()
    counts = {"bf16": 0, "fp32": 0}
    for row in rows:
        ran = row_release(row)
        if ran is None:
            continue
        release, tag, gpu = ran
        model = preset_model(row)
        if tag == _YAML_TAG:
            where, sets = _yaml_setting(repo, commits[tag], model)
        else:
            task = _task(row["model"])
            old_name = f"{model}_{gpu}_config" if task == "pretrain" else f"{model}_{gpu}_{task}_config"  # v0.2.0
            funcs = [f for f in configs[tag] if f in (f"{model}_{task}_config_{gpu}", old_name)]
            if len(funcs) != 1:
                raise SystemExit(f"{row['run_id']}: {tag} has {funcs} for {model} {task} {gpu}: read it by hand")
            named = [funcs[0], *sorted(c for c in configs[tag][funcs[0]][2] if c in configs[tag])]
            sets = [s for f in named for s in configs[tag][f][1]]
            where = f"{configs[tag][funcs[0]][0]} {funcs[0]}"
        if not sets or len({v for _, _, v in sets}) != 1:
            raise SystemExit(f"{row['run_id']}: {tag} {where}: grad_reduce_in_fp32 settings {sets}: read by hand")
        text = "fp32" if sets[0][2] else "bf16"
        lines = ", ".join(f"{p.rsplit('/', 1)[-1]} L{line}" for p, line, _ in sets)
        row["grad_sync_dtype"] = text
        row["derived"] = set_note(row["derived"], _NOTE, f"grad_sync_dtype {text}: Megatron-Bridge {tag} "
                                  f"({commits[tag][:9]}, NeMo {release}) {where}: grad_reduce_in_fp32 = "
                                  f"{sets[0][2]} ({lines}), {_SCRIPT}")
        counts[text] += 1
    if not counts["bf16"] + counts["fp32"]:
        raise SystemExit("training_runs.csv has no Megatron-Bridge performance row")
    write_runs(header, rows)
    print(f"grad_sync_dtype: {counts['bf16']} bf16, {counts['fp32']} fp32")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
