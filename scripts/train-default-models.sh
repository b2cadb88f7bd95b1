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
# training (a learning-rate decay, --lr-decay-epochs 30, did not help: docs/quality.md).
# PRECISION=bfloat16 where the CPU multiplies bfloat16 natively (AMX, AVX512-BF16): 1.6x the
# steps/s there.
# Exports store float16 weights: half the size, so both models fit models/'s 20 MB.
RECIPE=(--learning-rate 2e-4 --beta-1 0.5 --label-smoothing 0.1 --ema-decay 0.999 --top-k 0.5
  --mixed-precision "${PRECISION:-float32}" --export-weights float16)

run() {  # run OUT MODELS/NAME VERSION EPOCHS flags...
  local out=$1 export=$2 version=$3 epochs=$4; shift 4
  if [ -d "$export/$version" ]; then echo "$export/$version: shipped"; return; fi
  if [ -f "$out/exported" ]; then echo "$out: done"; return; fi
  local resume=()
  if [ -f "$out/checkpoints/checkpoint" ]; then resume=(--resume); fi
  # Every epoch is checkpointed (a session may end at any time) and kept, so late epochs can
  # also be averaged with training.average.
  "$PY" -m training --out "$out" --epochs "$epochs" --eval-every "$EVAL_EVERY" \
    --checkpoint-every 1 --keep-checkpoints "$epochs" --events "$out.events.jsonl" \
    --export "runs/exports/$(basename "$export")" "${resume[@]}" "$@"
  # Only a run that reached its last epoch exports; a stopped one is resumed next time.
  if tail -n 1 "$out.events.jsonl" | grep -q '"stopped": false'; then touch "$out/exported"; fi
}

run runs/dcgan-ema models/dcgan 3 "${DCGAN_EPOCHS:-80}" "${RECIPE[@]}"
run runs/cdcgan-ema models/cdcgan 4 "${CDCGAN_EPOCHS:-30}" --conditional "${RECIPE[@]}"
