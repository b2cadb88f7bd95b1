"""The service under load, beside a plain wrapper and the bare SavedModel, in one run.

    python benchmarks/serve_load.py [--models-dir models] [--model dcgan] [--seconds 5]
                                    [--rounds 4] [--precision float32|bfloat16|both]

Starts on loopback the service (`uvicorn app.main:app`) and a plain FastAPI app that calls the
SavedModel's signature once per request (no batching, no cache, the obvious 30 lines). Drives both
with the same client and workloads: fresh seeds for every request (n=16 at concurrency 1 and 8,
n=1 at concurrency 8) and one repeated seed (cache hits, concurrency 32). The client is `wrk`
(Debian package) with a Lua script that numbers the seeds, so the client costs next to nothing;
without wrk it falls back to httpx and says that the client is then part of what is measured.
Beside them, the bare signature in-process (no HTTP, no PNG), as calls/s of the same n. Each
workload runs on every server and the bare signature back to back, in `--rounds` rounds that
alternate between them (the bare one before each round and after the last; each round starts with
the next server): a machine whose speed drifts over minutes still compares like with like, and a
server's rate is the mean of its turns (p50 and p99 their median), as a single turn's ratios moved
by ~0.1 from run to run.
Prints the machine first. The wrapper and the bare signature run in float32; `--precision both`
also runs the service in bfloat16 and prints it against the float32 service of the same run, and
beside it the most that ratio can be here: the served generator alone, in-process, fed by two
threads in the service's largest calls, in each precision.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
# (name, n, fresh seeds, concurrency)
WORKLOADS = [
    ("unique n=16", 16, True, 1),
    ("unique n=16", 16, True, 8),
    ("unique n=1", 1, True, 8),
    ("repeated n=16", 16, False, 32),
]

PLAIN_WRAPPER = """
import io, sys
import numpy as np, tensorflow as tf, uvicorn
from fastapi import FastAPI, Response
from PIL import Image

serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
conditional = "labels" in serve.structured_input_signature[1]
app = FastAPI()

@app.get("/generate")
def generate(n: int = 16, seed: int = 0, model: str = ""):
    noise = np.random.default_rng(seed).standard_normal((n, 100)).astype(np.float32)
    inputs = {"noise": tf.constant(noise)}
    if conditional:
        inputs["labels"] = tf.constant(np.arange(n) % 10, tf.int32)
    images = serve(**inputs)["images"].numpy()[..., 0]
    pixels = np.clip(np.rint(images * 127.5 + 127.5), 0, 255).astype(np.uint8)
    cols = int(np.ceil(np.sqrt(n)))
    rows = -(-n // cols)
    canvas = np.zeros((rows * 30 - 2, cols * 30 - 2), np.uint8)
    for i, tile in enumerate(pixels):
        r, c = divmod(i, cols)
        canvas[r * 30 : r * 30 + 28, c * 30 : c * 30 + 28] = tile
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, format="PNG")
    return Response(buffer.getvalue(), media_type="image/png")

@app.get("/readyz")
def readyz():
    return {"status": "ready"}

uvicorn.run(app, port=int(sys.argv[2]), log_level="warning", access_log=False)
"""

# The served generator (app.serving.generator, as the batcher calls it) alone, fed by two
# threads in calls of `rows` images: the most images/s the service could make. Precision is
# process-wide.
GENERATOR_ALONE = """
import sys, threading, time
import numpy as np, tensorflow as tf
from app.serving.generator import Generator, generation_options
saved_model_dir, precision = sys.argv[1], sys.argv[2]
rows, seconds = int(sys.argv[3]), float(sys.argv[4])
options = generation_options(precision, "auto", rows)
saved_model = tf.saved_model.load(saved_model_dir)
conditional = "labels" in saved_model.signatures["serving_default"].structured_input_signature[1]
generator = Generator("bench", saved_model, conditional, 100, options)
generator.self_test()
noise = np.random.default_rng(0).standard_normal((rows, 100)).astype(np.float32)
labels = np.arange(rows) % 10
calls = []

def feed(deadline):
    while time.perf_counter() < deadline:
        generator(noise, labels)
        calls.append(1)

feed(time.perf_counter() + 1)  # warm
calls.clear()
start = time.perf_counter()
threads = [threading.Thread(target=feed, args=(start + seconds,)) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(calls) * rows / (time.perf_counter() - start))
"""

# wrk: every request a fresh seed, numbered from a base given per run.
UNIQUE_SEEDS_LUA = """
local counter, threads = 0, {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  base, path = tonumber(args[1]), args[2]
end
function request()
  counter = counter + 1
  return wrk.format("GET", path .. (base + id * 10000000 + counter))
end
"""


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    import tensorflow as tf

    return (
        f"{model}, {os.cpu_count()} cores, {platform.machine()}, TensorFlow {tf.__version__}, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], env: dict) -> tuple[subprocess.Popen, str]:
    """Runs `command PORT` and returns it with its URL once /readyz answers 200."""
    port = free_port()
    proc = subprocess.Popen(
        [*command, str(port)], cwd=ROOT, env={**os.environ, **env}, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/readyz").status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{command[:3]} did not become ready")


def run_wrk(url: str, path: str, unique: bool, concurrency: int, seconds: float, base: int):
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(UNIQUE_SEEDS_LUA)
        script.flush()
        threads = min(concurrency, 2)
        command = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds}s", "--latency"]
        if unique:
            command += ["-s", script.name, url, "--", str(base), path]
        else:
            command += [url + path]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"errors under load:\n{out}")
    percentile = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(percentile["50"]),
        "p99": _ms(percentile["99"]),
    }


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def run_httpx(url: str, path: str, unique: bool, concurrency: int, seconds: float, base: int):
    import asyncio

    latencies: list[float] = []
    counter = iter(range(base, base + 10**9))

    async def worker(client: httpx.AsyncClient, deadline: float) -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            response = await client.get(path + (str(next(counter)) if unique else ""))
            latencies.append(time.perf_counter() - start)
            response.raise_for_status()

    async def main() -> float:
        clients = [httpx.AsyncClient(base_url=url, timeout=60) for _ in range(concurrency)]
        start = time.perf_counter()
        await asyncio.gather(*(worker(c, start + seconds) for c in clients))
        elapsed = time.perf_counter() - start
        for c in clients:
            await c.aclose()
        return elapsed

    elapsed = asyncio.run(main())
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
    }


def load_signature(saved_model_dir: Path):
    """The SavedModel's signature as `call(n)`: n images from fresh noise, as numpy."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(saved_model_dir))
    serve = loaded.signatures["serving_default"]
    conditional = "labels" in serve.structured_input_signature[1]
    rng = np.random.default_rng(0)

    def call(n: int) -> np.ndarray:
        inputs = {"noise": tf.constant(rng.standard_normal((n, 100)).astype(np.float32))}
        if conditional:
            inputs["labels"] = tf.constant(np.arange(n) % 10, tf.int32)
        return serve(**inputs)["images"].numpy()

    call.loaded = loaded  # keeps the variables alive
    for n in (16, 1):  # the first calls build the function
        call(n)
    return call


def bare_rate(call, n: int, seconds: float) -> float:
    """Calls/s of the signature alone, in-process, making n images per call."""
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        call(n)
        calls += 1
    return calls / (time.perf_counter() - start)


def generator_alone(saved_model: Path, precision: str, rows: int, seconds: float) -> float:
    """Images/s of the served generator alone in `precision` (a process of its own)."""
    arguments = [str(saved_model), precision, str(rows), str(seconds)]
    out = subprocess.run(
        [sys.executable, "-c", GENERATOR_ALONE, *arguments],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out.split()[-1])


def run_rows(urls: dict, model: str, seconds: float, rounds: int, drive, signature):
    """Each workload on every server in turn, `rounds` times, with the bare signature of the same
    n before each round and after the last (their mean is the row's bare rate); fresh seeds for
    every turn."""
    for url in urls.values():
        for n in (16, 1):  # warm, and cache seed 42 for the repeated row
            httpx.get(url + f"/generate?n={n}&model={model}&seed=42", timeout=60)
    results, bare, base = {name: [] for name in urls}, [], 1
    for name, n, unique, concurrency in WORKLOADS:
        path = f"/generate?n={n}&model={model}&seed=" + ("" if unique else "42")
        turns, bare_turns = {server: [] for server in urls}, []
        servers = list(urls.items())
        for turn in range(rounds):
            if unique:
                bare_turns.append(bare_rate(signature, n, seconds / 2))
            # each round starts with the next server: none always follows the bare signature
            for server, url in servers[turn % len(servers) :] + servers[: turn % len(servers)]:
                turns[server].append(drive(url, path, unique, concurrency, seconds, base))
                base += 2 * 10**7  # past both wrk threads' seeds (10**7 apart), below 2**32
                print(f"  {server:<17} {name:<14} c={concurrency:<3} "
                      f"{turns[server][-1]['rps']:8.1f} req/s", flush=True)  # fmt: skip
        for server, measured in turns.items():
            results[server].append(
                {"rps": float(np.mean([m["rps"] for m in measured]))}
                | {q: float(np.median([m[q] for m in measured])) for q in ("p50", "p99")}
            )
        if unique:
            bare_turns.append(bare_rate(signature, n, seconds / 2))
            bare.append(float(np.mean(bare_turns)))
            rates = "/".join(f"{rate:.1f}" for rate in bare_turns)
            print(f"  bare signature    n={n:<3} {rates} calls/s", flush=True)
        else:
            bare.append(None)
    return results, bare


def served_version(folder: Path) -> Path:
    """The version the service serves under this name: active.json's, else the newest."""
    active = folder / "active.json"
    if active.exists():
        return folder / str(json.loads(active.read_text())["version"])
    return max((p for p in folder.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--seconds", type=int, default=5, help="per workload, server and round")
    parser.add_argument("--rounds", type=int, default=4, help="turns of every server per workload")
    parser.add_argument("--precision", choices=["float32", "bfloat16", "both"], default="float32")
    args = parser.parse_args()
    print(machine())
    drive = run_wrk if shutil.which("wrk") else run_httpx
    if drive is run_httpx:
        print("wrk not found: the httpx client shares the CPU, and is part of what is measured")
    version_dir = served_version(args.models_dir / args.model)
    saved_model = (
        version_dir if (version_dir / "saved_model.pb").exists() else version_dir / "saved_model"
    )
    precisions = ["float32", "bfloat16"] if args.precision == "both" else [args.precision]
    env = {
        "DCGAN_MODELS_DIR": str(args.models_dir),
        "DCGAN_ACCESS_LOG": "false",
        "DCGAN_LOG_LEVEL": "warning",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    signature = load_signature(saved_model)
    servers = [
        (f"service {p}", [sys.executable, "-m", "app.api.server", "--port"], p) for p in precisions
    ] + [("plain wrapper", [sys.executable, "-c", PLAIN_WRAPPER, str(saved_model)], "float32")]
    urls, procs = {}, []
    try:
        for name, command, precision in servers:
            proc, urls[name] = start(command, {**env, "DCGAN_PRECISION": precision})
            procs.append(proc)
        results, bare = run_rows(urls, args.model, args.seconds, args.rounds, drive, signature)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
    print(
        f"\nbare signature: {args.model}@{version_dir.name}; service {precisions[0]}, wrapper and "
        f"bare float32; client {'wrk' if drive is run_wrk else 'httpx'}; each row's servers and "
        f"bare signature back to back, {args.rounds} turns of {args.seconds} s per server\n"
    )
    print(
        "| workload | concurrency | service req/s | p50 ms | p99 ms | plain wrapper req/s "
        "| p99 ms | bare calls/s | service / bare | service / wrapper |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for i, (name, _, unique, concurrency) in enumerate(WORKLOADS):
        ours, plain = results[f"service {precisions[0]}"][i], results["plain wrapper"][i]
        bare_col, ratio = ("-", "-") if not unique else (
            f"{bare[i]:.1f}", f"{ours['rps'] / bare[i]:.2f}"
        )  # fmt: skip
        print(
            f"| {name} | {concurrency} | {ours['rps']:.1f} | {ours['p50']:.1f} | "
            f"{ours['p99']:.1f} | {plain['rps']:.1f} | {plain['p99']:.1f} | {bare_col} | "
            f"{ratio} | {ours['rps'] / plain['rps']:.2f} |"
        )
    if len(precisions) == 2:
        print_precisions(results)
        # in turns, like the servers: a drifting machine compares like with like
        rows = Settings().batch_max_images  # the service's largest call, as its servers read it
        alone = {p: [] for p in precisions}
        for _ in range(2):
            for p in precisions:
                alone[p].append(generator_alone(saved_model, p, rows, args.seconds))
        f32, bf16 = (float(np.mean(alone[p])) for p in precisions)
        print(
            f"\nthe served generator alone, two threads, calls of {rows} images: "
            f"float32 {f32:.0f}, bfloat16 {bf16:.0f} images/s, {bf16 / f32:.2f}x: the most "
            "bfloat16 / float32 can be in the service on this CPU"
        )


def print_precisions(results: dict) -> None:
    """The bfloat16 service against the float32 one and the (float32) wrapper."""
    print(
        "\n| workload | concurrency | bfloat16 service req/s | p50 ms | p99 ms "
        "| float32 service req/s | bfloat16 / float32 | bfloat16 / wrapper |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for i, (name, _, _, concurrency) in enumerate(WORKLOADS):
        bf16, f32 = results["service bfloat16"][i], results["service float32"][i]
        plain = results["plain wrapper"][i]
        print(
            f"| {name} | {concurrency} | {bf16['rps']:.1f} | {bf16['p50']:.1f} | "
            f"{bf16['p99']:.1f} | {f32['rps']:.1f} | {bf16['rps'] / f32['rps']:.2f} | "
            f"{bf16['rps'] / plain['rps']:.2f} |"
        )


if __name__ == "__main__":
    main()
