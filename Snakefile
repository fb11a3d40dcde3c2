# archsweep: design-space exploration of AI accelerators and clusters.
#
#   study YAML -> space shards -> evaluate (one job per shard) -> DuckDB -> Pareto -> report
#
# Run with:  archsweep run spaces/default.yaml
#      or:   snakemake --cores all --configfile spaces/default.yaml --profile profiles/default
# The study file IS the config; executor settings live in profiles/, never in the study.


# ---- configuration, validation, targets and input functions ---------------------------
include: "rules/common.smk"


# ---- target ----------------------------------------------------------------------------
rule all:
    input:
        get_final_targets(),
    localrule: True


# ---- stages, in pipeline order ---------------------------------------------------------
include: "rules/space.smk"
include: "rules/evaluate.smk"
include: "rules/search.smk"
include: "rules/collect.smk"
include: "rules/pareto.smk"
include: "rules/report.smk"
