"""Add the MoE recipe settings of the Megatron-Bridge performance presets to the NeMo MoE rows of
data/validation/training_runs.csv (new columns only; other rows and columns untouched).

Re-run after merging other edits of the CSV:  python data/validation/derive/moe_recipes.py

Columns written on the Megatron-Bridge rows of the nemo group (empty there where no preset is listed here;
other rows, e.g. the mcore-moe rows that state their own recipe, are left as they are):
  moe_token_dispatcher   alltoall | deepep | hybridep  (Megatron-Core moe_token_dispatcher_type
                         "alltoall", or "flex" with moe_flex_dispatcher_backend deepep / hybridep)
  moe_cuda_graph_scope   "+"-joined cuda_graph_scope of the preset (cuda_graph_impl
                         transformer_engine), "none" when the preset sets no graphs
  moe_recompute_modules  "+"-joined recompute_modules (selective module recompute), "none" if unset
  moe_recipe_source      Megatron-Bridge tag + scripts/performance/configs/<file>:<preset name>
  moe_a2a_overlap        yes | no: the preset's moe_a2a_overlap (WorkloadBaseConfig, default False), which
                         the performance scripts turn into overlap_moe_expert_parallel_comm +
                         delay_wgrad_compute (v0.2.x scripts/performance/utils/helpers.py
                         set_moe_a2a_overlap_overrides, v0.3.0 utils/overrides.py _set_moe_a2a_overlap_overrides):
                         the EP all-to-all hidden under the combined 1F1B schedule; "no" = exposed

Preset versions: a NeMo container's table first appears in Megatron-Bridge
docs/performance-summary.md at v0.2.2 ("25.11 NeMo Container") and v0.3.0 ("26.02"); the 25.09 table
is in v0.2.0. The settings below were read from those tags (github:NVIDIA-NeMo/Megatron-Bridge).
"""

from __future__ import annotations

from runs_table import CSV, fill_columns, read_runs, write_runs

COLUMNS = ("moe_token_dispatcher", "moe_cuda_graph_scope", "moe_recompute_modules", "moe_recipe_source", "moe_a2a_overlap")

_Q3 = "scripts/performance/configs/qwen3/workload_base_configs.py"
_DS = "scripts/performance/configs/deepseek/workload_base_configs.py"
_GO = "scripts/performance/configs/gpt_oss/workload_base_configs.py"
_Q3_3 = "scripts/performance/configs/qwen/qwen3_workload_base_configs.py"
_DS_3 = "scripts/performance/configs/deepseek/deepseek_workload_base_configs.py"
_GO_3 = "scripts/performance/configs/gpt_oss/gpt_oss_workload_base_configs.py"
_ARP = "attn+moe_router+moe_preprocess"
_RP = "moe_router+moe_preprocess"

#: (container, model key, system) -> (dispatcher, graph scope, recompute modules, source).
RECIPES: dict[tuple[str, str, str], tuple[str, str, str, str]] = {
    # NeMo 25.09 table (Megatron-Bridge v0.2.0)
    ("25.09", "deepseek", "H100"): ("deepep", "none", "mla_up_proj+mlp", f"v0.2.0 {_DS}:DEEPSEEK_V3_H100_BASE_CONFIG"),
    # NeMo 25.11 table (Megatron-Bridge v0.2.2)
    ("25.11", "deepseek", "GB300"): ("hybridep", _ARP, "moe_act", f"v0.2.2 {_DS}:DEEPSEEK_V3_GB300_BASE_CONFIG"),
    ("25.11", "deepseek", "GB200"): ("hybridep", _RP, "mla_up_proj", f"v0.2.2 {_DS}:DEEPSEEK_V3_GB200_BASE_CONFIG"),
    ("25.11", "deepseek", "B200"): ("alltoall", "none", "mla_up_proj", f"v0.2.2 {_DS}:DEEPSEEK_V3_B200_BASE_CONFIG"),
    ("25.11", "gpt_oss", "GB300"): ("alltoall", _ARP, "none", f"v0.2.2 {_GO}:GPT_OSS_120B_GB300_BF16_BASE_CONFIG"),
    ("25.11", "gpt_oss", "GB200"): ("alltoall", "none", "layernorm+moe_act", f"v0.2.2 {_GO}:GPT_OSS_120B_GB200_BF16_BASE_CONFIG"),
    ("25.11", "gpt_oss", "B200"): ("alltoall", "none", "layernorm+moe_act", f"v0.2.2 {_GO}:GPT_OSS_120B_B200_BF16_BASE_CONFIG"),
    ("25.11", "gpt_oss", "H100"): ("alltoall", "none", "layernorm+moe_act", f"v0.2.2 {_GO}:GPT_OSS_120B_H100_BF16_BASE_CONFIG"),
    ("25.11", "qwen3_30b", "GB300"): ("hybridep", _RP, "none", f"v0.2.2 {_Q3}:QWEN3_30B_A3B_GB300_FP8_CS_BASE_CONFIG"),
    ("25.11", "qwen3_30b", "GB200"): ("hybridep", _RP, "none", f"v0.2.2 {_Q3}:QWEN3_30B_A3B_GB200_FP8_MX_BASE_CONFIG"),
    ("25.11", "qwen3_30b", "B200"): ("alltoall", _RP, "none", f"v0.2.2 {_Q3}:QWEN3_30B_A3B_B200_FP8_CS_BASE_CONFIG"),
    ("25.11", "qwen3_30b", "H100"): ("alltoall", "none", "none", f"v0.2.2 {_Q3}:QWEN3_30B_A3B_H100_FP8_CS_BASE_CONFIG"),
    ("25.11", "qwen3_235b", "GB300"): ("hybridep", _RP, "none", f"v0.2.2 {_Q3}:QWEN3_235B_A22B_GB300_BF16_BASE_CONFIG"),
    ("25.11", "qwen3_235b", "GB200"): ("hybridep", _ARP, "none", f"v0.2.2 {_Q3}:QWEN3_235B_A22B_GB200_BF16_BASE_CONFIG"),
    ("25.11", "qwen3_235b", "B200"): ("alltoall", "none", "none", f"v0.2.2 {_Q3}:QWEN3_235B_A22B_B200_FP8_CS_BASE_CONFIG"),
    ("25.11", "qwen3_235b", "H100"): ("alltoall", "none", "none", f"v0.2.2 {_Q3}:QWEN3_235B_A22B_H100_FP8_CS_BASE_CONFIG"),
    # NeMo 26.02 table (Megatron-Bridge v0.3.0; MXFP8 / FP8 rows: the *_FP8_MX_V2 / *_FP8_CS presets)
    ("26.02", "deepseek", "GB300"): ("hybridep", "none", "mla_up_proj", f"v0.3.0 {_DS_3}:DEEPSEEK_V3_PRETRAIN_CONFIG_GB300_FP8_MX_V2"),
    ("26.02", "deepseek", "GB200"): ("hybridep", _ARP, "mla_up_proj", f"v0.3.0 {_DS_3}:DEEPSEEK_V3_PRETRAIN_CONFIG_GB200_FP8_MX_V2"),
    ("26.02", "deepseek", "B300"): ("hybridep", "none", "mla_up_proj", f"v0.3.0 {_DS_3}:DEEPSEEK_V3_PRETRAIN_CONFIG_B300_FP8_MX_V2"),
    ("26.02", "deepseek", "B200"): ("hybridep", "none", "mla_up_proj", f"v0.3.0 {_DS_3}:DEEPSEEK_V3_PRETRAIN_CONFIG_B200_FP8_MX_V2"),
    ("26.02", "gpt_oss", "GB300"): ("alltoall", _ARP, "none", f"v0.3.0 {_GO_3}:GPT_OSS_120B_PRETRAIN_CONFIG_GB300_BF16_V2"),
    ("26.02", "gpt_oss", "GB200"): ("alltoall", "none", "layernorm+moe_act", f"v0.3.0 {_GO_3}:GPT_OSS_120B_PRETRAIN_CONFIG_GB200_BF16_V2"),
    ("26.02", "gpt_oss", "B300"): ("alltoall", _ARP, "none", f"v0.3.0 {_GO_3}:GPT_OSS_120B_PRETRAIN_CONFIG_B300_BF16_V2"),
    ("26.02", "gpt_oss", "B200"): ("alltoall", "none", "layernorm+moe_act", f"v0.3.0 {_GO_3}:GPT_OSS_120B_PRETRAIN_CONFIG_B200_BF16_V2"),
    ("26.02", "gpt_oss", "H100"): ("alltoall", "none", "layernorm+moe_act", f"v0.3.0 {_GO_3}:GPT_OSS_120B_PRETRAIN_CONFIG_H100_BF16_V2"),
    ("26.02", "qwen3_30b", "GB300"): ("hybridep", _RP, "none", f"v0.3.0 {_Q3_3}:QWEN3_30B_A3B_PRETRAIN_CONFIG_GB300_FP8_MX_V1"),
    ("26.02", "qwen3_30b", "GB200"): ("hybridep", _RP, "none", f"v0.3.0 {_Q3_3}:QWEN3_30B_A3B_PRETRAIN_CONFIG_GB200_FP8_MX_V1"),
    ("26.02", "qwen3_30b", "B300"): ("hybridep", _RP, "none", f"v0.3.0 {_Q3_3}:QWEN3_30B_A3B_PRETRAIN_CONFIG_B300_FP8_MX_V1"),
    ("26.02", "qwen3_30b", "B200"): ("alltoall", _RP, "none", f"v0.3.0 {_Q3_3}:QWEN3_30B_A3B_PRETRAIN_CONFIG_B200_FP8_MX_V1"),
    ("26.02", "qwen3_30b", "H100"): ("deepep", "none", "none", f"v0.3.0 {_Q3_3}:QWEN3_30B_A3B_PRETRAIN_CONFIG_H100_FP8_CS_V1"),
    ("26.02", "qwen3_235b", "GB300"): ("hybridep", _ARP, "none", f"v0.3.0 {_Q3_3}:QWEN3_235B_A22B_PRETRAIN_CONFIG_GB300_FP8_MX_V2"),
    ("26.02", "qwen3_235b", "GB200"): ("hybridep", _ARP, "none", f"v0.3.0 {_Q3_3}:QWEN3_235B_A22B_PRETRAIN_CONFIG_GB200_FP8_MX_V2"),
    ("26.02", "qwen3_235b", "B300"): ("alltoall", "none", "none", f"v0.3.0 {_Q3_3}:QWEN3_235B_A22B_PRETRAIN_CONFIG_B300_FP8_MX_V2"),
    ("26.02", "qwen3_235b", "B200"): ("alltoall", "none", "none", f"v0.3.0 {_Q3_3}:QWEN3_235B_A22B_PRETRAIN_CONFIG_B200_FP8_MX_V2"),
    ("26.02", "qwen3_235b", "H100"): ("alltoall", "none", "none", f"v0.3.0 {_Q3_3}:QWEN3_235B_A22B_PRETRAIN_CONFIG_H100_BF16_V2"),
}

#: Presets that set moe_a2a_overlap=True (read from the same tags and preset names as RECIPES; every
#: other preset leaves the WorkloadBaseConfig default False, scripts/performance/utils/utils.py).
A2A_OVERLAP: frozenset[tuple[str, str, str]] = frozenset({
    ("25.09", "deepseek", "H100"),
    ("25.11", "qwen3_235b", "B200"), ("25.11", "qwen3_235b", "H100"), ("25.11", "qwen3_30b", "H100"),
    ("26.02", "qwen3_235b", "B300"), ("26.02", "qwen3_235b", "H100"), ("26.02", "qwen3_30b", "H100"),
})


def _owns(row: dict[str, str]) -> bool:
    """The rows this script writes: the nemo group's Megatron-Bridge performance-summary rows."""
    return row.get("source_group") == "nemo" and row["run_id"].startswith("mbridge_")


def _key(row: dict[str, str]) -> tuple[str, str, str] | None:
    container = row["run_id"].split("_")[1]
    model = row["model"].lower()
    family = ("deepseek" if "deepseek" in model else "gpt_oss" if "gpt oss" in model
              else "qwen3_30b" if "qwen3_30b" in model else "qwen3_235b" if "qwen3_235b" in model else None)
    system = row["run_id"].split("_")[2].removeprefix("DGX-")
    return (container, family, system) if family else None


def main() -> None:
    header, rows = read_runs(COLUMNS)
    def values(row: dict[str, str]) -> tuple[str, ...] | None:
        key = _key(row)
        recipe = RECIPES.get(key) if key else None
        return (*recipe, "yes" if key in A2A_OVERLAP else "no") if recipe else None

    matched = fill_columns(rows, COLUMNS, values, _owns)
    write_runs(header, rows)
    print(f"{CSV}: MoE recipe columns set on {matched} rows")


if __name__ == "__main__":
    main()
