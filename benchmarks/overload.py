"""The service under abuse: huge unauthenticated bodies and headers, overload with impatient
clients, model versions activated and deleted over and over, a trainer killed with SIGKILL,
hundreds of open event streams, and new model names arriving while a trainer runs.

    python benchmarks/overload.py [--models-dir models] [--seconds 20] [--only sse,headers]

Starts `dcgan-serve` on loopback with a token and a copy of the models folder, and prints, by
section (--only: some of them):
- body: RSS before and after a 256 MB POST /jobs without the token (and its status);
- headers: 8 requests each sending up to 150 MB of headers without a token: how each ended, and
  the server's RSS before, at its peak (sampled every 50 ms) and 3 s after;
- impatient: 64 clients asking for n=256 with fresh seeds, each giving up after 3 s, for
  --seconds: the share of answers that are 200 or 503-with-Retry-After within 3 s, then the
  latency of one n=1 request sent right after;
- churn: RSS across 20 activations of new versions of one name, each deleting the old one;
- killed (with MNIST_PATH): a job killed with SIGKILL after its first checkpoint, resumed: the
  epochs it lost;
- names: 20 new names (copies of the shipped dcgan's newest version) appear in the folder, each
  used once, while a job trains (with MNIST_PATH; without, no job): the server's RSS at the
  start, at its peak (sampled every 75 ms) and at the end, the trainer's, their peak together
  against 3 GiB, and the versions loaded at the end; on a server of its own, then the job is
  cancelled;
- sse: 511 open /jobs/ID/events streams (of a job nobody runs: a server of its own with
  DCGAN_RUN_JOBS=off), then /healthz five times: statuses and latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serve_load  # noqa: E402
from serve_load import machine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "overload-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BACKGROUND = {"name": "bg", "recipe": "tutorial", "epochs": 50, "limit": 2048, "batch_size": 64}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def descendants(pid: int) -> list[int]:
    """`pid`'s children, theirs, and so on, by their PPid in /proc (no psutil here)."""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            ppid = next(line for line in status.read_text().splitlines() if line[:5] == "PPid:")
        except (OSError, StopIteration):  # gone meanwhile
            continue
        children.setdefault(int(ppid.split()[1]), []).append(int(status.parent.name))
    found, todo = [], [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def rss_sum(pids: list[int]) -> float:
    """The RSS of those of `pids` still running."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):  # ended
            total += rss_mib(pid)
    return total


def start(models: Path, data: Path, **extra: str) -> tuple[subprocess.Popen, str]:
    env = {
        "DCGAN_MODELS_DIR": str(models),
        "DCGAN_DATA_DIR": str(data),
        "DCGAN_API_TOKEN": TOKEN,
        "DCGAN_ACCESS_LOG": "false",
        "DCGAN_LOG_LEVEL": "warning",
        "DCGAN_MODELS_POLL_SECONDS": "0.5",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **extra,
    }
    return serve_load.start([sys.executable, "-m", "app.api.server", "--port"], env)


def huge_body(proc: subprocess.Popen, url: str) -> None:
    def chunks():
        block = b" " * 2**20
        for _ in range(256):
            yield block

    before = rss_mib(proc.pid)
    try:
        status = httpx.post(f"{url}/jobs", content=chunks(), timeout=60).status_code
    except httpx.TransportError as exc:  # refused before the client finished sending
        status = f"connection closed ({type(exc).__name__})"
    after = rss_mib(proc.pid)
    print(f"256 MB POST /jobs without a token: {status}; RSS {before:.0f} -> {after:.0f} MiB "
          f"({after - before:+.1f} MiB)")  # fmt: skip


async def impatient(url: str, seconds: float) -> None:
    outcomes = {"200": 0, "503 with Retry-After": 0, "other": 0, "gave up (3 s)": 0}
    seeds = iter(range(10**9))
    deadline = time.monotonic() + seconds

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=3) as http:
            while time.monotonic() < deadline:
                try:
                    r = await http.get(f"/generate?n=256&seed={next(seeds)}")
                except httpx.TimeoutException:
                    outcomes["gave up (3 s)"] += 1
                    continue
                if r.status_code == 200:
                    outcomes["200"] += 1
                elif r.status_code == 503 and "retry-after" in r.headers:
                    outcomes["503 with Retry-After"] += 1
                    await asyncio.sleep(min(float(r.headers["retry-after"]), 1.0))
                else:
                    outcomes["other"] += 1

    await asyncio.gather(*(client() for _ in range(64)))
    total = sum(outcomes.values())
    good = outcomes["200"] + outcomes["503 with Retry-After"]
    print(f"64 clients, n=256, giving up after 3 s, {seconds:.0f} s: {total} requests, {outcomes}; "
          f"200 or 503 within 3 s: {good / max(total, 1):.1%}")  # fmt: skip
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        r = await http.get("/generate?n=1&seed=123456789")
    print(
        f"then one n=1 request: {r.status_code} in {(time.perf_counter() - started) * 1000:.0f} ms"
    )


def versions(url: str, name: str) -> set[int]:
    body = httpx.get(f"{url}/models/{name}").json()
    return {v["version"] for v in body["versions"]}


def churn(proc: subprocess.Popen, url: str, models: Path, rounds: int = 20) -> None:
    """New versions of `churn` appear in the folder, get activated and used; the old go."""
    source = max((models / "dcgan").iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else 0)
    shutil.copytree(source, models / "churn" / "1")
    while httpx.get(f"{url}/models/churn").json().get("active_version") != 1:
        time.sleep(0.2)
    httpx.get(f"{url}/generate?model=churn&n=16&seed=1").raise_for_status()
    start_rss = rss_mib(proc.pid)
    for version in range(2, rounds + 2):
        shutil.copytree(source, models / "churn" / f".tmp{version}")
        (models / "churn" / f".tmp{version}").rename(models / "churn" / str(version))
        while version not in versions(url, "churn"):
            time.sleep(0.1)
        httpx.post(
            f"{url}/models/churn/{version}/activate", headers=AUTH, timeout=60
        ).raise_for_status()
        httpx.get(f"{url}/generate?model=churn&n=16&seed=1").raise_for_status()
        httpx.delete(f"{url}/models/churn/{version - 1}", headers=AUTH).raise_for_status()
    end_rss = rss_mib(proc.pid)
    print(f"{rounds} activations of churn, each deleting the one before: RSS {start_rss:.0f} -> "
          f"{end_rss:.0f} MiB ({end_rss - start_rss:+.1f} MiB); versions left "
          f"{sorted(versions(url, 'churn'))}")  # fmt: skip


def killed_job(url: str) -> None:
    """A job killed with SIGKILL after its first epoch, then resumed: what it loses."""
    body = {"name": "killed", "epochs": 3, "limit": 2048, "batch_size": 64}
    job = httpx.post(f"{url}/jobs", json=body, headers=AUTH).json()
    pid = None
    with httpx.stream("GET", f"{url}/jobs/{job['id']}/events", timeout=300) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:") and '"pid"' in line:
                pid = json.loads(line[5:])["pid"]
            if line.startswith("event: checkpoint"):
                break  # the first epoch is done and saved
    os.kill(pid, signal.SIGKILL)
    while (failed := httpx.get(f"{url}/jobs/{job['id']}").json())["state"] == "running":
        time.sleep(0.2)
    httpx.post(f"{url}/jobs/{job['id']}/resume", headers=AUTH).raise_for_status()
    while not (done := httpx.get(f"{url}/jobs/{job['id']}").json())["finished"]:
        time.sleep(0.5)
    text = httpx.get(f"{url}/jobs/{job['id']}/events", timeout=10).text
    starts = [json.loads(line[5:]) for line in text.splitlines() if '"start_epoch"' in line]
    print(f"job killed with SIGKILL after its first checkpoint: {failed['state']} "
          f"({failed['error']}); resumed at epoch {starts[-1]['start_epoch']}; "
          f"ended {done['state']}")  # fmt: skip


def background_job(url: str) -> int | None:
    """BACKGROUND started and followed to the end of its first epoch (a trainer in full swing);
    None without MNIST_PATH (the trainer would download MNIST)."""
    if not os.environ.get("MNIST_PATH"):
        print("no MNIST_PATH: the names section runs without a trainer")
        return None
    job = httpx.post(f"{url}/jobs", json=BACKGROUND, headers=AUTH)
    job.raise_for_status()
    with httpx.stream("GET", f"{url}/jobs/{job.json()['id']}/events", timeout=600) as stream:
        for line in stream.iter_lines():
            if line.startswith("event: epoch"):
                break
    state = httpx.get(f"{url}/jobs/{job.json()['id']}").json()
    if state["state"] != "running":
        raise SystemExit(f"the background job is {state['state']}: {state.get('error')}")
    return state["id"]


def sample_rss(pid: int, trainers: list[int], peaks: dict, stop: threading.Event) -> None:
    """Every 75 ms until `stop`: the largest RSS of the server, and of it with its trainers."""
    while not stop.is_set():
        server = rss_mib(pid)
        peaks["server"] = max(peaks["server"], server)
        peaks["total"] = max(peaks["total"], server + rss_sum(trainers))
        stop.wait(0.075)


def add_names(models: Path, names: list[str]) -> None:
    """Each name appears with version 1, a copy of the shipped dcgan's newest, moved in whole."""
    source = max((models / "dcgan").iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else 0)
    for name in names:
        shutil.copytree(source, models / name / ".tmp1")
        (models / name / ".tmp1").rename(models / name / "1")


def use_each(url: str, names: list[str]) -> None:
    """Once the registry serves it, one n=16 image of each name (200)."""
    for name in names:
        deadline = time.monotonic() + 300
        while httpx.get(f"{url}/models/{name}").json().get("active_version") != 1:
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} not served after 300 s")
            time.sleep(0.1)
        httpx.get(f"{url}/generate?model={name}&n=16&seed=1", timeout=60).raise_for_status()


def loaded_versions(url: str) -> int:
    listing = httpx.get(f"{url}/models").json()["models"]
    return sum(v["status"] == "ready" for model in listing for v in model["versions"])


def cancel(url: str, job: int) -> None:
    """Cancel the job and wait until it has ended (its trainer checkpoints first)."""
    httpx.post(f"{url}/jobs/{job}/cancel", headers=AUTH).raise_for_status()
    deadline = time.monotonic() + 120
    while not (state := httpx.get(f"{url}/jobs/{job}").json())["finished"]:
        if time.monotonic() > deadline:
            print(f"background job {job} still {state['state']} 120 s after its cancel")
            return
        time.sleep(0.5)


def new_names(proc: subprocess.Popen, url: str, models: Path, count: int = 20) -> None:
    """`count` new names appear and are each used once, a trainer running meanwhile."""
    job = background_job(url)
    trainers = descendants(proc.pid)
    start_rss = rss_mib(proc.pid)
    peaks, stop = {"server": start_rss, "total": start_rss + rss_sum(trainers)}, threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(proc.pid, trainers, peaks, stop))
    sampler.start()
    names = [f"name{i:02d}" for i in range(1, count + 1)]
    try:
        add_names(models, names)
        use_each(url, names)
    finally:
        stop.set()
        sampler.join()
    end_rss, trainer_rss = rss_mib(proc.pid), rss_sum(descendants(proc.pid))
    with_trainer = "with a trainer running" if job is not None else "without a trainer"
    print(f"{count} names each used once {with_trainer}: server RSS {start_rss:.0f} -> "
          f"{peaks['server']:.0f} -> {end_rss:.0f} MiB, trainer RSS {trainer_rss:.0f} MiB, total "
          f"peak {peaks['total']:.0f} MiB (< 3072: {'yes' if peaks['total'] < 3072 else 'no'}); "
          f"loaded versions at the end: {loaded_versions(url)}")  # fmt: skip
    if job is not None:
        cancel(url, job)


async def open_streams(url: str, streams: int) -> None:
    """`streams` SSE followers of one queued job held open, then /healthz timed 5 times."""
    job = httpx.post(f"{url}/jobs", json={"name": "held", "epochs": 1}, headers=AUTH).json()
    release, opened = asyncio.Event(), []

    async def follow(http: httpx.AsyncClient) -> None:
        try:
            async with http.stream("GET", f"/jobs/{job['id']}/events") as answer:
                opened.append(answer.status_code)
                await release.wait()
        except httpx.HTTPError as exc:
            opened.append(type(exc).__name__)

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        followers = [asyncio.create_task(follow(http)) for _ in range(streams)]
        while len(opened) < streams:
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # every follower polls the store once a second: let them run
        probes = []
        for _ in range(5):
            started = time.perf_counter()
            try:
                async with httpx.AsyncClient(timeout=10) as probe:
                    status = (await probe.get(f"{url}/healthz")).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            probes.append((status, (time.perf_counter() - started) * 1000))
            await asyncio.sleep(0.5)
        release.set()
        await asyncio.gather(*followers)
    streamed = {s: opened.count(s) for s in set(opened)}
    shown = ", ".join(f"{status} in {ms:.0f} ms" for status, ms in probes)
    print(f"{streams} open SSE streams ({streamed}); /healthz x5: {shown}")


async def huge_headers(
    proc: subprocess.Popen, url: str, clients: int, megabytes: int, line: int
) -> None:
    """`clients` requests without a token, each sending header lines of `line` bytes until
    `megabytes` are sent or the server closes or answers; RSS sampled meanwhile."""
    host, port = url.removeprefix("http://").split(":")
    pad = b"X-Pad: " + b"a" * (line - 9) + b"\r\n"
    chunk = pad * max(1, 2**20 // line)
    before, peak, done = rss_mib(proc.pid), 0.0, asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mib(proc.pid))
            await asyncio.sleep(0.05)

    async def client() -> tuple[str, float, float]:
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"POST /jobs HTTP/1.1\r\nHost: bench\r\nContent-Length: 2\r\n")
        answer, sent = asyncio.create_task(reader.read(200)), 0
        try:
            while sent < megabytes * 2**20 and not answer.done():
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
            if not answer.done():
                writer.write(b"\r\n{}")
            got = await asyncio.wait_for(answer, 30)
            ended = got.split(b"\r\n")[0].decode() or "closed by the server"
        except (ConnectionError, TimeoutError) as exc:
            ended = f"{type(exc).__name__}"
        finally:
            answer.cancel()
            writer.close()
        return ended, sent / 2**20, time.perf_counter() - started

    sampler = asyncio.create_task(sample())
    ends = await asyncio.gather(*(client() for _ in range(clients)))
    await asyncio.sleep(3)
    done.set()
    await sampler
    after = rss_mib(proc.pid)
    outcomes = {e: sum(1 for end in ends if end[0] == e) for e in sorted({end[0] for end in ends})}
    sent = sorted(end[1] for end in ends)
    seconds = sorted(end[2] for end in ends)
    print(f"{clients} requests with up to {megabytes} MB of headers ({line}-byte lines), no token: "
          f"{outcomes}, {sent[0]:.0f}-{sent[-1]:.0f} MB sent each in {seconds[0]:.1f}-"
          f"{seconds[-1]:.1f} s; RSS {before:.0f} MiB, peak {peak:.0f} ({peak - before:+.0f}), "
          f"3 s after {after:.0f} ({after - before:+.0f})")  # fmt: skip


SECTIONS = ("body", "impatient", "churn", "killed", "names", "sse", "headers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections, comma-separated")
    parser.add_argument("--streams", type=int, default=511, help="sse: open streams")
    parser.add_argument("--header-clients", type=int, default=8)
    parser.add_argument("--header-mb", type=int, default=150, help="headers: MB per request")
    parser.add_argument("--header-line", type=int, default=1024, help="headers: bytes a line")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if only - set(SECTIONS):
        raise SystemExit(f"--only: unknown sections {sorted(only - set(SECTIONS))}")
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models"
        shutil.copytree(args.models_dir, models)
        proc, url = start(models, Path(tmp) / "data")
        try:
            if "body" in only:
                huge_body(proc, url)
            if "headers" in only:  # early: what it keeps is not mixed with later loads
                asyncio.run(
                    huge_headers(proc, url, args.header_clients, args.header_mb, args.header_line)
                )
            if "impatient" in only:
                asyncio.run(impatient(url, args.seconds))
            if "churn" in only:
                churn(proc, url, models)
            if "killed" in only and os.environ.get("MNIST_PATH"):
                killed_job(url)
            elif "killed" in only:
                print("no MNIST_PATH: the killed-job measurement is skipped")
        finally:
            proc.terminate()
            proc.wait()
        if "names" in only:  # a server of its own: its RSS is not what the sections above left
            fresh = Path(tmp) / "models-names"
            shutil.copytree(args.models_dir, fresh)
            proc, url = start(fresh, Path(tmp) / "data-names")
            try:
                new_names(proc, url, fresh)
            finally:
                proc.terminate()
                proc.wait()
        if "sse" in only:  # a server whose jobs stay queued: their streams stay open
            proc, url = start(models, Path(tmp) / "data-sse", DCGAN_RUN_JOBS="off")
            try:
                asyncio.run(open_streams(url, args.streams))
            finally:
                proc.terminate()
                proc.wait()


if __name__ == "__main__":
    main()
