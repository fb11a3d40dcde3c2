"""The 25.11 DGX-B200 GPT-OSS 120B row states its release preset's EP 64, not the table line's EP 8
(data/validation/derive/mbridge_2511_gptoss_ep.py; evidence s18-A, applied by the eighteenth session's lead): the
preset reader, its refusals, and what the data now states. No mirror needed: the preset text is given here."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from archsweep.load.paths import data_dir
from archsweep.validation.cells import read_measurements

ROWS = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
PRESETS = ("BASE_GPT_OSS_120B_CONFIG = WorkloadBaseConfig(\n    expert_model_parallel_size=8,\n"
           "    global_batch_size=512,\n    micro_batch_size=1,\n)\n\n"
           "GPT_OSS_120B_GB200_BF16_BASE_CONFIG = replace(\n    BASE_GPT_OSS_120B_CONFIG,\n"
           "    expert_model_parallel_size=32,\n    micro_batch_size=2,\n)\n\n"
           "GPT_OSS_120B_B200_BF16_BASE_CONFIG = replace(\n    BASE_GPT_OSS_120B_CONFIG,\n"
           "    expert_model_parallel_size=64,\n    micro_batch_size=4,\n    recompute_modules=[\"moe_act\"],\n)\n")


@pytest.fixture()
def script(derive_script: Callable[[str], ModuleType]) -> ModuleType:
    return derive_script("mbridge_2511_gptoss_ep")


def test_the_b200_preset_is_read_not_its_neighbours(script: ModuleType) -> None:
    assert script.preset_ep_mbs(PRESETS) == (64, 4)


def test_a_preset_file_without_the_b200_preset_or_its_ep_is_refused(script: ModuleType) -> None:
    with pytest.raises(SystemExit, match="GPT_OSS_120B_B200_BF16_BASE_CONFIG"):
        script.preset_ep_mbs(PRESETS.replace("GPT_OSS_120B_B200_BF16", "GPT_OSS_120B_B300_BF16"))
    with pytest.raises(SystemExit, match="sets no expert_model_parallel_size"):
        script.preset_ep_mbs(PRESETS.replace("expert_model_parallel_size=64,\n", ""))


def test_the_row_states_ep_64_with_its_provenance_and_keeps_the_table_cells() -> None:
    row = ROWS["mbridge_25.11_DGX-B200_GPT_OSS_120B_BF16_64"]
    assert (row["ep"], row["micro_batch"], row["global_batch_seqs"], row["tokens_per_s_per_gpu"]) == \
        ("64", "4", "512", "8213")
    assert "ep 64 from the v0.2.0 preset (table line: EP 8" in row["derived"]
    assert row["derived"].count("mbridge_2511_gptoss_ep.py") == 1
    assert row["confidence"].startswith("medium")
