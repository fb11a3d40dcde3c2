"""Fill ``act_offload_layers`` / ``act_offload_source`` of data/validation/training_runs.csv: the
transformer layers whose activations Megatron-Core moves to host memory (``cpu_offloading_num_layers``;
TransformerEngine ``get_cpu_offload_context(num_layers=...)``) as NVIDIA's Megatron-Bridge performance
presets state them for the NeMo rows that ran them. Every other row is left empty (none stated: 0
offloaded layers; the presets of the other NeMo rows set no ``cpu_offloading_num_layers``), except the
``mbridge-forward`` rows, whose two columns data/validation/derive/mbridge_archive_rows.py writes from the preset
at each row's tag (left as they are here).

Sources (read in the github:NVIDIA-NeMo/Megatron-Bridge repository at the tag named per row):
``scripts/performance/configs/llama/llama3_workload_base_configs.py`` (v0.3.0), for the 25.09 rows
``scripts/performance/configs/{llama3,llama31}/*_llm_pretrain.yaml`` ``perf_matrix`` at v0.1.0rc3 (bf71eba07, the
commit docs/releases/software-versions.md @v0.3.0 pairs with NeMo 25.09; pinned_mirrors.py MBRIDGE_COMMITS; its
scripts/performance/utils/helpers.py ``set_recompute_overrides`` reads ``cpu_offloading_num_layers`` the same way).
The 25.09 405B row read 92 from v0.2.0 ``LLAMA31_405B_GB200_FP8_CS_BASE_CONFIG`` (the 25.11 preset) until s13-audit;
the 25.09 perf_matrix says 95. ``scripts/performance/utils/overrides.py`` ``_set_recompute_overrides`` turns the
preset value into ``cpu_offloading = True``, ``cpu_offloading_weights = False`` (activations only).

Run: ``python data/validation/derive/activation_offload.py`` (re-runnable; rewrites the two columns).
"""

from __future__ import annotations

from runs_table import fill_columns, read_runs, write_runs

_L3 = "Megatron-Bridge {tag} scripts/performance/configs/llama/llama3_workload_base_configs.py {name}: cpu_offloading_num_layers={n}"
_2509 = ("Megatron-Bridge v0.1.0rc3 (bf71eba07, NeMo 25.09) scripts/performance/configs/{path} perf_matrix "
         "{key}: cpu_offloading_num_layers={n} (layout of the 25.09 table: {layout})")

#: run_id -> (layers offloaded, source).
STATED: dict[str, tuple[int, str]] = {
    "mbridge_25.11_DGX-GB300_LLAMA3-70B_FP8-CS_64":
        (20, _L3.format(tag="v0.3.0", name="LLAMA3_70B_PRETRAIN_CONFIG_GB300_FP8_CS_V2", n=20)),
    "mbridge_25.11_DGX-GB200_LLAMA3-70B_FP8-CS_64":
        (40, _L3.format(tag="v0.3.0", name="LLAMA3_70B_PRETRAIN_CONFIG_GB200_FP8_CS_V2", n=40)),
    "mbridge_26.02_DGX-GB300_LLAMA3-70B_FP8_64":
        (20, _L3.format(tag="v0.3.0", name="LLAMA3_70B_PRETRAIN_CONFIG_GB300_FP8_CS_V2", n=20)),
    "mbridge_26.02_DGX-GB200_LLAMA3-70B_FP8_64":
        (40, _L3.format(tag="v0.3.0", name="LLAMA3_70B_PRETRAIN_CONFIG_GB200_FP8_CS_V2", n=40)),
    "mbridge_25.09_DGX-GB200_LLAMA3-70B_FP8_(per-tensor)_64":
        (40, _2509.format(path="llama3/llama3_70b_llm_pretrain.yaml", key="gb200.num_gpus_64.fp8_cs", n=40,
                          layout="MBS 2, FSDP, TP1 PP1, GBS 128 on 64 GPUs")),
    "mbridge_25.09_DGX-GB200_LLAMA3.1-405B_FP8_(per-tensor)_128":
        (95, _2509.format(path="llama31/llama31_405b_llm_pretrain.yaml", key="gb200.num_gpus_128.fp8_cs", n=95,
                          layout="FSDP, TP2 PP1 CP1, GBS 64 on 128 GPUs")),
}


def main() -> None:
    columns = ("act_offload_layers", "act_offload_source")
    header, rows = read_runs(columns)
    found = fill_columns(rows, columns, lambda row: (str(s[0]), s[1]) if (s := STATED.get(row["run_id"])) else None,
                         lambda row: row["source_group"] != "mbridge-forward")
    missing = sorted(set(STATED) - {row["run_id"] for row in rows})
    if missing:
        raise SystemExit(f"training_runs.csv has no row {missing}")
    write_runs(header, rows)
    print(f"act_offload_layers stated for {found} rows")


if __name__ == "__main__":
    main()
