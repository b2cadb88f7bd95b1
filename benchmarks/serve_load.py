"""Load on the real server: requests/s and latency at concurrency 1, 8 and 32.

    python benchmarks/serve_load.py [--models-dir models] [--model dcgan] [--seconds 8]

Starts `uvicorn app.main:app` on a free loopback port, drives it with async httpx clients for
three workloads (unique seeds n=16, unique seeds n=1, one repeated seed n=16), each bounded by
--requests and --seconds, and prints requests/s, p50 and p99 beside the bare in-process generator
rate for the same images (SavedModel calls of n images, no HTTP, no PNG).
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


def start_server(models_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DCGAN_MODELS_DIR": str(models_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not become ready")


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
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        # One client per worker: a single pooled client serialises 32 workers on its pool lock.
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            while len(latencies) < max_requests and time.perf_counter() < deadline:
                seed = next(seeds) if unique else 42
                start = time.perf_counter()
                response = await http.get(f"/generate?n={n}&seed={seed}&model={model}")
                latencies.append(time.perf_counter() - start)
                if response.status_code != 200:
                    raise SystemExit(f"HTTP {response.status_code}: {response.text[:200]}")

    async with httpx.AsyncClient(base_url=url) as http:  # warm the repeated seed's cache
        await http.get(f"/generate?n={n}&seed=42&model={model}")
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
        "count": len(latencies),
    }


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
    proc, url = start_server(args.models_dir)
    seeds = itertools.count(1_000_000)
    rows = []
    try:
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
    bare = {n: bare_rate(versions[-1], n, args.seconds / 2) for n in (16, 1)}
    print(
        f"\nbare generator (in-process, no HTTP): n=16 {bare[16]:.1f} calls/s "
        f"({16 * bare[16]:.0f} images/s); n=1 {bare[1]:.1f} calls/s"
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
