"""A results mirror held in memory for the derive-script tests: the ``pinned_mirrors.Mirror`` interface the fill
rules read (``show``, ``ls``) over a dict of path -> text (s19 lead: three test files had a copy)."""

from __future__ import annotations


class FakeMirror:
    """``files``: path -> text at the pinned commit."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def show(self, path: str) -> str:
        """The text of ``path`` (KeyError where the mirror has no such file, as ``git show`` fails)."""
        return self.files[path]

    def ls(self, prefix: str, recursive: bool = True) -> list[str]:
        """Every file below ``prefix``, or with ``recursive`` False the entries (files and folders) right under a
        folder ``prefix`` ending in ``/``, sorted (as ``git ls-tree [-r] --name-only``)."""
        found = sorted(p for p in self.files if p.startswith(prefix))
        if recursive:
            return found
        return sorted({prefix + p[len(prefix):].split("/", 1)[0] for p in found})
