#!/usr/bin/env bash
# Trains the shipped models with the project's own CLI. Re-runnable: a run that has checkpoints
# continues with --resume, a finished one is skipped, and nothing runs for a version that is
# already in models/. Takes hours on a CPU: run it under nohup, and again after an interruption.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export MNIST_PATH=${MNIST_PATH:-../shared/data/mnist.npz}
EVAL_EVERY=${EVAL_EVERY:-5}
# The DCGAN paper's Adam settings, one-sided label smoothing, an EMA of the generator and top-k
# training (a learning-rate decay alone, --lr-decay-epochs 30, did not help: docs/quality.md).
# PRECISION=bfloat16 where the CPU multiplies bfloat16 natively (AMX, AVX512-BF16): 1.6x the
# steps/s there.
# Exports store float16 weights: half the size, so both models fit models/'s 20 MB.
RECIPE=(--learning-rate 2e-4 --beta-1 0.5 --label-smoothing 0.1 --ema-decay 0.999 --top-k 0.5
  --mixed-precision "${PRECISION:-float32}" --export-weights float16)

stage() {  # stage OUT EPOCHS flags...: train OUT on (resuming) until EPOCHS, unless it got there
  local out=$1 epochs=$2; shift 2
  if [ -f "$out/done-$epochs" ]; then echo "$out: epoch $epochs done"; return; fi
  local resume=()
  if [ -f "$out/checkpoints/checkpoint" ]; then resume=(--resume); fi
  # Every epoch is checkpointed: a session may end at any time.
  "$PY" -m training --out "$out" --epochs "$epochs" --eval-every "$EVAL_EVERY" \
    --checkpoint-every 1 --keep-checkpoints 5 --events "$out.events.jsonl" "${resume[@]}" "$@"
  if ! tail -n 1 "$out.events.jsonl" | grep -q '"stopped": false'; then
    echo "$out: stopped before epoch $epochs; run this script again to resume"; exit 1
  fi
  touch "$out/done-$epochs"
}

# dcgan@3: the recipe for 100 epochs, 90 more with batches of 64 (four times the updates; a
# longer EMA for the shorter steps), 55 more with the R1 penalty and a falling rate, then a noise
# prior fitted to the result: one Gaussian per digit (training.prior; docs/quality.md).
if [ -d models/dcgan/3 ]; then echo "models/dcgan/3: shipped"; else
  stage runs/dcgan 100 "${RECIPE[@]}"
  stage runs/dcgan 190 "${RECIPE[@]}" --batch-size 64 --ema-decay 0.9997
  stage runs/dcgan 245 "${RECIPE[@]}" --batch-size 64 --ema-decay 0.9997 --r1-gamma 0.1 \
    --lr-decay-epochs 55 --export runs/exports/dcgan
  "$PY" -m training.prior "$(ls -d runs/exports/dcgan/[0-9]* | sort -V | tail -n 1)" --out models/dcgan
fi
# cdcgan@4: the recipe, conditional; every epoch kept, so late ones can be averaged too
# (training.average).
if [ -d models/cdcgan/4 ]; then echo "models/cdcgan/4: shipped"; else
  epochs=${CDCGAN_EPOCHS:-30}
  stage runs/cdcgan-ema "$epochs" --conditional "${RECIPE[@]}" --keep-checkpoints "$epochs" \
    --export runs/exports/cdcgan
fi
