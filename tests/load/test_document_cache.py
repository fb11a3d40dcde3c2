"""The workflow's document cache (archsweep.load.document_cache): a cached parse and a cached schema pass give
exactly what a fresh load gives, failures are never cached, and a broken or unwritable cache only costs time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from archsweep.load import document_cache, schema
from archsweep.load.catalog import default_catalog_path
from archsweep.load.document_cache import CACHE_DIR_ENV
from archsweep.load.study import load_study
from archsweep.load.yamlio import load_yaml, load_yaml_text
from archsweep.spec.errors import InputError, InputErrors

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_DIR_ENV, str(folder))
    return folder


def test_without_the_variable_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    load_study(ROOT / "spaces" / "tiny.yaml")
    assert document_cache.cache_dir() is None
    assert list(tmp_path.iterdir()) == []


def test_a_cached_parse_equals_a_fresh_one(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_yaml(default_catalog_path())  # parsed, then written
    assert len(list((cache / "parsed").glob("*.pickle"))) == 1
    calls: list[str] = []
    monkeypatch.setattr("archsweep.load.yamlio._parse", lambda text, name: calls.append(name))
    second = load_yaml(default_catalog_path())  # read back: the parser is not called
    assert calls == []
    assert second == first and second is not first
    monkeypatch.undo()  # the parser back, the cache off: a fresh parse gives the same document
    assert document_cache.cache_dir() is None
    assert load_yaml(default_catalog_path()) == first


def test_a_truncated_entry_is_a_miss_and_is_written_again(cache: Path) -> None:
    text = "a: 1\nb: [2, 3]\n"
    assert load_yaml_text(text) == {"a": 1, "b": [2, 3]}
    (entry,) = (cache / "parsed").glob("*.pickle")
    entry.write_bytes(entry.read_bytes()[:5])
    assert load_yaml_text(text) == {"a": 1, "b": [2, 3]}
    assert load_yaml_text(text) == {"a": 1, "b": [2, 3]}
    assert len(entry.read_bytes()) > 5


def test_parse_errors_are_raised_every_time_and_not_cached(cache: Path) -> None:
    for _ in range(2):
        with pytest.raises(InputError, match="duplicate key"):
            load_yaml_text("a: 1\na: 2\n", "dup.yaml")
    assert not (cache / "parsed").exists() or not list((cache / "parsed").iterdir())


def test_a_schema_pass_is_remembered_for_exactly_that_content(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = load_yaml(ROOT / "spaces" / "tiny.yaml")
    schema.validate_document(document, "study", "tiny.yaml")
    checked: list[str] = []
    real_check = schema._check
    monkeypatch.setattr(schema, "_check", lambda doc, name, file: (checked.append(name), real_check(doc, name, file)))
    schema.validate_document(document, "study", "tiny.yaml")
    assert checked == []  # the same content: not checked again
    changed = dict(document, name="tiny-other")
    schema.validate_document(changed, "study", "tiny.yaml")
    assert checked == ["study"]  # other content: checked


def test_a_failing_document_is_checked_and_reported_every_time(cache: Path) -> None:
    document = dict(load_yaml(ROOT / "spaces" / "tiny.yaml"), unknown_key=1)
    for _ in range(2):
        with pytest.raises((InputError, InputErrors), match="unknown_key"):
            schema.validate_document(document, "study", "bad.yaml")
    assert not (cache / "validated").exists() or not list((cache / "validated").iterdir())


def test_a_type_change_with_the_same_text_is_not_a_hit(cache: Path) -> None:
    good = load_yaml(ROOT / "spaces" / "tiny.yaml")
    schema.validate_document(good, "study", "tiny.yaml")
    bad = dict(good, seed=str(good.get("seed", 0)))  # "0" where an integer was: same digits, other type
    with pytest.raises((InputError, InputErrors), match="seed"):
        schema.validate_document(bad, "study", "tiny.yaml")


def test_an_unwritable_cache_only_costs_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(CACHE_DIR_ENV, str(blocker))
    assert load_yaml_text("a: 1\n") == {"a": 1}
    schema.validate_document(load_yaml(ROOT / "spaces" / "tiny.yaml"), "study", "tiny.yaml")


def test_a_job_with_a_warm_cache_does_not_import_jsonschema_or_yaml(cache: Path) -> None:
    """The point of the cache (issue 14, a job's fixed overhead): with every input parsed and checked before,
    loading a study imports neither jsonschema nor referencing (~55 ms of CPU) nor PyYAML (~15 ms)."""
    environment = dict(os.environ, **{CACHE_DIR_ENV: str(cache)})
    probe = ("import sys; from archsweep.load.study import load_study; load_study(sys.argv[1]); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in {'jsonschema', 'referencing', 'yaml'})[:3])")
    study = str(ROOT / "spaces" / "tiny.yaml")
    cold = subprocess.run([sys.executable, "-c", probe, study], env=environment, capture_output=True, text=True,
                          check=True)
    warm = subprocess.run([sys.executable, "-c", probe, study], env=environment, capture_output=True, text=True,
                          check=True)
    assert cold.stdout.strip() != "[]"
    assert warm.stdout.strip() == "[]"
