# Evaluate one shard on every workload: results/<study>/evaluate/<k>.parquet (one job per shard).
rule evaluate:
    input:
        study=STUDY_FILE,
        shard=f"{RESULTS}/space/{{shard}}.parquet",
    output:
        shard=f"{RESULTS}/evaluate/{{shard}}.parquet",
    log:
        f"{LOGS}/evaluate/{{shard}}.log",
    run:
        stages.evaluate(input.study, input.shard, output.shard, log=log[0])
