"""One serving what-if: a model served on N catalog accelerators at an SLO.

:func:`serving_what_if` returns one flat dict: the chosen configuration (``tp`` = attention TP,
``pp``, ``ep``, ``dp``, ``attention_dp``, ``replicas``, ``concurrency``, ``chunk_tokens``,
``disaggregated``, ``prefill_accelerators``, ``decode_accelerators``), the serving metrics
(``ttft_s``, ``tpot_s``, ``e2e_latency_s``, ``output_tokens_per_s`` and per accelerator,
``tokens_per_s_per_user``, ``requests_per_s``), the power/area/cost columns
(``energy_per_token_j``, ``usd_per_million_tokens``, ...), ``violation_*`` and ``feasible``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.low_precision import fp4_native_accelerators
from archsweep.load.serving_calibration import load_serving_calibration
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_architecture
from archsweep.model.inference import evaluate_serving_batch
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.serving import ServingJob

__all__ = ["print_serving_what_if", "serving_what_if"]

def _plain(value: Any) -> Any:
    v = np.asarray(value).reshape(-1)[0]
    if v.dtype == bool:
        return bool(v)
    f = float(v)
    if not np.isfinite(f):
        return None
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def serving_what_if(model: str, accelerator: str, count: int | None, job: ServingJob, *,
                    fp4_native: bool | None = None, disaggregation: bool = True) -> dict[str, Any]:
    """Best SLO-feasible serving configuration of ``model`` on ``count`` accelerators, one flat dict."""
    entry = get_accelerator(accelerator)
    design = entry.design if count is None else entry.design.replace(accelerator_count=int(count))
    hw = HardwareArrays.from_designs(design)
    fp4 = entry.name in fp4_native_accelerators() if fp4_native is None else fp4_native
    cols = evaluate_serving_batch(hw, load_architecture(model), job, tech=load_technology(), calibration=load_calibration(),
                                  serving_calibration=load_serving_calibration(), fp4_supported=fp4,
                                  disaggregation=disaggregation)
    out: dict[str, Any] = {"model": model, "accelerator": entry.name, "accelerator_count": int(design.accelerator_count),
                           "input_tokens": job.input_tokens, "output_tokens": job.output_tokens, "load": job.load,
                           "precision": job.weight_precision, "kv_precision": job.kv_precision, "fp4_native": fp4}
    out.update({k: _plain(v) for k, v in cols.items() if k not in ("width", "concurrency_per_replica")})
    return out


def print_serving_what_if(r: dict[str, Any]) -> None:
    """The chosen configuration and its breakdown as plain text."""
    def f(key: str, scale: float = 1.0, unit: str = "", fmt: str = ".4g") -> str:
        v = r.get(key)
        return "-" if v is None else f"{v * scale:{fmt}}{unit}"

    mode = "disaggregated" if r["disaggregated"] else "aggregated"
    print(f"{r['model']} on {r['accelerator_count']} x {r['accelerator']}: ISL {r['input_tokens']:g}, OSL "
          f"{r['output_tokens']:g}, load {r['load']}, {r['precision']} weights, {r['kv_precision']} KV")
    print(f"  feasible at SLO:        {r['feasible']}")
    print(f"  configuration:          {mode}; attention {'DP' if r['attention_dp'] else 'TP'} tp={r['tp']} pp={r['pp']} "
          f"ep={r['ep']} dp={r['dp']} replicas={r['replicas']}, {f('concurrency')} sequences in flight, "
          f"chunk {r['chunk_tokens']} tokens")
    if r["disaggregated"]:
        print(f"  prefill / decode:       {r['prefill_accelerators']} / {r['decode_accelerators']} accelerators, "
              f"KV transfer {f('kv_transfer_s', 1e3, ' ms')}")
    print(f"  TTFT:                   {f('ttft_s', 1e3, ' ms')} (prefill {f('prefill_time_s', 1e3, ' ms')})")
    print(f"  TPOT:                   {f('tpot_s', 1e3, ' ms')} ({f('tokens_per_s_per_user', fmt='.1f')} tokens/s per user)")
    print(f"  end-to-end latency:     {f('e2e_latency_s', unit=' s')}")
    print(f"  output tokens/s:        {f('output_tokens_per_s', fmt='.0f')} ({f('output_tokens_per_s_per_accelerator', fmt='.0f')} "
          f"per accelerator), {f('requests_per_s')} requests/s")
    print(f"  KV cache:               {f('kv_capacity_sequences', fmt='.0f')} sequences per replica; memory "
          f"{f('memory_per_accelerator_bytes', 1 / 2**30, ' GiB', '.1f')} per accelerator")
    print(f"  power:                  {f('power_w', fmt='.0f')} W per accelerator; {f('energy_per_token_j', fmt='.3f')} J per output token")
    print(f"  cost:                   {f('usd_per_million_tokens', fmt='.3f')} $ per million output tokens "
          f"(TCO {f('tco_usd_per_year', fmt='.0f')} $/year)")
    for key in sorted(k for k in r if k.startswith("violation_")):
        if r[key] is not None and r[key] > 0:
            print(f"  VIOLATED: {key} = {r[key]:.3g}")
