"""A precision text that names FP8 only to deny it is BF16 (MLPerf v4.0 Juniper LoRA rows); any denied
precision ("no", "not", "without", "non-", "w/o") is read as not stated."""

from __future__ import annotations

import pytest

from archsweep.validation.precision import precision_of, recipe_of


def test_bf16_text_that_denies_fp8_is_bf16():
    assert precision_of({"precision": "BF16 (no FP8 flag in the launch code)"}) == "bf16"
    assert precision_of({"precision": "FP8 (TransformerEngine hybrid recipe, FP8=True; attention BF16, FP8_DPA=0)"}) == "fp8"
    assert precision_of({"precision": "per submission (NVIDIA: FP8; see code)"}) == "fp8"
    assert precision_of({"precision": "BF16"}) == "bf16"


@pytest.mark.parametrize(("text", "precision", "recipe"), [
    ("BF16 without FP8", "bf16", None),
    ("fp16 mixed, not fp8", "bf16", None),
    ("BF16 (w/o INT8 quantisation)", "bf16", None),  # a denied unmodelled precision is no reason to skip
    ("FP8 (no NVFP4 kernels)", "fp8", "delayed"),  # a denied recipe is not the recipe
    ("MXFP8, non-NVFP4", "fp8", "mxfp8"),
    ("FP8 (no FP8_DPA attention)", "fp8", "delayed"),  # FP8_DPA is a flag, not a denied FP8
])
def test_any_denied_precision_is_read_as_not_stated(text: str, precision: str, recipe: str | None):
    row = {"precision": text, "framework": "NeMo 24.07", "run_id": "r"}
    assert precision_of(row) == precision
    if recipe is not None:
        assert recipe_of(row) == recipe
