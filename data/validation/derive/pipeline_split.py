"""Fill the column ``pp_split_embedding_loss`` of data/validation/training_runs.csv: "yes" where the row's
recipe sets Megatron-Core's ``account_for_embedding_in_pipeline_split`` and
``account_for_loss_in_pipeline_split`` (the pipeline split counts the input embedding and the loss as one
layer each: NVIDIA/Megatron-LM @b0cc2706dd megatron/core/transformer/transformer_block.py
``get_num_layers_to_build``); every other row's cell is left empty (Megatron-Core's default, off).

Usage: python data/validation/derive/pipeline_split.py   (idempotent; owns the column on every row but the MLPerf
v5.0 llama31_405b ones, whose cell mlperf_llama31_405b_rows.py writes from each launch config)

Sources (read with ``git show`` / ``git grep`` on mirrors of the two repositories):
* Megatron-Bridge performance tables (run_id ``mbridge_`` / ``mbridge-fwd_``), Qwen3-235B-A22B and
  Llama 3.1 405B: the pretrain recipe the performance scripts build on sets both flags at every tag the
  rows ran — v0.1.0rc4 (2025-10-23, the tag nearest 25.09) recipes/llama/llama31_405b.py L47-48 and recipes/qwen/qwen3_235b_a22b.py
  L70-71; v0.2.0 (25.11) and v0.3.0 (26.02) recipes/llama/llama3.py ``llama31_405b_pretrain_config`` L413-414
  and recipes/qwen/qwen3_moe.py ``qwen3_235b_a22b_pretrain_config`` L160-161 (called by
  scripts/performance/configs/{llama,qwen}/*_llm_pretrain.py); v0.3.1 / v0.4.0 / v0.4.2 / v0.5.1 (26.02.01 ..
  26.06.01) llama3.py L1132 and qwen3_moe.py L166 (``cfg.model.account_for_*_in_pipeline_split = True``).
  No performance override of either flag at those tags (``git grep account_for scripts/performance``).
* Megatron-LM MoE model zoo (run_id ``mcore_moe_``, Qwen3-235B-A22B): NVIDIA/Megatron-LM @f13818d695
  examples/moe-modelzoo/model_configs/benchmarking/Qwen3-235B-A22B.yaml (``--account-for-embedding-in-
  pipeline-split: true``, ``--account-for-loss-in-pipeline-split: true``) and runtime_configs/benchmarking/
  runtime.conf (Qwen3-235B-A22B: 96 layers for the split, "Account loss and embedding for number of layers").
Not this script's: the MLPerf Training v5.0 llama31_405b rows (run_id ``mlperf_train_v5.0_*_llama31_405b``, the
mlperf-forward group): mlperf_llama31_405b_rows.py writes their cell from each launch config's ``ASYM_PP_EMBED`` /
``ASYM_PP_LOSS`` (which the implementations' ``conf/custom.yaml`` passes as ``account_for_embedding_in_pipeline_split``
/ ``account_for_loss_in_pipeline_split``; all 14 set both); this script leaves those cells as they are.
Not set (not read): every other model.
"""

from __future__ import annotations

from runs_table import fill_columns, read_runs, write_runs

COLUMN = "pp_split_embedding_loss"
BRIDGE_MODELS = ("Qwen3_235B_a22B", "LLAMA3.1-405B")


def states_split(row: dict[str, str]) -> bool:
    """Whether ``row``'s recipe sets both flags (module doc)."""
    rid = row["run_id"]
    bridge = rid.startswith(("mbridge_", "mbridge-fwd_")) and row["model"] in BRIDGE_MODELS
    return bridge or rid.startswith("mcore_moe_qwen3_235b")


def owns(row: dict[str, str]) -> bool:
    """Every row but the MLPerf v5.0 / v5.1 llama31_405b ones (mlperf_llama31_405b_rows.py writes theirs)."""
    rid = row["run_id"]
    return not (rid.startswith(("mlperf_train_v5.0_", "mlperf_train_v5.1_")) and rid.endswith("_llama31_405b"))


def main() -> None:
    """Fill the column (module doc)."""
    header, rows = read_runs([COLUMN])
    n = fill_columns(rows, [COLUMN], lambda row: ["yes"] if states_split(row) else None, owns)
    write_runs(header, rows)
    print(n, f"rows given {COLUMN} = yes (the MLPerf 405B rows' cells left to mlperf_llama31_405b_rows.py)")


if __name__ == "__main__":
    main()
