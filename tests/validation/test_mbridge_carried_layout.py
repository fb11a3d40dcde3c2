"""The forward rows whose table line carries the previous release's layout cells (data/validation/derive/
mbridge_carried_layout.py, s21-K): which lines are candidates, what a ``preset`` decision writes, that a ``table``
decision and a re-run change nothing, and what the data now states."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from archsweep.load.paths import data_dir
from archsweep.validation.cells import read_measurements

ROWS = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
H100 = "mbridge-fwd_26.02.01_DGX-H100_Qwen3_30B_a3B_FP8_16"
B300 = "mbridge-fwd_26.02.01_DGX-B300_Qwen3_235B_a22B_MXFP8_256"
_HEAD = ("| System | #-GPUs | Precision | GBS | MBS | Sequence Length | FSDP | TP | PP | CP | VP | EP | "
         "Tokens / sec / GPU | Model TFLOP / sec / GPU |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")


def _section(container: str, lines: str) -> str:
    return (f"## {container} NeMo Container\n\n### Pre-Training Performance\n\n#### Model: Qwen3_30B_a3B\n\n"
            + _HEAD + lines + "\n")


ARCHIVE = ("# Archive\n\n"
           + _section("26.02.01", "| DGX-H100 | 16 | FP8 | 1024 | 1 | 4096 | 0 | 1 | 2 | 1 | 12 | 8 | 9058 | 208 |\n"
                                  "| DGX-B200 | 8 | MXFP8 | 512 | 4 | 4096 | 0 | 1 | 1 | 1 | n/a | 8 | 26695 | 614 |\n")
           + _section("26.02", "| DGX-H100 | 16 | FP8 | 1024 | 1 | 4096 | 0 | 1 | 2 | 1 | 12 | 8 | 5113 | 118 |\n"
                               "| DGX-B200 | 8 | MXFP8 | 512 | 1 | 4096 | 0 | 1 | 1 | 1 | n/a | 8 | 9691 | 223 |\n"))
PRESETS = ("QWEN3_30B_A3B_PRETRAIN_CONFIG_H100_FP8_CS_V1 = WorkloadBaseConfig(num_gpus=16, "
           "expert_model_parallel_size=16, global_batch_size=1024, moe_flex_dispatcher_backend='hybridep')\n"
           "QWEN3_30B_A3B_PRETRAIN_CONFIG_B200_FP8_MX_V1 = WorkloadBaseConfig(num_gpus=8, "
           "expert_model_parallel_size=8, global_batch_size=512, micro_batch_size=4)\n")


@pytest.fixture()
def script(derive_script: Callable[[str], ModuleType]) -> ModuleType:
    return derive_script("mbridge_carried_layout")


def _git(repo: str, *args: str) -> str:
    return ARCHIVE if args[-1].endswith("performance-summary-archive.md") else PRESETS


def test_only_a_carried_line_without_a_preset_of_its_layout_is_a_candidate(script: ModuleType,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """H100: the 26.02 cells verbatim, no preset of PP 2 VP 12 EP 8 at v0.3.1, the V1 preset EP 16 PP 1: a
    candidate. B200: MBS changed 1 -> 4 (not carried, and its preset's layout is the table's)."""
    monkeypatch.setattr(script, "git_text", _git)
    found = script.candidates("unused", ARCHIVE, {})
    assert [(c, cells["System"], name) for c, _, _, cells, _, name in found] == [
        ("26.02.01", "DGX-H100", "QWEN3_30B_A3B_PRETRAIN_CONFIG_H100_FP8_CS_V1")]


def test_carried_compares_the_columns_both_tables_have(script: ModuleType) -> None:
    """26.06 has no FSDP column: the other layout cells decide; any changed cell ends carrying."""
    old = {"GBS": "8", "MBS": "1", "FSDP": "0", "TP": "1", "PP": "2", "CP": "1", "VP": "4", "EP": "8"}
    new = {k: v for k, v in old.items() if k != "FSDP"}
    assert script.carried(new, old) and not script.carried(new | {"VP": "n/a"}, old)


def test_preset_cells_default_variant_and_line(script: ModuleType) -> None:
    """V2 before V1 (the scripts' --config_variant default); the table cells keep all but the layout."""
    found = {"X_PRETRAIN_CONFIG_H100_FP8_CS_V1": {}, "X_PRETRAIN_CONFIG_H100_FP8_CS_V2": {},
             "X_PRETRAIN_CONFIG_B200_FP8_MX_V1": {}}
    assert script.default_preset(found, "X", "H100", "FP8") == "X_PRETRAIN_CONFIG_H100_FP8_CS_V2"
    assert script.default_preset(found, "X", "B200", "MXFP8") == "X_PRETRAIN_CONFIG_B200_FP8_MX_V1"
    assert script.default_preset(found, "X", "B300", "MXFP8") is None
    preset = {"tensor_model_parallel_size": 1, "pipeline_model_parallel_size": 1, "context_parallel_size": 1,
              "virtual_pipeline_model_parallel_size": None, "expert_model_parallel_size": 16, "micro_batch_size": 1,
              "global_batch_size": 1024}
    cells = script.preset_cells({"PP": "2", "VP": "12", "EP": "8", "Tokens / sec / GPU": "9058"}, preset)
    assert (cells["PP"], cells["VP"], cells["EP"], cells["Tokens / sec / GPU"]) == ("1", "n/a", "16", "9058")
    assert script.preset_line("A = 1\n\nQWEN = replace(A, x=1)\n", "QWEN") == 3
    with pytest.raises(SystemExit, match="preset NONE"):
        script.preset_line("A = 1\n", "NONE")


def test_every_decision_is_sound(script: ModuleType) -> None:
    """The two candidates of the audit, each decided, each reason a single note."""
    assert set(script.DECISIONS) == {H100, B300}
    assert all(d.action in ("preset", "table") and ";" not in d.why for d in script.DECISIONS.values())


def test_the_data_states_the_release_preset_on_the_h100_row_and_the_table_on_the_b300_row() -> None:
    """H100 Qwen3-30B 26.02.01: v0.3.1's EP 16 PP 1 HybridEP without the overlap (the 26.04 row's recipe), the
    throughput the table's; B300 Qwen3-235B 26.02.01: the table's VP 4 (ambiguous, left)."""
    h, nxt, b = ROWS[H100], ROWS["mbridge-fwd_26.04_DGX-H100_Qwen3_30B_a3B_FP8_16"], ROWS[B300]
    cols = ("tp", "pp", "cp", "dp", "ep", "vpp", "micro_batch", "global_batch_seqs", "moe_token_dispatcher",
            "moe_a2a_overlap", "moe_cuda_graph_scope", "moe_recompute_modules", "moe_fused_grouped_mlp")
    assert [h[c] for c in cols] == [nxt[c] for c in cols]
    assert h["tokens_per_s_per_gpu"] == "9058" and h["moe_recipe_source"].startswith("v0.3.1 ")
    assert h["confidence"].startswith("medium") and "mbridge_carried_layout.py" in h["derived"]
    assert "preset of this layout" not in h["derived"]
    assert (b["pp"], b["vpp"], b["moe_a2a_overlap"]) == ("8", "4", "yes") and b["confidence"].startswith("low")
    assert sorted(k for k, r in ROWS.items() if "mbridge_carried_layout.py" in r["derived"]) == [H100]


def _stub_sources(script: ModuleType, monkeypatch: pytest.MonkeyPatch, found: list[tuple]) -> None:
    """main() on stubbed sources: the pinned commits, a parser text with the --config_variant default, the CSV's
    rows, and ``found`` as the audit's candidates; writing the CSV fails the test (a stop writes nothing)."""
    monkeypatch.setattr(script, "mbridge_commits", lambda repo, tags: {t: "0" * 40 for t in tags})
    monkeypatch.setattr(script, "git_text", lambda repo, *args: script._DEFAULT_VARIANT)
    monkeypatch.setattr(script, "read_runs", lambda: ([], [dict(ROWS[H100]), dict(ROWS[B300])]))
    monkeypatch.setattr(script, "base_rows", lambda rows: {})
    monkeypatch.setattr(script, "candidates", lambda repo, text, cache: found)
    monkeypatch.setattr(script, "make_row", lambda container, model, index, cells, bases, repo, cache: {
        "run_id": f"mbridge-fwd_{container}_{cells['System']}_{model}_{cells['Precision']}_{cells['#-GPUs']}"})

    def no_write(header: list[str], rows: list[dict[str, str]]) -> None:
        raise AssertionError("the CSV was written")

    monkeypatch.setattr(script, "write_runs", no_write)


_B300_CELLS = {"System": "DGX-B300", "Precision": "MXFP8", "#-GPUs": "256"}
_B300_FOUND = ("26.02.01", "Qwen3_235B_a22B", 3, _B300_CELLS, "qwen/qwen3_workload_base_configs.py", "P")


def test_main_stops_on_a_candidate_without_a_decision(script: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """A carried line the audit has not decided stops the script before it writes (its run id and layout named)."""
    cells = {"System": "DGX-GB300", "Precision": "MXFP8", "#-GPUs": "256"}
    _stub_sources(script, monkeypatch, [_B300_FOUND, ("26.04", "Qwen3_235B_a22B", 5, cells, "q.py", "P")])
    with pytest.raises(SystemExit, match="mbridge-fwd_26.04_DGX-GB300_Qwen3_235B_a22B_MXFP8_256: its table line "
                                         "carries the 26.02.01 line's layout"):
        script.main("unused")


def test_main_stops_on_a_decision_that_is_no_longer_a_candidate(script: ModuleType,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A decided row the sources no longer make a candidate (here the H100 line) stops the script: re-read them."""
    _stub_sources(script, monkeypatch, [_B300_FOUND])
    with pytest.raises(SystemExit, match=f"DECISIONS \\['{H100}'\\]: no longer a carried line"):
        script.main("unused")


def test_main_stops_on_an_unknown_action(script: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    _stub_sources(script, monkeypatch, [])
    monkeypatch.setitem(script.DECISIONS, B300, script.Decision("ignore", "no reason"))
    with pytest.raises(SystemExit, match="action must be 'preset' or 'table'"):
        script.main("unused")
