"""The attention length the NeMo 24.07 performance table's FLOP count implies for its Llama 2 rows.

NeMo's model FLOPs per token (Model TFLOP/s over Tokens/s, NeMo docs performance_summary.md at 8e3d65dc) minus
the weight GEMMs' FLOPs (forward 2 x (per-layer weights x layers + hidden x vocab); 3 passes for pre-training and
SFT, 2 for LoRA, whose frozen weights get no weight gradient) leaves the attention term 12 x hidden x layers x L
per token (4 L h l forward, forward + backward 3x). Pre-training 7B reproduces its stated 4096; the packed
fine-tuning rows give L of tens to ~200 tokens (docs/model-accuracy.md, s10-nemo2407). The table's values are
copied from data/validation/training_runs.csv (nemo2407_* rows); the architectures are Llama 2's.

Run: ``python benchmarks/finetune_attention_length.py``
"""

from __future__ import annotations

#: model -> (layers, hidden, FFN hidden, attention heads, KV heads)
LLAMA2: dict[str, tuple[int, int, int, int, int]] = {
    "7B": (32, 4096, 11008, 32, 32), "13B": (40, 5120, 13824, 40, 40), "70B": (80, 8192, 28672, 64, 8)}
VOCAB = 32000
#: (model, task) -> (Model TFLOP/s/GPU, tokens/s/GPU) of the NeMo 24.07 table
TABLE: dict[tuple[str, str], tuple[float, float]] = {
    ("7B", "pretrain"): (780, 16934), ("7B", "SFT"): (673, 16891), ("13B", "SFT"): (787, 10176),
    ("70B", "SFT"): (749, 1816), ("7B", "LoRA"): (663, 24824), ("13B", "LoRA"): (757, 14629),
    ("70B", "LoRA"): (722, 2621)}


def implied_length(model: str, task: str, tflops: float, tokens_per_s: float) -> float:
    """Attention length (tokens) that makes the weight-GEMM FLOPs plus 12 h l L per token equal the table's count."""
    layers, h, ffn, heads, kv = LLAMA2[model]
    head_dim = h // heads
    per_layer = h * (heads + 2 * kv) * head_dim + h * h + 3 * h * ffn
    forward = 2.0 * (per_layer * layers + h * VOCAB)
    passes = 2.0 if task == "LoRA" else 3.0
    return (tflops * 1e12 / tokens_per_s - passes * forward) / (12.0 * h * layers)


def main() -> None:
    for (model, task), (tflops, tokens) in TABLE.items():
        low, mid, high = (implied_length(model, task, tflops + d, tokens) for d in (-0.5, 0.0, 0.5))
        print(f"{model:4s} {task:8s} implied attention length {mid:6.0f} tokens ({low:.0f} .. {high:.0f} "
              "from the table's rounding of TFLOP/s)")


if __name__ == "__main__":
    main()
