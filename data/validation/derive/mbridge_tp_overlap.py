"""Fill ``tp_comm_overlap`` of the Megatron-Bridge NVFP4 rows of data/validation/training_runs.csv: the
performance scripts switch TransformerEngine's userbuffer TP communication overlap off for NVFP4.

Every Llama 3 / 3.1 pretrain function of Megatron-Bridge v0.3.0 (the tag the 26.02 rows' presets
are read at, ``LLAMA3_70B_PRETRAIN_CONFIG_GB200_NVFP4_V2`` etc.) ends with
``cfg.comm_overlap.tp_comm_overlap = False if precision == "nvfp4" else cfg.comm_overlap.tp_comm_overlap``
(``scripts/performance/configs/llama/llama3_llm_pretrain.py`` and ``llama31_llm_pretrain.py``, functions
``llama3_70b_pretrain_config_{gb300,gb200,b300,b200}`` and ``llama31_405b_pretrain_config_{...}``). Other
rows are not touched (their column stays empty: the recipe default, or what another script wrote).

Run: ``python data/validation/derive/mbridge_tp_overlap.py`` (re-runnable).
"""

from __future__ import annotations

import re

from runs_table import read_runs, set_note, write_runs

_NOTE = ("tp_comm_overlap no: Megatron-Bridge v0.3.0 scripts/performance/configs/llama/{script} {function}: "
         "tp_comm_overlap = False if precision == 'nvfp4', data/validation/derive/mbridge_tp_overlap.py")
_ROW = re.compile(r"^mbridge_[\d.]+_DGX-(GB300|GB200|B300|B200)_(LLAMA3-70B|LLAMA3\.1-405B)_NVFP4_\d+$")


def main() -> None:
    header, rows = read_runs()
    found = 0
    for row in rows:
        match = _ROW.match(row["run_id"])
        if not match:
            continue
        gpu, model = match.group(1).lower(), match.group(2)
        script, function = (("llama3_llm_pretrain.py", f"llama3_70b_pretrain_config_{gpu}") if model == "LLAMA3-70B"
                            else ("llama31_llm_pretrain.py", f"llama31_405b_pretrain_config_{gpu}"))
        row["tp_comm_overlap"] = "no"
        row["derived"] = set_note(row["derived"], r"tp_comm_overlap no: Megatron-Bridge .*?mbridge_tp_overlap\.py",
                                  _NOTE.format(script=script, function=function))
        found += 1
    if not found:
        raise SystemExit("training_runs.csv has no Megatron-Bridge NVFP4 Llama row")
    write_runs(header, rows)
    print(f"tp_comm_overlap no on {found} rows")


if __name__ == "__main__":
    main()
