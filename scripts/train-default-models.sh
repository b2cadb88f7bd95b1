#!/usr/bin/env bash
# Trains the shipped models (and the tutorial-recipe baseline they are compared with) with the
# project's own CLI. Re-runnable: a run that has checkpoints continues with --resume, a finished
# one is skipped. Takes hours on a CPU: run it under nohup and run it again after an interruption.
# cdcgan@2 was exported from its stopped run with `python -m training.average` (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export MNIST_PATH=${MNIST_PATH:-../shared/data/mnist.npz}
EPOCHS=${EPOCHS:-50}
EVAL_EVERY=${EVAL_EVERY:-5}
# Each epoch takes minutes on a CPU and a session may end at any time: checkpoint often.
CHECKPOINT_EVERY=${CHECKPOINT_EVERY:-1}
# The DCGAN paper's Adam settings plus one-sided label smoothing.
BEST=(--learning-rate 2e-4 --beta-1 0.5 --label-smoothing 0.1)

run() {  # run OUT EXPORT flags...
  local out=$1 export=$2; shift 2
  if [ -f "$out/exported" ]; then echo "$out: done"; return; fi
  local resume=()
  if [ -f "$out/checkpoints/checkpoint" ]; then
    resume=(--resume)
  elif compgen -G "$export/*/model.json" > /dev/null; then
    # a fresh clone: the committed export stands, there is no run to continue
    echo "$out: already exported"; return
  fi
  "$PY" -m training --out "$out" --epochs "$EPOCHS" --eval-every "$EVAL_EVERY" \
    --checkpoint-every "$CHECKPOINT_EVERY" --events "$out.events.jsonl" \
    --export "$export" "${resume[@]}" "$@"
  # Only a run that reached its last epoch exports; a stopped one is resumed next time.
  if tail -n 1 "$out.events.jsonl" | grep -q '"stopped": false'; then touch "$out/exported"; fi
}

run runs/dcgan models/dcgan "${BEST[@]}"
# The baseline both shipped models are compared with: the CLI's defaults, the tutorial's recipe.
run runs/dcgan-tutorial runs/exports/dcgan-tutorial
# Every epoch's checkpoint is kept, to average the generators of late epochs (training.average).
run runs/cdcgan models/cdcgan --conditional "${BEST[@]}" --keep-checkpoints "$EPOCHS"
