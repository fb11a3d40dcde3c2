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
    localrule: True
    run:
        stages.report(input.study, input.db, output.report, log=log[0])
