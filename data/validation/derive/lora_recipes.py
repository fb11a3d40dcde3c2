"""Add the LoRA recipe of the NeMo 24.07 performance-summary LoRA runs to their rows of
data/validation/training_runs.csv (new columns only; other rows and columns untouched).

Re-run after merging other edits of the CSV:  python data/validation/derive/lora_recipes.py

Columns written (empty for every row not matched here but the mbridge-forward rows, whose columns
mbridge_archive_rows.py writes; MLPerf llama2_70b_lora rows take the benchmark's recipe from
mlperf_eval_rules.yaml instead):
  lora_rank           adapter dimension
  lora_targets        "+"-joined projections (attention_qkv, attention_dense, mlp_fc1, mlp_fc2)
  lora_dropout        adapter dropout probability
  lora_recipe_source  repository, tag and file the three values were read from

Provenance (read from github:NVIDIA/NeMo-Framework-Launcher tag 24.07 and github:NVIDIA/NeMo tag
r2.0.0rc1, the NeMo of the 24.07 container): the performance table's three LoRA runs (8 GPUs, GBS 32,
MBS 1, TP1 PP1 / TP1 PP1 / TP2 PP4, FP8, SQuAD packed 4096) are the launcher's
examples/peft/llama/h100/{7b,13b,70b}_1node_lora.sh, which run `peft=llama/sft` with
`peft.model.peft.peft_scheme=lora` and do not override the adapter. launcher_scripts/conf/peft/llama/
sft.yaml `lora_tuning` sets adapter_dim 32 and adapter_dropout 0.0 and no target_modules, so NeMo 1.x
nemo/collections/nlp/parts/peft_config.py `get_target_modules(lora_cfg, default=("attention_qkv",))`
adapts the fused QKV projection only (the same default as examples/nlp/language_modeling/tuning/conf/
megatron_gpt_finetuning_config.yaml). NeMo 2.0's all-four-linear default (nemo/collections/llm/peft/
lora.py) is not what produced this table: the 24.07 figures come from the NeMo 1.x launcher.

Stated layout of the 70B run (s6-nemolora; set on that row only, other rows' layout columns untouched):
examples/peft/llama/h100/70b_1node_lora.sh sets TP2 PP4, ``ub_tp_comm_overlap=true`` and no
``virtual_pipeline_model_parallel_size`` or ``sequence_parallel``, so sft.yaml's defaults hold
(``virtual_pipeline_model_parallel_size: null``, ``sequence_parallel: False``); NeMo r2.0.0rc1
nemo/collections/nlp/models/language_modeling/megatron_base_model.py (``if ub_tp_comm_overlap: if not
sequence_parallel: ... Setting ub_tp_comm_overlap to False``) then turns the TP overlap off:
vpp 1, sp no, tp_comm_overlap no. (The 7B / 13B runs are TP1 PP1: nothing to state.)
"""

from __future__ import annotations

from runs_table import CSV, fill_columns, read_runs, write_runs

COLUMNS = ("lora_rank", "lora_targets", "lora_dropout", "lora_recipe_source")

_LAUNCHER = ("NeMo-Framework-Launcher 24.07 examples/peft/llama/h100/{size}_1node_lora.sh (peft=llama/sft, "
             "peft_scheme=lora) + launcher_scripts/conf/peft/llama/sft.yaml lora_tuning (adapter_dim 32, "
             "adapter_dropout 0.0, no target_modules); NeMo r2.0.0rc1 nemo/collections/nlp/parts/peft_config.py "
             "get_target_modules default ('attention_qkv',)")

#: run_id -> (rank, targets, dropout, source)
RECIPES: dict[str, tuple[str, str, str, str]] = {
    f"nemo2407_LLAMA2-{size.upper()}_LoRA_8gpu": ("32", "attention_qkv", "0", _LAUNCHER.format(size=size))
    for size in ("7b", "13b", "70b")
}

#: run_id -> {layout column: value} (the launcher script's layout; see the module docstring)
LAYOUTS: dict[str, dict[str, str]] = {
    "nemo2407_LLAMA2-70B_LoRA_8gpu": {"vpp": "1", "sp": "no", "tp_comm_overlap": "no"},
}


def main() -> None:
    header, rows = read_runs(COLUMNS)
    # the mbridge-forward LoRA rows' columns are mbridge_archive_rows.py's (left as they are here)
    matched = fill_columns(rows, COLUMNS, lambda row: RECIPES.get(row["run_id"]),
                           lambda row: row["source_group"] != "mbridge-forward")
    for row in rows:
        row.update(LAYOUTS.get(row["run_id"], {}))
    write_runs(header, rows)
    print(f"{CSV}: LoRA recipe columns set on {matched} rows")


if __name__ == "__main__":
    main()
