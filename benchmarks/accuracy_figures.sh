#!/usr/bin/env bash
# Every accuracy figure of the tree in the current directory: in-sample MAPE per group, search optimism, then
# held-out MAPE per group (fit without the group, judge on it). docs/model-accuracy.md sections cite this
# script as /work/tools/sN/figures.sh (the session helpers' copy; same commands).
#   bash benchmarks/accuracy_figures.sh
# mbridge-forward is a forward test (NeMo 26.02.01 .. 26.06.01 tables, never fitted: holdout.FORWARD_TEST_GROUPS):
# its held-out figure equals its in-sample one. mlperf-forward likewise (MLPerf Training v5.0 / v5.1 LoRA and 405B results never fitted,
# data/validation/derive/mlperf_forward_rows.py).
set -euo pipefail
M=data/validation/training_runs.csv
archsweep validate --measurements $M --summary-only --optimism 2>&1 | sed -n '/summary/,$p' | head -80
for g in nemo mlperf megatron mpt mcore-moe mbridge-forward mlperf-forward; do
  echo "== held-out $g"
  archsweep validate --measurements $M --summary-only --hold-out $g 2>&1 | grep -E "^validated"
done
