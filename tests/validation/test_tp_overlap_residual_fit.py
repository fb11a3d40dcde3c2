"""Issue 10: the TP-overlap residual fitted on the MLPerf Llama 2 70B LoRA rows that state
``tp_comm_overlap`` yes at TP > 1 with no eager host time on the critical path (CP 1, or per-layer CUDA graphs;
s15-lora); their overlap-off siblings (same code, same hardware) are modelled within a few percent with all TP
communication exposed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from measured_runs import runs

from archsweep.load.calibration import load_base_calibration, load_calibration
from archsweep.validation.holdout import _mlperf_lora_tp_overlap_fit, held_out_calibrations
from archsweep.validation.run import validate_rows

ROWS = runs()
FIT = [r for r in ROWS if _mlperf_lora_tp_overlap_fit(r)]


def _mape(rows, residual: float) -> float:
    cal = replace(load_calibration(), tp_overlap_residual=residual)
    return float(np.mean([abs(r.error_pct) for r in validate_rows(rows, calibration=cal) if r.status == "ok"]))


def test_fit_set_is_the_stated_overlap_rows_without_eager_host_time():
    # 12 until s8-mlperf stated GigaComputing and Quanta v4.0 / v4.1 and ASUSTeK v4.0; 17 CP1 rows until s15-lora,
    # which added the 8 graphed v4.1 TP4 CP2 rows (the eager v4.0 TP4 CP2 rows stay out)
    assert len(FIT) == 25
    assert all(r["tp_comm_overlap"] == "yes" and (r["cp"] == "1" or r["layer_cuda_graphs"] == "yes") for r in FIT)
    assert sum(r["cp"] == "2" for r in FIT) == 8
    assert not any(r["cp"] == "2" and r["layer_cuda_graphs"] != "yes" for r in FIT)


def test_kept_value_and_the_fit_sets_grid():
    # 0.6 until s12-fp8dpa: the 17 rows ran FP8 attention (fp8_attention yes), now priced: 3.67 % at 0.6, 3.54 at 0.7;
    # s15-lora (LoRA-only TP exposure priced, 25 rows): 4.89 % at 0.6, 4.82 at 0.7, 4.92 at 0.8, 5.97 at 0.3.
    # s16-mlperflora (the adapter's second gather of the six v4.0 TP-overlap copies without tp_comm_disable_qkv,
    # the v4.1 CP1 configs' pipelined dgrad reduce-scatter): 5.40 at 0.3, 4.89 at 0.4, 4.91 at 0.5, 5.07 at 0.6,
    # 5.30 at 0.7, 5.63 at 0.8. The fit set alone now prefers 0.4; 0.7 is kept because at 0.4 and 0.6 every other
    # figure is worse (mlperf 6.717 -> 6.847 / 6.717, nemo 8.616 -> 8.966 / 8.734, held-out nemo 9.271 -> 9.652 /
    # 9.399, mlperf optimism 5 -> 6 / 5 rows above 1.25: docs/model-accuracy.md, s16-mlperflora). Disclosed and pinned.
    # s19-B (the FP8 store casts of the SwiGLU input, which the two v4.1 TP2 H200 rows of the set state): 5.23 at 0.3,
    # 4.73 at 0.4, 4.76 at 0.5, 4.92 at 0.6, 5.15 at 0.7, 5.48 at 0.8 (the same shape; 0.7 kept for the same reason).
    # s32 (the causal schedule law of flash attention: these rows' TP4 CP1 / CP2 ranks run 4k-8k-query kernels with 16
    # heads): 4.39 at 0.3, 4.36 at 0.4, 4.50 at 0.5, 4.72 at 0.6, 5.05 at 0.7, 5.42 at 0.8; 0.7 kept for the same
    # reason (at 0.4: all rows 6.011 -> 6.121 %, mlperf 6.24 -> 6.32, nemo 7.16 -> 7.49, mlperf-forward 6.98 -> 7.31,
    # optimism median 1.024 -> 1.032; docs/model-accuracy.md s32).
    assert load_calibration().tp_overlap_residual == 0.7
    by_value = {v: _mape(FIT, v) for v in (0.4, 0.7)}
    assert abs(by_value[0.4] - 4.36) < 0.05 and abs(by_value[0.7] - 5.05) < 0.05
    assert _mape(FIT, 0.8) > by_value[0.7]  # 5.42 % against 5.05 %


def test_overlap_off_rows_need_no_fit():
    # TP > 1: a TP1 row (v5.0 B200 / GB200, s7-rows) has no TP communication for the overlap to hide.
    off = [r for r in ROWS if r["source_group"] == "mlperf" and r["run_id"].endswith("llama2_70b_lora")
           and r["tp_comm_overlap"] == "no" and r["cp"] == "1" and r["tp"] not in ("", "1")]
    assert len(off) >= 4
    assert all(abs(r.error_pct) < 5 for r in validate_rows(off))


def test_holding_out_mlperf_restores_the_default():
    assert held_out_calibrations(ROWS, "mlperf")["megatron-core"].tp_overlap_residual == \
        load_base_calibration().tp_overlap_residual == 0.3
    assert held_out_calibrations(ROWS, "nemo")["megatron-core"].tp_overlap_residual == 0.7
