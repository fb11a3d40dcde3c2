"""The TP overlap settings of the MLPerf NeMo rows (issue 10, s16-mlperflora): ``tp_overlap_disable_qkv`` and
``tp_overlap_rs_dgrad``, read by data/validation/derive/mlperf_tp_overlap_flags.py from each implementation's
``conf/megatron_gpt_*.yaml`` (``tp_comm_(overlap_)disable_qkv``, ``tp_comm_overlap_rs_dgrad``) and the launch
config's ``MC_TP_DISABLE_QKV`` / ``MC_TP_OVERLAP_RS_DGRAD``, and read by validation as the job's options."""

from __future__ import annotations

from measured_runs import runs_by_id

from archsweep.validation.cells import stated_job_options

_LORA = "_llama2_70b_lora"


def _row(key: str) -> dict[str, str]:
    return runs_by_id()[f"mlperf_train_{key}{_LORA}"]


def test_values_and_provenance() -> None:
    rows = runs_by_id()
    for column in ("tp_overlap_disable_qkv", "tp_overlap_rs_dgrad"):
        stated = [r for r in rows.values() if r[column]]
        assert {r[column] for r in rows.values()} <= {"", "yes", "no"}
        assert all(r["source_group"] in ("mlperf", "mlperf-forward") and "mlperf_tp_overlap_flags.py" in r["derived"]
                   for r in stated)
    lora = [r for r in rows.values() if r["run_id"].endswith(_LORA) and r["source_group"] == "mlperf"]
    # s22-R: Fujitsu v4.1 (no launch config) takes both from the config its result files print: 32 -> 33, 13 -> 14
    assert sum(r["tp_overlap_disable_qkv"] == "yes" for r in lora) == 33
    assert sum(r["tp_overlap_disable_qkv"] == "no" for r in lora) == 13
    assert sum(r["tp_overlap_rs_dgrad"] == "yes" for r in lora) == 14


def test_nvidia_disables_the_qkv_overlap_and_the_v4_0_copies_without_the_key_do_not() -> None:
    """NVIDIA's v4.0 yaml: ``tp_comm_disable_qkv: ${oc.decode:${oc.env:MC_TP_DISABLE_QKV,True}}``; the nine v4.0
    copies of other submitters have no such key (Megatron-Core core_v0.7.0.beta default false)."""
    for key in ("v4.0_NVIDIA_eos_n8_ngc24.04_nemo", "v4.0_NVIDIA_eos_ngc24.04_nemo", "v4.1_NVIDIA_eos_n8_ngc24.09_nemo",
                "v4.1_Azure_ND_H200_v5_n64_nemo", "v4.1_GigaComputing_G593-ZD1_pytorch"):
        assert _row(key)["tp_overlap_disable_qkv"] == "yes", key
    for key in ("v4.0_HPE_HPE-Cray-XD670-Gen11-H100-SXM5-80GB_n2_pytorch_24.04", "v4.0_Supermicro_SYS-421GE-TNHR2-LCC-8",
                "v4.0_Oracle_1xBM.GPU.H100.8", "v4.0_Quanta_Cloud_Technology_D74H-7U"):
        row = _row(key)
        assert row["tp_overlap_disable_qkv"] == "no" and "no tp_comm_(overlap_)disable_qkv key" in row["derived"], key
    # no launch config named, but no Dell v4.1 shell file sets MC_TP_DISABLE_QKV: the yaml default
    dell = _row("v4.1_Dell_2xXE9680x8H100-SXM-80GB")
    assert dell["tp_overlap_disable_qkv"] == "yes" and dell["tp_overlap_rs_dgrad"] == ""
    assert "no launch config named" in dell["derived"]


def test_v4_1_common_config_pipelines_the_dgrad_reduce_scatter_and_cp2_configs_do_not() -> None:
    for key in ("v4.1_NVIDIA_eos_ngc24.09_nemo", "v4.1_Supermicro_AS-8125GS-TNHR-1", "v4.1_NVIDIA_h200_ngc24.09_nemo"):
        assert _row(key)["tp_overlap_rs_dgrad"] == "yes", key
    for key in ("v4.1_NVIDIA_eos_n8_ngc24.09_nemo", "v4.1_Oracle_64xBM.GPU.H100.8", "v4.0_NVIDIA_eos_ngc24.04_nemo",
                "v4.1_Dell_XE9640x4H100-SXM-80GB"):
        assert _row(key)["tp_overlap_rs_dgrad"] == "no", key


def test_validation_reads_them_as_job_options() -> None:
    stated = stated_job_options(_row("v4.1_NVIDIA_eos_ngc24.09_nemo"))
    assert stated["tp_overlap_disable_qkv"] is True and stated["tp_overlap_rs_dgrad"] is True
    stated = stated_job_options(_row("v4.0_HPE_HPE-Cray-XD670-Gen11-H100-SXM5-80GB_n2_pytorch_24.04"))
    assert stated["tp_overlap_disable_qkv"] is False and stated["tp_overlap_rs_dgrad"] is False
