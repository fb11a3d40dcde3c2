"""Fill ``param_gather_overlap`` of the Megatron-Bridge performance rows (``mbridge_YY.MM_*``) of
data/validation/training_runs.csv from the preset of the release each row ran.

The release a row ran: its ``run_id`` prefix names the NeMo container; Megatron-Bridge's
``docs/releases/software-versions.md`` (tag v0.3.0) gives the Megatron-Bridge inside each: NeMo Framework 25.09 ->
0.1.0rc3, 25.11 -> 0.2.0, 26.02 -> 0.3.0 (and ``scripts/performance/README.md`` @v0.3.0: "If using 25.11
Container git switch r0.2.0"). The presets are read at those tags' commits (:data:`_RELEASES`; the commits
pinned in pinned_mirrors.py ``MBRIDGE_COMMITS``).

What is read: every assignment ``<x>.comm_overlap.overlap_param_gather = False`` and
``<x>.ddp.overlap_param_gather = False`` in the tag's ``scripts/performance/configs/**/*.py`` (parsed with
``ast``: _mbridge_presets.py ``gather_settings``), with the function it is in, or that makes it by calling a function
of the same file, and the ``precision == "<dtype>"`` test it is under, if any (one under a ``config_variant`` test is
refused: none at these three tags). The
``comm_overlap`` one decides: Megatron-Bridge's ``CommOverlapConfig`` turns ``overlap_param_gather`` on whenever
DP > 1, applies the recipe's ``cfg.comm_overlap`` values over that, then copies the result onto the DDP config
(src/megatron/bridge/training/comm_overlap.py @7af9601c9 ``_get_optimizer_overlap_cfgs``, ``_override_user_cfgs``,
``setup``; same at the three tags), so a ``cfg.ddp`` value alone is overwritten. A row is ``no`` when its preset
function (``{model}_{gpu}_config`` at v0.2.0, ``{model}_pretrain_config_{gpu}`` at v0.3.0) sets
``comm_overlap.overlap_param_gather = False`` for the row's compute dtype (or unconditionally), else ``yes``; a
preset that sets only the ``ddp`` one is refused (read it by hand). v0.1.0rc3 configures the runs with yaml files and ``run_script.py``; the script refuses a tag whose yaml
names ``overlap_param_gather`` at all (none does). Found: v0.2.0 sets it False for ``fp8_mx`` in
``llama3_70b_{gb300,gb200,b200}``, ``llama31_405b_{gb300,gb200,b200}``, ``qwen3_235b_a22b_b200`` and
``deepseek_v3_{gb300,gb200}`` ("keeping this eanbled causes NaN grad norm"); v0.1.0rc3 and v0.3.0 nowhere for
these models. The column is read by the model for ZeRO 1-2 rows (the distributed optimizer) only.

Usage: python data/validation/derive/mbridge_param_gather.py <Megatron-Bridge git dir>
rewrites data/validation/training_runs.csv in place (idempotent).
"""

from __future__ import annotations

import re
import sys

from _mbridge_presets import RELEASES, compute_dtype, gather_settings, preset_model
from pinned_mirrors import git_text, mbridge_commits
from runs_table import read_runs, set_note, write_runs

#: The containers this script reads (NeMo container -> Megatron-Bridge tag per docs/releases/software-versions.md
#: @v0.3.0, _mbridge_presets.py ``RELEASES``); rows of later containers are left as they are.
_RELEASES = {container: RELEASES[container] for container in ("25.09", "25.11", "26.02")}
_ROW = re.compile(r"^mbridge_(\d\d\.\d\d)_DGX-(\w+?)_")
_NOTE = r"param_gather_overlap (?:yes|no): Megatron-Bridge .*?mbridge_param_gather\.py"
_SCRIPT = "data/validation/derive/mbridge_param_gather.py"


def preset_offs(repo: str, commit: str) -> dict[tuple[str, str], tuple[str, frozenset[str]]]:
    """{(function, dtype or "*"): (file, the configs it sets ``overlap_param_gather = False`` on)} of the presets
    at ``commit`` that switch the parameter all-gather overlap off (_mbridge_presets.py :func:`gather_settings`:
    assignments, and calls of a function of the same file that makes them); one made under a ``config_variant``
    test is refused (these releases' rows name no variant: read it by hand)."""
    files = git_text(repo, "ls-tree", "-r", "--name-only", commit, "scripts/performance").split()
    offs: dict[tuple[str, str], tuple[str, frozenset[str]]] = {}
    for path in files:
        text = git_text(repo, "show", f"{commit}:{path}")
        if path.endswith((".yaml", ".yml")) and re.search(r"overlap_param_gather\s*:", text):
            raise SystemExit(f"{commit}:{path} sets overlap_param_gather in yaml: read it by hand")
        if not (path.startswith("scripts/performance/configs/") and path.endswith(".py")):
            continue
        for function, settings in gather_settings(text).items():
            configs: dict[str, set[str]] = {}
            for setting in settings:
                if setting.value is not False or setting.config not in ("comm_overlap", "ddp"):
                    continue
                if setting.variant != "*":
                    raise SystemExit(f"{commit}:{path} {function} L{setting.line}: overlap_param_gather = False under "
                                     f"the config_variant test {setting.test!r}: read it by hand")
                configs.setdefault(setting.dtype, set()).add(setting.config)
            for dtype, names in configs.items():
                offs[(function, dtype)] = (path, frozenset(names))
    return offs


def _function_matches(name: str, model: str, gpu: str) -> bool:
    return re.fullmatch(rf"{model}_(?:pretrain_config_)?{gpu}(?:_config)?", name) is not None


def main(repo: str) -> None:
    commits = mbridge_commits(repo, _RELEASES.values())
    header, rows = read_runs(["param_gather_overlap"])
    offs = {release: preset_offs(repo, commits[tag]) for release, tag in _RELEASES.items()}
    counts = {"yes": 0, "no": 0}
    for row in rows:
        match = _ROW.match(row["run_id"])
        if not match or match.group(1) not in _RELEASES:
            continue
        release, gpu = match.group(1), match.group(2).lower()
        model = preset_model(row)
        tag = _RELEASES[release]
        commit = commits[tag]
        dtype = compute_dtype(row["precision"])
        hits = [(f, d, p, c) for (f, d), (p, c) in offs[release].items()
                if _function_matches(f, model, gpu) and d in ("*", dtype)]
        decisive = [h for h in hits if "comm_overlap" in h[3]]
        if hits and not decisive:
            raise SystemExit(f"{tag} {hits[0][2]} {hits[0][0]}: sets ddp.overlap_param_gather = False but not "
                             "comm_overlap.overlap_param_gather, which CommOverlapConfig copies over it: read it by hand")
        value = "no" if decisive else "yes"
        if decisive:
            function, cond, path, _configs = decisive[0]
            where = f"{path} {function}: " + (f"if precision == '{cond}': " if cond != "*" else "")
            where += "cfg.comm_overlap.overlap_param_gather = False"
        else:
            where = (f"scripts/performance sets no comm_overlap.overlap_param_gather = False for {model} {gpu} "
                     f"{dtype} (CommOverlapConfig default on)")
        row["param_gather_overlap"] = value
        row["derived"] = set_note(row["derived"], _NOTE, f"param_gather_overlap {value}: Megatron-Bridge {tag} "
                                  f"({commit[:9]}, NeMo {release}) {where}, {_SCRIPT}")
        counts[value] += 1
    if not counts["yes"] + counts["no"]:
        raise SystemExit("training_runs.csv has no Megatron-Bridge performance row")
    write_runs(header, rows)
    print(f"param_gather_overlap: {counts['yes']} yes, {counts['no']} no")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
