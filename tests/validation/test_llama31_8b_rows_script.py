"""data/validation/derive/mlperf_llama31_8b_rows.py (review finding 6): rows are written in place over the row of
the same run_id (other columns kept, not blanked), and each launch config is checked against the stated layout."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest


def test_launch_config_is_checked_against_the_stated_layout(derive_script: Callable[[str], ModuleType]) -> None:
    script = derive_script("mlperf_llama31_8b_rows")
    env = dict(script._STATED)
    script.check_layout("x.sh", env)  # as stated: accepted
    with pytest.raises(SystemExit, match=r"x\.sh: MINIBS='4' \(expected '2'\)"):
        script.check_layout("x.sh", env | {"MINIBS": "4"})
    with pytest.raises(SystemExit, match="RECOMPUTE_LAYERS='8' .no recomputation expected"):
        script.check_layout("x.sh", env | {"RECOMPUTE_LAYERS": "8"})


def test_rows_are_rewritten_in_place_keeping_other_columns(derive_script: Callable[[str], ModuleType],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    script = derive_script("mlperf_llama31_8b_rows")
    header = ["run_id", "num_accels", "accelerator_canonical", "global_batch_seqs", "steady_step_time_s",
              "step_time_s", "filled_by_another_script"]
    mine = {"run_id": "mine", "num_accels": "8", "accelerator_canonical": "B200", "global_batch_seqs": "16",
            "steady_step_time_s": "1", "step_time_s": "1", "filled_by_another_script": "kept"}
    after = {"run_id": "after", **dict.fromkeys(header[1:], "")}
    written: list[list[dict[str, str]]] = []
    monkeypatch.setattr(script, "CONFIGS", (("S", "sys", "c.sh"),))
    monkeypatch.setattr(script, "open_mirror", lambda repo: script.Mirror(repo, "v5.1", "0" * 40))
    monkeypatch.setattr(script, "read_runs", lambda: (header, [dict(mine), dict(after)]))
    monkeypatch.setattr(script, "write_runs", lambda h, rows: written.append(rows))
    monkeypatch.setattr(script, "_FILLS", ())  # the fill scripts read the mirror themselves
    monkeypatch.setattr(script, "make_row", lambda *args: {k: v for k, v in mine.items() if k != "filled_by_another_script"}
                        | {"step_time_s": "2"})
    script.main("repo")
    [rows] = written
    assert [r["run_id"] for r in rows] == ["mine", "after"]  # in its place, not moved to the end
    assert rows[0]["filled_by_another_script"] == "kept" and rows[0]["step_time_s"] == "2"
