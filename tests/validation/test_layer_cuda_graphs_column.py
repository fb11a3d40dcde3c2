"""The MLPerf NeMo rows state whether every transformer layer ran under a per-layer CUDA graph
(``layer_cuda_graphs``, data/validation/derive/mlperf_layer_cuda_graphs.py; issue 10, s6-graphs).

The statement is read from the submitters' launch configs (``LAYER_CUDA_GRAPH``) and the
implementation's NeMo yaml (``enable_cuda_graph`` / ``external_cuda_graph``), with the path in
``derived``; the checks below pin what those files say for the rows the model predicts too fast.
"""

from __future__ import annotations

from measured_runs import runs_by_id


def test_values_are_yes_no_or_unstated_and_carry_their_config() -> None:
    rows = runs_by_id()
    assert {r["layer_cuda_graphs"] for r in rows.values()} <= {"", "yes", "no"}
    stated = [r for r in rows.values() if r["layer_cuda_graphs"]]
    assert len([r for r in stated if r["source_group"] == "mlperf"]) >= 45
    assert {r["source_group"] for r in stated} == {"mlperf", "mlperf-forward"}  # mlperf-forward: s18-D
    # from the launch config's yaml, or from the NeMo config a result file prints (rows with no launch config), or
    # (the v5.0 llama31_405b rows) from the launch config and yaml their row script reads
    assert all("mlperf_layer_cuda_graphs.py" in r["derived"] or "mlperf_lora_logged_layout.py" in r["derived"]
               or "mlperf_llama31_405b_rows.py" in r["derived"] for r in stated)


def test_every_v4_0_nemo_lora_row_ran_eager() -> None:
    """No v4.0 llama2_70b_lora implementation has a CUDA-graph key in its NeMo yaml."""
    lora = [r for k, r in runs_by_id().items() if k.startswith("mlperf_train_v4.0_") and k.endswith("llama2_70b_lora")
            and r["layer_cuda_graphs"]]
    assert len(lora) >= 12
    assert {r["layer_cuda_graphs"] for r in lora} == {"no"}
    assert "no enable_cuda_graph key" in runs_by_id()["mlperf_train_v4.0_NVIDIA_eos_n8_ngc24.04_nemo_llama2_70b_lora"]["derived"]


def test_v4_1_multi_node_cp2_rows_ran_graphed_single_node_cp1_rows_eager() -> None:
    rows = runs_by_id()
    graphed = ["mlperf_train_v4.1_NVIDIA_eos_n8_ngc24.09_nemo_llama2_70b_lora",
               "mlperf_train_v4.1_NVIDIA_eos_n128_ngc24.09_nemo_llama2_70b_lora",
               "mlperf_train_v4.1_Azure_ND_H200_v5_n64_nemo_llama2_70b_lora",
               "mlperf_train_v4.1_NVIDIA_b200_preview_nemo_llama2_70b_lora",
               "mlperf_train_v4.1_Oracle_64xBM.GPU.H100.8_llama2_70b_lora"]
    eager = ["mlperf_train_v4.1_NVIDIA_eos_ngc24.09_nemo_llama2_70b_lora",
             "mlperf_train_v4.1_NVIDIA_h200_ngc24.09_nemo_llama2_70b_lora",
             "mlperf_train_v4.1_Dell_XE9680x8H100-SXM-80GB_llama2_70b_lora"]
    assert [rows[k]["layer_cuda_graphs"] for k in graphed] == ["yes"] * len(graphed)
    assert [rows[k]["layer_cuda_graphs"] for k in eager] == ["no"] * len(eager)
    assert "LAYER_CUDA_GRAPH=1" in rows[graphed[0]]["derived"]


def test_rows_without_a_shipped_nemo_yaml_read_the_nvidia_yaml_of_their_config() -> None:
    """Lenovo v4.1 ships only launch configs and ``run.sub`` (it runs NVIDIA's container): its rows read the
    yaml of the NVIDIA implementation that ships the same config (h200_ngc24.09_nemo), with Lenovo's own
    environment: ``LAYER_CUDA_GRAPH`` unset (eager) and ``FP8_ACTIVATION=True`` (s8-mlperf; before, only
    fp8_params / optimizer had that fallback, so these two columns were empty); since s22-R ``fp8_act`` is read
    from the config their result files print (the same value)."""
    rows = runs_by_id()
    lenovo = [r for k, r in rows.items() if "_Lenovo_" in k and k.endswith("llama2_70b_lora") and r["source_group"] == "mlperf"]
    assert len(lenovo) == 3
    for r in lenovo:
        assert (r["layer_cuda_graphs"], r["fp8_act"]) == ("no", "yes")
        assert "h200_ngc24.09_nemo/conf/megatron_gpt_peft_tuning_config.yaml (enable_cuda_graph" in r["derived"]
        # s22-R: their result files print the config, ``activation_func_fp8_input_store: true``, which decides
        assert "fp8_act yes from the config printed in" in r["derived"]
    nvidia = rows["mlperf_train_v4.1_NVIDIA_h200_ngc24.09_nemo_llama2_70b_lora"]
    assert (nvidia["layer_cuda_graphs"], nvidia["fp8_act"]) == ("no", "yes")
