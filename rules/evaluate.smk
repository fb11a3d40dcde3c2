# Evaluate one shard on every workload: results/<study>/evaluate/<k>.parquet (one job per shard).
# Reruns when its shard or what it reads of the study and data/ changes (params.fingerprint),
# not when a constraint or objective does.
rule evaluate:
    input:
        study=ancient(STUDY_FILE),
        shard=f"{RESULTS}/space/{{shard}}.parquet",
    output:
        shard=f"{RESULTS}/evaluate/{{shard}}.parquet",
    log:
        f"{LOGS}/evaluate/{{shard}}.log",
    benchmark:
        f"{BENCHMARKS}/evaluate/{{shard}}.tsv"
    conda:
        "../envs/archsweep.yaml"
    params:
        fingerprint=EVALUATE_FINGERPRINT,
    shell:
        "python -m archsweep.workflow evaluate --study {input.study:q} --shard {input.shard:q}"
        " --out {output.shard:q} > {log:q} 2>&1"
