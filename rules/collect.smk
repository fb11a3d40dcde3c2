# Ingest every evaluated shard (and the search exports) into results/<study>/archsweep.duckdb,
# applying the study's constraints. Local: DuckDB allows one writing process per database file.
rule collect:
    input:
        study=STUDY_FILE,
        evaluations=expand(rules.evaluate.output.shard, shard=SHARD_IDS),
        search=get_search_exports,
    output:
        db=f"{RESULTS}/archsweep.duckdb",
    log:
        f"{LOGS}/collect.log",
    benchmark:
        f"{BENCHMARKS}/collect.tsv"
    localrule: True
    conda:
        "../envs/archsweep.yaml"
    shell:
        "python -m archsweep.workflow collect --study {input.study:q} --db {output.db:q}"
        " --evaluations {input.evaluations:q} --search {input.search:q} > {log:q} 2>&1"
