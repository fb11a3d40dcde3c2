# Non-dominated sorting (rank 0 = Pareto front) of the feasible sweep evaluations per workload
# and of the feasible search trials (column source = sweep / search):
# results/<study>/pareto/pareto.parquet and table `pareto` of the database.
rule pareto:
    input:
        study=STUDY_FILE,
        db=rules.collect.output.db,
    output:
        front=f"{RESULTS}/pareto/pareto.parquet",
    log:
        f"{LOGS}/pareto.log",
    benchmark:
        f"{BENCHMARKS}/pareto.tsv"
    localrule: True
    conda:
        "../envs/archsweep.yaml"
    shell:
        "python -m archsweep.workflow pareto --study {input.study:q} --db {input.db:q} --out {output.front:q}"
        " > {log:q} 2>&1"
