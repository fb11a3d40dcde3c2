"""The column registry: which result columns exist and in which unit each one is.

A column's unit follows from its name (``_bytes_per_s`` bandwidth, ``_bytes`` bytes, ``_w``
power, ``_s`` time, ``_hz`` frequency, ``_mm2`` area in mm2, ``_usd`` cost, ``_j`` energy), or,
for a hardware parameter, from :data:`archsweep.spec.hardware.HARDWARE_PARAMETERS`.
"""

from __future__ import annotations

from archsweep.spec.hardware import HARDWARE_PARAMETERS, PARAMETER_BY_NAME

__all__ = ["SCENARIO_COLUMN", "OUTPUT_COLUMNS", "DESIGN_COLUMNS", "MAPPING_OBJECTIVES", "MAPPING_COLUMNS", "column_dimension"]

#: Column naming the roadmap scenario of a candidate row (space shards, evaluations, pareto) in a
#: study with ``scenarios``; absent otherwise.
SCENARIO_COLUMN = "scenario"

_MODEL_OUTPUTS: tuple[str, ...] = (
    "step_time_s", "tokens_per_s", "mfu", "hfu", "memory_per_accelerator_bytes", "power_w",
    "energy_per_token_j", "die_area_mm2", "tdp_w", "clock_hz", "accelerator_cost_usd",
    "system_capex_usd", "tco_usd_per_year", "usd_per_million_tokens", "goodput",
    "time_to_train_s", "carbon_kg_co2e", "tokens_per_s_per_w", "package_area_mm2", "area_total_silicon_mm2",
    "system_power_w", "power_busiest_w", "power_busy_w",
)
#: Outputs of a serving workload (archsweep.model.inference.batch): throughput at the SLO, latency, cost.
_SERVING_OUTPUTS: tuple[str, ...] = (
    "tokens_per_s_per_accelerator", "output_tokens_per_s", "output_tokens_per_s_per_accelerator",
    "tokens_per_s_per_user", "requests_per_s", "ttft_s", "tpot_s", "e2e_latency_s", "concurrency",
    "kv_capacity_sequences", "prefill_time_s", "kv_transfer_s", "violation_ttft", "violation_tpot",
    "prefill_accelerators", "decode_accelerators",
)
#: Outputs that depend on the hardware design alone (area, yield, price: no workload, no mapping, no clock), in the
#: order :func:`archsweep.model.design.design_columns` returns them; a search may know them exactly before it
#: evaluates a point (``surrogate_exact_design``).
DESIGN_COLUMNS: tuple[str, ...] = (
    "die_area_mm2", "dies_per_package", "yield", "accelerator_cost_usd", "system_capex_usd", "violation_reticle",
    "area_compute_mm2", "area_sram_mm2", "area_hbm_phy_mm2", "area_io_phy_mm2", "area_noc_uncore_mm2",
    "area_d2d_mm2", "area_total_silicon_mm2", "package_area_mm2",
)
_DERIVED_HARDWARE: tuple[str, ...] = ("hbm_bw_bytes_per_s", "hbm_capacity_bytes", "peak_matrix_flops_bf16")

#: Every column an objective or a constraint may name: model outputs, every hardware
#: parameter, and derived hardware quantities (no duplicates, stable order).
OUTPUT_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(
    (*_MODEL_OUTPUTS, *_SERVING_OUTPUTS, *(p.name for p in HARDWARE_PARAMETERS), *_DERIVED_HARDWARE)
))

#: Columns the per-candidate mapping search may minimise (``mapping.objective``).
MAPPING_OBJECTIVES: tuple[str, ...] = (
    "step_time_s", "energy_per_token_j", "usd_per_million_tokens", "memory_per_accelerator_bytes",
)

# Unit suffix of an output column -> dimension of parse_quantity; longest suffix first.
_SUFFIX_DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("_bytes_per_s", "bandwidth"), ("_bytes", "bytes"), ("_hz", "frequency"), ("_mm2", "area"),
    ("_usd", "cost"), ("_w", "power"), ("_j", "energy"), ("_s", "time"),
)


def column_dimension(column: str) -> str:
    """Unit dimension of an output column, from the hardware list or its name's suffix.

    ``_bytes_per_s`` bandwidth, ``_bytes`` bytes, ``_w`` power, ``_s`` time, ``_hz``
    frequency, ``_mm2`` area (in mm2), ``_usd`` cost, ``_j`` energy; a rate ending in
    ``_per_<x>`` (``tokens_per_s``, ``tokens_per_s_per_w``) or anything else is dimensionless.
    """
    if column in PARAMETER_BY_NAME and PARAMETER_BY_NAME[column].kind != "choice":
        return PARAMETER_BY_NAME[column].dimension
    if column.endswith("_bytes_per_s"):
        return "bandwidth"
    head, sep, tail = column.rpartition("_per_")
    if sep and "_" not in tail:
        return "dimensionless"
    for suffix, dimension in _SUFFIX_DIMENSIONS:
        if column.endswith(suffix):
            return dimension
    return "dimensionless"


#: Columns of a training mapping in the results (the chosen parallelism and its flags).
MAPPING_COLUMNS: tuple[str, ...] = ("tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch", "recompute",
                                    "zero_stage", "sequence_parallel", "flash_attention", "tp_overlap",
                                    "dp_overlap")
