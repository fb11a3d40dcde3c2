# Optuna multi-objective search (studies with a `search` section): create the study once,
# run N workers sharing its storage, export trials and hypervolume history to Parquet.
# The study is created by its own rule before any worker starts: concurrent create_study on
# an empty PostgreSQL database races (Optuna issue #1092).
from archsweep.workflow import search_rules as search

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
    localrule: True
    run:
        search.run_rule("create", study=input.study, results=RESULTS_ROOT, marker=output.marker, log=log[0])


rule search_worker:
    input:
        study=STUDY_FILE,
        created=rules.search_create.output.marker,
    output:
        marker=f"{SEARCH}/worker_{{worker}}.done",
    log:
        f"{LOGS}/search/worker_{{worker}}.log",
    run:
        search.run_rule("worker", study=input.study, results=RESULTS_ROOT, marker=output.marker, log=log[0],
                        worker=int(wildcards.worker))


rule search_export:
    input:
        study=STUDY_FILE,
        workers=expand(rules.search_worker.output.marker, worker=SEARCH_WORKERS),
    output:
        trials=f"{SEARCH}/trials.parquet",
        hypervolume=f"{SEARCH}/hypervolume.parquet",
    log:
        f"{LOGS}/search/export.log",
    localrule: True
    run:
        search.run_rule("export", study=input.study, results=RESULTS_ROOT, log=log[0], trials=output.trials,
                        hypervolume=output.hypervolume)
