# Optuna multi-objective search (studies with a `search` section): create the study once,
# run N workers sharing its storage, export trials and hypervolume history to Parquet.
# The study is created by its own rule before any worker starts: concurrent create_study on
# an empty PostgreSQL database races (Optuna issue #1092).
# The search applies the study's constraints inside its trials, so it follows the study file's mtime.
# Its storage lives under results/<study>/search/ (the stages' default --results root: RESULTS_ROOT).
SEARCH = f"{RESULTS}/search"
SEARCH_WORKERS = list(range(STUDY.search.workers)) if STUDY.search is not None else []


wildcard_constraints:
    worker=r"\d+",


rule search_create:
    input:
        study=STUDY_FILE,
    output:
        marker=f"{SEARCH}/created.txt",
    log:
        f"{LOGS}/search/create.log",
    benchmark:
        f"{BENCHMARKS}/search/create.tsv"
    localrule: True
    conda:
        "../envs/archsweep.yaml"
    shell:
        "python -m archsweep.workflow search-create --study {input.study:q}"
        " --marker {output.marker:q} > {log:q} 2>&1"


rule search_worker:
    input:
        study=STUDY_FILE,
        created=rules.search_create.output.marker,
    output:
        marker=f"{SEARCH}/worker_{{worker}}.done",
    log:
        f"{LOGS}/search/worker_{{worker}}.log",
    benchmark:
        f"{BENCHMARKS}/search/worker_{{worker}}.tsv"
    conda:
        "../envs/archsweep.yaml"
    shell:
        "python -m archsweep.workflow search-worker --study {input.study:q}"
        " --worker {wildcards.worker} --marker {output.marker:q} > {log:q} 2>&1"


rule search_export:
    input:
        study=STUDY_FILE,
        workers=expand(rules.search_worker.output.marker, worker=SEARCH_WORKERS),
    output:
        trials=f"{SEARCH}/trials.parquet",
        hypervolume=f"{SEARCH}/hypervolume.parquet",
    log:
        f"{LOGS}/search/export.log",
    benchmark:
        f"{BENCHMARKS}/search/export.tsv"
    localrule: True
    conda:
        "../envs/archsweep.yaml"
    shell:
        "python -m archsweep.workflow search-export --study {input.study:q}"
        " --trials {output.trials:q} --hypervolume {output.hypervolume:q} > {log:q} 2>&1"
