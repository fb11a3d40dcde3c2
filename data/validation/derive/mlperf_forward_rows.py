"""The ``mlperf-forward`` group: MLPerf Training v5.0 results never fitted, a forward test (issue 10, s18-D).

Source: github.com/mlcommons/training_results_v5.0 at the commit pinned_mirrors.py ``COMMITS`` pins (@0fdc28f0).
Every constant of the model was fitted on the ``mlperf`` group (v3.1 .. v4.1, two NVIDIA v5.0 LoRA rows, the v5.1
llama31_8b rows) and the ``nemo`` / ``mpt`` / ``megatron`` / ``mcore-moe`` groups; the rows written here were read
by none of those fits (src/archsweep/validation/holdout.py ``FORWARD_TEST_GROUPS`` keeps them out of every fit set).

What it does, in order (each step idempotent, so the whole script is):

1. :data:`LORA_SYSTEMS`: ``llama2_70b_lora`` rows of every submission that runs NVIDIA's NeMo implementation or a
   copy of it, through mlperf_lora_rows.py ``--group mlperf-forward`` (base columns from the mllog files and system
   file). The two NVIDIA v5.0 LoRA rows already in ``mlperf`` (nyx_n1, tyche_ngpu8) are not repeated.
2. mlperf_llama31_405b_rows.py: every v5.0 ``llama31_405b`` result (NVIDIA eos-dfw H100 and tyche GB200,
   IBM+CoreWeave+NVIDIA carina GB200, Nebius H200; all NeMo), layout and recipe from the launch config of the
   implementation folder of the result's name, steady step from ``tracked_stats``.
3. The fill scripts of the ``mlperf`` rows, run on the v5.0 mirror in the order the ``mlperf`` rows took them (they fill llama2_70b_lora rows only)
   (mlperf_lora_layout.py, mlperf_stated_layouts.py, mlperf_lora_logged_layout.py, mlperf_layer_cuda_graphs.py,
   mlperf_steady_step.py, mlperf_fp8_act.py, mlperf_fp8_attention.py, mlperf_tp_overlap_flags.py): layout,
   recipe, CUDA graphs, FP8 flags, TP-overlap flags and the steady step from the same files and by the same rules.
   They also re-derive the two v5.0 ``mlperf`` rows, which they leave as they were (same inputs, same rules).
   Last, mlperf_grad_reduce.py (s19-P): ``grad_sync_dtype`` of the llama31_405b rows (and the v5.1 llama31_8b
   ``mlperf`` rows, which it leaves as they were) from the ``pretrain.py`` each ran. Then mlperf_nemo_stack.py (s20-G):
   "NVIDIA NeMo code" in ``framework`` where the implementation's Dockerfile clones NVIDIA/NeMo.

:data:`SKIPPED`: the v5.0 results not added, with the reason.

v5.1 (s19-I; github.com/mlcommons/training_results_v5.1 @441d65f4): the same three steps on the v5.1 mirror with
:data:`LORA_SYSTEMS_V51` and mlperf_llama31_405b_rows.py ``SYSTEMS_V51`` (the fill scripts then fill the v5.1 LoRA
rows; they touch no other row); :data:`SKIPPED_V51` (and mlperf_llama31_405b_rows.py ``SKIPPED_V51``) the results
not added. Usage: ``python data/validation/derive/mlperf_forward_rows.py <mirror dir of training_results_v5.0>``, then
the same with the v5.1 mirror (each run idempotent; the v5.1 rows are appended after the v5.0 ones).
"""

from __future__ import annotations

import sys

import mlperf_fp8_act
import mlperf_fp8_attention
import mlperf_grad_reduce
import mlperf_layer_cuda_graphs
import mlperf_llama31_405b_rows
import mlperf_lora_layout
import mlperf_lora_logged_layout
import mlperf_lora_rows
import mlperf_nemo_stack
import mlperf_stated_layouts
import mlperf_steady_step
import mlperf_tp_overlap_flags
from pinned_mirrors import open_mirror

GROUP = "mlperf-forward"

#: ``<submitter>/<system>`` of the v5.0 llama2_70b_lora results added (NeMo-based: NVIDIA's implementation or a
#: submitter's copy of it; H100 / H200 / H200 NVL / B200 / GB200).
LORA_SYSTEMS: tuple[str, ...] = (
    "ASUSTeK/ESC_N8_E11_n2",
    "Dell/16xXE9712x4GB200", "Dell/1xXE7745x4H200-NVL-141GB", "Dell/1xXE9680Lx8B200-SXM-180GB",
    "Dell/1xXE9680Lx8H200-SXM-141GB", "Dell/2xXE9680Lx8H200-SXM-141GB", "Dell/4xXE9712x4GB200",
    "Dell/8xXE9712x4GB200", "Dell/9xXE9712x4GB200", "Dell/XE7740x8H200-NVL-141GB", "Dell/XE9680x8H200-SXM-141GB",
    "GigaComputing/G893-SD1_pytorch",
    "HPE/HPE-Cray-XD670-H200-SXM5-141GB_n1_24.09", "HPE/HPE-Cray-XD670-H200-SXM5-141GB_n2_24.09",
    "HPE/HPE-Cray-XD670-H200-SXM5-141GB_n4_24.09",
    "Lambda/1cc_b200_n1_ngc25.04_nemo",
    "Lenovo/4xSR680Ax8H200-SXM-141GB", "Lenovo/SR780aV3-8xB200_SXM_180GB",
    "NVIDIA/tyche_ngpu72_ngc25.04_nemo", "NVIDIA/tyche_ngpu144_ngc25.04_nemo", "NVIDIA/tyche_ngpu512_ngc25.04_nemo",
    "Oracle/18xBM.GPU.GB200.4", "Oracle/1xBM.GPU.B200.8", "Oracle/1xBM.GPU.GB200.4", "Oracle/1xBM.GPU.H200.8",
    "Oracle/2xBM.GPU.GB200.4", "Oracle/64xBM.GPU.H200.8", "Oracle/8xBM.GPU.B200.8",
    "QCT/D74H-7U",
    "SCITIX/scitix_n8_ngc24.09_nemo",
    "Supermicro/ARS-121GL-NBO_18", "Supermicro/AS-4125GS-TNHR2-LCC", "Supermicro/AS-4126GS-NBR-LCC_N1",
    "Supermicro/AS-4126GS-NBR-LCC_N2", "Supermicro/AS-A126GS-TNBR", "Supermicro/AS-A126GS-TNBR_N1",
    "Supermicro/SYS-422GA-NBRT-LCC", "Supermicro/SYS-821GE-TNHR", "Supermicro/SYS-A21GE-NBRT",
)

#: ``<submitter>/<system>`` of the AMD Instinct llama2_70b_lora results added (s19-D): AMD's port of the NeMo
#: implementation (config_MI300X_1x8x1.sh / config_MI325X_1x8x1.sh, NeMo yaml under src/conf/; system file: PyTorch
#: 2.6.0, ROCm 6.4, TransformerEngine / Megatron-LM / flash-attn forks by commit; MangoBoost names it 'LLMBoost
#: 1.1.0'). The MI300X configs run a block recompute of 21 of the 80 layers (ACG=full ACM=block ACL=21: act_recompute
#: "full (block: 21 layers per pipeline stage; ...)", the job's recompute_method / recompute_num_layers); the MI325X
#: ones none (ACG unset).
AMD_SYSTEMS: tuple[str, ...] = (
    "AMD/MI300X_EPYC_9575F_pytorch", "AMD/MI325X_EPYC_9575F_pytorch", "Dell/1xXE9680x8MI300X",
    "MangoBoost/MI300X-LLMBoost-GPUBoost-1node", "MangoBoost/MI300X-LLMBoost-GPUBoost-2node",
    "MangoBoost/MI300X-LLMBoost-GPUBoost-4node", "Oracle/1xBM.GPU.MI300X.8", "QCT/D75T-7U",
    "Supermicro/8xMI325X_2xEPYC_9575F",
)

#: v5.0 results of the two benchmarks not added, and why.
SKIPPED: dict[str, str] = {
    "NVIDIA/nyx_n1_ngc25.04_nemo llama2_70b_lora": "in the mlperf group already (s7-rows): not duplicated",
    "NVIDIA/tyche_ngpu8_ngc25.04_nemo llama2_70b_lora": "in the mlperf group already (s7-rows): not duplicated",
    "GigaComputing/G893-ZX1-AAX2_pytorch llama2_70b_lora": ("AMD Instinct MI325X: GigaComputing ships no "
                                                            "implementation of it (its configs are B200 / GB200 ones)"),
}

#: ``<submitter>/<system>`` of the v5.1 llama2_70b_lora results added (s19-I; NeMo-based, FP8 or BF16 GEMMs, on
#: H100 / H200 / B200 / B300 / GB200 / GB300), through the same row and fill scripts as LORA_SYSTEMS.
LORA_SYSTEMS_V51: tuple[str, ...] = (
    "Cisco/1xC885A_M8-8xH200-SXM-141GB", "Cisco/2xC885A_M8-8xH200-SXM-141GB", "Cisco/hpf_n16", "Cisco/hpf_n8",
    "Dell/1xXE9680Lx8H200-SXM-141GB", "Dell/1xXE9680x8H200-SXM-141GB", "Dell/1xXE9685Lx8B200-SXM-180GB",
    "Dell/1xXE9780x8B200-SXM-180GB", "Dell/1xXE9780x8B300-SXM-270GB", "Dell/2xXE9680Lx8B200-SXM-180GB",
    "GigaComputing/G894-AD1_pytorch",
    "Krai/Cray-XD670-H200-SXM5-141GB_n2_v5.0", "Krai/Cray-XD670-H200-SXM5-141GB_n4_v5.0",
    "Krai/Cray-XD670-H200-SXM5-141GB_n8_v5.0",
    "Lambda/gb300_n18_ngc25.04_nemo",
    "Lenovo/SR680aV3-8xB200_SXM_180GB", "Lenovo/SR680aV4-8xB300_SXM", "Lenovo/SR780aV3-8xB200_SXM_180GB",
    "NVIDIA/theia_ngpu512_ngc25.09_nemo", "NVIDIA/theia_ngpu72_ngc25.09_nemo",
    "NVIDIA/tyche_ngpu512_ngc25.09_nemo", "NVIDIA/tyche_ngpu72_ngc25.09_nemo",
    "Quanta_Cloud_Technology/D74H-7U",
    "Supermicro/ARS-121GL-NB3", "Supermicro/AS-4126GS-NBR-LCC", "Supermicro/AS-8126GS-NB3RT", "Supermicro/AS-A126GS-TNBR",
    "Supermicro/SYS-422GS-NBRT-LCC", "Supermicro/SYS-822GS-NB3RT",
    "University-of-Florida/hpg.dgxb200x8.n1", "University-of-Florida/hpg.dgxb200x8.n2",
    "University-of-Florida/hpg.dgxb200x8.n4", "University-of-Florida/hpg.dgxb200x8.n8",
    "University-of-Florida/hpg.dgxb200x8.n16",
    "Wiwynn/1xKinabalux18x4GB200", "Wiwynn/8xKinabalux18x4GB200",
)
_NVFP4 = ("NVFP4 GEMMs (FP4=True, FP4_RECIPE=nvfp4, config_common_fp4.sh: a pre-quantized base model and an FP8 "
          "'healing' phase from HEALING_ITER on, HEALING_PRECISION=FP8_DS): a precision that changes within the run, "
          "which the precision column cannot state; not added (s19-I)")
_V51_AMD = "AMD Instinct part: not an NVIDIA NeMo-based submission of a catalog part with its layout read here (s19-I)"
#: v5.1 results of the two benchmarks not added, and why (the llama31_405b ones: mlperf_llama31_405b_rows.SKIPPED_V51).
SKIPPED_V51: dict[str, str] = {
    "NVIDIA/tyche_ngpu8_ngc25.09_nemo llama2_70b_lora": _NVFP4 + " (README: config_GB200_2x4x2xtp1pp1cp2_fp4.sh)",
    "NVIDIA/theia_ngpu8_ngc25.09_nemo llama2_70b_lora": _NVFP4 + " (README: config_GB300_2x4x1xtp1pp1cp1_fp4.sh)",
    "Dell/1xXE9680Lx8B200-SXM-180GB llama2_70b_lora": _NVFP4 + " (config_1xXE9680Lx8B200-SXM-180GB.sh sources it)",
    **{f"Nebius/{s} llama2_70b_lora": _NVFP4 + " (its logs print fp4: true and 'Healing starting')"
       for s in ("nebius_b200_n1", "nebius_b200_n2", "nebius_b300_n1")},
    "Nebius/nebius_b200_n4 llama2_70b_lora": _NVFP4 + " (its logs print fp4_recipe='nvfp4'; its folder's only config "
                                                      "config_DGXB200_4x8x1xtp1pp1cp4_fp4.sh)",
    "Dell/2xXE9685Lx8B200-SXM-180GB llama2_70b_lora": ("its result_*.txt blobs are absent from the stored mirror "
                                                      "(git cat-file: missing); not added"),
    **{f"{s} llama2_70b_lora": _V51_AMD for s in (
        "AMD/MI300X_EPYC_9575F_pytorch_llama2_70b", "AMD/MI325X_EPYC_9575F_pytorch_llama2_70b",
        "AMD/MI350X_EPYC_9575F_pytorch", "AMD/MI355X_EPYC_9575F_pytorch", "ASUSTeK/ESC_A8A_MI325X",
        "Cisco/1xC885A_M8-8xMI350X-OAM-288GB", "Dell/XE9785L_8xMI355X", "GigaComputing/G893-ZX1-AAX4_pytorch",
        "Krai/PowerEdge-XE9680-MI300X-192GB_n1_v5.0", "Krai/PowerEdge-XE9680-MI300X-192GB_n1_v5.1",
        "MangoBoost/AS-8126GS-TNMR", "MangoBoost/MI300X-LLMBoost-GPUBoost-1node",
        "MangoBoost/MI300X-LLMBoost-GPUBoost-2node", "MangoBoost/MI325X-LLMBoost-GPUBoost-1node",
        "MangoBoost/MI325X-LLMBoost-GPUBoost-2node", "MiTAC/8xMI325X_2xEPYC_9755", "Quanta_Cloud_Technology/D75T-7U",
        "Supermicro/8xMI355X_2xEPYC_9575F", "Supermicro/AS-8126GS-TNMR_8xMI325X")},
}

_FILLS = (mlperf_lora_layout, mlperf_stated_layouts, mlperf_lora_logged_layout, mlperf_layer_cuda_graphs,
          mlperf_steady_step, mlperf_fp8_act, mlperf_fp8_attention, mlperf_tp_overlap_flags, mlperf_grad_reduce,
          mlperf_nemo_stack)


def main(repo: str) -> None:
    mirror = open_mirror(repo)
    if mirror.version not in ("v5.0", "v5.1"):
        raise SystemExit(f"{repo}: a mirror of training_results_{mirror.version}; the rows of this script are v5.0's "
                         "and v5.1's")
    systems = list(LORA_SYSTEMS) + list(AMD_SYSTEMS) if mirror.version == "v5.0" else list(LORA_SYSTEMS_V51)
    mlperf_lora_rows.main(repo, systems, GROUP)
    mlperf_llama31_405b_rows.main(repo)
    for fill in _FILLS:
        fill.main([repo])


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: mlperf_forward_rows.py <mirror dir of training_results_v5.0 or _v5.1>")
    main(sys.argv[1])
