"""The bias-split helper (benchmarks/part_bias_split.py): joins a ``validate --output`` file with the rows'
facts, keeps the group's modelled dense rows, and reports count, mean signed error and MAPE per split."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import load_benchmark

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("part_bias_split")


def _output(tmp_path: Path) -> str:
    """A validate --output file of five real run_ids: two B200 dense rows, one H100 FSDP row, one MoE row and
    one skipped row."""
    rows = [("mbridge_25.11_DGX-B200_LLAMA3-8B_FP8-CS_8", 10.0, "ok"),
            ("mbridge_25.11_DGX-B200_LLAMA3-8B_FP8-MX_8", 14.0, "ok"),
            ("mbridge_25.11_DGX-H100_LLAMA3-8B_FP8-CS_8", -2.0, "ok"),
            ("mbridge_25.11_DGX-B200_GPT_OSS_120B_BF16_64", 23.0, "ok"),
            ("mbridge_25.11_DGX-GB300_LLAMA3-8B_FP8-CS_8", 99.0, "skipped")]
    path = tmp_path / "rows.csv"
    pd.DataFrame({"run_id": [r[0] for r in rows], "error_pct": [r[1] for r in rows],
                  "status": [r[2] for r in rows], "source_group": "nemo"}).to_csv(path, index=False)
    return str(path)


def test_dense_modelled_rows_split_by_part_and_precision(bench, tmp_path):
    df = bench.rows(_output(tmp_path), "nemo", all_archs=False)
    assert sorted(df.accelerator_canonical) == ["B200", "B200", "H100-SXM"]  # no MoE row, no skipped row
    by_part = bench.split(df, ["accelerator_canonical"])
    assert by_part.loc["B200", "rows"] == 2
    assert by_part.loc["B200", "mean_signed_pct"] == pytest.approx(12.0)
    assert by_part.loc["H100-SXM", "mape_pct"] == pytest.approx(2.0)
    by_precision = bench.split(df, ["precision"])
    assert set(by_precision.index) == {"FP8 per-tensor", "MXFP8"}  # FP8-CS and FP8-MX named as recipes
    assert dict(zip(df.run_id, df.layout))["mbridge_25.11_DGX-H100_LLAMA3-8B_FP8-CS_8"] == "FSDP"


def test_all_archs_keeps_the_moe_row(bench, tmp_path):
    df = bench.rows(_output(tmp_path), "nemo", all_archs=True)
    assert bench.split(df, ["accelerator_canonical"]).loc["B200", "rows"] == 3


def test_every_nemo_table_fp8_label_is_one_named_recipe(bench, tmp_path):
    """The NeMo / Megatron-Bridge tables' FP8 labels (24.07's "FP8 (Transformer Engine)" included) fall into
    the two named recipes, so H100 is not split into two FP8 groups."""
    facts = pd.read_csv(ROOT / "data" / "validation" / "training_runs.csv", usecols=["run_id", "precision"])
    fp8 = facts[facts.precision.astype(str).str.startswith("FP8")
                & facts.run_id.str.split("_").str[0].isin(["nemo", "nemo2407", "mbridge"])]
    assert "FP8 (Transformer Engine)" in set(fp8.precision)
    path = tmp_path / "rows.csv"
    pd.DataFrame({"run_id": fp8.run_id, "error_pct": 0.0, "status": "ok", "source_group": "nemo"}).to_csv(path)
    df = bench.rows(str(path), "nemo", all_archs=True)
    assert set(df.precision) == {"FP8 per-tensor", "MXFP8"}
