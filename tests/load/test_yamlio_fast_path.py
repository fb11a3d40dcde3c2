"""load.yamlio's parser (load.yamlparse) and its libyaml path: taken for every document without an alias, whatever its text holds (issue 14:
a false match of a regex once sent the 147 KB software-stack file to the slow parser in every job)."""

from __future__ import annotations

import pytest

from archsweep.load import yamlio, yamlparse
from archsweep.spec.errors import InputError


def test_a_star_or_anchor_without_alias_takes_the_libyaml_path() -> None:
    text = 'source: "scripts/train/yamls/pretrain/mpt-*.yaml"\nbase: &b {x: 1}\n'
    assert yamlparse._load_fast(text, "t") == {"source": "scripts/train/yamls/pretrain/mpt-*.yaml", "base": {"x": 1}}


def test_an_alias_goes_to_the_counting_loader_with_the_same_result() -> None:
    text = "base: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n"
    assert yamlparse._load_fast(text, "t") is yamlparse._SHARED
    assert yamlio.load_yaml_text(text, "t") == {"base": {"x": 1}, "d": {"x": 1, "y": 2}}


def test_an_undefined_alias_is_named_in_the_error() -> None:
    with pytest.raises(InputError, match="undefined alias 'y'"):
        yamlio.load_yaml_text("x: *y\n", "t")


def test_the_node_limit_holds_without_aliases_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlparse, "MAX_EXPANDED_NODES", 10)
    with pytest.raises(InputError, match="MAX_EXPANDED_NODES"):
        yamlio.load_yaml_text("[" + ", ".join(["1"] * 20) + "]", "t")


def test_duplicate_keys_are_refused_on_the_libyaml_path() -> None:
    with pytest.raises(InputError, match="duplicate key"):
        yamlio.load_yaml_text("a: 1\nb: 2\na: 3\n", "t")
