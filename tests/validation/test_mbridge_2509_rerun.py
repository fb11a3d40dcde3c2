"""data/validation/derive/mbridge_2509_rows.py re-run alone keeps what later scripts wrote into its rows'
``derived`` notes (review finding 2: the param_gather_overlap note of mbridge_param_gather.py was wiped) and
updates its own note there in place (review B finding 7: it was frozen at the first write)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from types import ModuleType

import pytest

_COLUMNS = ("run_id", "tokens_per_s_per_gpu", "tflops_per_gpu", "tp", "pp", "cp", "vpp", "dp", "micro_batch",
            "fsdp_zero", "derived")


def test_rerun_keeps_later_notes_and_sets_its_own_columns(derive_script: Callable[[str], ModuleType],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    script = derive_script("mbridge_2509_rows")
    base = dict.fromkeys(_COLUMNS, "1") | {"run_id": "base"}
    own = "dp = GPUs/(TP*PP*CP) {}; row added by data/validation/derive/mbridge_2509_rows.py"
    later = "param_gather_overlap yes: later"
    mine = dict.fromkeys(_COLUMNS, "1") | {"run_id": "mine", "derived": f"{own.format('old')}; {later}"}
    written: list[list[dict[str, str]]] = []
    monkeypatch.setattr(script, "read_runs", lambda: (list(_COLUMNS), [dict(base), dict(mine)]))
    monkeypatch.setattr(script, "write_runs", lambda header, rows: written.append(rows))
    monkeypatch.setattr(script, "git_text", lambda repo, *args: "")
    monkeypatch.setattr(script, "mbridge_commits", lambda repo, refs: {ref: "0" * 40 for ref in refs})
    monkeypatch.setattr(script, "tables", lambda text: defaultdict(lambda: defaultdict(dict)))
    monkeypatch.setattr(script, "_WANTED", (("system", "name", False, "model", "base"),))
    monkeypatch.setattr(script, "make_row", lambda *args: dict.fromkeys(_COLUMNS, "2") | {"run_id": "mine",
                                                                                        "derived": own.format("new")})
    script.main("unused")
    [rows] = written
    assert rows[1]["derived"] == f"{own.format('new')}; {later}"  # its own note updated in place, the later one kept
    assert rows[1]["tp"] == "2" and rows[0] == base  # its own columns set; other rows untouched
