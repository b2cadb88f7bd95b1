"""Load on the real server: requests/s and latency at concurrency 1, 8 and 32.

    python benchmarks/serve_load.py [--models-dir models] [--model dcgan] [--seconds 8]

Starts `uvicorn app.main:app` on a free loopback port, drives it with async httpx clients for
three workloads (unique seeds n=16, unique seeds n=1, one repeated seed n=16), each bounded by
--requests and --seconds, and prints requests/s, p50 and p99 beside the bare in-process generator
rate for the same images (one batched SavedModel call of n images, no HTTP, no PNG; the service
computes each image alone, see app/generation.py, and pays for that, the bare rate does not).
Last, the same client against a do-nothing ASGI app returning the repeated response's bytes: the
most requests/s this client reaches on this machine whatever the server does.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

try:  # the client's own overhead matters at 1500 requests/s on two cores
    from uvloop import run
except ImportError:
    from asyncio import run

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = {"unique n=16": (16, True), "unique n=1": (1, True), "repeated n=16": (16, False)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Answers every request with the bytes in the file argv[1]: the server side costs next to nothing.
DO_NOTHING_SERVER = """
import sys, uvicorn
BODY = open(sys.argv[1], "rb").read()
HEADERS = [(b"content-type", b"image/png"), (b"content-length", str(len(BODY)).encode())]
async def app(scope, receive, send):
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": BODY})
uvicorn.run(app, port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def start_server(command: list[str], ready_path: str, env: dict | None = None):
    """Runs `command PORT`; returns the process and its URL once ready_path answers 200."""
    port = free_port()
    proc = subprocess.Popen([*command, str(port)], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + ready_path).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not become ready")


def start_app(models_dir: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "DCGAN_MODELS_DIR": str(models_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}
    uvicorn = [sys.executable, "-m", "uvicorn", "app.main:app", "--log-level", "warning"]
    return start_server([*uvicorn, "--no-access-log", "--port"], "/readyz", env)


async def drive(
    url: str,
    model: str,
    n: int,
    unique: bool,
    concurrency: int,
    max_requests: int,
    seconds: float,
    seeds: itertools.count,
) -> dict:
    latencies: list[float] = []

    async def worker(http: httpx.AsyncClient, deadline: float) -> None:
        while len(latencies) < max_requests and time.perf_counter() < deadline:
            seed = next(seeds) if unique else 42
            start = time.perf_counter()
            response = await http.get(f"/generate?n={n}&seed={seed}&model={model}")
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200:
                raise SystemExit(f"HTTP {response.status_code}: {response.text[:200]}")

    # One client per worker (a single pooled client serialises 32 workers on its pool lock),
    # made and connected before the clock starts: each loads a CA bundle, ~30 ms here.
    clients = [httpx.AsyncClient(base_url=url, timeout=60) for _ in range(concurrency)]
    try:
        for http in clients:  # also warms the repeated seed's cache
            await http.get(f"/generate?n={n}&seed=42&model={model}")
        start = time.perf_counter()
        await asyncio.gather(*(worker(http, start + seconds) for http in clients))
        elapsed = time.perf_counter() - start
    finally:
        for http in clients:
            await http.aclose()
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
        "count": len(latencies),
    }


def client_ceiling(body: bytes, concurrency: int, seconds: float) -> dict:
    """The repeated-seed load against DO_NOTHING_SERVER answering with body."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(body)
        f.flush()
        proc, url = start_server([sys.executable, "-c", DO_NOTHING_SERVER, f.name], "/")
        try:
            return run(drive(url, "-", 16, False, concurrency, 10**6, seconds, itertools.count()))
        finally:
            proc.terminate()
            proc.wait()


def bare_rate(version_dir: Path, n: int, seconds: float) -> float:
    """Requests/s the SavedModel alone sustains making the same n-image batches in-process."""
    import tensorflow as tf

    serve = tf.saved_model.load(str(version_dir / "saved_model")).signatures["serving_default"]
    conditional = "labels" in serve.structured_input_signature[1]
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        noise = np.random.default_rng(calls).standard_normal((n, 100)).astype(np.float32)
        inputs = {"noise": tf.constant(noise)}
        if conditional:
            inputs["labels"] = tf.constant(np.arange(n) % 10, tf.int32)
        serve(**inputs)["images"].numpy()
        calls += 1
    return calls / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--seconds", type=float, default=8, help="per workload and concurrency")
    parser.add_argument("--requests", type=int, default=20_000, help="cap per run")
    args = parser.parse_args()
    versions = sorted((args.models_dir / args.model).iterdir(), key=lambda p: int(p.name))
    # Measured before and after the server's rows: this machine's speed drifts by 10-20%
    # over minutes, and the ratio to the service should not hang on one moment.
    bare_before = {n: bare_rate(versions[-1], n, args.seconds / 2) for n in (16, 1)}
    proc, url = start_app(args.models_dir)
    seeds = itertools.count(1_000_000)
    rows = []
    try:
        repeated_body = httpx.get(f"{url}/generate?n=16&seed=42&model={args.model}").content
        for name, (n, unique) in WORKLOADS.items():
            for concurrency in (1, 8, 32):
                r = run(
                    drive(
                        url, args.model, n, unique, concurrency, args.requests, args.seconds, seeds
                    )
                )
                rows.append((name, concurrency, r))
                print(
                    f"{name:<14} c={concurrency:<3} {r['rps']:8.1f} req/s  "
                    f"p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  ({r['count']} requests)",
                    flush=True,
                )
    finally:
        proc.terminate()
        proc.wait()
    bare_after = {n: bare_rate(versions[-1], n, args.seconds / 2) for n in (16, 1)}
    bare = {n: (bare_before[n] + bare_after[n]) / 2 for n in (16, 1)}
    print(
        f"\nbare generator (in-process, no HTTP), before/after the server's rows: "
        f"n=16 {bare_before[16]:.1f}/{bare_after[16]:.1f} calls/s; "
        f"n=1 {bare_before[1]:.1f}/{bare_after[1]:.1f} calls/s; the table shows their mean"
    )
    ceiling = client_ceiling(repeated_body, 32, args.seconds)
    print(
        f"client ceiling (this httpx load, c=32, against a do-nothing ASGI app): "
        f"{ceiling['rps']:.0f} req/s"
    )
    print("\n| workload | concurrency | requests/s | p50 ms | p99 ms | bare generator req/s |")
    print("|---|---|---|---|---|---|")
    for name, concurrency, r in rows:
        n = WORKLOADS[name][0]
        bare_col = f"{bare[n]:.1f}" if WORKLOADS[name][1] else "-"
        print(
            f"| {name} | {concurrency} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} "
            f"| {bare_col} |"
        )


if __name__ == "__main__":
    main()
