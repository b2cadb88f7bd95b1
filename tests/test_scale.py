"""Issue 21's scale-out on loopback: the topology of docker-compose.scale.yml, from Debian's
PostgreSQL and nginx packages instead of images.

PostgreSQL (initdb in a temporary folder, a free port), two API replicas with DCGAN_RUN_JOBS=off
sharing its database, a models folder and a data folder, `dcgan-worker` processes running the
jobs, and nginx started from deploy/nginx/templates/default.conf.template with the two replicas
as its upstreams. Jobs are tiny; every wait polls with a deadline.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from app.jobs.schema import JobState
from app.jobs.store import MIGRATIONS, JobStore
from tests.conftest import QUIET_TF, Server, free_port, service_env, start_server, wait_ready
from tests.test_deploy import NGINX, nginx_command, section_commands
from tests.test_jobstore import check_store

pytestmark = pytest.mark.slow
TOKEN = "scale-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TINY = {"recipe": "tutorial", "limit": 256, "batch_size": 64, "epochs": 2}
# Small, so that a dead worker's job is recovered quickly, but above what a runner spends holding a
# job without beating: runners beat every third of it while a trainer runs, not while they load
# and self-test its export (about 4 s here) or wait for a job folder's lock.
HEARTBEAT_TIMEOUT = 10
WORKERS = ["w1", "w2", "w3"]


def _postgres_bin(name: str) -> str | None:
    """On PATH, else Debian's /usr/lib/postgresql/VERSION/bin (newest), which is not on PATH."""
    found = shutil.which(name)
    if found:
        return str(Path(found).resolve())
    versions = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    return max(versions, key=lambda p: int(Path(p).parts[-3]), default=None)


INITDB = _postgres_bin("initdb")
if INITDB is None or NGINX is None:
    pytest.skip(
        "needs PostgreSQL's initdb and nginx (Debian: apt-get install postgresql nginx); missing: "
        + ", ".join(n for n, b in (("initdb", INITDB), ("nginx", NGINX)) if b is None),
        allow_module_level=True,
    )


def until(check: Callable, timeout: float, what: str, logs: Callable[[], str] = str):
    """check()'s first truthy value, polled every 0.2 s; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s\n{logs()}")


# -- PostgreSQL ------------------------------------------------------------------------------


def _unprivileged() -> dict:
    """Popen arguments that run PostgreSQL as another user when we are root (initdb refuses
    root): Debian's `postgres` user when the package made one, else `nobody`."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            user = pwd.getpwnam(name)
            return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    pytest.skip("running as root, and there is no postgres or nobody user to run PostgreSQL as")


@dataclass
class Postgres:
    port: int
    command: list[str]
    as_user: dict
    log: Path
    proc: subprocess.Popen | None = None

    def url(self, database: str) -> str:
        return f"postgresql://dcgan@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        with open(self.log, "a") as out:
            self.proc = subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, **self.as_user
            )

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)  # fast shutdown: clients are disconnected
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def postgresql(databases: list[str]) -> Iterator[Postgres]:
    import psycopg

    # Not pytest's tmp_path: its parents are root's alone, and the server may run as another user.
    work = Path(tempfile.mkdtemp(prefix="dcgan-pg-"))
    as_user = _unprivileged()
    if as_user:
        os.chown(work, as_user["user"], as_user["group"])
    data, log = work / "data", work / "postgres.log"
    server = None
    try:
        init = subprocess.run(
            [INITDB, "-D", str(data), "-U", "dcgan", "-A", "trust", "-E", "UTF8"]
            + ["--locale=C", "--no-sync", "--no-instructions"],
            capture_output=True,
            text=True,
            timeout=120,
            **as_user,
        )
        assert init.returncode == 0, init.stdout + init.stderr
        port = free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(work),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        command = [str(Path(INITDB).with_name("postgres")), "-D", str(data), "-p", str(port)]
        command += [a for k, v in settings.items() for a in ("-c", f"{k}={v}")]
        server = Postgres(port, command, as_user, log)
        server.start()

        def connects():
            assert server.proc.poll() is None, f"postgres exited: {log.read_text()}"
            try:
                return psycopg.connect(server.url("postgres"), autocommit=True, connect_timeout=2)
            except psycopg.OperationalError:
                return None

        with until(connects, 60, "PostgreSQL accepting connections", log.read_text) as admin:
            for name in databases:
                admin.execute(f"CREATE DATABASE {name}")
        yield server
    finally:
        if server is not None and server.proc.poll() is None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def pg() -> Iterator[Postgres]:
    with postgresql(["scale", "store_check", "claims", "empty"]) as server:
        yield server


# -- the job store on PostgreSQL ---------------------------------------------------------------


def test_the_job_store_behaves_the_same_on_postgresql(pg):
    store = JobStore(pg.url("store_check"))
    try:
        assert store.dialect == "postgresql"
        check_store(store)
        JobStore(pg.url("store_check")).close()  # migrating an up-to-date database: nothing to do
    finally:
        store.close()


def test_replicas_and_workers_starting_at_once_migrate_a_new_database_once(pg):
    """Eight processes' first JobStore on an empty database, at the same instant (the compose
    file's `up`): one creates the schema, the others find it."""
    gate, made, errors = threading.Barrier(8, timeout=30), [], []

    def start() -> None:
        gate.wait()
        try:
            made.append(JobStore(pg.url("empty")))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert errors == [] and len(made) == 8
        versions = made[0]._all("SELECT version FROM schema_version ORDER BY version")
        assert [v["version"] for v in versions] == list(range(1, len(MIGRATIONS) + 1))
    finally:
        for store in made:
            store.close()


def race(stores: list[JobStore], job_id: int) -> tuple[dict, dict]:
    """Every store claims at the same instant, then every store takes the job over at the same
    instant once its claim's heartbeat is stale: {store index: claim}, {store index: took it}."""
    gate, claims, takeovers, stale_since = threading.Barrier(len(stores), timeout=30), {}, {}, []

    def runner(i: int) -> None:
        gate.wait()
        claims[i] = stores[i].claim(f"w{i}")
        if gate.wait() == 0:
            stale_since.append(time.time())
        gate.wait()
        takeovers[i] = stores[i].take_over(job_id, f"t{i}", stale_since[0])

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return claims, takeovers


def test_runners_racing_for_one_job_never_both_get_it(pg):
    """Claims and take-overs of one queued job by four connections released at once."""
    stores = [JobStore(pg.url("claims")) for _ in range(4)]
    try:
        for round_ in range(10):
            job_id = stores[0].create({"name": f"race-{round_}"}).id
            claims, takeovers = race(stores, job_id)
            winners = [c for c in claims.values() if c is not None]
            assert len(claims) == 4 and [w.id for w in winners] == [job_id], claims
            assert sorted(takeovers.values()) == [False, False, False, True], takeovers
            owner = next(i for i, took in takeovers.items() if took)
            assert stores[1].get(job_id).worker == f"t{owner}"
            stores[0].set_state(job_id, JobState.SUCCEEDED)
    finally:
        for store in stores:
            store.close()


# -- replicas and workers ---------------------------------------------------------------------


@dataclass
class Cluster:
    env: dict
    replicas: list[tuple[Server, str]]
    workers: dict[str, Server] = field(default_factory=dict)

    @property
    def urls(self) -> list[str]:
        return [url for _, url in self.replicas]

    def start_worker(self, name: str) -> Server:
        command = [sys.executable, "-m", "app.worker", "--name", name]
        self.workers[name] = Server(command, {**os.environ, **QUIET_TF, **self.env})
        return self.workers[name]

    def wait_worker(self, name: str) -> None:
        worker = self.workers[name]
        until(
            lambda: f"worker {name}: taking jobs" in worker.log or worker.poll() is not None,
            180,
            f"worker {name} started",
            self.logs,
        )
        assert worker.poll() is None, f"worker {name} exited: {worker.log[-3000:]}"

    def logs(self) -> str:
        parts = [f"--- worker {n}\n{w.log[-2500:]}" for n, w in self.workers.items()]
        parts += [f"--- replica {url}\n{proc.log[-1500:]}" for proc, url in self.replicas]
        return "\n".join(parts)


@pytest.fixture(scope="module")
def cluster(pg, models_dir, small_mnist, tmp_path_factory) -> Iterator[Cluster]:
    """Two replicas that run no jobs and three workers, sharing the database and both folders.
    Every job below may run on any worker; the last test kills one."""
    root = tmp_path_factory.mktemp("scale")
    env = service_env(root, models_dir, small_mnist, TOKEN) | {
        "DCGAN_DATABASE_URL": pg.url("scale"),
        "DCGAN_RUN_JOBS": "off",
        "DCGAN_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
        "DCGAN_MODELS_POLL_SECONDS": "1",
        "DCGAN_BATCH_MAX_IMAGES": "64",  # a quicker load-time self-test of each model
    }
    # Five processes load every active model at start: one generator (dcgan@2) is enough here.
    shutil.rmtree(Path(env["DCGAN_MODELS_DIR"]) / "cdcgan")
    running = Cluster(env, [start_server(env), start_server(env)])
    try:
        for name in WORKERS:
            running.start_worker(name)
        for proc, url in running.replicas:
            wait_ready(proc, url, timeout=240)
        running.wait_worker(WORKERS[0])
        yield running
    finally:
        for worker in running.workers.values():
            worker.terminate()  # an idle worker exits at once; a running trainer checkpoints
        for worker in running.workers.values():
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        for proc, _ in running.replicas:
            proc.kill()
            proc.wait()


def create(url: str, **fields) -> dict:
    body = {"name": f"s-{uuid.uuid4().hex[:8]}", **TINY, **fields}
    response = httpx.post(f"{url}/jobs", json=body, headers=AUTH, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()


def wait_state(cluster: Cluster, url: str, job_id: int, states: set, timeout: float = 240):
    def reached():
        job = httpx.get(f"{url}/jobs/{job_id}", timeout=30).json()
        return job if job["state"] in states else None

    return until(reached, timeout, f"job {job_id} in {sorted(states)}", cluster.logs)


def follow(url: str, job_id: int, timeout: float = 240) -> Iterator[dict]:
    """A job's Server-Sent Events as they arrive, each with `received` (time.time()) added; the
    stream ends with the job."""
    with httpx.stream("GET", f"{url}/jobs/{job_id}/events", timeout=timeout) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        current: dict = {}
        for line in response.iter_lines():
            if not line:
                if current:
                    yield current | {"received": time.time()}
                current = {}
            elif not line.startswith(":"):  # ":" starts a keep-alive comment
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                current[name] = json.loads(value) if name == "data" else value


def states_of(events: list[dict]) -> list[str]:
    return [e["data"]["state"] for e in events if e["event"] == "state"]


def assert_each_claim_ran_one_trainer(events: list[dict]) -> None:
    """Every `running` (a runner's claim) is followed by exactly one trainer `start`, and by a
    state that ends the run before any other `running`: never two trainers at once."""
    ids = [int(e["id"]) for e in events]
    assert ids == list(range(1, len(ids) + 1))
    runs, current = [], None
    for event in events:
        if event["event"] == "state":
            if event["data"]["state"] == "running":
                assert current is None, "a second `running` before the first run ended"
                current = []
                runs.append(current)
            elif current is not None:
                current = None
        elif event["event"] == "start":
            assert current is not None, "a trainer started outside a run"
            current.append(event)
    assert current is None, "the last run never ended"
    assert [len(run) for run in runs] == [1] * len(runs)


def requests_to(url: str, route: str) -> float:
    """Requests a replica has answered on `route`, from its Prometheus metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url}/metrics", timeout=30).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "dcgan_http_requests_total" and sample.labels["route"] == route
    )


def test_a_job_made_on_one_replica_is_followed_listed_and_served_on_the_other(cluster):
    a, b = cluster.urls
    job = create(a)
    name = job["params"]["name"]
    events = list(follow(b, job["id"]))
    done_at = time.monotonic()
    assert states_of(events) == ["queued", "running", "succeeded"], cluster.logs()
    assert_each_claim_ran_one_trainer(events)
    assert (
        next(e for e in events if e["data"].get("state") == "running")["data"]["worker"] in WORKERS
    )
    assert [e["data"]["epoch"] for e in events if e["event"] == "epoch"] == [1, 2]

    # One database: both list the same jobs, in the same states, with the same progress.
    for path in ("/jobs", f"/jobs/{job['id']}"):
        answers = [httpx.get(f"{url}{path}", timeout=30) for url in (a, b)]
        assert answers[0].status_code == 200 and answers[0].json() == answers[1].json()
    assert answers[0].json()["model_version"] == f"{name}@1"
    # One data folder: the worker's samples and GIF, from either replica.
    for url in (a, b):
        for path in (f"/jobs/{job['id']}/samples/2.png", f"/jobs/{job['id']}/progress.gif"):
            assert httpx.get(f"{url}{path}", timeout=30).status_code == 200, path

    # One models folder: both replicas pick the export up by themselves.
    def served(url: str):
        response = httpx.get(f"{url}/generate?model={name}&n=4&seed=7", timeout=30)
        return response if response.status_code == 200 else None

    images = [
        until(lambda u=u: served(u), 30, f"{name} served by {u}", cluster.logs) for u in (a, b)
    ]
    served_after = time.monotonic() - done_at
    assert [r.headers["x-model"] for r in images] == [f"{name}@1"] * 2
    assert images[0].content == images[1].content
    assert images[0].headers["etag"] == images[1].headers["etag"]
    print(f"\n{name}@1 served by both replicas {served_after:.1f} s after `succeeded`")


# -- nginx in front -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy(cluster) -> Iterator[str]:
    """nginx from deploy/nginx/templates/default.conf.template on a free loopback port, the two
    replicas as its upstream; yields its URL."""
    # Not pytest's tmp_path: its parents are root's alone, and nginx's workers may be `nobody`.
    work = Path(tempfile.mkdtemp(prefix="dcgan-nginx-"))
    work.chmod(0o755)
    port = free_port()
    upstreams = [url.removeprefix("http://") for url in cluster.urls]
    command = nginx_command(work, f"127.0.0.1:{port}", upstreams)
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:

        def answers():
            assert proc.poll() is None, (work / "error.log").read_text()
            with contextlib.suppress(httpx.TransportError):
                return httpx.get(f"{url}/healthz", timeout=2).status_code == 200

        until(answers, 30, "nginx answering")
        yield url
    finally:
        proc.terminate()  # its workers stop with it
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def test_nginx_balances_caches_seeded_images_only_and_limits_bodies(cluster, proxy):
    a, b = cluster.urls
    before = [requests_to(u, "/healthz") for u in (a, b)]
    for _ in range(6):
        assert httpx.get(f"{proxy}/healthz", timeout=30).status_code == 200
    spread = [requests_to(u, "/healthz") - n for u, n in zip((a, b), before)]
    assert sum(spread) == 6 and min(spread) >= 1, spread  # round-robin: both replicas answer

    def generated() -> float:
        return sum(requests_to(u, "/generate") + requests_to(u, "/interpolate") for u in (a, b))

    for path in ("/generate?n=4&seed=4242", "/interpolate?seed_a=1&seed_b=2&steps=8"):
        first = httpx.get(f"{proxy}{path}", timeout=30)
        assert first.status_code == 200 and first.headers["x-cache-status"] == "MISS"
        assert first.headers["cache-control"].startswith("public")
        computed = generated()
        again = httpx.get(f"{proxy}{path}", timeout=30)
        assert again.headers["x-cache-status"] == "HIT"
        assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
        assert again.headers["x-model"] == first.headers["x-model"]
        revalidated = httpx.get(
            f"{proxy}{path}", headers={"If-None-Match": first.headers["etag"]}, timeout=30
        )
        assert revalidated.status_code == 304
        assert generated() == computed  # neither the HIT nor the 304 reached a replica

    computed = generated()
    unseeded = [httpx.get(f"{proxy}/generate?n=4", timeout=30) for _ in range(2)]
    assert [r.headers["x-cache-status"] for r in unseeded] == ["BYPASS", "BYPASS"]
    assert all(r.headers["cache-control"] == "no-store" for r in unseeded)
    assert unseeded[0].headers["x-seed"] != unseeded[1].headers["x-seed"]
    assert unseeded[0].content != unseeded[1].content
    assert generated() == computed + 2  # both computed by a replica

    # The README's check, through nginx: the second of two seeded requests is a HIT.
    curl = next(c for c in section_commands() if c.startswith("curl "))
    shown = [
        subprocess.run(
            ["bash", "-c", curl.replace("http://127.0.0.1:8000", proxy)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        for _ in range(2)
    ]
    assert [s.returncode for s in shown] == [0, 0], shown[0].stderr
    assert "x-cache-status: hit" in shown[1].stdout.lower(), shown[1].stdout

    too_big = httpx.post(f"{proxy}/jobs", content=b"x" * 100_000, headers=AUTH, timeout=30)
    assert too_big.status_code == 413 and too_big.headers["server"] == "nginx"
    assert httpx.post(f"{proxy}/jobs", json={"name": "x"}, timeout=30).status_code == 401
    print(f"\nnginx: /healthz x6 answered {spread[0]:.0f}/{spread[1]:.0f} by the two replicas")


def test_job_events_stream_live_through_nginx(cluster, proxy):
    job = create(proxy, epochs=3)
    events = list(follow(proxy, job["id"]))
    assert states_of(events) == ["queued", "running", "succeeded"], cluster.logs()
    assert_each_claim_ran_one_trainer(events)
    lags = [e["received"] - e["data"]["time"] for e in events]
    last_written = events[-1]["data"]["time"]
    live = [e for e in events if e["event"] in ("start", "epoch")]
    assert len(live) == 4
    # Each event reached the client while the job still ran, long before its last event was
    # written, and soon after it was itself written (a buffering proxy would deliver at the end).
    assert all(e["received"] < last_written for e in live)
    assert max(lags) < 5, lags
    print(
        f"\nSSE through nginx: {len(events)} events over "
        f"{last_written - events[0]['data']['time']:.1f} s; the first epoch arrived "
        f"{last_written - live[1]['received']:.1f} s before the last event was written; "
        f"delay from written to received: median {statistics.median(lags):.2f} s, "
        f"max {max(lags):.2f} s"
    )


# -- PostgreSQL restarts -------------------------------------------------------------------------


def jobs_answer(url: str) -> httpx.Response | None:
    with contextlib.suppress(httpx.TransportError):
        return httpx.get(f"{url}/jobs", timeout=30)
    return None


def test_postgresql_restarted_under_replicas_and_workers(cluster, pg):
    """Every pooled connection dies with the server: the replicas answer /jobs again within
    seconds, and a worker claims the next job, with nothing restarted but PostgreSQL."""
    a, b = cluster.urls
    alive = [name for name, w in cluster.workers.items() if w.poll() is None]
    assert all(jobs_answer(u).status_code == 200 for u in (a, b))
    pg.stop()
    down = jobs_answer(a)
    ready = httpx.get(f"{a}/readyz", timeout=30)
    pg.start()
    started = time.monotonic()
    until(
        lambda: all(getattr(jobs_answer(u), "status_code", 0) == 200 for u in (a, b)),
        30,
        "/jobs answered again",
        cluster.logs,
    )
    back_after = time.monotonic() - started
    job = create(b, epochs=1)
    done = wait_state(cluster, a, job["id"], {"succeeded", "failed"})
    claimed_after = time.monotonic() - started
    assert down.status_code == 503 and "job database" in down.json()["detail"]
    assert ready.status_code == 503 and "reason" in ready.json()
    assert done["state"] == "succeeded", done
    assert [n for n in alive if cluster.workers[n].poll() is not None] == []  # none exited
    until(lambda: httpx.get(f"{a}/readyz", timeout=30).status_code == 200, 30, "ready again")
    print(
        f"\nPostgreSQL restarted: /jobs 200 on both replicas {back_after:.1f} s after it was "
        f"up again (503 JSON while down); the next job succeeded {claimed_after:.1f} s after"
    )


# -- a worker dies ------------------------------------------------------------------------------


def test_a_dead_workers_job_is_recovered_resumed_and_never_run_twice(cluster):
    a, b = cluster.urls
    for name in WORKERS:  # three idle workers: any may claim the job
        cluster.wait_worker(name)
    job = create(a, epochs=4)
    running = None
    for event in follow(b, job["id"]):
        if event["event"] == "state" and event["data"]["state"] == "running":
            running = event["data"]
        if event["event"] == "checkpoint":
            break
    else:
        raise AssertionError(f"job {job['id']} ended before its first checkpoint")
    first = running["worker"]
    cluster.workers[first].kill()  # SIGKILL: no clean-up; its trainer checkpoints and stops
    cluster.workers[first].wait()
    killed_at = time.monotonic()
    others = sorted(set(cluster.workers) - {first})

    interrupted = wait_state(cluster, b, job["id"], {"interrupted", "failed", "succeeded"}, 120)
    recovered_after = time.monotonic() - killed_at
    assert interrupted["state"] == "interrupted" and interrupted["resumable"], interrupted
    assert "runner stopped" in interrupted["error"]
    recovered_by = [n for n in others if f"recovering job {job['id']} " in cluster.workers[n].log]
    assert len(recovered_by) == 1, cluster.logs()

    resumed = httpx.post(f"{a}/jobs/{job['id']}/resume", headers=AUTH, timeout=30)
    assert resumed.status_code == 200 and resumed.json()["state"] == "queued"
    done = wait_state(cluster, b, job["id"], {"succeeded", "failed", "interrupted"})
    assert done["state"] == "succeeded", done

    events = list(follow(a, job["id"]))  # the whole history: the job has ended
    assert states_of(events) == [
        "queued",
        "running",
        "interrupted",
        "queued",
        "running",
        "succeeded",
    ], cluster.logs()
    assert_each_claim_ran_one_trainer(events)
    runs = [e for e in events if e["event"] == "state" and e["data"]["state"] == "running"]
    assert runs[0]["data"]["worker"] == first and runs[1]["data"]["worker"] in others
    starts = [e for e in events if e["event"] == "start"]
    assert starts[1]["data"]["start_epoch"] > 1  # from the checkpoint, not from scratch
    first_run = events[: events.index(runs[1])]
    assert max(e["data"]["time"] for e in first_run) <= runs[1]["data"]["time"]
    for name in others:  # no live job was taken from a runner that still beat
        assert "was taken over" not in cluster.workers[name].log
    print(
        f"\nkilled {first}; {recovered_by[0]} marked the job interrupted "
        f"{recovered_after:.1f} s later (heartbeat timeout {HEARTBEAT_TIMEOUT} s); "
        f"resumed on {runs[1]['data']['worker']} from epoch {starts[1]['data']['start_epoch']}"
    )
