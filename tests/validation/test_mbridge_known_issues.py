"""Megatron-Bridge's known issues read against the rows of the same releases (data/validation/derive/
mbridge_known_issues.py, s17-G): a statement that says a row's figure is not representative flags the rows it names
by what they state (container, system, dispatcher); every other statement is context; an unread statement stops the
script."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from archsweep.load.paths import data_dir
from archsweep.validation.caveats import CAVEAT_TEXT_COLUMN, SOURCE_CAVEATS
from archsweep.validation.cells import read_measurements
from archsweep.validation.run import validate_rows

ROWS = read_measurements(data_dir() / "validation" / "training_runs.csv")
DEEPEP_ROW = "mbridge_26.02_DGX-H100_Qwen3_30B_a3B_FP8_16"
STATEMENT = ("DeepEP is not supported in the current NeMo framework 26.02 container (nvcr.io/nvidia/nemo:26.02), which "
             "results in reduced DSv3 performance compared to the NeMo framework 25.09 container "
             "(nvcr.io/nvidia/nemo:25.09) on H100 machines.")

_PAGE = """# Known Issues

## 26.02

- AWS EKS only: Due to AWS-OFI-NCCL v1.17.0 long-running jobs suffer a memory leak.
- DeepEP is not supported in the current NeMo framework 26.02 container (nvcr.io/nvidia/nemo:26.02), which results
  in reduced DSv3 performance on H100 machines.

## 25.11

- Something nobody has read yet.
"""


@pytest.fixture()
def script(derive_script: Callable[[str], ModuleType]) -> ModuleType:
    return derive_script("mbridge_known_issues")


def _row(run_id: str) -> dict[str, str]:
    return dict(next(r for r in ROWS if r["run_id"] == run_id))


def test_no_known_issue_flags_a_row_of_the_data() -> None:
    """Every statement is context (s17-G's audit; the lead's decision on the 26.02 DeepEP item, whose stated
    consequence is DeepSeek-V3's): no row carries a release-notes caveat, and the DeepEP row stays validated."""
    assert not [r["run_id"] for r in ROWS if "docs/releases/known-issues.md" in r.get(CAVEAT_TEXT_COLUMN, "")]
    (res,) = validate_rows([_row(DEEPEP_ROW)])
    assert res.status == "ok"


def test_a_caveat_names_rows_by_what_they_state(script: ModuleType) -> None:
    """A Caveat flags rows by container (exactly), system and stated dispatcher: on the 26.02 DGX-H100 DeepEP row
    it would flag that row only (not its 26.02.01 twin, not the alltoall rows, not the row without deepep)."""
    caveat = script.Caveat("known_regression", "DGX-H100", "deepep", "test")
    found = [("26.02", caveat, "text")]
    assert script.flags(_row(DEEPEP_ROW), found) == ("known_regression", "text")
    assert script.flags(_row(DEEPEP_ROW) | {"moe_token_dispatcher": "alltoall"}, found) is None
    assert script.flags(_row("mbridge-fwd_26.02.01_DGX-H100_Qwen3_30B_a3B_FP8_16"), found) is None
    assert script.flags(_row("mbridge_26.02_DGX-H100_Qwen3_235B_a22B_FP8_256"), found) is None
    assert [r["run_id"] for r in ROWS if script.flags(r, found) is not None] == [DEEPEP_ROW]


def test_every_statement_is_classified_and_an_unread_one_stops_the_script(script: ModuleType,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """An unread statement stops the script; a statement classified as a Caveat comes out with its locator (the
    DeepEP item classified as one here, as it would be if the lead had applied it)."""
    key = ("26.02", "DeepEP is not supported in the current NeMo framework 26.02 container")
    assert isinstance(script.STATEMENTS[key], str)  # context in the data
    assert script.caveats(_PAGE.split("## 25.11")[0]) == []
    monkeypatch.setitem(script.STATEMENTS, key, script.Caveat("known_regression", "DGX-H100", "deepep", "test"))
    items = script.statements(_PAGE)
    assert [(s, i) for s, i, _ in items] == [("26.02", 1), ("26.02", 2), ("25.11", 1)]
    assert items[1][2].endswith("which results in reduced DSv3 performance on H100 machines.")  # continuation joined
    assert isinstance(script.classify("26.02", items[0][2]), str)  # context only: AWS EKS, not a DGX row
    with pytest.raises(SystemExit, match="is not in STATEMENTS"):
        script.caveats(_PAGE)
    caveats = script.caveats(_PAGE.split("## 25.11")[0])
    assert [(c, k.kind) for c, k, _ in caveats] == [("26.02", "known_regression")]
    assert '(known issue); NVIDIA-NeMo/Megatron-Bridge@067f987df:docs/releases/known-issues.md, section "26.02", item 2' \
        in caveats[0][2]
    kinds = {e.kind for e in script.STATEMENTS.values() if isinstance(e, script.Caveat)}
    assert kinds <= set(SOURCE_CAVEATS)
