"""A precision text that names FP8 only to deny it is BF16 (MLPerf v4.0 Juniper LoRA rows)."""

from archsweep.validation.precision import precision_of


def test_bf16_text_that_denies_fp8_is_bf16():
    assert precision_of({"precision": "BF16 (no FP8 flag in the launch code)"}) == "bf16"
    assert precision_of({"precision": "FP8 (TransformerEngine hybrid recipe, FP8=True; attention BF16, FP8_DPA=0)"}) == "fp8"
    assert precision_of({"precision": "per submission (NVIDIA: FP8; see code)"}) == "fp8"
    assert precision_of({"precision": "BF16"}) == "bf16"
