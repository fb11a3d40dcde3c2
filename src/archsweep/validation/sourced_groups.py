"""Sourced groups of names from a data/validation YAML file: ``{<top>: {<group>: {<members>: [...], source, locator}}}``,
read as member -> group name (each member in one group only). The die families of the same-silicon ceiling
(``die_families.yaml``) and the publications of the superseded-preset rule (``publications.yaml``) are such files."""

from __future__ import annotations

from pathlib import Path

from archsweep.load.yamlio import load_yaml
from archsweep.spec.errors import InputError

__all__ = ["load_sourced_groups"]


def load_sourced_groups(path: Path, top: str, members_key: str, group_shape: str, member_kind: str,
                        one_group_only: str) -> dict[str, str]:
    """Member -> group name. ``group_shape``, ``member_kind`` (plural) and ``one_group_only`` word the errors: a
    missing or empty ``top`` mapping, a group without a non-empty list of members or without a source / locator
    text, a member in two groups. Members are compared without surrounding whitespace."""
    raw = load_yaml(path)
    groups = raw.get(top) if isinstance(raw, dict) else None
    if not isinstance(groups, dict) or not groups:
        raise InputError(str(path), top, groups, group_shape)
    out: dict[str, str] = {}
    for name, group in groups.items():
        members = group.get(members_key) if isinstance(group, dict) else None
        if not isinstance(members, list) or not members or not all(isinstance(m, str) and m.strip() for m in members):
            raise InputError(str(path), f"{top}.{name}.{members_key}", members, f"a non-empty list of {member_kind}")
        for key in ("source", "locator"):
            if not str(group.get(key, "")).strip():
                raise InputError(str(path), f"{top}.{name}.{key}", group.get(key), "a non-empty source text")
        for member in members:
            if member.strip() in out:
                raise InputError(str(path), f"{top}.{name}.{members_key}", member,
                                 f"{one_group_only} (also in {out[member.strip()]})")
            out[member.strip()] = str(name)
    return out
