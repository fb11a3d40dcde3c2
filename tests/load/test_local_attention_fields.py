"""The optional local-attention fields of a model file (issue 11)."""

from __future__ import annotations

import pytest
import yaml

from archsweep.load.workloads import load_architecture
from archsweep.spec.errors import InputError


def _write(tmp_path, extra: dict) -> str:
    arch = {"layers": 2, "hidden": 64, "heads": 4, "kv_heads": 2, "attention": "gqa", "ffn_hidden": 128,
            "ffn_type": "swiglu", "vocab": 100, "tied_embeddings": True, "dropout": 0.0, **extra}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({"name": "tiny", "source": "test", "architecture": arch}))
    return str(path)


def test_fields_load(tmp_path):
    wl = load_architecture(_write(tmp_path, {"sliding_window": 16, "sliding_window_pattern": 2, "local_attention": "chunked"}))
    assert (wl.sliding_window, wl.sliding_window_pattern, wl.local_attention, wl.local_layers) == (16, 2, "chunked", 1)
    plain = load_architecture(_write(tmp_path, {}))
    assert (plain.sliding_window, plain.local_layers) == (None, 0)
    every = load_architecture(_write(tmp_path, {"sliding_window": 16}))
    assert every.local_layers == 2


def test_pattern_without_window_is_refused(tmp_path):
    with pytest.raises(InputError, match="sliding_window_pattern"):
        load_architecture(_write(tmp_path, {"sliding_window_pattern": 2}))


def test_bad_values_are_refused_by_the_schema(tmp_path):
    with pytest.raises(InputError):
        load_architecture(_write(tmp_path, {"sliding_window": 16, "sliding_window_pattern": 1}))
    with pytest.raises(InputError):
        load_architecture(_write(tmp_path, {"sliding_window": 16, "local_attention": "banded"}))
