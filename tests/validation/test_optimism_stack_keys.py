"""The best-mapping search of `validate --optimism` keeps what a row's software stack states and only varies the
mapping: flash attention, the DP overlap and, since the eleventh session (s11-m1 found it, s11-lead applied it), the
TP communication overlap (Megatron-Core / TransformerEngine userbuffers, ``tp_comm_overlap``): a row that ran with it
is searched with it, so its best mapping is not judged without a feature the measured run had."""

from __future__ import annotations

from archsweep.validation import optimism


def test_stated_tp_overlap_is_kept_for_the_search() -> None:
    stated = "tp=4,pp=1,cp=2,sp=on,fa=on,tp_overlap=on,dp_overlap=on,zero=1"
    assert optimism._stack_only(stated) == "fa=on,tp_overlap=on,dp_overlap=on"


def test_mapping_choices_are_not_kept() -> None:
    stated = "tp=4,pp=2,vpp=2,cp=1,ep=1,micro_batch=1,recompute=none,sp=on,zero=1"
    assert optimism._stack_only(stated) == ""
