# Expand the study's hardware space into shards: results/<study>/space/<k>.parquet.
# Reruns when what it reads changes (params.fingerprint), not on the study file's mtime.
rule space:
    input:
        study=ancient(STUDY_FILE),
    output:
        shards=[f"{RESULTS}/space/{k}.parquet" for k in SHARD_IDS],
    log:
        f"{LOGS}/space.log",
    benchmark:
        f"{BENCHMARKS}/space.tsv"
    conda:
        "../envs/archsweep.yaml"
    params:
        fingerprint=SPACE_FINGERPRINT,
    shell:
        "python -m archsweep.workflow space --study {input.study:q} --shards {output.shards:q} > {log:q} 2>&1"
