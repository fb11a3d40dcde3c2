# The report: results/<study>/report/report.md, report.html (self-contained, interactive) and the PNG plots.
rule report:
    input:
        study=STUDY_FILE,
        db=rules.collect.output.db,
        front=rules.pareto.output.front,
    output:
        report=f"{RESULTS}/report/report.md",
        html=f"{RESULTS}/report/report.html",
        plots=REPORT_PLOTS,
    log:
        f"{LOGS}/report.log",
    benchmark:
        f"{BENCHMARKS}/report.tsv"
    localrule: True
    conda:
        "../envs/archsweep.yaml"
    shell:
        "python -m archsweep.workflow report --study {input.study:q} --db {input.db:q} --out {output.report:q}"
        " > {log:q} 2>&1"
