# Ingest every evaluated shard (and the search exports) into results/<study>/archsweep.duckdb.
# Local: DuckDB allows one writing process per database file.
rule collect:
    input:
        study=STUDY_FILE,
        evaluations=expand(rules.evaluate.output.shard, shard=SHARD_IDS),
        search=get_search_exports,
    output:
        db=f"{RESULTS}/archsweep.duckdb",
    log:
        f"{LOGS}/collect.log",
    localrule: True
    run:
        stages.collect(input.study, input.evaluations, output.db, search=input.search, log=log[0])
