"""Whether the attention core of an MLPerf NeMo row ran in FP8 (``fp8_attention``, issue 10, s12-fp8dpa), read by
data/validation/derive/mlperf_fp8_attention.py from the launch config (``FP8_DPA``, ``FP8``, ``CP``), the NeMo
yaml key ``fp8_dot_product_attention`` and the implementation's ``TE_REVISION``: FP8 at CP 1 when both flags are
set; BF16 at CP > 1 on TransformerEngine v1.6 (its context-parallel path asserts the F16 backend)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from fake_mirror import FakeMirror
from measured_runs import runs_by_id

_V40 = "mlperf_train_v4.0_"
_LORA = "_llama2_70b_lora"


def test_values_and_provenance() -> None:
    rows = runs_by_id()
    assert {r["fp8_attention"] for r in rows.values()} <= {"", "yes", "no"}
    stated = [r for r in rows.values() if r["fp8_attention"]]
    # 26 + Oracle v5.1 llama31_8b (s23-G: its printed fp8_dot_product_attention under the NVFP4 autocast)
    assert sum(r["fp8_attention"] == "yes" for r in stated if r["source_group"] == "mlperf") == 27
    assert all(r["source_group"] in ("mlperf", "mlperf-forward") and "mlperf_fp8_attention.py" in r["derived"]
               for r in stated)
    # FP8 attention only under an FP8 recipe, on parts with FP8 attention kernels (Hopper, Blackwell; B300: the
    # v5.1 mlperf-forward rows, s19-I; GB300: the v5.1 CP 8 rows of TE's all-to-all CP, s23-G)
    assert {r["accelerator_canonical"] for r in stated if r["fp8_attention"] == "yes"} == {"H100-SXM", "H200", "B200",
                                                                                         "GB200", "B300", "GB300"}


def test_v4_0_tp4_cp2_rows_set_fp8_dpa_but_ran_bf16_attention() -> None:
    """FP8_DPA=1 in the configs of the v4.0 TP4 CP2 family, but TE v1.6 (v1.6rc2 = commit 090e724) runs
    context-parallel attention in BF16; their CP 1 twins ran FP8 attention."""
    rows = runs_by_id()
    cp2 = [f"{_V40}NVIDIA_eos_n8_ngc24.04_nemo{_LORA}", f"{_V40}NVIDIA_eos_n128_ngc24.04_nemo{_LORA}",
           f"{_V40}HPE_HPE-Cray-XD670-Gen11-H100-SXM5-80GB_n2_pytorch_24.04{_LORA}",
           f"{_V40}Supermicro_SYS-421GE-TNHR2-LCC-8{_LORA}"]
    cp1 = [f"{_V40}NVIDIA_eos_ngc24.04_nemo{_LORA}", f"{_V40}HPE_HPE-Cray-XD670-Gen11-H100-SXM5-80GB_n1_pytorch_24.04{_LORA}",
           f"{_V40}NVIDIA_h200_ngc24.04_nemo{_LORA}"]
    for k in cp2:
        assert (rows[k]["cp"], rows[k]["fp8_attention"]) == ("2", "no")
        assert "FP8_DPA=1" in rows[k]["derived"] and "TE v1.6 runs context-parallel attention in BF16" in rows[k]["derived"]
    for k in cp1:
        assert (rows[k]["cp"], rows[k]["fp8_attention"]) == ("1", "yes")
    assert "TE_REVISION v1.6rc2" in rows[cp1[0]]["derived"]
    # s22-R: the HPE v4.0 n1 result files print the config (fp8 true, fp8_dot_product_attention 1, CP 1): it decides
    assert "fp8_attention yes from the NeMo config printed in" in rows[cp1[1]]["derived"]


def test_v4_1_cp2_rows_unset_it_and_unknown_revisions_stay_empty() -> None:
    rows = runs_by_id()
    for k in ("mlperf_train_v4.1_NVIDIA_eos_n8_ngc24.09_nemo_llama2_70b_lora",
              "mlperf_train_v4.1_Oracle_64xBM.GPU.H100.8_llama2_70b_lora"):
        # s22-R: Oracle's result files print ``fp8_dot_product_attention: 0``, which decides (NVIDIA's print none)
        assert rows[k]["fp8_attention"] == "no" and ("FP8_DPA=0" in rows[k]["derived"]
                                                     or "fp8_dot_product_attention 0, context_parallel_size 2" in rows[k]["derived"])
    b200 = rows["mlperf_train_v4.1_NVIDIA_b200_preview_nemo_llama2_70b_lora"]  # CP 2, FP8_DPA=1, no Dockerfile
    assert b200["fp8_attention"] == "" and "not established for this revision" in b200["derived"]
    assert rows["mlperf_train_v4.0_NVIDIA_eos_n64_ngc24.04_nemo_gpt3"]["fp8_attention"] == "no"  # no yaml key


def test_rows_without_a_launch_config_read_the_printed_config(derive_script: Callable[[str], ModuleType]) -> None:
    dump = "0: model:\n0:   context_parallel_size: 1\n0:   fp8: true\n0:   fp8_dot_product_attention: 1\n" \
           "0:   fp8: false\n"
    folder = "S/results/sys/llama2_70b_lora"
    logged = derive_script("mlperf_fp8_attention").logged_fp8_attention
    value, where = logged(FakeMirror({f"{folder}/result_0.txt": dump}), folder)  # the first printed value counts
    assert value == "yes" and "fp8 true, fp8_dot_product_attention 1, context_parallel_size 1" in where
    assert logged(FakeMirror({f"{folder}/result_0.txt": dump.replace("size: 1", "size: 2")}), folder) is None
    off = dump.replace("size: 1", "size: 2").replace("attention: 1", "attention: 0")  # off at any CP
    assert logged(FakeMirror({f"{folder}/result_0.txt": off}), folder)[0] == "no"
    # NeMo 2's MCore config prints Megatron-Core's fp8 format, not a boolean: 'hybrid' is FP8 on, None off (s23-N)
    mcore = "0: MCore config:\n0: Llama2Config70B(context_parallel_size=1,\n0:                 fp8='hybrid',\n" \
            "0:                 fp8_dot_product_attention=1,\n"
    assert logged(FakeMirror({f"{folder}/result_0.txt": mcore}), folder)[0] == "yes"
    assert logged(FakeMirror({f"{folder}/result_0.txt": mcore.replace("'hybrid'", "None")}), folder)[0] == "no"
    rows = runs_by_id()
    for k in ("mlperf_train_v4.0_Red_Hat_AS-8125GS-TNHR-RHEL9.4_llama2_70b_lora",
              "mlperf_train_v4.1_Fujitsu_GX2560M7_H100_SXM_80GBx4_llama2_70b_lora"):
        assert rows[k]["fp8_attention"] == "yes" and "printed in" in rows[k]["derived"]




def _impl(cp: int, dpa: str, te: str, comm: str = "") -> FakeMirror:
    impl = "X/benchmarks/llama2_70b_lora/implementations/nemo"
    return FakeMirror({f"{impl}/configs/config_A.sh": f"export FP8=True\nexport FP8_DPA={dpa}\nexport CP={cp}\n{comm}",
                    f"{impl}/conf/megatron_gpt_peft_tuning_config.yaml":
                        "model:\n  fp8_dot_product_attention: ${oc.decode:${oc.env:FP8_DPA,0}}\n"
                        "  cp_comm_type: ${oc.decode:${oc.env:CP_COMM_TYPE,'a2a'}}\n",
                    f"{impl}/Dockerfile": f"ARG FROM_IMAGE_NAME=nvcr.io/nvidia/pytorch:24.04-py3\nARG TE_REVISION={te}\n"})


def test_the_rule_on_cp_flag_and_revision(derive_script: Callable[[str], ModuleType]) -> None:
    rule = derive_script("mlperf_fp8_attention").fp8_attention
    config = "X/benchmarks/llama2_70b_lora/implementations/nemo/configs/config_A.sh"
    assert rule(_impl(1, "1", "v1.6rc2"), config)[0] == "yes"
    assert rule(_impl(1, "0", "v1.6rc2"), config)[0] == "no"
    assert rule(_impl(2, "1", "v1.6rc2"), config)[0] == "no"
    assert rule(_impl(2, "1", "SKIP"), config)[0] == ""  # a later revision: not established
    assert "SKIP (nvcr.io/nvidia/pytorch:24.04-py3)" in rule(_impl(2, "1", "SKIP"), config)[1]


def test_fp8_attention_under_all_to_all_cp_on_the_revisions_read(derive_script: Callable[[str], ModuleType]) -> None:
    """s23-G: TransformerEngine release_v2.8 (and 3f5b475) hands ``fp8`` to ``AttnFuncWithCPAndQKVOA2A``, which runs
    the fused attention's FP8 backend; the NeMo 2 yamls default ``cp_comm_type`` to a2a."""
    script = derive_script("mlperf_fp8_attention")
    config = "X/benchmarks/llama2_70b_lora/implementations/nemo/configs/config_A.sh"
    value, where = script.fp8_attention(_impl(8, "1", "release_v2.8"), config)
    assert value == "yes" and "cp_comm_type a2a: its all-to-all CP runs FP8 attention" in where
    assert script.fp8_attention(_impl(8, "1", "3f5b47549567d13db76470073c8f0467c23d4fca"), config)[0] == "yes"
    assert script.fp8_attention(_impl(8, "1", "release_v2.8", "export CP_COMM_TYPE=p2p\n"), config)[0] == ""  # ring: not read
    assert script.fp8_attention(_impl(8, "1", "SKIP"), config)[0] == ""  # a container's TE: not published
    assert script.fp8_attention(_impl(8, "0", "release_v2.8"), config)[0] == "no"
    assert script.cp_comm_type(_impl(8, "1", "SKIP"), config) == "a2a"
    rows = runs_by_id()
    a2a = [r for r in rows.values() if "its all-to-all CP runs FP8 attention" in r["derived"]]
    assert len(a2a) == 9 and all(r["fp8_attention"] == "yes" and r["cp"] in ("4", "8") for r in a2a)
    for k in ("Wiwynn_1xKinabalux18x4GB200", "Wiwynn_8xKinabalux18x4GB200"):  # nvcr.io/nvidia/pytorch:25.04's TE
        assert rows[f"mlperf_train_v5.1_{k}{_LORA}"]["fp8_attention"] == ""
