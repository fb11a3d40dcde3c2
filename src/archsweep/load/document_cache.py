"""An opt-in on-disk cache of parsed YAML files and of passed schema checks, for workflow jobs.

Every job of the workflow loads the study, the hardware catalog, the calibration and the workload
files again in a fresh process: parsing the ~170 kB catalog alone took ~46 ms of CPU and its schema
check ~38 ms, and importing ``jsonschema`` ~55 ms, of a job's ~0.45 s fixed overhead (issue 14:
"well under 0.5 s"; ``benchmarks/job_overhead.py``, docs/search-quality-history.md, s28-O). The
inputs do not change between the jobs of one run, so the first process that reads a file leaves:

- ``parsed/<key>.pickle``: the parsed document, keyed by the sha256 of the file's text and of the
  parser (the sources of :mod:`archsweep.load.yamlio` and :mod:`archsweep.load.yamlparse`, PyYAML's
  version and its libyaml module): the same text read by the
  same parser gives the same document, so a cached parse equals a fresh one;
- ``validated/<key>``: an empty marker that a document passed a schema, keyed by the sha256 of the
  document's pickle (its exact content and types) and of the schemas (their JSON files, the job
  options' table that fills them in and :mod:`archsweep.load.schema`'s source). Only passes are
  cached: a failing document is checked every time and reported in full.

Nothing else is cached: every cross-field check, unit parse and model input is built from the
document in every process, as before. The cache is used only where ``ARCHSWEEP_CACHE_DIR`` names a
directory (the workflow's rules set it to ``results/.cache`` unless it is set; tests and library
calls do not use it). It holds pickles, so it must be as trusted as the results themselves; a
file that cannot be read back is ignored and rewritten, and a directory that cannot be written
only costs the time saved. Writes are atomic (a temporary file renamed), so concurrent jobs that
write the same key leave one complete file.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["CACHE_DIR_ENV", "cache_dir", "cached_parse", "record_validated", "source_digest", "validated_marker"]

#: Environment variable naming the cache directory (unset or empty: no cache).
CACHE_DIR_ENV = "ARCHSWEEP_CACHE_DIR"
#: Bumped when the layout of the cache changes (part of every cache key).
_FORMAT = b"archsweep-document-cache-1"


def cache_dir() -> Path | None:
    """The cache directory named by :data:`CACHE_DIR_ENV`, or None when the cache is off."""
    value = os.environ.get(CACHE_DIR_ENV, "")
    return Path(value) if value else None


@cache
def source_digest(paths: tuple[Path, ...], extra: str = "", root: Path | None = None) -> str:
    """sha256 of ``extra`` and of each of ``paths`` (in order): its name (its path relative to ``root`` when
    given) and its bytes. What a result depends on besides its input: a cached document's parser and
    schemas, a run's code (:func:`archsweep.results.provenance.code_sha256`); computed once per process."""
    digest = hashlib.sha256(extra.encode("utf-8") + b"\0")
    for path in paths:
        name = path.relative_to(root).as_posix() if root is not None else path.name
        digest.update(name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _key(*parts: bytes | str) -> str:
    digest = hashlib.sha256(_FORMAT + b"\0")
    for part in parts:
        digest.update(part.encode("utf-8") if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def _write_atomic(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file in its folder; an OSError (a read-only or
    full disk) is ignored: the cache is only an optimisation."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(payload)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def cached_parse(text: str, parser_digest: Callable[[], str], parse: Callable[[], Any]) -> Any:
    """``parse()``'s document for ``text``, read from the cache when this text was parsed before by a parser
    of ``parser_digest()`` (called only when the cache is on: :func:`source_digest` of the parser's source);
    ``parse()`` otherwise, cached on success."""
    root = cache_dir()
    if root is None:
        return parse()
    path = root / "parsed" / f"{_key(text, parser_digest())}.pickle"
    try:
        return pickle.loads(path.read_bytes())
    except Exception:  # noqa: BLE001 (missing, truncated or foreign: a miss, parsed and written again)
        pass
    document = parse()
    _write_atomic(path, pickle.dumps(document, protocol=pickle.HIGHEST_PROTOCOL))
    return document


def validated_marker(document: Any, schema_name: str, schemas_digest: Callable[[], str]) -> Path | None:
    """Where the marker that ``document`` (exactly this content) passed schema ``schema_name`` under
    ``schemas_digest()`` lives; None when the cache is off (``schemas_digest`` is then not called) or the
    document cannot be pickled (it is then checked every time)."""
    root = cache_dir()
    if root is None:
        return None
    try:
        content = pickle.dumps(document, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 (a document that cannot be pickled is simply checked every time)
        return None
    return root / "validated" / _key(content, schema_name, schemas_digest())


def record_validated(marker: Path | None) -> None:
    """Leave ``marker`` (:func:`validated_marker`) after a pass; no-op for None."""
    if marker is not None:
        _write_atomic(marker, b"")
