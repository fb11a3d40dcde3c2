"""The model's MoE device time against Megatron-Bridge's drop-and-pad runs (issue 10, s8-smallmoe).

    python benchmarks/moe_drop_and_pad.py

NVIDIA Megatron-Bridge's performance summary (docs/performance-summary-archive.md @067f987df, section "25.09 NeMo
Container", Pre-Training tables) lists Qwen3 MoE presets run with token drop ("(tokendrop)") at the same GPU
count and batch as the token-dropless rows of the 25.11 section, which are validation rows; the 25.11 table repeats
the 25.09 lines' layout cells, but two of those rows state the v0.2.0 preset's layout instead (H100 Qwen3-30B
VP 12 / micro-batch 1, B200 Qwen3-235B VP 4: data/validation/derive/mbridge_2511_layout.py), so each pair names the
25.09 run's micro-batch and VP, and the drop-and-pad side is priced there. The 25.09
runs are drop-and-pad: Megatron-Bridge v0.1.0rc4 ``scripts/performance/run_script.py`` applies
``apply_moe_token_drop`` (``src/megatron/bridge/training/utils/moe_token_drop.py``: capacity factor 1.0,
``moe_pad_expert_input_to_capacity`` True) to every Qwen3 recipe, so each expert gets exactly its balanced
share of the routed copies (the device work of a force-balanced dropless run), and Megatron-Core's alltoall
dispatcher then needs no device-to-host copy of the token counts (core_v0.15.0
``megatron/core/transformer/moe/token_dispatcher.py`` ``preprocess``: ``drop_and_pad`` returns before any
``_maybe_update_cuda_sync_point``; dropless with EP > 1 syncs "before_ep_alltoall"). Their YAML
(``scripts/performance/configs/qwen3/qwen3_{30b_a3b,235b_a22b}_llm_pretrain.yaml`` @v0.1.0rc4) sets no
recompute and ``cuda_graphs: true`` on B200 / GB200 (``utils/helpers.py set_cuda_graph_overrides``:
``enable_cuda_graph``, Megatron-Core's full-layer graphs, possible with drop-and-pad's static shapes), false on
H100, and sets ``overlap_moe_expert_parallel_comm`` only for DeepSeek-V3 on H100 (``run_script.py``), so
the all-to-alls of the Qwen3 runs are exposed. So those rows time the layer's device work with the host
hidden.

For each pair this prints, per MoE layer and micro-batch of each run's own mapping (step = global tokens / GPUs /
measured tokens/s, over micro-batches x layers per pipeline stage, bubble included): the dropless 25.11 row measured and as the
model prices it (with the stack's fitted host time), and the drop-and-pad row measured and the model's time
with the MoE host time set to 0, no all-to-all overlap and no per-expert FP8 padding (a capacity of 2,048 or
8,192 rows per expert is a multiple of the 16 / 32-row block, so TransformerEngine's Fp8Padding returns its
input). The model runs the drop-and-pad side at the 25.09 run's mapping with the 25.09 figure's recipe: the 25.09 table states no
precision for these rows; its main figures are per-tensor FP8 (FP8-CS), the 235B B200 figure used is the
parenthesised MXFP8 one.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import load_catalog
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.validation import run as validation_run
from archsweep.validation.cells import read_measurements
from archsweep.validation.metrics import predict_metric
from archsweep.validation.rows import calibration_stack, row_calibration

#: (label, dropless validation row, drop-and-pad tokens/s/GPU of the 25.09 table, its recipe, global batch, GPUs,
#: pp, layers, the 25.09 line's micro-batch and VP). The recipe: the table's main figure is per-tensor FP8 (FP8-CS, as the 25.09 rows that state a
#: precision label theirs), its parenthesised one the finer "quantization granularity" of the table's note (MXFP8
#: on B200 / GB200); until s9-moecost the B200 / GB200 Qwen3-30B figures were priced with the 25.11 row's FP8-MX.
PAIRS = (
    ("H100 Qwen3-30B pp 2 ep 8 (mb 1 | 2)", "mbridge_25.11_DGX-H100_Qwen3_30B_a3B_FP8-CS_16", 10494.0, "FP8-CS",
     512, 16, 2, 48, 2, 24),
    ("B200 Qwen3-30B mb 1 ep 8", "mbridge_25.11_DGX-B200_Qwen3_30B_a3B_FP8-MX_8", 18066.0, "FP8-CS", 512, 8, 1, 48,
     1, 1),
    ("GB200 Qwen3-30B mb 4 ep 8", "mbridge_25.11_DGX-GB200_Qwen3_30B_a3B_FP8-MX_8", 22775.0, "FP8-CS", 512, 8, 1, 48,
     4, 1),
    ("H100 Qwen3-235B tp 2 pp 8 ep 32", "mbridge_25.11_DGX-H100_Qwen3_235B_a22B_FP8-CS_256", 1204.0, "FP8-CS",
     2048, 256, 8, 94, 1, 4),
    ("B200 Qwen3-235B pp 8 ep 8 (MX)", "mbridge_25.11_DGX-B200_Qwen3_235B_a22B_FP8-MX_64", 4275.0, "FP8-MX",
     1024, 64, 8, 94, 1, 2),
)
SEQ = 4096


def _predicted(row, catalog, tech, host_zero: bool) -> tuple[float, float, float]:
    """(measured, predicted tokens/s/GPU, micro-batches per step) of ``row`` at its stated mapping."""
    plan = validation_run.plan_row(row, catalog)
    cal = row_calibration(row, load_calibration(stack=calibration_stack(row)), plan.workload.architecture)
    if host_zero:  # the drop-and-pad run: no host sync, no combined-1F1B all-to-all overlap, aligned capacities
        cal = replace(cal, moe_layer_host_overhead_s=0.0, moe_a2a_overlap=0.0)
        arch = plan.workload.architecture
        assert arch.moe is not None  # every PAIRS row is a MoE row
        padded = replace(arch, moe=replace(arch.moe, dropless=False))
        plan = replace(plan, workload=replace(plan.workload, architecture=padded))
    results = [validation_run.evaluate_plan(plan, s, {}, tech, cal) for s in plan.strategies]  # as validate
    valid = [r for r in results if float(np.ravel(r["violation_mapping"])[0]) <= 0] or results
    best = min(valid, key=lambda r: float(np.ravel(r["step_time_s"])[0]))
    return plan.measured, predict_metric(plan, best, None), float(np.ravel(best["microbatches"])[0])


def main() -> None:
    rows = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
    catalog, tech = load_catalog(), load_technology()
    print("ms per MoE layer and micro-batch: dropless measured / model (fitted host) | drop-and-pad measured /"
          " model device (host 0), ratio")
    for label, run_id, drop, recipe, gbs, gpus, pp, layers, drop_mb, drop_vpp in PAIRS:
        measured, with_host, mbs = _predicted(rows[run_id], catalog, tech, host_zero=False)
        padded_row = {**rows[run_id], "precision": recipe, "micro_batch": str(drop_mb), "vpp": str(drop_vpp)}
        _, device, padded_mbs = _predicted(padded_row, catalog, tech, host_zero=True)
        # ms per layer-micro-batch x tokens/s, each run at its own number of micro-batches
        scale, padded_scale = (1e3 * gbs * SEQ / gpus / (m * layers / pp) for m in (mbs, padded_mbs))
        dropless, model = (scale / t for t in (measured, with_host))
        padded, bare = (padded_scale / t for t in (drop, device))
        print(f"{label:34s} {dropless:6.2f} / {model:6.2f} | {padded:6.2f} / {bare:6.2f}, {padded / bare:.2f}")


if __name__ == "__main__":
    main()
