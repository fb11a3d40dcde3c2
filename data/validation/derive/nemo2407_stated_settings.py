"""State what the recipes of two NeMo 24.07 pre-training rows of data/validation/training_runs.csv ran: the
GPT-3 175B 128-GPU row's TP settings and the Nemotron-340B row's activation recompute.

The rule (both rows, s10-m2): the NeMo-Framework-Launcher 24.07 conf is what ran (the 24.07 table came from the
launcher, s6-nemolora, s8-fa2). A setting is taken from the launcher's file where that file is of the table's layout,
or, where it is of another layout, where NeMo 2.0's performance config of the table's exact layout (github:NVIDIA/NeMo
@81d94d1501, 2025-02-19, scripts/performance/recommended_model_configs/model_configs_h100.csv, a later container)
agrees; otherwise the row keeps the searched setting.

GPT-3 175B, 128 H100 (GBS 256, MBS 1, TP4 PP8 VP6, FP8): ``sp yes, tp_comm_overlap no`` from the launcher (a file of
the table's layout). Read at github:NVIDIA/NeMo-Framework-Launcher tag 24.07 (not copied):
``examples/training/gpt/h100/175b_fp8_16node.sh`` (16 nodes, ``global_batch_size=256``, ``micro_batch_size=1``, TP4,
PP8, ``fp8=true``, ``+training.model.optim.grad_sync_dtype=bf16``) overrides neither ``ub_tp_comm_overlap`` nor
``sequence_parallel``, so ``launcher_scripts/conf/training/gpt3/175b.yaml`` holds: ``sequence_parallel: True``,
``ub_tp_comm_overlap: False`` (the same at tags 24.05, 24.07, 24.09 and at 95c77b59, the later "Enable cuDNN
FlashAtt only for 175B" edit of the same script). Confidence low-medium (the row's ``confidence`` cell says so): the
script sets ``virtual_pipeline_model_parallel_size=12`` where the table states VP 6, and NeMo 2.0's config of the
table's exact layout (``gpt3,175b,h100,fp8,128,...,vp 6,mbs 1,gbs 256``; scripts/performance/llm/
pretrain_gpt3_175b.py, ``userbuffers_fp8_h100_h12288_tp4_mbs1_seqlen2048``) runs the overlap, for a later
container. The 512-GPU twin (GBS 2048, MBS 2) has no launcher script: not touched.

Nemotron-340B, 128 H100 (GBS 32, MBS 1, TP8 PP8 VP12, FP8): ``act_recompute`` none. The launcher's only 340B conf,
24.07 ``conf/training/nemotron/nemotron_340b.yaml`` (another layout: TP8 PP12 VP8, GBS 2304), sets
``activations_checkpoint_granularity: selective``, which checkpoints the attention core only: with flash attention
there are no scores to drop, and what it re-runs is the attention kernel's forward (Megatron-Core core_r0.8.0
megatron/core/transformer/attention.py ``checkpoint_core_attention``), about 2 % of this layer's forward FLOPs at
sequence 4096, hidden 18432 (2 s h against ~20.3 h^2 per token), which the model prices as nothing
(model/training/step.py: the attention core is re-run only when unfused). So in the model's terms no recompute ran. NeMo 2.0's config of the table's exact layout
(``nemotron4,340b,h100,fp8,128,4096,tp 8,pp 8,cp 1,dp 2,ep 1,vp 12,mbs 1,gbs 32``, run by
scripts/performance/llm/pretrain_nemotron4_340b.py) agrees: no recompute (the recipe's default; the later CSV's
``recompute_layers`` column reads 0 for this model on H100). The same conf's ``ub_tp_comm_overlap: False`` is not
taken: its file is of another layout and NeMo 2.0's config of the table's layout runs the overlap (the rule above).
(The model's memory put this mapping at 1.11 of the H100's HBM, an over-count the row showed (s10-nemo2407)
until s10-dfa priced the conf's distributed_fused_adam dtypes (nemo2407_optimizer_dtypes.py): 0.77.)

Run: ``python data/validation/derive/nemo2407_stated_settings.py`` (re-runnable).
"""

from __future__ import annotations

from runs_table import read_runs, set_note, write_runs

#: run_id -> (columns to set, the derived note, regular expression of the note for re-runs)
SETTINGS: dict[str, tuple[dict[str, str], str, str]] = {
    "nemo2407_GPT3-175B_128gpu": (
        {"sp": "yes", "tp_comm_overlap": "no",
         "confidence": "low-medium (the throughput: official NVIDIA doc table, high; sp / tp_comm_overlap from the "
                       "launcher script 175b_fp8_16node.sh, whose VP 12 differs from the table's VP 6)"},
        "sp yes, tp_comm_overlap no: NeMo-Framework-Launcher 24.07 examples/training/gpt/h100/175b_fp8_16node.sh + "
        "launcher_scripts/conf/training/gpt3/175b.yaml (sequence_parallel: True, ub_tp_comm_overlap: False), "
        "data/validation/derive/nemo2407_stated_settings.py",
        r"sp yes, tp_comm_overlap no: NeMo-Framework-Launcher .*?nemo2407_stated_settings\.py"),
    "nemo2407_Nemotron-340B_128gpu": (
        {"act_recompute": "none (NeMo-Framework-Launcher 24.07 conf/training/nemotron/nemotron_340b.yaml, what ran: "
                          "attention-core checkpointing only, which with flash attention drops no scores; NeMo @81d94d1501 "
                          "scripts/performance/recommended_model_configs/model_configs_h100.csv nemotron4 340b h100 "
                          "fp8 128 GPUs TP8 PP8 VP12 MBS1 GBS32 + pretrain_nemotron4_340b.py, the table's exact "
                          "layout, agrees: no recompute)"},
        "act_recompute none: the launcher's nemotron_340b.yaml (what ran) and NeMo scripts/performance "
        "model_configs_h100.csv (the table's layout), data/validation/derive/nemo2407_stated_settings.py",
        r"act_recompute none: (?:NeMo scripts/performance|the launcher's) .*?nemo2407_stated_settings\.py"),
}


def main() -> None:
    header, rows = read_runs()
    for run_id, (columns, note, earlier) in SETTINGS.items():
        found = [row for row in rows if row["run_id"] == run_id]
        if len(found) != 1:
            raise SystemExit(f"training_runs.csv has {len(found)} rows with run_id {run_id}, expected 1")
        row = found[0]
        row.update(columns)
        row["derived"] = set_note(row["derived"], earlier, note)
        stated = ", ".join(f"{key} {value.split(' (')[0]}" for key, value in columns.items())
        print(f"{run_id}: {stated}")
    write_runs(header, rows)


if __name__ == "__main__":
    main()
