"""Write the Megatron-LM MoE model-zoo Qwen3-235B-A22B rows (source group mcore-moe) into
data/validation/training_runs.csv: each row over the row of the same run_id in place (its other columns
kept), new ones at the end, and earlier mcore-moe rows no longer listed here removed (idempotent).

Usage: python data/validation/derive/mcore_moe_modelzoo_rows.py

Source: NVIDIA/Megatron-LM examples/moe-modelzoo/best_practice/qwen3/readme.md at f13818d695 (read with
`git show` from a mirror of the repository). Rows the model cannot represent are left out (see the
comment at the end of this file and docs/model-accuracy.md, s7-moedata).
"""

from __future__ import annotations

from moe_recipes import COLUMNS as MOE_COLUMNS  # the moe_* columns its rows fill, in moe_recipes.py's order
from runs_table import read_runs, upsert_rows, write_runs

COMMIT = "f13818d695"
SRC = ("NVIDIA/Megatron-LM examples/moe-modelzoo/best_practice/qwen3/readme.md @" + COMMIT +
       " (2026-07-16, 'Add MoE ModelZoo benchmarking recipes'; Megatron-Core MoE team), 'Performance Results'")
ARCH = dict(model="Qwen3_235B_a22B", arch_type="moe (128 experts top-8)", params_B="235", active_params_B="22",
            layers="94", hidden="4096", heads="64", kv_heads="4", ffn_hidden="expert 1536", vocab="151936")
FPT = 147.8e9  # FLOP per token, Megatron-LM num_floating_point_operations, from the H100 table rows
COMMON_NOTES = ("architecture from examples/moe-modelzoo/model_configs/benchmarking/Qwen3-235B-A22B.yaml of the same commit "
                "(94 layers, hidden 4096, 64 heads, 4 query groups, kv 128, 128 experts top-8, expert ffn 1536, "
                "untied embeddings, dropout 0, sequence parallel, distributed optimizer, overlap-grad-reduce / "
                "overlap-param-gather, no --tp-comm-overlap, --manual-gc); sbatch_benchmarking.sh adds CUDA graphs "
                "only when the command passes --cuda-graph-scope; MoE force-balanced routing where the command says "
                "--moe-router-force-load-balancing (the table's figures are force-balanced unless noted)")
FRAMEWORK = "Megatron-LM / Megatron-Core (pretrain_gpt.py, MoE model zoo)"
#: The GB200 / GB300 rows: the table states TFLOPS only; their tokens/s is derived (``derived``).
DERIVED_TOKENS = ("medium (Megatron-Core team's measured table with the exact parallel layout; the table states "
                  "TFLOPS only: tokens_per_s_per_gpu derived at the H100 rows' 147.8 GFLOP per token)")


def row(run_id: str, loc: str, **kw: str) -> dict[str, str]:
    """One mcore-moe row: the shared columns, then ``kw``."""
    r = dict(ARCH)
    r.update(run_id=run_id, source=SRC, source_locator=loc, seq_len="4096", framework=FRAMEWORK,
             confidence="high (Megatron-Core team's measured table with the exact parallel layout)",
             source_group="mcore-moe", sp="yes", tp_comm_overlap="no", moe_recipe_source=COMMIT + " " + loc,
             fsdp_zero="none (distributed optimizer)", notes=COMMON_NOTES)
    r.update(kw)
    return r


# What the two H100 rows share (256 GPUs, TP2 CP1, MBS1 GBS2048, BF16, recompute norm+act, no CUDA graphs).
H100 = dict(global_batch_seqs="2048", micro_batch="1", tp="2", cp="1", num_accels="256", accelerator="H100",
            accelerator_canonical="H100-SXM", system="256 H100, NVLink 4, InfiniBand 8x50 GB/s", precision="BF16",
            moe_cuda_graph_scope="none", moe_recompute_modules="layernorm+moe_act")
# What the GB200 / GB300 rows share (TP1 CP1 VPP1, MBS1 GBS8192, HybridEP, CUDA graphs of attention, router and
# preprocess, no recompute); their table states TFLOPS only, so tokens/s is derived (confidence medium).
GB = dict(global_batch_seqs="8192", micro_batch="1", tp="1", cp="1", vpp="1", act_recompute="none",
          moe_token_dispatcher="hybridep", moe_cuda_graph_scope="attn+moe_router+moe_preprocess", confidence=DERIVED_TOKENS)


def tokens_per_s(tflops: float) -> str:
    """tokens_per_s_per_gpu of a row whose table states ``tflops`` TFLOP/s per GPU only."""
    return f"{tflops * 1e12 / FPT:.0f}"


new = [
    row("mcore_moe_qwen3_235b_h100_256_deepep_ep32_pp8",
        "H100 table, 'Cross-node EP strategy', first row (DeepEP, TP2 CP1 EP32 PP8 VPP4 DP16, MBS1 GBS2048 GA128, recompute norm+act, no overlap note, step 19.7 s, 245 TF per GPU): the same layout and code (moe_dev f3e6c5) as the '+1f1b overlap' row below, run without the EP all-to-all overlap (sbatch_benchmarking.sh A2A_OVERLAP=${A2A_OVERLAP:-0}; 1 adds --overlap-moe-expert-parallel-comm --delay-wgrad-compute): the table's only measured A/B of the overlap",
        **H100, pp="8", dp="16", ep="32", vpp="4", tflops_per_gpu="245", step_time_s="19.7", moe_token_dispatcher="deepep",
        moe_a2a_overlap="no"),
    row("mcore_moe_qwen3_235b_h100_256_deepep_ep32_pp8_a2aoverlap",
        "H100 table, 'Cross-node EP strategy', second row (DeepEP, TP2 CP1 EP32 PP8 VPP4 DP16, MBS1 GBS2048 GA128, recompute norm+act, '+1f1b overlap', step 17.6 s, 276 TF per GPU); command: best_practice/qwen3/run_235b.sh 'H100 baseline config' (A2A_OVERLAP=1, --recompute-granularity selective --recompute-modules moe_act layernorm, --moe-router-force-load-balancing, no CUDA graph flags)",
        **H100, pp="8", dp="16", ep="32", vpp="4", tflops_per_gpu="276", step_time_s="17.6", moe_token_dispatcher="deepep",
        moe_a2a_overlap="yes"),
    row("mcore_moe_qwen3_235b_h100_256_alltoall_ep8_pp32",
        "H100 table, 'Intra-node EP strategy', second row (A2A, TP2 CP1 EP8 PP32 VPP3 DP4, MBS1 GBS2048 GA512, recompute norm+act, step 24.2 s, 200 TF per GPU)",
        **H100, pp="32", dp="4", ep="8", vpp="3", tflops_per_gpu="200", step_time_s="24.2", moe_token_dispatcher="alltoall",
        moe_a2a_overlap="no"),
    row("mcore_moe_qwen3_235b_gb200_256_hybridep_bf16_ep8_pp8",
        "GB200 table, first row (BF16, 64 nodes, TP1 PP8 VPP1 CP1 EP8, MBS1 GBS8192, seq 4096, 750 TFLOPS) and its 'Command (BF16)': hybridep, A2A_OVERLAP=0, --moe-router-force-load-balancing, --cuda-graph-impl transformer_engine --cuda-graph-scope attn moe_router moe_preprocess, no recompute flag",
        **GB, pp="8", dp="32", ep="8",
        num_accels="256", accelerator="GB200", accelerator_canonical="GB200", system="GB200 NVL72 (NVLink domain 72), 64 nodes x 4 GPUs",
        precision="BF16", tflops_per_gpu="750", tokens_per_s_per_gpu=tokens_per_s(750),
        derived="tokens_per_s_per_gpu = tflops_per_gpu / 147.8 GFLOP per token (Megatron-LM num_floating_point_operations for this model at seq 4096, implied by the same table's four H100 rows: TF per GPU x 256 x step time / (GBS x 4096) = 147.3, 148.2, 147.7, 147.8 GFLOP); dp = GPUs / (TP x PP x CP)",
        moe_a2a_overlap="no"),
    row("mcore_moe_qwen3_235b_gb300_64_hybridep_mxfp8_ep64",
        "GB300 table (MXFP8, 16 nodes, TP1 PP1 VPP1 CP1 EP64, MBS1 GBS8192, seq 4096, 1055 TFLOPS) and its command: hybridep, A2A_OVERLAP=1, --moe-router-force-load-balancing, --cuda-graph-impl transformer_engine --cuda-graph-scope attn moe_router moe_preprocess, no recompute flag",
        **GB, pp="1", dp="64", ep="64",
        num_accels="64", accelerator="GB300", accelerator_canonical="GB300", system="GB300 NVL72 (NVLink domain 72), 16 nodes x 4 GPUs",
        precision="MXFP8", tflops_per_gpu="1055", tokens_per_s_per_gpu=tokens_per_s(1055),
        derived="tokens_per_s_per_gpu = tflops_per_gpu / 147.8 GFLOP per token (as the GB200 row); dp = GPUs / (TP x PP x CP)",
        moe_a2a_overlap="yes"),
]


def main() -> None:
    """Write the rows (module doc); the moe_* columns are added to the header when not there yet."""
    header, rows = read_runs(MOE_COLUMNS)
    ids = {r["run_id"] for r in new}
    rows = [r for r in rows if r["source_group"] != "mcore-moe" or r["run_id"] in ids]
    write_runs(header, upsert_rows(header, rows, new))
    print(len(new), "mcore-moe rows written")


if __name__ == "__main__":
    main()

# Left out (not representable by the model or its row columns). The 'Cross-node EP strategy' first row
# (19.7 s, no overlap) was left out while no column stated A2A_OVERLAP; the moe_a2a_overlap column states it
# now, so it is kept above (review B finding 4).
# * H100 'Intra-node EP strategy' rows 1 and 3 (DeepEP TP2 EP8 PP1 FSDP, 276 TF / 17.6 s; DeepEP TP4 EP8 PP8,
#   167 TF / 29.0 s): the table states ETP 1 (model_configs/benchmarking/*.yaml --expert-tensor-parallel-size 1)
#   where EP fits in DP, and the model splits the experts like the dense layers there (ETP = TP,
#   model/training/mapping.py expert_tensor_parallel): the stated layout is not one the model evaluates.
# * H100 Qwen3-Next-80B-A3B (gated DeltaNet hybrid attention: not a modelled architecture).
# * H100 long-context table (16k-128k): TFLOPS only, and the command recomputes the 'moe' module, which
#   the model's recompute modules do not include.
# * GB200 MXFP8 4096 (919 TF): fine-grained activation offloading of expert_fc1 / moe_act (not modelled);
#   GB200 MXFP8 128k (1150 TF): TFLOPS only at a sequence length with no stated tokens/s or step time.
