"""The context-parallel degrees the mapping search offers (mapping.valid_cp_degrees) and how validation reads an
unstated cp (validation.rows.mapping_of)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from measured_runs import runs_by_id

from archsweep.load.workloads import load_workload
from archsweep.model.training.mapping import CP_DEGREES, MIN_CP_LOCAL_SEQ, enumerate_mappings, valid_cp_degrees
from archsweep.validation.metrics import measured_of
from archsweep.validation.optimism import _search_strategies
from archsweep.validation.row_workload import workload_of
from archsweep.validation.rows import mapping_of


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=2**21))
def test_offered_cp_divides_the_balanced_split_and_keeps_the_minimum_chunk(seq_len: int) -> None:
    offered = valid_cp_degrees(seq_len)
    assert 1 in offered
    for c in CP_DEGREES:
        rule = c == 1 or (seq_len % (2 * c) == 0 and seq_len // c >= MIN_CP_LOCAL_SEQ)
        assert (c in offered) == rule, (seq_len, c)


def test_guard_at_the_default_minimum() -> None:
    # The guard (4096 tokens per rank) until short CP chunks are priced; 1024 would admit the published TP1 CP8.
    assert MIN_CP_LOCAL_SEQ == 4096
    assert valid_cp_degrees(8192) == (1, 2)
    assert valid_cp_degrees(2048) == (1,)
    assert valid_cp_degrees(1_048_576) == CP_DEGREES
    assert valid_cp_degrees(8190) == (1,)  # 8190 % 4 != 0


def test_a_stated_cp8_at_8192_tokens_is_evaluated_and_offered_at_the_published_minimum(
        monkeypatch: pytest.MonkeyPatch) -> None:
    wl = load_workload("llama2-70b")
    wl = replace(wl, training=replace(wl.training, seq_len=8192))
    fixed, _ = enumerate_mappings(wl, {"tp": 1, "pp": 1, "cp": 8})  # a row's stated layout, outside the guard
    assert len(fixed) > 0 and set(fixed.cp.tolist()) == {8.0}
    monkeypatch.setattr("archsweep.model.training.mapping.MIN_CP_LOCAL_SEQ", 1024)
    mappings, _ = enumerate_mappings(wl)
    assert set(mappings.cp.tolist()) == {1.0, 2.0, 4.0, 8.0}


def _row(run_id: str) -> dict[str, str]:
    return runs_by_id()[run_id]


def _strategies(row: dict[str, str]) -> tuple[str, ...]:
    metric, notes = measured_of(row)[0], []
    return mapping_of(row, workload_of(row, metric, notes), metric, notes)[1]


def test_an_unstated_cp_is_searched_on_a_stack_with_context_parallelism() -> None:
    # Dell v5.0 16 x GB200 LoRA states no layout; its NeMo stack runs ring CP, so cp is left to the search.
    row = _row("mlperf_train_v5.0_Dell_16xXE9712x4GB200_llama2_70b_lora")
    assert not row["cp"].strip() and not row["tp"].strip()
    assert all("cp=" not in s for s in _strategies(row))


def test_an_unstated_cp_stays_1_where_the_software_had_none_or_the_degrees_are_stated() -> None:
    # SC21 (Megatron-LM of 2021): no context parallelism in that code.
    sc21 = _row("megatron21_gpt3_1024gpu")
    assert all("cp=1" in s.split(",") for s in _strategies(sc21))
    assert all("cp=1" in s.split(",") for s in _search_strategies(sc21, _strategies(sc21)[0], 96))
    # NeMo 24.07 fine-tuning table: tp, pp and dp stated, their product is the GPU count.
    nemo = _row("nemo2407_LLAMA2-7B_SFT_8gpu")
    assert all("cp=1" in s.split(",") for s in _strategies(nemo))
