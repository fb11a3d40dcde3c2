"""YAML loading that refuses what silently corrupts a study (duplicate keys) or exhausts the
machine (an alias bomb, a huge or absurdly nested document).

Every input file of archsweep is read through :func:`load_yaml`. Syntax errors, duplicate
keys and documents over the limits become :class:`~archsweep.spec.errors.InputError` with
file, line and key path or the limit. Limits (far above any real input: the largest file of
``data/``, the hardware catalog, is ~170 kB and ~10,000 nodes):

- :data:`MAX_DOCUMENT_BYTES`: the text of one file;
- ``MAX_EXPANDED_NODES`` (in :mod:`archsweep.load.yamlparse`, the parser): nodes of the document
  with every alias expanded, counted while the document is composed (before any Python object is
  built), so nested anchors
  (``b: [*a, *a, ...]``, "billion laughs") are refused in milliseconds and bounded memory;
- ``MAX_DEPTH`` (the same): nesting of sequences and mappings.

Text is parsed by libyaml's C parser when available; a document whose composed node graph
shares a node (an alias) is read again by the pure-Python loader that counts expanded nodes.
Where ``ARCHSWEEP_CACHE_DIR`` is set (the workflow's jobs), a text parsed before by this parser is
read from :mod:`archsweep.load.document_cache` instead, and PyYAML is not imported.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

from archsweep.load.document_cache import cached_parse, source_digest
from archsweep.spec.errors import InputError

__all__ = ["MAX_DOCUMENT_BYTES", "load_yaml", "load_yaml_text"]

#: Largest YAML text accepted, bytes (8 MiB). The node and depth limits are
#: :data:`archsweep.load.yamlparse.MAX_EXPANDED_NODES` and :data:`archsweep.load.yamlparse.MAX_DEPTH`.
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024


def load_yaml_text(text: str, source_name: str = "<string>") -> Any:
    """Parse YAML text strictly; errors name ``source_name``."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_DOCUMENT_BYTES:
        raise InputError(source_name, "", f"<document of {size:,} bytes>",
                         f"a YAML document of at most {MAX_DOCUMENT_BYTES:,} bytes (MAX_DOCUMENT_BYTES)")
    return cached_parse(text, _parser_digest, lambda: _parse(text, source_name))


def _parse(text: str, source_name: str) -> Any:
    """The strict parse (:func:`archsweep.load.yamlparse.parse`), imported on a cache miss only."""
    from archsweep.load.yamlparse import parse

    return parse(text, source_name)


@cache
def _parser_digest() -> str:
    """What a parse depends on besides the text, without importing PyYAML: the sources of this module and
    of :mod:`archsweep.load.yamlparse`, PyYAML's ``__init__.py`` (which states its version) and the names of
    its libyaml extension modules (whether the C parser is there)."""
    here = Path(__file__).parent
    spec = importlib.util.find_spec("yaml")  # a top-level package: found, not imported
    origin = Path(spec.origin) if spec and spec.origin else None
    extensions = sorted(path.name for path in origin.parent.glob("_yaml*")) if origin else []
    return source_digest((here / "yamlio.py", here / "yamlparse.py", *([origin] if origin else [])),
                         f"libyaml {extensions}")


def load_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file strictly (duplicate keys rejected)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise InputError(str(path), "", f"<file of {size:,} bytes>",
                             f"a YAML file of at most {MAX_DOCUMENT_BYTES:,} bytes (MAX_DOCUMENT_BYTES)")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), "", "<missing file>", "an existing YAML file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError(str(path), "", f"<unreadable: {type(exc).__name__}>", "a readable UTF-8 YAML file") from None
    return load_yaml_text(text, str(path))
