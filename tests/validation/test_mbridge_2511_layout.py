"""The Megatron-Bridge 25.11 rows whose table line carries the 25.09 line's layout cells take the release's
preset layout (data/validation/derive/mbridge_2511_layout.py, s18-C): which lines count as carried, which rows
are written, that a re-run writes the same cells, and what the data now states."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from archsweep.load.paths import data_dir
from archsweep.validation.cells import read_measurements

ROWS = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
_HEAD = ("| Model | #-GPUs | Precision | GBS | MBS | Sequence Length | FSDP | TP | PP | CP | VP | EP | GA | "
         "Tokens / sec / GPU | Model TFLOP / sec / GPU |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
_HEAD_2509 = ("| Model | #-GPUs | GBS | MBS | Sequence Length | FSDP | TP | PP | CP | VP | EP | GA | Tokens / sec / GPU | "
              "Model TFLOP / sec / GPU |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
TABLE_2511 = ("## 25.11 NeMo Container\n\n### Pre-Training Performance\n\n#### System: DGX-GB300\n\n" + _HEAD
              + "| LLAMA3_8B | 8 | FP8-CS (FP8-MX) | 128 | 2 | 8192 | 0 | 1 | 1 | 1 | n/a | 1 | 8 | 37556 (36108) | 1 |\n"
              + "\n#### System: DGX-H100\n\n" + _HEAD
              + "| Qwen3_30B_a3B | 16 | FP8-CS | 512 | 2 | 4096 | 0 | 1 | 2 | 1 | 24 | 8 | 32 | 5275 | 121 |\n"
              + "| GPT OSS 120B | 64 | BF16 | 512 | 4 | 4096 | 0 | 1 | 4 | 1 | 1 | 8 | 2 | 5630 | 153 |\n"
              + "| LLAMA3_70B | 64 | FP8-CS | 128 | 1 | 8192 | 0 | 4 | 8 | 1 | 5 | 1 | 64 | 1602 | 719 |\n"
              + "\n## 25.09 NeMo Container\n")
TABLE_2509 = ("## 25.09 NeMo Container\n\n### Pre-Training Performance\n\n#### System: DGX-GB200\n\n" + _HEAD_2509
              + "| LLAMA3_8B | 8 | 128 | 2 | 8192 | 0 | 1 | 1 | 1 | n/a | 1 | 8 | 31357 (29925) | 1 |\n"
              + "\n#### System: DGX-H100\n\n" + _HEAD_2509
              + "| Qwen3_30B_a3B (tokendrop) | 16 | 512 | 2 | 4096 | 0 | 1 | 2 | 1 | 24 | 8 | 32 | 10494 | 241 |\n"
              + "| LLAMA3_70B | 64 | 128 | 1 | 8192 | 0 | 4 | 8 | 1 | 5 | 1 | 64 | 1619 | 727 |\n")
PRESETS = {
    "qwen3": "BASE = WorkloadBaseConfig(expert_model_parallel_size=8, global_batch_size=512)\n"
             "QWEN3_30B_A3B_H100_FP8_CS_BASE_CONFIG = replace(BASE, num_gpus=16, pipeline_model_parallel_size=2, "
             "virtual_pipeline_model_parallel_size=12, moe_a2a_overlap=True)\n",
    "llama3": "BASE8 = WorkloadBaseConfig(num_gpus=8, global_batch_size=128)\n"
              "LLAMA3_8B_GB300_FP8_CS_BASE_CONFIG = replace(BASE8, micro_batch_size=4)\n"
              "LLAMA3_8B_GB300_FP8_MX_BASE_CONFIG = LLAMA3_8B_GB300_FP8_CS_BASE_CONFIG\n"
              "LLAMA3_70B_H100_FP8_CS_BASE_CONFIG = WorkloadBaseConfig(num_gpus=64, global_batch_size=128, "
              "tensor_model_parallel_size=4, pipeline_model_parallel_size=8, virtual_pipeline_model_parallel_size=5)\n",
}
_HELPERS = ("cfg.model.virtual_pipeline_model_parallel_size = settings.virtual_pipeline_model_parallel_size\n"
            "cfg.train.micro_batch_size = settings.micro_batch_size\n"
            "cfg.train.global_batch_size = settings.global_batch_size\n")
_COLUMNS = ("run_id", "source_group", "model", "system", "precision", "num_accels", "moe_recipe_source", "tp", "pp",
            "cp", "dp", "ep", "vpp", "micro_batch", "global_batch_seqs", "derived", "confidence")


@pytest.fixture()
def script(derive_script: Callable[[str], ModuleType]) -> ModuleType:
    return derive_script("mbridge_2511_layout")


def _git(repo: str, *args: str) -> str:
    path = args[-1].split(":", 1)[1]
    if path.endswith("performance-summary-archive.md"):
        return TABLE_2511
    if path.endswith("performance-summary.md"):
        return TABLE_2509
    if path.endswith("helpers.py"):
        return _HELPERS
    return PRESETS[path.split("/")[-2]]


def _row(run_id: str, model: str, system: str, precision: str, **cells: str) -> dict[str, str]:
    return dict.fromkeys(_COLUMNS, "") | {"run_id": run_id, "source_group": "nemo", "model": model, "system": system,
                                          "precision": precision, "confidence": "high", "derived": "dp = x"} | cells


def _run(script: ModuleType, monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    written: list[list[dict[str, str]]] = []
    monkeypatch.setattr(script, "read_runs", lambda: (list(_COLUMNS), [dict(r) for r in rows]))
    monkeypatch.setattr(script, "write_runs", lambda header, out: written.append(out))
    monkeypatch.setattr(script, "git_text", _git)
    monkeypatch.setattr(script, "mbridge_commits", lambda repo, refs: {ref: "0" * 40 for ref in refs})
    script.main("unused")
    return written[0]


def test_carried_lines_take_the_preset_layout_and_a_rerun_writes_the_same(script: ModuleType,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A carried line whose preset differs is written (H100 Qwen3-30B: VP 24 / MBS 2 -> the preset's 12 / 1; the
    GB300 8B MX row, parenthesised precision, carried from the GB200 line: MBS 2 -> 4, vpp 'n/a' kept); a carried
    line equal to its preset (H100 70B) and a line with no 25.09 twin (GPT-OSS) are not; a re-run is a fixed point."""
    rows = [
        _row("mbridge_25.11_q", "Qwen3_30B_a3B", "DGX-H100", "FP8-CS", num_accels="16", tp="1", pp="2", cp="1", dp="8", ep="8",
             vpp="24", micro_batch="2", global_batch_seqs="512",
             moe_recipe_source="v0.2.2 scripts/performance/configs/qwen3/x.py:QWEN3_30B_A3B_H100_FP8_CS_BASE_CONFIG"),
        _row("mbridge_25.11_l8", "LLAMA3-8B", "DGX-GB300", "FP8-MX", num_accels="8", tp="1", pp="1", cp="1", dp="8", ep="1",
             vpp="n/a", micro_batch="2", global_batch_seqs="128"),
        _row("mbridge_25.11_l70", "LLAMA3-70B", "DGX-H100", "FP8-CS", num_accels="64", tp="4", pp="8", cp="1", dp="2", ep="1",
             vpp="5", micro_batch="1", global_batch_seqs="128"),
        _row("mbridge_25.11_g", "GPT OSS 120B", "DGX-H100", "BF16", num_accels="64", tp="1", pp="4", cp="1", dp="16", ep="8",
             vpp="1", micro_batch="4", global_batch_seqs="512"),
    ]
    out = _run(script, monkeypatch, rows)
    q, l8, l70, g = out
    assert (q["vpp"], q["micro_batch"], q["pp"], q["ep"], q["dp"]) == ("12", "1", "2", "8", "8")
    assert q["confidence"] == script.CONFIDENCE and "VP 24" in q["derived"] and q["derived"].startswith("dp = x; layout")
    assert (l8["micro_batch"], l8["vpp"]) == ("4", "n/a") and "25.09 DGX-GB200 line" in l8["derived"]
    assert l70 == rows[2] and g == rows[3]
    assert _run(script, monkeypatch, out) == out


def test_a_line_that_changed_any_layout_cell_is_not_carried(script: ModuleType) -> None:
    """Carried means every layout cell as written equals the 25.09 line's (GB300: the GB200 line's)."""
    lines_2509 = script.tables(TABLE_2509, "25.09")
    [(_, line)] = [x for x in script.tables(TABLE_2511, "25.11") if x[1]["Model"] == "Qwen3_30B_a3B"]
    assert script.carried(line, "DGX-H100", lines_2509)
    assert not script.carried(line | {"GA": "64"}, "DGX-H100", lines_2509)
    assert not script.carried(line, "DGX-B200", lines_2509)  # no 25.09 line of the model there


@pytest.mark.parametrize(("run_id", "vpp", "micro_batch"), [
    ("mbridge_25.11_DGX-H100_Qwen3_30B_a3B_FP8-CS_16", "12", "1"),
    ("mbridge_25.11_DGX-GB300_Qwen3_30B_a3B_FP8-MX_8", "1", "8"),
    ("mbridge_25.11_DGX-B200_Qwen3_235B_a22B_FP8-MX_64", "4", "1"),
    ("mbridge_25.11_DGX-GB300_LLAMA3-8B_FP8-CS_8", "n/a", "4"),
    ("mbridge_25.11_DGX-GB300_LLAMA3-8B_FP8-MX_8", "n/a", "4"),
])
def test_the_data_states_the_v020_preset_on_the_carried_rows(run_id: str, vpp: str, micro_batch: str) -> None:
    """The five 25.11 rows the script wrote (s18-C), each with its note and confidence medium."""
    row = ROWS[run_id]
    assert (row["vpp"], row["micro_batch"]) == (vpp, micro_batch)
    assert "mbridge_2511_layout.py" in row["derived"] and row["confidence"].startswith("medium")


def test_no_other_row_carries_the_note() -> None:
    """The B200 GPT-OSS row (table EP 8, preset EP 64: a new 25.11 line, not carried) is not this rule's: its EP is
    written by its own script on its own evidence (mbridge_2511_gptoss_ep.py; test_mbridge_2511_gptoss_ep.py)."""
    noted = sorted(k for k, r in ROWS.items() if "mbridge_2511_layout.py" in r["derived"])
    assert len(noted) == 5 and all(k.startswith("mbridge_25.11_") for k in noted)
    assert "mbridge_25.11_DGX-B200_GPT_OSS_120B_BF16_64" not in noted


def test_unknown_model_precision_gpu_split_and_missing_section_are_refused_by_name(script: ModuleType) -> None:
    """s18-R: clear refusals where the script raised KeyError / IndexError or floored dp silently."""
    row = {"run_id": "r", "model": "Mystery 9B", "system": "DGX-B200", "precision": "BF16", "moe_recipe_source": ""}
    with pytest.raises(SystemExit, match="model 'Mystery 9B'.*known: LLAMA3_8B"):
        script.preset_name(row)
    with pytest.raises(SystemExit, match="precision 'FP4'; allowed: FP8-CS, FP8-MX, BF16"):
        script.preset_name({**row, "model": "LLAMA3_8B", "precision": "FP4"})
    preset = {"tensor_model_parallel_size": 4, "pipeline_model_parallel_size": 1, "context_parallel_size": 1,
              "virtual_pipeline_model_parallel_size": None, "expert_model_parallel_size": 1, "micro_batch_size": 1,
              "global_batch_size": 128}
    assert script.preset_layout(preset, 8)["dp"] == 2
    with pytest.raises(SystemExit, match="6 GPUs are not a multiple of TP 4"):
        script.preset_layout(preset, 6)
    with pytest.raises(SystemExit, match="no '## 26.02 NeMo Container' section"):
        script.tables(TABLE_2511, "26.02")
