"""The `dcgan-digits` client and CLI against a real uvicorn, real trainers, and a TCP proxy that
drops SSE connections mid-event."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from client import ApiError, Client
from client.display import jobs_table
from client.sse import Event, parse
from tests.conftest import ROOT, free_port, service_env, serving

TOKEN = "client-token"
TINY = ("--recipe", "tutorial", "--epochs", "1", "--limit", "256", "--batch-size", "64")


def cli(
    *args: str,
    url: str | None = None,
    token: str | None = TOKEN,
    timeout: float = 300,
    cwd: Path = ROOT,
):
    """`python -m client.cli ARGS` with DCGAN_URL and DCGAN_API_TOKEN set (bytes stdout)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DCGAN_URL", "DCGAN_API_TOKEN")}
    env.update({"DCGAN_URL": url} if url else {})
    env.update({"DCGAN_API_TOKEN": token} if token else {})
    env["PYTHONPATH"] = str(ROOT)  # for a cwd other than the checkout
    command = [sys.executable, "-m", "client.cli", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, timeout=timeout)


def lines(done: subprocess.CompletedProcess) -> list[str]:
    return done.stdout.decode().splitlines()


def epochs_of(out: list[str]) -> list[int]:
    return [int(line.split()[1].split("/")[0]) for line in out if line.startswith("epoch ")]


def assert_one_line_error(done: subprocess.CompletedProcess, *fragments: str) -> str:
    stderr = done.stderr.decode()
    assert done.returncode == 1, (done.returncode, stderr)
    assert stderr.count("\n") == 1 and stderr.startswith("dcgan-digits: error: "), stderr
    assert "Traceback" not in stderr and all(f in stderr for f in fragments), stderr
    return stderr


class FlakyProxy:
    """A TCP proxy to the service that drops its first `drops` SSE connections asking for events
    after id `cut_after` or later: each passes one complete event and half the next, then both
    sockets close, like a network failing mid-event. Other traffic passes untouched."""

    def __init__(self, upstream: str, drops: int, cut_after: int = 0):
        self.upstream = httpx.URL(upstream)
        self.drops, self.cut_after = drops, cut_after
        self.last_event_ids: list[int | None] = []  # of every SSE request, in order
        self.cuts = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self._listener.accept()
            except OSError:
                return
            up = socket.create_connection((self.upstream.host, self.upstream.port))
            state = {"cut": False}
            threading.Thread(target=self._requests, args=(down, up, state), daemon=True).start()
            threading.Thread(target=self._responses, args=(down, up, state), daemon=True).start()

    def _requests(self, down: socket.socket, up: socket.socket, state: dict) -> None:
        while data := _recv(down):
            if b"/events " in data:  # decide before the request goes on: the answer is SSE
                found = re.search(rb"(?i)\r\nlast-event-id: *(\d+)", data)
                after = int(found.group(1)) if found else None
                with self._lock:
                    self.last_event_ids.append(after)
                    state["cut"] = self.cuts < self.drops and (after or 0) >= self.cut_after
                    self.cuts += state["cut"]
            _send(up, data)
        _close(down, up)

    def _responses(self, down: socket.socket, up: socket.socket, state: dict) -> None:
        held = b""
        while data := _recv(up):
            if not state["cut"]:
                _send(down, data)
                continue
            held += data
            head = held.find(b"\r\n\r\n") + 4
            ends = [m.end() for m in re.finditer(rb"\n\n", held[head:])] if head >= 4 else []
            if len(ends) >= 2:  # one complete event, then the middle of the next
                _send(down, held[: head + ends[0] + (ends[1] - ends[0]) // 2])
                break
        _close(down, up)


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _send(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(data)


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


@pytest.fixture(scope="module")
def service(models_dir, small_mnist, tmp_path_factory):
    """A real server with its own models and data folders, a token, and a small MNIST."""
    root = tmp_path_factory.mktemp("client")
    with serving(service_env(root, models_dir, small_mnist, TOKEN)) as url:
        yield url


@pytest.fixture(scope="module")
def tiny_job(service) -> dict:
    """`jobs create ... --follow` of a one-epoch job: its id and the CLI's result."""
    done = cli("jobs", "create", "--name", "tiny", *TINY, "--seed", "3", "--follow", url=service)
    first = re.match(r"job (\d+): queued$", lines(done)[0])
    assert first, (lines(done), done.stderr)
    return {"id": int(first.group(1)), "done": done}


def test_sse_parser_dispatches_only_complete_events():
    wire = ["event: epoch", 'data: {"a":', "data: 1}", "id: 7", "", ": ping", "", "retry: 250"]
    wire += ["", "data: cut off", "id: 8"]  # no blank line: the connection dropped
    items = list(parse(wire))
    assert items[0] == Event("7", "epoch", '{"a":\n1}') and items[1].seconds == 0.25
    assert len(items) == 2


def test_jobs_table_shows_a_job_without_progress_as_a_dash():
    job = {"id": 7, "state": "queued", "params": {"name": "q", "epochs": 5}, "progress": {}}
    job |= {"created_at": 0.0, "model_version": None}
    running = job | {"id": 8, "state": "running", "progress": {"epoch": 2, "epochs": 5}}
    rows = [row.split()[:5] for row in jobs_table({"jobs": [job, running], "total": 2}).split("\n")]
    assert rows[1:] == [["7", "queued", "q", "-", "-"], ["8", "running", "q", "2/5", "-"]]
    assert "None" not in jobs_table({"jobs": [job | {"progress": {"epoch": None}}], "total": 1})


@pytest.mark.slow
def test_unreachable_url_is_one_line_and_bad_usage_exits_2():
    script = Path(sys.executable).with_name("dcgan-digits")
    assert script.exists(), "the dcgan-digits script is missing: pip install -e ."
    url = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [script, "models"], env={**os.environ, "DCGAN_URL": url}, capture_output=True
    )
    assert_one_line_error(done)
    assert done.stderr.decode() == f"dcgan-digits: error: cannot reach {url}: connection refused\n"
    started = time.monotonic()
    assert_one_line_error(cli("jobs", "follow", "1", "--url", url), "connection refused")
    assert time.monotonic() - started < 10  # never connected: no reconnection attempts
    with pytest.raises(ApiError, match="connection refused"), Client(url) as client:
        client.get_job(1)
    for usage in (
        [],
        ["generate", "--n", "many"],
        ["interpolate", "--seed-a", "1"],
        ["interpolate", "--seed-a", "1", "--seed-b", "2", "--format", "bmp"],
        ["jobs", "create", "--epochs", "2"],
        ["jobs", "create", "--name", "x", "--epochs", "0"],  # the schema's bounds
        ["jobs", "create", "--name", "x", "--mixed-precision", "float16"],
        ["jobs", "get", "one"],
        ["jobs", "delete"],
        ["models", "activate", "dcgan"],
        ["models", "download", "dcgan@x"],
    ):
        done = cli(*usage, url=url)
        assert done.returncode == 2 and b"usage:" in done.stderr and b"Traceback" not in done.stderr


@pytest.mark.slow
def test_generate_and_interpolate_write_the_bytes_of_a_direct_get(service, tmp_path):
    out = tmp_path / "x.png"
    done = cli("generate", "--n", "16", "--seed", "42", "-o", str(out), url=service)
    assert done.returncode == 0, done.stderr
    direct = httpx.get(f"{service}/generate?n=16&seed=42")
    assert out.read_bytes() == direct.content and direct.content.startswith(b"\x89PNG")
    assert done.stderr.decode() == f"{out}: {len(direct.content)} bytes, model dcgan@2, seed 42\n"
    for to_stdout in (["-o", "-"], []):  # stdout is a pipe here
        done = cli("generate", "--n", "16", "--seed", "42", *to_stdout, url=service)
        assert done.returncode == 0 and done.stdout == direct.content
    flags = ["--model", "cdcgan@1", "--digits", "3,1,4", "--n", "6", "--cols", "3", "--scale", "2"]
    query = "model=cdcgan@1&digits=3,1,4&n=6&cols=3&scale=2&seed=7"
    assert cli("generate", *flags, "--seed", "7", url=service).stdout == (
        httpx.get(f"{service}/generate?{query}").content
    )
    digit = cli("generate", "--model", "cdcgan", "--digit", "5", "--seed", "1", url=service)
    assert digit.stdout == httpx.get(f"{service}/generate?model=cdcgan&digit=5&seed=1").content
    walk = ["--seed-a", "1", "--seed-b", "2", "--steps", "8", "--format", "gif", "--scale", "2"]
    gif = cli("interpolate", *walk, "--model", "cdcgan", "--digit", "4", url=service)
    query = "seed_a=1&seed_b=2&steps=8&format=gif&scale=2&model=cdcgan&digit=4"
    assert gif.stdout == httpx.get(f"{service}/interpolate?{query}").content
    assert gif.stdout.startswith(b"GIF89a")


@pytest.mark.slow
def test_api_errors_are_one_line_with_a_nonzero_exit(service, tmp_path, tiny_job):
    out = tmp_path / "never.png"
    done = cli("generate", "--n", "0", "-o", str(out), url=service)
    assert_one_line_error(done, "n must be at least 1 (HTTP 422)")
    assert not out.exists()
    assert_one_line_error(
        cli("generate", "--digit", "3", url=service), "query.digit: model dcgan@2 is not condit"
    )
    assert_one_line_error(cli("generate", "--model", "nope", url=service), "unknown model 'nope'")
    flags = ["--name", "Bad Name", "--epochs", "2", "--lr-decay-epochs", "3"]
    bad = cli("jobs", "create", *flags, url=service)
    assert_one_line_error(bad, "name must be 1-40 lowercase", "lr_decay_epochs")
    denied = cli("jobs", "create", "--name", "x", url=service, token=None)
    assert_one_line_error(denied, "missing or wrong bearer token (HTTP 401)")
    wrong = cli("jobs", "cancel", "1", "--token", "nope", url=service)
    assert_one_line_error(wrong, "(HTTP 401)")
    assert_one_line_error(cli("jobs", "get", "999999", url=service), "no job 999999 (HTTP 404)")
    assert_one_line_error(cli("jobs", "follow", "999999", url=service), "no job 999999")
    assert_one_line_error(cli("jobs", "samples", "999999", url=service), "(HTTP 404)")
    again = cli("jobs", "resume", str(tiny_job["id"]), url=service)
    assert_one_line_error(again, "is succeeded; only cancelled, failed, interrupted jobs", "409")


@pytest.mark.slow
def test_models_table_and_json(service):
    listing = httpx.get(f"{service}/models").json()
    done = cli("models", "--json", url=service)
    assert done.returncode == 0 and json.loads(done.stdout) == listing
    rows = lines(cli("models", url=service))
    assert rows[0].split() == ["MODEL", "ACTIVE", "STATUS", "CONDITIONAL", "VERSIONS", "FID"]
    table = {row.split()[0]: row.split()[1:] for row in rows[1:]}
    assert table["dcgan"][:5] == ["(default)", "2", "ready", "no", "2"]
    assert table["cdcgan"][:3] == ["1", "ready", "yes"]
    assert table["broken"][:3] == ["-", "failed", "-"]


@pytest.mark.slow
def test_jobs_create_follow_get_list_and_samples(service, tiny_job, tmp_path):
    job_id, done = tiny_job["id"], tiny_job["done"]
    assert done.returncode == 0, (lines(done), done.stderr)
    out = lines(done)
    assert out[:2] == [f"job {job_id}: queued", f"job {job_id}: running"]
    assert out[2] == f"job {job_id}: training epochs 1..1, 256 images, 4 steps/epoch"
    assert re.fullmatch(r"epoch 1/1  g_loss \d+\.\d{4}  d_loss \d+\.\d{4}  .*ETA 0s", out[3])
    assert out[4:] == [f"job {job_id}: succeeded: tiny@1 (active)"] and not done.stderr
    # a finished job replays its history: the same lines, the same exit status
    assert lines(cli("jobs", "follow", str(job_id), url=service)) == out

    job = json.loads(cli("jobs", "get", str(job_id), url=service).stdout)
    assert job == httpx.get(f"{service}/jobs/{job_id}").json()
    assert job["state"] == "succeeded" and job["params"]["limit"] == 256
    assert job["params"]["seed"] == 3 and job["params"]["batch_size"] == 64
    listed = lines(cli("jobs", "list", url=service))
    assert listed[0].split() == ["ID", "STATE", "NAME", "EPOCH", "MODEL", "CREATED"]
    rows = {row.split()[0]: row.split()[1:5] for row in listed[1:]}
    assert rows[str(job_id)] == ["succeeded", "tiny", "1/1", "tiny@1"]
    newest = lines(cli("jobs", "list", "--limit", "1", url=service))  # other tests add jobs
    assert [row.split() for row in newest[:2]] == [row.split() for row in listed[:2]]
    total = len(listed) - 1
    assert newest[2:] == ([f"(1 of {total} jobs from offset 0; see --offset)"] if total > 1 else [])
    page = json.loads(cli("jobs", "list", "--json", url=service).stdout)
    assert page == httpx.get(f"{service}/jobs").json()

    gif = tmp_path / "progress.gif"
    done = cli("jobs", "samples", str(job_id), "-o", str(gif), url=service)
    assert done.returncode == 0, done.stderr
    assert gif.read_bytes() == httpx.get(f"{service}/jobs/{job_id}/progress.gif").content
    assert gif.read_bytes().startswith(b"GIF89a")
    png = cli("jobs", "samples", str(job_id), "--epoch", "1", url=service).stdout
    assert png == httpx.get(f"{service}/jobs/{job_id}/samples/1.png").content


@pytest.mark.slow
def test_dropped_sse_connections_lose_and_repeat_no_event(service, tiny_job):
    with Client(service) as direct:
        expected = list(direct.events(tiny_job["id"]))
    assert [e.id for e in expected] == list(range(1, len(expected) + 1)) and len(expected) > 6
    drops = len(expected) - 2
    proxy = FlakyProxy(service, drops)
    try:
        with Client(proxy.url) as flaky:
            got = list(flaky.events(tiny_job["id"], delay=0.05))
    finally:
        proxy.close()
    assert got == expected
    assert proxy.cuts == drops  # each cut connection passed one event: the next asks after it
    assert proxy.last_event_ids == [None, *range(1, drops + 1)]

    proxy = FlakyProxy(service, drops=3)
    try:
        done = cli("jobs", "follow", str(tiny_job["id"]), "--url", proxy.url, "-v")
    finally:
        proxy.close()
    assert lines(done) == lines(tiny_job["done"]) and done.returncode == 0
    assert proxy.last_event_ids == [None, 1, 2, 3] and proxy.cuts == 3
    assert done.stderr.decode().count("reconnecting to /jobs/") == 3


@pytest.mark.slow
def test_cancel_then_resume_follow_through_dropped_connections(service):
    flags = ["--name", "long", "--recipe", "tutorial", "--epochs", "50"]
    flags += ["--limit", "64", "--batch-size", "64"]
    created = cli("jobs", "create", *flags, url=service)
    job_id = json.loads(created.stdout)["id"]
    with Client(service) as client:
        next(e for e in client.events(job_id) if e.kind == "epoch")
    cancelling = cli("jobs", "cancel", str(job_id), url=service)
    assert json.loads(cancelling.stdout)["state"] == "running", cancelling.stderr
    followed = cli("jobs", "follow", str(job_id), url=service)
    assert followed.returncode == 1 and lines(followed)[-1] == f"job {job_id}: cancelled"
    assert f"job {job_id}: cancelling (the trainer checkpoints, then stops)" in lines(followed)
    stopped = max(epochs_of(lines(followed)))
    again = cli("jobs", "cancel", str(job_id), url=service)
    assert_one_line_error(again, f"job {job_id} is cancelled; only queued or running", "409")

    with Client(service) as client:
        last = list(client.events(job_id))[-1].id
    proxy = FlakyProxy(service, drops=3, cut_after=last)  # only the resumed run's stream
    try:
        resumed = cli("jobs", "resume", str(job_id), "--follow", "--url", proxy.url)
    finally:
        proxy.close()
    out = lines(resumed)
    assert resumed.returncode == 0, (out, resumed.stderr)
    assert out[:2] == [f"job {job_id}: queued", f"job {job_id}: running"]
    assert out[2].startswith(f"job {job_id}: training epochs {stopped + 1}..50, 64 images")
    epochs = epochs_of(out)
    assert epochs == list(range(stopped + 1, 51))  # every epoch once, in order
    assert out[-1] == f"job {job_id}: succeeded: long@1 (active)" and len(out) == 4 + len(epochs)
    assert proxy.cuts == 3 and proxy.last_event_ids[:2] == [None, last]
    assert proxy.last_event_ids[2:] == sorted(set(proxy.last_event_ids[2:]))


@pytest.mark.slow
def test_readme_client_examples_run(service, tiny_job, tmp_path):
    section = (ROOT / "README.md").read_text().split("\n### Client\n", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^\.venv/bin/dcgan-digits .*$", section, re.M)
    assert len(commands) >= 5
    env = {**os.environ, "DCGAN_URL": service, "DCGAN_API_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    listing = httpx.get(f"{service}/models").json()["models"]
    active = {m["name"]: m["active_version"] for m in listing}
    for command in commands:
        command = command.replace(".venv/bin/dcgan-digits", f"{sys.executable} -m client.cli")
        # this server's models are tiny stand-ins, numbered from 1
        command = re.sub(r"\b(c?dcgan)@\d+", lambda m: f"{m[1]}@{active[m[1]]}", command)
        done = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, timeout=600
        )
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
    direct = httpx.get(f"{service}/generate?n=16&seed=42").content
    assert (tmp_path / "digits.png").read_bytes() == direct
    for name in ("pi.png", "walk.gif"):
        assert (tmp_path / name).stat().st_size > 0


@pytest.mark.slow
def test_jobs_create_sends_the_schemas_flags_and_delete_removes_a_finished_job(service):
    flags = ["--name", "flags", "--recipe", "tutorial", "--epochs", "50"]
    flags += ["--limit", "64", "--batch-size", "64"]
    flags += ["--ema-decay", "0.9", "--lr-decay-epochs", "2", "--top-k", "0.5"]
    flags += ["--r1-gamma", "0.1", "--checkpoint-every", "5", "--no-activate"]
    created = cli("jobs", "create", *flags, url=service)
    assert created.returncode == 0, created.stderr
    job_id = json.loads(created.stdout)["id"]
    running = cli("jobs", "delete", str(job_id), url=service)
    assert_one_line_error(running, f"job {job_id} is ", "(HTTP 409)")
    assert cli("jobs", "cancel", str(job_id), url=service).returncode == 0
    assert lines(cli("jobs", "follow", str(job_id), url=service))[-1] == f"job {job_id}: cancelled"
    params = httpx.get(f"{service}/jobs/{job_id}").json()["params"]
    given = {"ema_decay": 0.9, "lr_decay_epochs": 2, "top_k": 0.5, "r1_gamma": 0.1}
    given |= {"checkpoint_every": 5, "activate": False, "epochs": 50, "limit": 64}
    assert {k: params[k] for k in given} == given
    assert params["recipe"] == "tutorial"  # and what was not given is the recipe's:
    assert params.get("learning_rate") is None and params.get("seed") is None

    deleted = cli("jobs", "delete", str(job_id), url=service)
    assert deleted.returncode == 0 and lines(deleted) == [f"job {job_id}: deleted"]
    assert httpx.get(f"{service}/jobs/{job_id}").status_code == 404
    assert_one_line_error(cli("jobs", "delete", str(job_id), url=service), "(HTTP 404)")


@pytest.mark.slow
def test_models_activate_download_and_delete(service, models_dir, tiny_job, tmp_path):
    import tarfile

    done = cli("models", "activate", "dcgan@1", url=service)
    try:
        assert done.returncode == 0 and lines(done) == ["dcgan@1: active"], done.stderr
        assert httpx.get(f"{service}/models/dcgan").json()["active_version"] == 1
    finally:
        assert cli("models", "activate", "dcgan@2", url=service).returncode == 0
    assert httpx.get(f"{service}/models/dcgan").json()["active_version"] == 2
    assert_one_line_error(cli("models", "activate", "dcgan@9", url=service), "(HTTP 404)")
    denied = cli("models", "activate", "dcgan@2", url=service, token=None)
    assert_one_line_error(denied, "missing or wrong bearer token (HTTP 401)")

    done = cli("models", "download", "dcgan@2", url=service, cwd=tmp_path)  # the server's name
    archive = tmp_path / "dcgan-2.tar.gz"
    assert done.returncode == 0, done.stderr
    assert (
        done.stderr.decode() == f"dcgan-2.tar.gz: {archive.stat().st_size} bytes, model dcgan@2\n"
    )
    direct = httpx.get(f"{service}/models/dcgan/2/download").content
    assert archive.read_bytes() == direct and sorted(os.listdir(tmp_path)) == ["dcgan-2.tar.gz"]
    assert cli("models", "download", "dcgan@2", "-o", "-", url=service).stdout == direct
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "models", filter="data")
    source = models_dir / "dcgan" / "2"
    for path in (p for p in source.rglob("*") if p.is_file()):
        copy = tmp_path / "models" / "dcgan" / "2" / path.relative_to(source)
        assert copy.read_bytes() == path.read_bytes(), path
    missing = cli("models", "download", "nope@1", "-o", str(tmp_path / "n.tgz"), url=service)
    assert_one_line_error(missing, "unknown model 'nope'", "(HTTP 404)")
    assert not list(tmp_path.glob("n.tgz*"))  # no file, not even a partial one

    done = cli("models", "delete", "tiny@1", url=service)
    assert done.returncode == 0 and lines(done) == ["tiny@1: deleted"], done.stderr
    assert httpx.get(f"{service}/models/tiny").status_code == 404
    assert_one_line_error(cli("models", "delete", "tiny@1", url=service), "(HTTP 404)")


@pytest.mark.slow
def test_noise_prints_the_json_of_get_noise(service):
    done = cli(
        "noise", "--seed", "42", "--n", "2", "--model", "cdcgan", "--digit", "5", url=service
    )
    direct = httpx.get(f"{service}/noise?seed=42&n=2&model=cdcgan&digit=5").json()
    assert json.loads(done.stdout) == direct and direct["inputs"]["labels"] == [5, 5]
