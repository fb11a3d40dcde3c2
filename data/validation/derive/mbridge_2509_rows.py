"""Add the Megatron-Bridge 25.09 Llama rows the data set lacked: the parenthesised (block-scaled FP8) values of
the DGX-GB200 / DGX-B200 405B and GB200 70B pre-training rows, and the GB200 70B Megatron-FSDP row.

Source: github:NVIDIA-NeMo/Megatron-Bridge tag v0.2.0, ``docs/performance-summary.md``, section
"25.09 NeMo Container" / "Pre-Training Performance", tables "System: DGX-GB200" and "System: DGX-B200". A cell
``a (b)`` gives the run without and with the block-scaled recipe; the footnote under the tables: "The numbers in
parentheses indicate the use of different quantization granularities: In case of Gb200 and B200 systems, 32x32
for both weights and activations". The table states no recipe by name; the v0.2.0 presets that reproduce the
parenthesised layouts are the ``FP8_MX`` ones (``--compute_dtype fp8_mx``, TransformerEngine MXFP8 block
scaling): ``scripts/performance/configs/llama3/workload_base_configs.py`` ``LLAMA3_70B_GB200_FP8_MX_BASE_CONFIG``
(TP2 PP4 VP5) and ``scripts/performance/configs/llama31/workload_base_configs.py``
``LLAMA31_405B_GB200_FP8_MX_BASE_CONFIG`` / ``LLAMA31_405B_B200_FP8_MX_BASE_CONFIG`` (TP4 PP8 CP2 VP8, GBS 64),
while the unparenthesised GB200 70B layout (MBS 2, Megatron-FSDP, TP1) is ``LLAMA3_70B_GB200_FP8_CS_BASE_CONFIG``.
So the parenthesised rows are written ``FP8-MX`` and the unparenthesised one ``FP8 (per-tensor)`` as the data set's
other 25.09 rows are. 25.09 predates the first tagged preset (v0.2.0): confidence of the recipe medium.

Each row's layout columns are the table's: a parenthesised FSDP / TP / PP / CP / VP / GA value replaces the plain
one; the micro-batch is not parenthesised, so it follows from GA = GBS / (MBS x DP) (70B MXFP8: GA 16, DP 8 ->
MBS 1, the v0.2.0 preset's default). Architecture columns are copied from the data set's 25.09 row of the same model.
The GB200 70B FSDP row's activation offload (40 layers) is written by activation_offload.py.

Usage: python data/validation/derive/mbridge_2509_rows.py <Megatron-Bridge git dir>
adds the four rows at the end of data/validation/training_runs.csv, or rewrites them in place (idempotent: the
columns other scripts fill, e.g. activation_offload.py's, are kept).
"""

from __future__ import annotations

import re
import sys

from pinned_mirrors import git_text, mbridge_commits
from runs_table import read_runs, set_note, upsert_rows, write_runs

_TAG = "v0.2.0"
_DOC = "docs/performance-summary.md"
# this script's own note in ``derived`` (set_note), so a re-run updates it and keeps later scripts' notes
_OWN_NOTE = r"dp = GPUs/\(TP\*PP\*CP\).*?row added by data/validation/derive/mbridge_2509_rows\.py"
_CELL = re.compile(r"^\s*([\w./]+)\s*(?:\(([\w./]+)\))?\s*$")
#: (system, table model, parenthesised?, data-set model name, row whose architecture columns are copied)
_WANTED = (
    ("DGX-GB200", "LLAMA3_70B", False, "LLAMA3-70B", "mbridge_25.11_DGX-GB200_LLAMA3-70B_FP8-CS_64"),
    ("DGX-GB200", "LLAMA3_70B", True, "LLAMA3-70B", "mbridge_25.11_DGX-GB200_LLAMA3-70B_FP8-CS_64"),
    ("DGX-GB200", "LLAMA3.1_405B", True, "LLAMA3.1-405B", "mbridge_25.09_DGX-GB200_LLAMA3.1-405B_FP8_(per-tensor)_128"),
    ("DGX-B200", "LLAMA3.1_405B", True, "LLAMA3.1-405B", "mbridge_25.09_DGX-B200_LLAMA3.1-405B_FP8_(per-tensor)_128"),
)
_ARCH = ("model", "arch_type", "params_B", "active_params_B", "layers", "hidden", "heads", "kv_heads", "ffn_hidden",
         "vocab", "seq_len", "source", "notes", "source_group", "confidence")


def tables(text: str) -> dict[str, dict[str, dict[str, str]]]:
    """system -> model -> {column: cell} of the 25.09 pre-training tables."""
    section = text.split("## 25.09 NeMo Container", 1)[1].split("\n## ", 1)[0]
    section = section.split("### Pre-Training Performance", 1)[1].split("\n### ", 1)[0]
    out: dict[str, dict[str, dict[str, str]]] = {}
    for block in section.split("#### System: ")[1:]:
        system = block.split("\n", 1)[0].strip()
        lines = [ln for ln in block.splitlines() if ln.startswith("|")]
        head = [c.strip() for c in lines[0].strip("|").split("|")]
        out[system] = {cells[0]: dict(zip(head, cells, strict=True))
                       for ln in lines[2:] if (cells := [c.strip() for c in ln.strip("|").split("|")])}
    return out


def _pick(cell: str, paren: bool) -> str:
    m = _CELL.match(cell)
    if not m:
        raise SystemExit(f"{_DOC}@{_TAG}: cell {cell!r} is not 'a' or 'a (b)'")
    return (m.group(2) or m.group(1)) if paren else m.group(1)


def make_row(cells: dict[str, str], system: str, model: str, paren: bool, base: dict[str, str],
             commit: str) -> dict[str, str]:
    v = {k: _pick(c, paren) for k, c in cells.items()}
    gpus, gbs = int(v["#-GPUs"]), int(v["GBS"])
    tp, pp, cp = int(v["TP"]), int(v["PP"]), int(v["CP"])
    dp = gpus // (tp * pp * cp)
    mbs = gbs // (int(v["GA"]) * dp)
    precision = "FP8-MX" if paren else "FP8 (per-tensor)"
    accel = system.removeprefix("DGX-")
    row = {k: base[k] for k in _ARCH}
    label = precision.replace(" ", "_")
    row.update({
        "run_id": f"mbridge_25.09_{system}_{model}_{label}_{gpus}",
        "source_locator": (f"25.09 NeMo container, {system} pre-training table"
                           + (", values in parentheses (32x32 block-scaled FP8, table footnote)" if paren else "")
                           + f"; Megatron-Bridge {_TAG} ({commit}) {_DOC}"),
        "global_batch_seqs": str(gbs), "micro_batch": str(mbs), "tp": str(tp), "pp": str(pp), "dp": str(dp),
        "cp": str(cp), "ep": v["EP"], "vpp": v["VP"],
        "fsdp_zero": "Megatron-FSDP" if v["FSDP"] == "1" else "none (DDP, distributed optimizer)",
        "num_accels": str(gpus), "accelerator": accel, "accelerator_canonical": accel, "system": system,
        "precision": precision, "framework": "Megatron-Bridge / NeMo 25.09", "tflops_per_gpu": v["Model TFLOP / sec / GPU"],
        "tokens_per_s_per_gpu": v["Tokens / sec / GPU"],
        "derived": ("dp = GPUs/(TP*PP*CP) (EP is carved out of DP); micro_batch = GBS / (GA x DP)"
                    + ("; parenthesised FSDP/TP/PP/CP/VP/GA/tokens/TFLOPS taken, recipe FP8-MX from the v0.2.0 FP8_MX "
                       "preset of this layout" if paren else "")
                    + "; row added by data/validation/derive/mbridge_2509_rows.py"),
    })
    tail = base["notes"][base["notes"].index("MoE benchmarks"):]
    row["notes"] = (("25.09 table value in parentheses (block-scaled FP8, '32x32 for both weights and activations' on "
                     "GB200 / B200); recipe read as MXFP8 (v0.2.0 fp8_mx preset of the same layout): confidence medium; ")
                    if paren else "25.09 table does not list precision explicitly; the value in parentheses is the "
                    "FP8-MX row; ") + tail
    if paren:
        row["confidence"] = ("medium (official NVIDIA doc table, the parenthesised block-scaled values; the recipe FP8-MX "
                             "is read from the v0.2.0 fp8_mx preset of the same layout, which postdates 25.09, and "
                             "micro_batch is derived from GBS / (GA x DP))")
    return row


def main(repo: str) -> None:
    pinned = mbridge_commits(repo, [_TAG])[_TAG]  # read at the commit pinned for the tag (pinned_mirrors.py)
    text = git_text(repo, "show", f"{pinned}:{_DOC}")
    commit = pinned[:9]
    table = tables(text)
    header, rows = read_runs()
    by_id = {r["run_id"]: r for r in rows}
    new = [make_row(table[system][name], system, model, paren, by_id[base_id], commit)
           for system, name, paren, model, base_id in _WANTED]
    for row in new:
        print(f"{row['run_id']}: {row['tokens_per_s_per_gpu']} tokens/s/GPU, {row['tflops_per_gpu']} TFLOP/s, "
              f"TP{row['tp']} PP{row['pp']} CP{row['cp']} VP{row['vpp']} DP{row['dp']} MBS{row['micro_batch']} "
              f"{row['fsdp_zero']}")
    for row in new:
        if row["run_id"] in by_id:  # a re-run: its own note replaced in place, later scripts' notes kept
            row["derived"] = set_note(by_id[row["run_id"]]["derived"], _OWN_NOTE, row["derived"])
    write_runs(header, upsert_rows(header, rows, new))


if __name__ == "__main__":
    main(sys.argv[1])
