"""Issue 10 (s21-A, review finding): which stacks have no context parallelism is the ``parallelism.cp`` of the
stack in data/calibration/software_stacks.yaml, read by validate (an unstated cp is 1) and by the optimism search
(cp fixed to what the stack allows), not stack names or strategy text in the code."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import yaml
from measured_runs import runs_by_id

from archsweep.load.catalog import load_catalog
from archsweep.load.paths import data_dir
from archsweep.load.stack_parallelism import load_stack_parallelism, load_stack_software
from archsweep.validation.optimism import _search_strategies
from archsweep.validation.run import plan_row

#: The one Megatron-LM 2021 row that leaves tp / pp / dp open and states no cp (SC21's GPT-3 175B on 1024 A100).
ROW = "megatron21_gpt3_1024gpu"


def test_megatron_2021_has_no_cp_or_ep_and_keeps_the_rest():
    sp = load_stack_parallelism("megatron-2021")
    assert sp.values("cp") == (1,) and sp.values("ep") == (1,)
    assert sp.values("zero") == (0, 1)  # --use-distributed-optimizer in the 2022 code
    assert all(sp.values(k) is None for k in ("tp", "pp", "vpp", "recompute"))
    assert not sp.tp_overlap
    # Its own block: the NeMo release keys of megatron-core are not the 2021-22 code's.
    assert load_stack_software("megatron-2021") == {}


@pytest.fixture
def cp_all(tmp_path, monkeypatch) -> Iterator[None]:
    """The data with megatron-2021's ``parallelism.cp`` set to ``all``."""
    for entry in data_dir().iterdir():
        if entry.name != "calibration":
            (tmp_path / entry.name).symlink_to(entry)
    shutil.copytree(data_dir() / "calibration", tmp_path / "calibration")
    path = tmp_path / "calibration" / "software_stacks.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["megatron-2021"]["parallelism"]["cp"]["value"] = "all"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.setenv("ARCHSWEEP_DATA_DIR", str(tmp_path))
    load_stack_parallelism.cache_clear()
    try:
        yield
    finally:
        load_stack_parallelism.cache_clear()


def _plan():
    return plan_row(runs_by_id()[ROW], load_catalog())


def test_validate_fixes_an_unstated_cp_from_the_stack_block():
    plan = _plan()
    assert all("cp=1" in st.split(",") for st in plan.strategies)
    assert "searched: tp, pp, vpp, mb" in plan.notes


def test_validate_searches_cp_where_the_stack_block_allows_it(cp_all):
    plan = _plan()
    assert not any(p.startswith("cp=") for st in plan.strategies for p in st.split(","))
    assert "searched: tp, pp, cp, vpp, mb" in plan.notes


def test_the_optimism_search_takes_cp_and_ep_from_the_stack_block():
    plan = _plan()
    searched = _search_strategies(runs_by_id()[ROW], plan.strategies[0], plan.workload.layers)
    assert searched and all({"cp=1", "ep=1", "sp=off"} <= set(st.split(",")) for st in searched)


def test_the_optimism_search_leaves_cp_open_where_the_stack_block_does(cp_all):
    plan = _plan()
    searched = _search_strategies(runs_by_id()[ROW], plan.strategies[0], plan.workload.layers)
    assert searched and not any(p.startswith("cp=") for st in searched for p in st.split(","))
