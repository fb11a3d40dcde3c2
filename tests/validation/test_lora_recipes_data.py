"""Issue 10: LoRA recipes as data: the MLPerf llama2_70b_lora recipe (mlperf_eval_rules.yaml) and
the NeMo 24.07 performance-summary rows' launcher recipe (training_runs.csv lora_* columns)."""

from __future__ import annotations

import pytest
from measured_runs import runs_by_id

from archsweep.load.validation_data import load_mlperf_eval_rules
from archsweep.spec.errors import InputError
from archsweep.spec.training import TrainingJob
from archsweep.validation.lora_recipe import apply_lora_recipe, row_lora_recipe


def test_mlperf_llama2_70b_lora_recipe_is_the_benchmark_config():
    recipe = load_mlperf_eval_rules()["llama2_70b_lora"].lora
    assert recipe is not None
    # NVIDIA conf/megatron_gpt_peft_tuning_config.yaml: adapter_dim 16, dropout 0.1, target ['attention'];
    # configs/config_common.sh LORA_A2A=1.
    assert (recipe.rank, recipe.targets, recipe.dropout, recipe.a2a) == (
        16, ("attention_qkv", "attention_dense"), 0.1, True)
    assert "megatron_gpt_peft_tuning_config.yaml" in recipe.locator


def test_every_mlperf_lora_row_gets_the_benchmark_recipe():
    rows = [r for r in runs_by_id().values() if "llama2_70b_lora" in (r["model"] + r["notes"] + r["run_id"]).lower()
            and r["source_group"] == "mlperf"]
    assert len(rows) >= 40
    for row in rows:
        found = row_lora_recipe(row)
        assert found is not None and found[1] == "the benchmark" and found[0].rank == 16


def test_nemo_2407_lora_rows_take_their_launchers_recipe():
    rows = runs_by_id()
    for size in ("7B", "13B", "70B"):
        row = rows[f"nemo2407_LLAMA2-{size}_LoRA_8gpu"]
        recipe, origin = row_lora_recipe(row) or (None, "")
        assert origin == "the run's launcher"
        # NeMo-Framework-Launcher 24.07 sft.yaml: adapter_dim 32, dropout 0, no target_modules ->
        # NeMo 1.x get_target_modules default ('attention_qkv',).
        assert (recipe.rank, recipe.targets, recipe.dropout, recipe.a2a) == (32, ("attention_qkv",), 0.0, False)
        assert "NeMo-Framework-Launcher 24.07" in recipe.source
        notes: list[str] = []
        job = apply_lora_recipe(TrainingJob(32, 4096, mode="finetune_lora", lora_rank=16), row, notes)
        assert (job.lora_rank, job.lora_targets) == (32, ("attention_qkv",)) and "launcher" in notes[0]
    sft = rows["nemo2407_LLAMA2-7B_SFT_8gpu"]
    assert row_lora_recipe(sft) is None
    assert apply_lora_recipe(TrainingJob(32, 4096, mode="finetune_full"), sft, []).lora_rank == 0


def test_bad_row_lora_targets_names_the_row_and_what_is_allowed():
    row = {"run_id": "r1", "lora_targets": "attention_qkv+router", "lora_rank": "16", "lora_dropout": "0"}
    with pytest.raises(InputError) as err:
        row_lora_recipe(row)
    p = err.value.problem
    assert p.key_path == "r1.lora_targets" and "training_runs.csv" in p.file and "mlp_fc2" in p.allowed
