"""Rows whose own source flags the figure (validation/caveats.py, issue 10's coverage rules): ``source_caveat`` /
``source_caveat_text`` set by the derive script that reads the source's words, read by validation, which skips such
a row with those words as the reason and keeps it out of every MAPE and optimism figure."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from archsweep.load.paths import data_dir
from archsweep.spec.errors import InputError
from archsweep.validation.caveats import CAVEAT_COLUMN, CAVEAT_TEXT_COLUMN, SOURCE_CAVEATS, caveat_skip_reason
from archsweep.validation.cells import read_measurements
from archsweep.validation.optimism import search_optimism
from archsweep.validation.run import validate_rows
from archsweep.validation.summary import summarize

CSV = data_dir() / "validation" / "training_runs.csv"
ROWS = read_measurements(CSV)
#: The two rows the Megatron-Bridge archive's footnote [^gpt-oss-note] marks (26.06.01, GPT OSS 120B, MXFP8).
FLAGGED = ["mbridge-fwd_26.06.01_DGX-GB300_GPT_OSS_120B_MXFP8_64", "mbridge-fwd_26.06.01_DGX-GB200_GPT_OSS_120B_MXFP8_64"]
FOOTNOTE = ("Performance regression in GPT-OSS 120B pre-training is a [known issue]"
            "(https://github.com/NVIDIA/cudnn-frontend/issues/256). It will be resolved with the next container release.")


def _row(run_id: str) -> dict[str, str]:
    return dict(next(r for r in ROWS if r["run_id"] == run_id))


def test_the_data_flags_exactly_the_rows_whose_source_footnote_says_so() -> None:
    """Audit of every source (docs/model-accuracy.md, s16-caveat): only the 26.06.01 GPT-OSS footnote states a
    caveat on a row of the file; its words are quoted with the locator."""
    flagged = {r["run_id"]: r for r in ROWS if r.get(CAVEAT_COLUMN)}
    assert sorted(flagged) == sorted(FLAGGED)
    for row in flagged.values():
        assert row[CAVEAT_COLUMN] == "known_regression"
        assert row[CAVEAT_TEXT_COLUMN].startswith(f'"{FOOTNOTE}" (footnote [^gpt-oss-note]); ')
        assert "NVIDIA-NeMo/Megatron-Bridge@067f987df:docs/performance-summary-archive.md, 26.06.01" in row[
            CAVEAT_TEXT_COLUMN]


def test_a_flagged_row_is_skipped_with_the_sources_words() -> None:
    results = validate_rows([_row(r) for r in FLAGGED])
    for res in results:
        assert res.status == "skipped"
        assert res.reason.startswith("source caveat known_regression: ") and FOOTNOTE in res.reason
    summary = summarize(results)["overall"][0]
    assert (summary.ok, summary.skipped) == (0, 2)  # in no MAPE


def test_the_caveat_alone_takes_the_row_out() -> None:
    """The 26.06 GB300 row (same job and preset, no footnote) is modelled; the same row with a caveat is skipped
    with its reason, whatever the model's error on it (the rule works in both directions)."""
    clean = _row("mbridge-fwd_26.06_DGX-GB300_GPT_OSS_120B_MXFP8_64")
    assert not clean.get(CAVEAT_COLUMN)
    flagged = clean | {CAVEAT_COLUMN: "preliminary", CAVEAT_TEXT_COLUMN: '"early numbers" (a test source)'}
    ok, skipped = validate_rows([clean, flagged])
    assert ok.status == "ok"
    assert (skipped.status, skipped.reason) == ("skipped", 'source caveat preliminary: "early numbers" (a test source)')


def test_a_flagged_row_is_in_no_optimism_figure() -> None:
    assert search_optimism([_row(r) for r in FLAGGED]) == []


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    header = list(rows[0])
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_an_unknown_caveat_is_an_error_naming_file_row_column_and_the_allowed_values(tmp_path: Path) -> None:
    row = _row(FLAGGED[0]) | {CAVEAT_COLUMN: "cudnn_bug"}
    path = _write(tmp_path / "runs.csv", [_row("mbridge-fwd_26.06_DGX-GB300_GPT_OSS_120B_MXFP8_64"), row])
    with pytest.raises(InputError) as err:
        read_measurements(path)
    problem = err.value.problem
    assert problem.file == str(path)
    assert problem.key_path == f"line 3 (run_id {FLAGGED[0]!r}), column source_caveat"
    assert problem.value == "'cudnn_bug'"
    assert all(kind in problem.allowed for kind in SOURCE_CAVEATS)
    # rows handed to validation without the reader: the same words as a skip reason
    assert caveat_skip_reason(row).startswith("source_caveat='cudnn_bug' not understood; allowed: an empty cell or "
                                              "one of known_regression, ")


@pytest.mark.parametrize("cell", ["", "none", "None", "n/a", "-", "NaN"])
def test_issue_an_empty_spelling_of_the_caveat_cell_states_no_caveat(tmp_path: Path, cell: str) -> None:
    """The caveat cell's empty spellings are every cell's (validation.types.EMPTY_CELLS) and "none": on 7ef5012
    "n/a", "-" and "NaN" were errors ('not understood') while every other column reads them as empty (s17-E)."""
    row = _row("mbridge-fwd_26.06_DGX-GB300_GPT_OSS_120B_MXFP8_64") | {CAVEAT_COLUMN: cell}
    assert read_measurements(_write(tmp_path / "runs.csv", [row]))[0][CAVEAT_COLUMN] == cell
    assert caveat_skip_reason(row) is None


def test_a_caveat_without_the_sources_words_is_an_error(tmp_path: Path) -> None:
    row = _row(FLAGGED[0]) | {CAVEAT_TEXT_COLUMN: ""}
    with pytest.raises(InputError, match=r"line 2 \(run_id .*\), column source_caveat_text: got <empty>; allowed: "
                                         r"the source's own words"):
        read_measurements(_write(tmp_path / "runs.csv", [row]))


@pytest.fixture()
def script(derive_script: Callable[[str], ModuleType]) -> ModuleType:
    return derive_script("mbridge_archive_rows")


_TABLE = """# Archive

## 26.06.01 NeMo Container

### Pre-Training Performance

#### Model: GPT OSS 120B

| System | #-GPUs | Precision | GBS | MBS | Sequence Length | TP | PP | CP | VP | EP | Tokens / sec / GPU | Model TFLOP / sec / GPU |
|--------|--------|-----------|-----|-----|-----------------|----|----|----|----|----|--------------------|-------------------------|
| DGX-GB300 | 64 | MXFP8 | 1280 | 4 | 4096 | 1 | 1 | 1 | n/a | 16 | 20288 | 661[^gpt-oss-note] |
| DGX-B300 | 64 | MXFP8 | 1280 | 4 | 4096 | 1 | 1 | 1 | n/a | 8 | 1 | 1[^moe-training-note] |
| DGX-B200 | 64 | MXFP8 | 1280 | 4 | 4096 | 1 | 1 | 1 | n/a | 8 | 1 | 1[^new-note] |

[^gpt-oss-note]: Performance regression in GPT-OSS 120B pre-training is a known issue. It will be resolved.
[^moe-training-note]: In MoE training benchmarks, we force-balance the token distribution among experts.
[^new-note]: Something nobody has read yet.
"""


def test_the_derive_script_reads_the_caveat_from_the_footnote(script: ModuleType) -> None:
    """A footnote in FOOTNOTE_CAVEATS gives its kind and words; a method footnote none; an unread footnote stops the
    script (a new footnote is read and classified before its row is written)."""
    flagged, method, new = script.tables(_TABLE)
    kind, text = script.footnote_caveat(flagged[3], flagged[0], "PRETRAIN", flagged[1], flagged[2])
    assert kind == "known_regression"
    assert text.startswith('"Performance regression in GPT-OSS 120B pre-training is a known issue. It will be '
                           'resolved." (footnote [^gpt-oss-note]); NVIDIA-NeMo/Megatron-Bridge@067f987df:')
    assert text.endswith("26.06.01 NeMo container, Pre-Training Performance, Model: GPT OSS 120B table, row 1 "
                         "(DGX-GB300 MXFP8)")
    assert script.footnote_caveat(method[3], method[0], "PRETRAIN", method[1], method[2]) == ("", "")
    with pytest.raises(SystemExit, match=r"footnote\(s\) \['new-note'\] are in neither FOOTNOTE_CAVEATS"):
        script.footnote_caveat(new[3], new[0], "PRETRAIN", new[1], new[2])
    assert set(script.FOOTNOTE_CAVEATS.values()) <= set(SOURCE_CAVEATS)
