"""YAML loading that refuses what silently corrupts a study: duplicate keys.

Every input file of archsweep is read through :func:`load_yaml`. Syntax errors and duplicate
keys become :class:`~archsweep.spec.errors.InputError` with file, line and key path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from archsweep.spec.errors import InputError

__all__ = ["load_yaml", "load_yaml_text"]


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader that raises on duplicate mapping keys; libyaml's C parser where PyYAML has it
    (7x faster on the 165 KB hardware catalog: 0.08 s instead of 0.54 s, read by every job)."""

    source_name = "<string>"


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            line = key_node.start_mark.line + 1
            raise InputError(
                loader.source_name, f"line {line}: {key}", key,
                "each key at most once in a mapping (duplicate key)",
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_text(text: str, source_name: str = "<string>") -> Any:
    """Parse YAML text strictly; errors name ``source_name``."""
    loader = _StrictLoader(text)
    loader.source_name = source_name
    try:
        return loader.get_single_data()
    except InputError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(source_name, where, "<malformed YAML>", f"well-formed YAML ({problem})") from None
    finally:
        loader.dispose()


def load_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file strictly (duplicate keys rejected)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), "", "<missing file>", "an existing YAML file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError(str(path), "", f"<unreadable: {type(exc).__name__}>", "a readable UTF-8 YAML file") from None
    return load_yaml_text(text, str(path))
