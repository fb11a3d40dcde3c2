"""The strict YAML parser behind :mod:`archsweep.load.yamlio`: PyYAML loaders that refuse duplicate
keys, alias bombs and absurd nesting (see that module for the limits' rationale).

A module of its own so that a job whose every input is in the document cache
(:mod:`archsweep.load.document_cache`) never imports PyYAML: :func:`archsweep.load.yamlio.load_yaml_text`
imports this module only on a cache miss.
"""

from __future__ import annotations

from typing import Any

import yaml

from archsweep.spec.errors import InputError

__all__ = ["MAX_EXPANDED_NODES", "MAX_DEPTH", "parse"]

#: Most nodes of one document with every alias expanded (scalars, sequences and mappings).
MAX_EXPANDED_NODES = 1_000_000
#: Deepest nesting of sequences and mappings.
MAX_DEPTH = 100


class _LimitExceeded(Exception):
    def __init__(self, line: int, what: str, allowed: str) -> None:
        super().__init__(what)
        self.line, self.what, self.allowed = line, what, allowed


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that raises on duplicate mapping keys and counts expanded nodes."""

    source_name = "<string>"

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._expanded = 0
        self._depth = 0
        self._weights: dict[int, int] = {}

    def _add(self, nodes: int, line: int) -> None:
        self._expanded += nodes
        if self._expanded > MAX_EXPANDED_NODES:
            raise _LimitExceeded(line, f"<more than {MAX_EXPANDED_NODES:,} nodes with aliases expanded>",
                                 f"at most {MAX_EXPANDED_NODES:,} YAML nodes with every alias (*name) expanded "
                                 "(MAX_EXPANDED_NODES; nested anchors multiply)")

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102 (PyYAML hook)
        line = self.peek_event().start_mark.line + 1
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            self._add(self._weights.get(id(node), 1), line)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _LimitExceeded(line, f"<nesting deeper than {MAX_DEPTH}>",
                                 f"sequences and mappings nested at most {MAX_DEPTH} deep (MAX_DEPTH)")
        before = self._expanded
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._add(1, line)
        self._weights[id(node)] = self._expanded - before
        return node


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

_CLoader: Any = getattr(yaml, "CSafeLoader", None)


if _CLoader is not None:
    class _FastStrictLoader(_CLoader):
        """libyaml's C parser with the same duplicate-key check: 15x faster on the 147 KB
        software-stack file (8 ms instead of 117 ms of CPU, read by every job's study load). Its
        node graph is built only when the document shares no node (no alias), checked on the
        composed graph by :func:`_fast_node_count`, so alias expansion cannot blow up; the nesting
        depth is checked on the result."""

        source_name = "<string>"

    _FastStrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _fast_node_count(root: yaml.Node) -> int | None:
    """Nodes of the composed document ``root``; None when a node is reached twice (an alias:
    the counting :class:`_StrictLoader` then reads the text)."""
    seen: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return None
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return len(seen)


def _depth_exceeds(data: Any, limit: int) -> int | None:
    """The first nesting depth above ``limit`` found in parsed ``data`` (None when within it)."""
    stack = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth + 1 > limit:
                return depth + 1
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return None


def parse(text: str, source_name: str) -> Any:
    """``text`` parsed strictly (:func:`archsweep.load.yamlio.load_yaml_text` past its size check and cache);
    errors name ``source_name``."""
    try:
        if _CLoader is not None:
            try:
                data = _load_fast(text, source_name)
            except yaml.composer.ComposerError:  # e.g. an undefined alias: the Python loader's message names it
                data = _SHARED
            if data is not _SHARED:
                return data
        return _load_counting(text, source_name)
    except InputError:
        raise
    except _LimitExceeded as exc:
        raise InputError(source_name, f"line {exc.line}", exc.what, exc.allowed) from None
    except RecursionError:
        raise InputError(source_name, "", "<nesting too deep>",
                         f"sequences and mappings nested at most {MAX_DEPTH} deep (MAX_DEPTH)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(source_name, where, "<malformed YAML>", f"well-formed YAML ({problem})") from None


#: Returned by :func:`_load_fast` for a document with an alias (read again by :func:`_load_counting`).
_SHARED = object()


def _load_fast(text: str, source_name: str) -> Any:
    """``text`` parsed by libyaml, or :data:`_SHARED` when a node is shared (an alias)."""
    loader = _FastStrictLoader(text)
    loader.source_name = source_name
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        nodes = _fast_node_count(root)
        if nodes is None:
            return _SHARED
        if nodes > MAX_EXPANDED_NODES:
            raise _LimitExceeded(1, f"<more than {MAX_EXPANDED_NODES:,} nodes>",
                                 f"at most {MAX_EXPANDED_NODES:,} YAML nodes (MAX_EXPANDED_NODES)")
        data = loader.construct_document(root)
        if _depth_exceeds(data, MAX_DEPTH) is not None:
            raise _LimitExceeded(1, f"<nesting deeper than {MAX_DEPTH}>",
                                 f"sequences and mappings nested at most {MAX_DEPTH} deep (MAX_DEPTH)")
        return data
    finally:
        loader.dispose()


def _load_counting(text: str, source_name: str) -> Any:
    """``text`` parsed by the pure-Python :class:`_StrictLoader`, which counts expanded nodes."""
    loader = _StrictLoader(text)
    loader.source_name = source_name
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
