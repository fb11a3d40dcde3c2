"""Issue 10 (s6-nemolora): the NeMo 24.07 Llama 2 70B LoRA row runs the layout of its launcher
script (NeMo-Framework-Launcher 24.07 examples/peft/llama/h100/70b_1node_lora.sh: TP2 PP4, no
virtual pipeline, no sequence parallelism, so NeMo turns ``ub_tp_comm_overlap`` off), not the
searched VPP 4 + SP + TP overlap that hid the LoRA rows' common deficit (data/validation/derive/
lora_recipes.py ``LAYOUTS``)."""

from __future__ import annotations

from measured_runs import runs_by_id, validated_of

RUN_70B = "nemo2407_LLAMA2-70B_LoRA_8gpu"


def _lora_rows() -> dict[str, dict[str, str]]:
    return runs_by_id(lambda r: r["run_id"].startswith("nemo2407_LLAMA2") and "_LoRA_" in r["run_id"])


def test_70b_lora_row_states_the_launcher_layout():
    row = _lora_rows()[RUN_70B]
    assert (row["tp"], row["pp"], row["vpp"], row["sp"], row["tp_comm_overlap"]) == ("2", "4", "1", "no", "no")
    assert "70b_1node_lora.sh" in row["act_recompute"] and row["fp8_params"] == "yes"


def test_70b_lora_validates_with_the_stated_layout_and_shares_the_small_rows_deficit():
    rows = _lora_rows()
    results = {r.run_id: r for r in validated_of(rows.values())}
    res = results[RUN_70B]
    assert res.status == "ok", res.reason
    assert "tp=2,pp=4,dp=1,vpp=1," in res.notes, res.notes
    # With the layout NeMo ran, the three LoRA rows (7B / 13B TP1, 70B TP2 PP4) are all too slow by
    # a similar margin (-15 .. -20 % at s6-nemolora; -1.4 % for 70B with the searched VPP 4 + SP + TP
    # overlap): one LoRA-wide gap, not a cost that vanishes at large width. Loose band: the gap is open.
    errors = [results[r].error_pct for r in rows]
    assert len(errors) == 3 and all(abs(e) < 25.0 for e in errors), errors
    assert max(errors) - min(errors) < 10.0, errors
