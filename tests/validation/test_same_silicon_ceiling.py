"""Issue 10 point 4: the same-silicon ceiling of the search-optimism report (best / max(measured,
ceiling)) beside the unchanged headline best / measured."""

from __future__ import annotations

import pytest
from measured_runs import faster_copy, runs_by_id

from archsweep.spec.errors import InputError
from archsweep.validation.ceiling import load_die_families
from archsweep.validation.optimism import search_optimism, summarise

_B200 = "mbridge_25.11_DGX-B200_Qwen3_30B_a3B_FP8-MX_8"
_GB200 = "mbridge_25.11_DGX-GB200_Qwen3_30B_a3B_FP8-MX_8"


def _rows(*run_ids: str) -> list[dict[str, str]]:
    rows = runs_by_id()
    return [rows[i] for i in run_ids]


def test_constructed_pair_same_part_twice_as_fast_halves_the_ratio():
    (row,) = _rows(_B200)
    fast = faster_copy(row, "constructed_fast")
    res = {r.run_id: r for r in search_optimism([row, fast])}
    slow = res[_B200]
    # same part, same mapping: the model's part ratio is 1 and the ceiling is the faster measurement
    assert slow.ceiling.from_run == "constructed_fast"
    assert slow.ceiling.part_ratio == pytest.approx(1.0)
    assert slow.ceiling.over_measured == pytest.approx(2.0, rel=1e-6)
    assert slow.best_over_ceiling == pytest.approx(slow.best_over_measured / 2.0)
    # the faster row has no faster peer: its ceiling is its own measurement
    assert res["constructed_fast"].ceiling.from_run == ""
    assert res["constructed_fast"].best_over_ceiling == pytest.approx(res["constructed_fast"].best_over_measured)
    # the headline is untouched: best / measured as before, the faster row is the job's reference
    assert slow.best_over_measured == pytest.approx(slow.given_over_measured * slow.best_over_given)


def test_constructed_pair_needs_same_die_precision_and_job():
    (row,) = _rows(_B200)
    others = [faster_copy(row, "h100", accelerator="H100-SXM5-80GB", accelerator_canonical="H100-SXM", system="DGX-H100"),
              faster_copy(row, "bf16", precision="BF16"),
              faster_copy(row, "batch", global_batch_seqs="1024")]
    res = {r.run_id: r for r in search_optimism([row, *others])}
    assert set(res) == {_B200, "h100", "bf16", "batch"}  # every peer was evaluated, none qualifies
    assert res[_B200].ceiling.from_run == ""
    assert res[_B200].ceiling.over_measured == 1.0


def test_real_qwen3_30b_b200_preset_is_beaten_by_gb200_measurement():
    """Megatron-Bridge 25.11: DGX-B200 9,299 and DGX-GB200 23,766 tokens/s/GPU, same count (8), batch
    (512), sequence (4096) and MXFP8; the search's 2.5x over the B200 preset is mostly the faster
    mapping (micro-batch 4) that the GB200 run used. With s9-a2a alone (the flex dispatcher sends a token
    once per remote domain, DeepEP / HybridEP) the GB200 row itself rose above 1.25 (1.306: the Qwen3-30B
    per-token cost the model does not price, s7-smallmoe / s8-smallmoe); with s9-moecost's per-expert FP8
    padding merged too it is 1.235, just under; 1.115 with s15-moehost's affine host form (host time per
    micro-batch grows with its tokens, so micro-batch 4 gains less). The B200 row's own figure 1.986 since s16-gemmlaw
    (above 2.0 before: B200's two-SM tiles and fill slow the searched mapping too); 1.94 since s32 (the causal
    schedule law)."""
    res = {r.run_id: r for r in search_optimism(_rows(_B200, _GB200))}
    b200, gb200 = res[_B200], res[_GB200]
    assert b200.best_over_measured > 1.9                       # the headline figure stays near 2 (> 2.0 before s16-gemmlaw, 1.94 since s32)
    assert b200.ceiling.from_run == _GB200
    # GB200 is the B200 die a little faster (higher clock / power): the model's ratio is near 1
    assert 0.9 < b200.ceiling.part_ratio <= 1.0
    assert b200.ceiling.over_measured == pytest.approx(23766 / 9299 * b200.ceiling.part_ratio, rel=1e-6)
    assert b200.best_over_ceiling < 1.25
    assert gb200.ceiling.from_run == "" and gb200.best_over_ceiling == gb200.best_over_measured
    s = summarise(list(res.values()))
    assert 1.05 < gb200.best_over_measured < 1.25  # 1.115 since s15-moehost (1.2 .. 1.25 before)
    assert s["above_1.25"] == 1 and s["above_1.25_ceiling"] == 0


def test_die_families_are_sourced_and_disjoint(tmp_path):
    fam = load_die_families()
    assert fam["B200"] == fam["GB200"] and fam["B300"] == fam["GB300"] and fam["H100-SXM"] == fam["H200"]
    assert fam["B200"] != fam["B300"]
    bad = tmp_path / "f.yaml"
    bad.write_text("families:\n  x: {members: [B200], source: s, locator: l}\n  y: {members: [B200], source: s, locator: l}\n")
    with pytest.raises(InputError, match="one family only"):
        load_die_families(bad)
    bad.write_text("families:\n  x: {members: [B200], locator: l}\n")
    with pytest.raises(InputError, match="families.x.source"):
        load_die_families(bad)
