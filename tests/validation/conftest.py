"""Fixtures of the validation tests: the derive scripts of data/validation/derive/ as modules."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

import pytest

from archsweep.load.paths import data_dir

DERIVE = data_dir() / "validation" / "derive"


@pytest.fixture()
def derive_script(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ModuleType]:
    """A loader of one derive script by module name (``"mlperf_pair_steps"``), with the derive folder on
    ``sys.path`` for the test as when the script is run (``python data/validation/derive/<script>.py`` puts its
    folder first, so it imports its siblings ``runs_table`` / ``_mlperf_common``)."""
    monkeypatch.syspath_prepend(str(DERIVE))
    return importlib.import_module
