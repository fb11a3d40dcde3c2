"""The repository clones the derive scripts read, each read at a pinned commit (issue 10): one table per repository.

MLPerf Training results (:data:`COMMITS`, one commit per results repository). Every MLPerf derive script of this
folder reads a clone of github.com/mlcommons/training_results_vX.Y through a :class:`Mirror`, which reads files (``git show <commit>:<path>``) and lists folders (``git ls-tree <commit>``) at
the commit :data:`COMMITS` pins for that results repository, never at the clone's HEAD: a mirror that moves on
(a submitter's late fix) cannot move a row. :func:`open_mirror` refuses a clone of a version with no pinned
commit and a clone that does not hold the pinned commit, and the rows a script derives from a mirror name the
commit in ``source_locator`` (:func:`stamp_locator`).

Usage (from a script): ``mirrors = open_mirrors(sys.argv[1:])`` -> {"v4.0": Mirror, ...}; ``mirror.show(path)``,
``mirror.ls(folder)``.

Megatron-Bridge (:data:`MBRIDGE_COMMITS`, the commit of each tag / commit a script names): mbridge_2509_rows.py,
mbridge_archive_rows.py, mbridge_param_gather.py, mbridge_fp8_params.py, mbridge_grad_reduce.py, mbridge_preset_vpp.py,
mbridge_2511_layout.py, mbridge_2511_gptoss_ep.py, mbridge_unfit_table_layouts.py, mbridge_carried_layout.py and pipeline_layout.py (the tags the rows' moe_recipe_source names) read
``<commit>:<path>`` (:func:`git_text`) of the commit pinned for the tag they name (a tag moved in a clone moves
nothing), after :func:`mbridge_commits` has checked the clone holds them all.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: The commit of each results repository the rows of training_runs.csv were derived from: ``git -C <mirror>
#: rev-parse HEAD`` of the mirrors on 2026-12-01 (s10-m2 pinned them for mlperf_steady_step.py; s11-pin for every
#: MLPerf derive script). Re-running each script at these commits reproduced training_runs.csv byte for byte. The
#: results files (``<submitter>/results/``) are those of each repository's first commit: the later commits touch
#: only READMEs, run scripts and system files (``git log --stat``; v5.1 also renames Datacrunch -> Verda).
COMMITS: dict[str, str] = {
    "v3.1": "d06288b2bd675a9d88e0e6181f5bb5626b71ec19",
    "v4.0": "6fe954378efe4a1a1bd665550b18ff8f26018def",
    "v4.1": "b87b9e396f771345d4ef122ba33456304f15228d",
    "v5.0": "0fdc28f013256aea84fa36fdaf1e0fa46094b18c",
    "v5.1": "441d65f4445cd59687466533fd9f55399136e7a4",
}
#: Megatron-Bridge (github.com/NVIDIA-NeMo/Megatron-Bridge) tag or short commit -> commit, as the scripts name them:
#: ``git -C <clone> rev-parse <tag>^{commit}`` of the clone on 2026-12-01 (s11-pin; the three scripts re-run at these
#: commits reproduced training_runs.csv byte for byte; v0.1.0rc3 / v0.2.0 / v0.3.0 are the commits
#: docs/releases/software-versions.md @v0.3.0 pairs with NeMo 25.09 / 25.11 / 26.02).
MBRIDGE_COMMITS: dict[str, str] = {
    "v0.1.0rc3": "bf71eba07bae8d36f08b796c106d1197d46ad541",
    "v0.2.0": "7af9601c9da746d21481194356295bfe23df3737",
    "v0.2.2": "0465189601951c14ad592bd8eefbb673929e25bc",  # s12-layout (pipeline_layout.py: the 25.11 DeepSeek-V3 rows)
    "v0.3.0": "21b02e0cfb2f8ff907e0d8baee0c5205876c6812",
    "v0.3.1": "9c9dd848966322fc3ed7706747ec13219ef49dda",
    "v0.4.0": "0fbfe7d3e970fbd75c1281d71cee586ce1f3df5e",
    "v0.4.2": "c810129341a84e58f4cbed3093f70668a088c028",
    "v0.5.0": "fcbb6031103d0ca845c1a54d4fee55ecfcca17b6",
    "v0.5.1": "5cb3444c43f7499cf3872b2d46870cf8bc2e00ce",
    "067f987df": "067f987df03b8355b03192d88d70f1709fedf51a",  # docs/performance-summary-archive.md, versions1.json
}
_VERSION = re.compile(r"training_results_(v\d+\.\d+)")
_STAMP = re.compile(r" \(commit [0-9a-f]{7,40}\)")
_WHERE = "data/validation/derive/pinned_mirrors.py COMMITS"


def git_text(repo: str, *args: str) -> str:
    """stdout of ``git -C repo args``; a failing command is a SystemExit naming the clone, the command (with the
    commit and path it read) and git's own message."""
    done = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{repo}: git {' '.join(args)} failed (exit {done.returncode}): "
                         f"{done.stderr.strip() or 'no message'}")
    return done.stdout


def _missing(repo: str, commit: str) -> str | None:
    """Why the clone ``repo`` cannot be read at ``commit`` (git's message), or None when it holds it."""
    found = subprocess.run(["git", "-C", repo, "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, text=True,
                           check=False)
    return None if found.returncode == 0 else (found.stderr.strip() or "git cat-file failed")


@dataclass(frozen=True)
class Mirror:
    """A clone (git directory) ``path`` of github.com/mlcommons/training_results_<version>, read at ``commit``."""

    path: str
    version: str
    commit: str

    def show(self, name: str) -> str:
        """The text of the file ``name`` (path in the repository) at the pinned commit."""
        return git_text(self.path, "show", f"{self.commit}:{name}")

    def ls(self, prefix: str, recursive: bool = True) -> list[str]:
        """The paths under ``prefix`` at the pinned commit (every file below it, or with ``recursive`` False the
        entries right under a folder ``prefix`` ending in ``/``; ``""``: the whole tree), in git's order."""
        args = ["ls-tree", "-r", "--name-only"] if recursive else ["ls-tree", "--name-only"]
        return git_text(self.path, *args, self.commit, *([prefix] if prefix else [])).split()

    @property
    def short(self) -> str:
        """The pinned commit's first 8 hex digits (as the rows' ``source_locator`` names it)."""
        return self.commit[:8]


def mirror_version(path: str) -> str:
    """The results version ("v4.0") a mirror's path names (``.../training_results_v4.0/...``)."""
    match = _VERSION.search(Path(path).as_posix())
    if match is None:
        raise SystemExit(f"{path}: not a mirror of github.com/mlcommons/training_results_vX.Y (the path must name "
                         "training_results_<version>)")
    return match.group(1)


def open_mirror(path: str) -> Mirror:
    """The :class:`Mirror` of the clone ``path`` at its version's pinned commit (:data:`COMMITS`); a version with
    no pinned commit, or a clone that lacks it, is an error."""
    version = mirror_version(path)
    commit = COMMITS.get(version)
    if commit is None:
        raise SystemExit(f"{path}: training_results_{version} has no pinned commit in {_WHERE} (pinned: "
                         f"{', '.join(sorted(COMMITS))}); add the commit its rows are derived from")
    why = _missing(path, commit)
    if why is not None:
        raise SystemExit(f"{path}: this clone of training_results_{version} does not hold the commit {commit} pinned "
                         f"in {_WHERE} ({why}); fetch github:mlcommons/training_results_{version} and pass a clone "
                         "that holds it")
    return Mirror(path, version, commit)


def open_mirrors(paths: Iterable[str]) -> dict[str, Mirror]:
    """{version: :class:`Mirror`} of the clones ``paths`` (:func:`open_mirror` each; one clone per version)."""
    out: dict[str, Mirror] = {}
    for path in paths:
        mirror = open_mirror(path)
        if mirror.version in out:
            raise SystemExit(f"{path}: a second mirror of training_results_{mirror.version} (first: "
                             f"{out[mirror.version].path})")
        out[mirror.version] = mirror
    return out


def stamp_locator(locator: str, mirror: Mirror) -> str:
    """``locator`` (a row's ``source_locator``) naming the commit its mirror was read at: an earlier
    ``(commit <hex>)`` replaced in place, else `` (commit <8 hex>)`` appended."""
    stamp = f" (commit {mirror.short})"
    return _STAMP.sub(stamp, locator, count=1) if _STAMP.search(locator) else locator + stamp


def mbridge_commits(repo: str, refs: Iterable[str]) -> dict[str, str]:
    """{ref: pinned commit} (:data:`MBRIDGE_COMMITS`) of the Megatron-Bridge tags / commits ``refs`` a script reads;
    a ref with no pinned commit, or a clone ``repo`` that lacks one of the commits, is an error."""
    wanted = sorted(set(refs))
    if unpinned := [r for r in wanted if r not in MBRIDGE_COMMITS]:
        raise SystemExit(f"Megatron-Bridge {unpinned} have no pinned commit in "
                         "data/validation/derive/pinned_mirrors.py MBRIDGE_COMMITS; add the commit each is read at")
    for ref in wanted:
        why = _missing(repo, MBRIDGE_COMMITS[ref])
        if why is not None:
            raise SystemExit(f"{repo}: this Megatron-Bridge clone does not hold the commit {MBRIDGE_COMMITS[ref]} "
                             f"pinned for {ref} in data/validation/derive/pinned_mirrors.py MBRIDGE_COMMITS ({why}); "
                             "fetch github:NVIDIA-NeMo/Megatron-Bridge and pass a clone that holds it")
    return {ref: MBRIDGE_COMMITS[ref] for ref in wanted}
