"""State the Apex ``distributed_fused_adam`` dtypes of the NeMo 24.07 rows of data/validation/training_runs.csv
whose launcher conf or example script was read (columns ``optim_dtype``, ``grad_sync_dtype``).

Read at github:NVIDIA/NeMo-Framework-Launcher tag 24.07 (8325688d, not copied):
* SFT 7B / 13B / 70B (``examples/peft/llama/h100/{7b_1node,13b_1node,70b_2node}.sh``, ``peft=llama/sft``; none
  overrides ``optim``): ``launcher_scripts/conf/peft/llama/sft.yaml`` L249-262 ``name: distributed_fused_adam``,
  ``bucket_cap_mb: 50``, ``dtype: bf16``, ``grad_sync_dtype: bf16``, ``contiguous_grad_buffer: True``. The LoRA
  scripts (``*_lora.sh``) switch to ``fused_adam`` and drop these keys: not set.
* Nemotron-340B: ``launcher_scripts/conf/training/nemotron/nemotron_340b.yaml`` L158-165 ``name:
  distributed_fused_adam``, ``bucket_cap_mb: 50``, ``grad_sync_dtype: bf16``, ``dtype: bf16``. Confidence medium:
  that conf's layout (TP8 PP12 VP8, GBS 2304) is not the row's (TP8 PP8 VP12, GBS 32, from NeMo 2.0's performance
  CSV, nemo2407_stated_settings.py); it is the only 24.07 source of the model's optimizer.
* GPT-3 175B, 128 GPUs: ``examples/training/gpt/h100/175b_fp8_16node.sh`` ``+training.model.optim.grad_sync_dtype=bf16``
  over ``conf/training/gpt3/175b.yaml`` (``distributed_fused_adam``, no ``dtype``: NeMo's default FP32,
  NVIDIA/NeMo r2.0.0rc1 megatron_base_model.py ``setup_optimization`` ``get_config_arg('dtype', torch.float32)``).
* GPT-3 5B, LLAMA2-7B, LLAMA2-70B, LLAMA3-8B, LLAMA3-70B (s11-nemo2407): the launcher's example scripts of the
  table's layout (nodes, GBS; the confs' MBS / TP / PP / CP) ``examples/training/gpt/h100/5b_fp8_8node.sh`` (8 nodes,
  GBS 2048, MBS 4, TP1 PP1), ``examples/training/llama/h100/llama2_7b_fp8.sh`` (1 node, GBS 128),
  ``llama2_70b_fp8.sh`` (8 nodes, GBS 128), ``llama3_8b_fp8.sh`` (1 node, GBS 128), ``llama3_70b_fp8.sh`` (8 nodes,
  GBS 128; its conf ``llama/llama3_70b.yaml`` sets VP 10, the table VP 5) each add
  ``+training.model.optim.grad_sync_dtype=bf16`` over a ``distributed_fused_adam`` conf with no ``dtype`` (NeMo's
  default FP32, as for the 175B row). The same rule as nemo2407_stated_settings.py (a setting is taken from the
  launcher's file of the table's layout).
The other 24.07 pre-training rows (GPT3-20B, LLAMA2-13B, Nemotron-8B / 22B) have no script of the table's layout
(20b_fp8_8node.sh: GBS 2048, the table 256; llama2_13b_fp8.sh: 1 node, the table 16 GPUs; nemotron_{8b,22b}_fp8.sh:
1 / 2 nodes, GBS 32): not set (the stack's optimizer).

Run: ``python data/validation/derive/nemo2407_optimizer_dtypes.py`` (re-runnable).
"""

from __future__ import annotations

from runs_table import read_runs, set_note, write_runs

COLUMNS = ("optim_dtype", "grad_sync_dtype")
_SFT = "NeMo-Framework-Launcher 24.07 conf/peft/llama/sft.yaml optim (dtype bf16, grad_sync_dtype bf16)"
#: run_id -> (optim_dtype, grad_sync_dtype, where it is stated)
DTYPES: dict[str, tuple[str, str, str]] = {
    "nemo2407_LLAMA2-7B_SFT_8gpu": ("bf16", "bf16", _SFT),
    "nemo2407_LLAMA2-13B_SFT_8gpu": ("bf16", "bf16", _SFT),
    "nemo2407_LLAMA2-70B_SFT_16gpu": ("bf16", "bf16", _SFT),
    "nemo2407_Nemotron-340B_128gpu": ("bf16", "bf16", "NeMo-Framework-Launcher 24.07 conf/training/nemotron/"
                                      "nemotron_340b.yaml optim (dtype bf16, grad_sync_dtype bf16)"),
    "nemo2407_GPT3-175B_128gpu": ("fp32", "bf16", "NeMo-Framework-Launcher 24.07 examples/training/gpt/h100/"
                                  "175b_fp8_16node.sh grad_sync_dtype=bf16, conf/training/gpt3/175b.yaml (dtype: "
                                  "NeMo's default fp32)"),
}
#: pre-training rows whose launcher example script (of the table's layout) adds grad_sync_dtype=bf16 over the conf
_BF16_GRAD_SCRIPTS: dict[str, tuple[str, str]] = {
    "nemo2407_GPT3-5B_64gpu": ("gpt/h100/5b_fp8_8node.sh", "gpt3/5b.yaml"),
    "nemo2407_LLAMA2-7B_8gpu": ("llama/h100/llama2_7b_fp8.sh", "llama/llama2_7b.yaml"),
    "nemo2407_LLAMA2-70B_64gpu": ("llama/h100/llama2_70b_fp8.sh", "llama/llama2_70b.yaml"),
    "nemo2407_LLAMA3-8B_8gpu": ("llama/h100/llama3_8b_fp8.sh", "llama/llama3_8b.yaml"),
    "nemo2407_LLAMA3-70B_64gpu": ("llama/h100/llama3_70b_fp8.sh", "llama/llama3_70b.yaml (VP 10; the table VP 5)"),
}
DTYPES.update({run_id: ("fp32", "bf16", f"NeMo-Framework-Launcher 24.07 examples/training/{script} "
                        f"grad_sync_dtype=bf16, conf/training/{conf} (dtype: NeMo's default fp32)")
               for run_id, (script, conf) in _BF16_GRAD_SCRIPTS.items()})
_EARLIER = r"distributed_fused_adam dtypes: .*?nemo2407_optimizer_dtypes\.py"


def main() -> None:
    header, rows = read_runs(COLUMNS)
    for run_id, (state, grad, where) in DTYPES.items():
        found = [row for row in rows if row["run_id"] == run_id]
        if len(found) != 1:
            raise SystemExit(f"training_runs.csv has {len(found)} rows with run_id {run_id}, expected 1")
        row = found[0]
        row.update({"optim_dtype": state, "grad_sync_dtype": grad})
        note = f"distributed_fused_adam dtypes: {where}, data/validation/derive/nemo2407_optimizer_dtypes.py"
        row["derived"] = set_note(row["derived"], _EARLIER, note)
        print(f"{run_id}: optim_dtype {state}, grad_sync_dtype {grad}")
    write_runs(header, rows)


if __name__ == "__main__":
    main()
