# Expand the study's hardware space into shards: results/<study>/space/<k>.parquet.
rule space:
    input:
        study=STUDY_FILE,
    output:
        shards=[f"{RESULTS}/space/{k}.parquet" for k in SHARD_IDS],
    log:
        f"{LOGS}/space.log",
    run:
        stages.space(input.study, output.shards, log=log[0])
