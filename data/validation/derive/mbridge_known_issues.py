"""Megatron-Bridge's release notes (its known issues) read against the performance rows of the same releases: the
statements that say a row's figure is not representative set ``source_caveat`` / ``source_caveat_text``
(archsweep.validation.caveats) on those rows; every other statement is classified as context (issue 10, s17-G).

Source: github:NVIDIA-NeMo/Megatron-Bridge @067f987df ``docs/releases/known-issues.md`` (the commit the archive rows
cite; the fern copies ``docs/fern/versions/{0.4.2,nightly}/pages/releases/known-issues.mdx`` hold the same 26.04 ..
25.09 items; ``docs/releases/changelog.md`` points to the GitHub release pages, which no mirror holds). One section
per NeMo container (``## 26.06`` .. ``## 25.09``), one statement per top-level bullet.

Every statement is in :data:`STATEMENTS` (section, the statement's first words -> :class:`Caveat` or the reason it is
context only); a statement in neither stops the script, so a new known issue is read and classified before the CSV
is written again. A :class:`Caveat` names the rows it bears on by what they state, never by run_id: the container
(``mbridge_<container>_`` / ``mbridge-fwd_<container>_``, exactly that container), the system and the
``moe_token_dispatcher`` the row's recipe states. Such rows get the kind and the statement's words, quoted, with the
locator; validation skips them with those words as the reason.

Usage: python data/validation/derive/mbridge_known_issues.py <Megatron-Bridge git dir>
(idempotent; rows flagged by an earlier run and no longer named are cleared; caveats other scripts set, e.g. the
archive footnotes of mbridge_archive_rows.py, are left as they are).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from pinned_mirrors import git_text, mbridge_commits
from runs_table import fill_columns, read_runs, write_runs

_COMMIT = "067f987df"
_DOC = "docs/releases/known-issues.md"
CAVEAT_COLUMNS = ("source_caveat", "source_caveat_text")


@dataclass(frozen=True)
class Caveat:
    """A statement that says the figures of some rows are not representative: ``kind`` (SOURCE_CAVEATS), the rows
    of the section's container on ``system`` whose recipe states ``dispatcher``, and why the statement bears on
    them (kept in the caveat text after the source's words)."""

    kind: str
    system: str
    dispatcher: str
    applies: str


#: (section, first words of the statement) -> Caveat, or the reason the statement is context only.
STATEMENTS: dict[tuple[str, str], Caveat | str] = {
    ("26.06", "Moonlight and Nemotron v3 Nano"): "no row: neither model is in the file (no models/ YAML)",
    ("26.06", "Step-3.7-Flash forward-pass"): "no row; correctness of a model not in the file",
    ("26.06", "Some examples/scripts have known minor issues"): "conversion / inference scripts, no performance row",
    ("26.04", "The following video / image decoding packages"): "packages removed from the container, no figure",
    ("26.02", "AWS EKS only"): "AWS EKS clusters only; the rows are DGX systems",
    ("26.02", "Context parallelism with sequence packing"): "Qwen 3 VL, not in the file",
    ("26.02", "DeepEP is not supported in the current NeMo framework 26.02 container"): (
        "context (lead decision, s17): the consequence the item states is DeepSeek-V3's ('reduced DSv3 performance'); "
        "the one row it could bear on, mbridge_26.02_DGX-H100_Qwen3_30B_a3B_FP8_16 (DeepEP recipe), is not named, "
        "a community report (Megatron-Bridge issue #3808) ran DeepEP in 26.02, and the 25.11 H100 Qwen3-30B row "
        "without DeepEP is as slow against the model; the row stays counted (it is already a superseded preset "
        "in the optimism figures)"),
    ("25.11", "Deepseek V3 on H100 has an issue when using DeepEP"): (
        "a failure, not a figure: the 25.11 archive has no DGX-H100 DeepSeek-V3 row; the 25.11 H100 MoE rows state "
        "alltoall"),
    ("25.11", "MODEL_TFLOP/s/GPU is printed as 0"): "hybrid (Mamba) models only; none in the file",
    ("25.09", "**Pretraining DeepSeek in subchannel FP8 precision is not working.**"): (
        "the 25.09 H100 DeepSeek-V3 row is the per-tensor (current scaling) figure; the table's subchannel figure "
        "(in parentheses) is not in the file; MTP convergence is not throughput"),
}


def statements(text: str) -> list[tuple[str, int, str]]:
    """(section, item number from 1, statement text) of every top-level bullet of the known-issues page; indented
    continuation lines (sub-bullets) are joined to their statement with single spaces."""
    out: list[tuple[str, int, str]] = []
    for part in text.split("\n## ")[1:]:
        section, _, body = part.partition("\n")
        items: list[list[str]] = []
        for line in body.splitlines():
            if line.startswith("- "):
                items.append([line[2:].strip()])
            elif items and line.strip():
                items[-1].append(line.strip())
        out.extend((section.strip(), i, " ".join(words)) for i, words in enumerate(items, start=1))
    return out


def classify(section: str, statement: str) -> Caveat | str:
    """The :data:`STATEMENTS` entry of a statement (matched by its section and first words); one nobody has read
    is an error."""
    for (where, start), entry in STATEMENTS.items():
        if where == section and statement.startswith(start):
            return entry
    raise SystemExit(f"{_DOC}@{_COMMIT}: section {section!r}: statement {statement[:80]!r}... is not in "
                     "STATEMENTS (read it and say whether it flags a row's figure)")


def caveats(text: str) -> list[tuple[str, Caveat, str]]:
    """(container, caveat, ``source_caveat_text``) of every statement of the page that :data:`STATEMENTS` calls a
    caveat; the text quotes the statement and gives its locator and why it bears on the rows."""
    out = []
    for section, index, statement in statements(text):
        entry = classify(section, statement)
        if isinstance(entry, Caveat):
            out.append((section, entry, f'"{statement}" (known issue); NVIDIA-NeMo/Megatron-Bridge@{_COMMIT}:{_DOC}, '
                                        f'section "{section}", item {index}; bears on the row: {entry.applies}'))
    return out


def flags(row: dict[str, str], found: list[tuple[str, Caveat, str]]) -> tuple[str, str] | None:
    """(kind, text) for a row a caveat names (container, system, stated dispatcher), else None."""
    for container, caveat, text in found:
        prefix = re.match(r"mbridge(?:-fwd)?_([\d.]+)_(DGX-[A-Za-z0-9]+|[A-Za-z0-9]+)_", row["run_id"])
        if (prefix is not None and prefix.group(1) == container and prefix.group(2) == caveat.system
                and row.get("moe_token_dispatcher", "") == caveat.dispatcher):
            return caveat.kind, text
    return None


def main(repo: str) -> None:
    commit = mbridge_commits(repo, [_COMMIT])[_COMMIT]
    found = caveats(git_text(repo, "show", f"{commit}:{_DOC}"))
    header, rows = read_runs(CAVEAT_COLUMNS)

    def owns(row: dict[str, str]) -> bool:
        return flags(row, found) is not None or _DOC in row.get("source_caveat_text", "")

    n = fill_columns(rows, CAVEAT_COLUMNS, lambda row: flags(row, found), owns)
    write_runs(header, rows)
    print(f"{n} row(s) flagged by {len(found)} known issue(s) of {_DOC}@{_COMMIT}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python data/validation/derive/mbridge_known_issues.py <Megatron-Bridge git dir>")
    main(sys.argv[1])
