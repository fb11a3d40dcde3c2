"""benchmarks/moe_host_forms.py: the linear form scoring of the MoE host time (docs/model-accuracy.md s12-moehost)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_benchmark

HEADER = "run_id,group,stack,err_pct,implied_ms,extra_ms,pp,layer_mbs,step_meas_s,step_host0_s,resid_s\n"
# Two real GPT-OSS rows (training_runs.csv: 25.11 B200 micro-batch 4 EP 64, 26.02 H100 micro-batch 1 EP 8, seq 4096;
# the 25.11 H100 row states micro-batch 1 since s20-F), step figures made up so that each row is exact at a known
# stack host time: 12 ms and 3 ms per layer-micro-batch.
ROWS = ("mbridge_25.11_DGX-B200_GPT_OSS_120B_BF16_64,nemo,megatron-core,0,12.0,0.00,4,1000,22.0,10.0,12.0\n"
        "mbridge_26.02_DGX-H100_GPT_OSS_120B_BF16_64,nemo,megatron-core,0,3.0,0.00,4,1000,13.0,10.0,3.0\n"
        "mbridge-fwd_26.06_DGX-GB300_Qwen3_30B_a3B_MXFP8_8,mbridge-forward,megatron-core-flex,0,nan,-2.00,1,384,5.8,5.7,0.1\n")


@pytest.fixture()
def recs(tmp_path: Path) -> list[dict[str, float | str]]:
    path = tmp_path / "resid.csv"
    path.write_text(HEADER + ROWS)
    return load_benchmark("moe_host_forms").records(str(path))


def test_records_read_tokens_and_local_experts(recs: list[dict[str, float | str]]) -> None:
    """Tokens = micro-batch x sequence / CP and local experts = 128 / EP from training_runs.csv; the full-iteration
    row (negative extra: no host time) is left out."""
    assert [(r["tok"], r["le"]) for r in recs] == [(4 * 4096.0, 2.0), (4096.0, 16.0)]
    assert [r["slope"] for r in recs] == pytest.approx([1000.0, 1000.0])


def test_affine_form_recovers_a_per_token_host_time(recs: list[dict[str, float | str]]) -> None:
    """12 ms at 4 x 4096 tokens and 3 ms at 4096 are exactly 0 + 3 ms per 4096 tokens: the per-token and affine forms
    fit both rows exactly, the per-micro-batch form cannot (its best single value leaves an error)."""
    mod = load_benchmark("moe_host_forms")
    assert mod._mape(recs, mod.FORMS["per_token"], 3e-3, 0.0) == pytest.approx(0.0, abs=1e-9)
    assert mod._mape(recs, mod.FORMS["affine"], 0.0, 3e-3) == pytest.approx(0.0, abs=1e-9)
    assert min(mod._mape(recs, mod.FORMS["per_mb"], a * 1e-3, 0.0) for a in range(0, 16)) > 5.0


def test_device_hidden_form_hides_host_behind_device_time(recs: list[dict[str, float | str]]) -> None:
    """s14-h100slow's form max(0, a + x - k D) - x: each row's device time per layer-micro-batch is its zero-host step
    over its layer-micro-batches (10 s / 1000 = 10 ms here, no graph extra); k = b / 4 ms. At k = 0 it is the
    per-micro-batch form; at k = 0.5 a 12 ms host time leaves 7 ms, a 3 ms one nothing; the part is read from the
    run_id (B200, H100) and the signed error (+ = too fast) is measured over predicted step minus 1."""
    mod = load_benchmark("moe_host_forms")
    form = mod.FORMS["device_hidden"]
    assert [r["dev"] for r in recs] == pytest.approx([10e-3, 10e-3])
    assert [r["part"] for r in recs] == ["B200", "H100"]
    assert [form(r, 12e-3, 0.0) for r in recs] == pytest.approx([12e-3, 12e-3])
    assert [form(r, 12e-3, 2e-3) for r in recs] == pytest.approx([7e-3, 7e-3])
    assert form(recs[1], 3e-3, 2e-3) == 0.0
    # 26.02 row exact at 3 ms: +0 %; at 0 ms host its 13 s measured step over the 10 s zero-host step: +30 % (too fast)
    assert mod._signed(recs[1], mod.FORMS["per_mb"], 3e-3, 0.0) == pytest.approx(0.0, abs=1e-9)
    assert mod._signed(recs[1], mod.FORMS["per_mb"], 0.0, 0.0) == pytest.approx(30.0)
    assert "H100 +0.0 / +0.0 (1)" in mod.by_part(recs, mod.FORMS["per_mb"], 3e-3, 0.0)
