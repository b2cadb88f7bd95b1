"""The jobs API against a real uvicorn and real trainer processes (tiny runs). Every test makes
its own jobs under its own model name, so none depends on another or on their order."""

import contextlib
import io
import json
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.conftest import service_env, start_server, wait_ready
from tests.test_jobstore import hold_sqlite_lock

pytestmark = pytest.mark.slow
TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TINY = {"recipe": "tutorial", "limit": 256, "batch_size": 64, "epochs": 2}
GRACE = 10  # seconds a stopped trainer has to exit before SIGKILL


@pytest.fixture(scope="module")
def service(models_dir, small_mnist, tmp_path_factory):
    """A server with its own copy of the models folder and its own data folder."""
    root = tmp_path_factory.mktemp("jobs")
    env = service_env(root, models_dir, small_mnist, TOKEN) | {
        "DCGAN_CANCEL_GRACE_SECONDS": str(GRACE)
    }
    proc, url = start_server(env)
    wait_ready(proc, url)
    running = {"url": url, "env": env, "proc": proc, "root": root}
    yield running
    running["proc"].kill()  # the restart test replaces the process
    running["proc"].wait()


@pytest.fixture
def http(service):
    with httpx.Client(base_url=service["url"], timeout=30) as client:
        yield client


def unique_name() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def iter_events(http: httpx.Client, job_id: int, after: int = 0, timeout: float = 240):
    """Parsed SSE events of a job after event id `after`, as they arrive."""
    path = f"/jobs/{job_id}/events"
    headers = {"Last-Event-ID": str(after)} if after else {}
    with http.stream("GET", path, headers=headers, timeout=timeout) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        current = {}
        for line in response.iter_lines():
            if not line:
                if current:
                    yield current
                current = {}
            elif not line.startswith(":"):  # ":" starts a keep-alive comment
                field, _, value = line.partition(": ")
                current[field] = json.loads(value) if field == "data" else value


def sse(http: httpx.Client, job_id: int, after: int = 0) -> list:
    """Every event until the server closes the stream (when the job has ended)."""
    return list(iter_events(http, job_id, after))


def wait_event(http, job_id: int, kind: str, after: int = 0) -> dict:
    for event in iter_events(http, job_id, after):
        if event["event"] == kind:
            return event
    raise AssertionError(f"job {job_id} ended without a {kind} event")


def create(http, **fields) -> dict:
    body = {"name": unique_name(), **TINY, **fields}
    response = http.post("/jobs", json=body, headers=AUTH)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/jobs/{response.json()['id']}"
    return response.json()


def wait_state(http, job_id: int, states: set, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job['state']}")


def test_job_streams_events_samples_gif_and_exports_a_version(http):
    job = create(http)
    name = job["params"]["name"]
    assert job["cancellable"] and not job["deletable"]
    events = sse(http, job["id"])
    ids = [int(e["id"]) for e in events]
    assert ids == list(range(1, len(ids) + 1))
    kinds = [e["event"] for e in events]
    assert kinds[:3] == ["state", "state", "start"] and kinds[-2:] == ["done", "state"]
    assert [e["data"]["epoch"] for e in events if e["event"] == "epoch"] == [1, 2]
    states = [e["data"] for e in events if e["event"] == "state"]
    assert [s["state"] for s in states] == ["queued", "running", "succeeded"]
    assert states[-1]["finished"] and states[-1]["deletable"] and not states[-1]["resumable"]
    assert all("/" not in str(e["data"].get("path", "")) for e in events)  # no server paths
    for epoch in (1, 2):
        png = http.get(f"/jobs/{job['id']}/samples/{epoch}.png")
        assert png.status_code == 200 and Image.open(io.BytesIO(png.content)).format == "PNG"
    gif = http.get(f"/jobs/{job['id']}/progress.gif")
    assert Image.open(io.BytesIO(gif.content)).n_frames == 2
    done = http.get(f"/jobs/{job['id']}").json()
    assert done["state"] == "succeeded" and done["model_version"] == f"{name}@1"
    assert done["progress"]["epoch"] == 2 and done["progress"]["images_per_sec"] > 0
    assert done["started_at"] <= done["finished_at"]
    assert http.get(f"/generate?n=4&seed=1&model={name}").headers["x-model"] == f"{name}@1"

    # Reconnecting with Last-Event-ID resends only what was missed.
    replay = sse(http, job["id"], after=ids[-3])
    assert [int(e["id"]) for e in replay] == ids[-2:]


def test_without_activate_a_name_keeps_serving_its_version_and_activate_switches(http):
    first = create(http, epochs=1)
    name = first["params"]["name"]
    assert wait_state(http, first["id"], {"succeeded", "failed"})["state"] == "succeeded"
    second = create(http, name=name, epochs=1)
    assert wait_state(http, second["id"], {"succeeded", "failed"})["state"] == "succeeded"
    assert http.get(f"/generate?n=1&seed=1&model={name}").headers["x-model"] == f"{name}@1"
    assert http.get(f"/generate?n=1&seed=1&model={name}@2").status_code == 200
    third = create(http, name=name, epochs=1, activate=True)
    assert wait_state(http, third["id"], {"succeeded", "failed"})["state"] == "succeeded"
    assert http.get(f"/generate?n=1&seed=1&model={name}").headers["x-model"] == f"{name}@3"
    assert http.get(f"/models/{name}").json()["active_version"] == 3


def test_cancel_checkpoints_and_resume_continues(http):
    job = create(http, epochs=50)
    wait_event(http, job["id"], "epoch")
    assert http.post(f"/jobs/{job['id']}/cancel", headers=AUTH).status_code == 200
    cancelled = wait_state(http, job["id"], {"cancelled", "failed"})
    assert cancelled["state"] == "cancelled" and cancelled["resumable"], cancelled["error"]
    again = http.post(f"/jobs/{job['id']}/cancel", headers=AUTH)
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    last = int(sse(http, job["id"])[-1]["id"])  # the job has ended: the stream closes
    resumed = http.post(f"/jobs/{job['id']}/resume", headers=AUTH)
    assert resumed.status_code == 200 and resumed.json()["state"] == "queued"
    start = wait_event(http, job["id"], "start", after=last)
    assert start["data"]["start_epoch"] > 1  # continued from the checkpoint, not restarted
    http.post(f"/jobs/{job['id']}/cancel", headers=AUTH)
    assert wait_state(http, job["id"], {"cancelled", "failed"})["state"] == "cancelled"
    assert http.delete(f"/jobs/{job['id']}", headers=AUTH).status_code == 204
    assert http.get(f"/jobs/{job['id']}").status_code == 404


def test_a_sigkilled_trainer_fails_the_job_with_the_reason_and_resumes_from_its_epoch(http):
    job = create(http, epochs=3)
    running = next(e for e in iter_events(http, job["id"]) if e["data"].get("state") == "running")
    wait_event(http, job["id"], "checkpoint")  # every epoch, by default
    os.kill(running["data"]["pid"], signal.SIGKILL)
    failed = wait_state(http, job["id"], {"failed", "succeeded", "cancelled"})
    assert failed["state"] == "failed" and failed["resumable"]
    assert failed["error"].startswith("trainer killed by SIGKILL (the out-of-memory killer")
    last = int(sse(http, job["id"])[-1]["id"])
    assert http.post(f"/jobs/{job['id']}/resume", headers=AUTH).status_code == 200
    assert wait_event(http, job["id"], "start", after=last)["data"]["start_epoch"] >= 2
    assert wait_state(http, job["id"], {"succeeded", "failed"})["state"] == "succeeded"


def test_restart_recovers_the_running_job_as_interrupted_and_resume_succeeds(service, http):
    job = create(http, epochs=3)
    wait_event(http, job["id"], "epoch")
    service["proc"].kill()  # the service dies; its trainer is told to checkpoint and stop
    service["proc"].wait()
    proc, url = start_server(service["env"])  # waits for the old trainer's folder lock
    service["proc"], service["url"] = proc, url
    wait_ready(proc, url)
    with httpx.Client(base_url=url, timeout=30) as fresh:
        interrupted = wait_state(fresh, job["id"], {"interrupted", "failed", "succeeded"})
        assert interrupted["state"] == "interrupted", interrupted["error"]
        listed = fresh.get("/jobs").json()["jobs"]
        assert [j["id"] for j in listed] == sorted((j["id"] for j in listed), reverse=True)
        assert fresh.post(f"/jobs/{job['id']}/resume", headers=AUTH).status_code == 200
        assert wait_state(fresh, job["id"], {"succeeded", "failed"})["state"] == "succeeded"


def test_the_token_is_checked_before_the_body_is_read(http):
    body = {"name": "x", **TINY}
    assert http.post("/jobs", json=body).status_code == 401
    wrong = http.post("/jobs", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert http.post("/jobs", content=b"{not json").status_code == 401  # not a 422
    assert http.post("/jobs/1/cancel").status_code == 401
    assert http.post("/jobs/1/resume", headers={"Authorization": TOKEN}).status_code == 401
    assert http.delete("/jobs/1").status_code == 401
    assert http.get("/jobs").status_code == 200
    big = http.post("/jobs", content=b"x" * 200_000, headers=AUTH)
    assert big.status_code == 413 and "bytes" in big.json()["detail"]


BAD_FIELDS = [
    ({"name": "Bad Name"}, "name"),
    ({"name": "x" * 41}, "name"),
    ({"name": "../etc"}, "name"),
    ({"name": "-x"}, "name"),  # a name no request could then ask for
    ({"name": "mnist-classifier"}, "name"),  # the evaluation classifier's folder
    ({"epochs": 0}, "epochs"),
    ({"epochs": 501}, "epochs"),
    ({"batch_size": 0}, "batch_size"),
    ({"learning_rate": 0}, "learning_rate"),
    ({"beta_1": 1}, "beta_1"),
    ({"ema_decay": 1}, "ema_decay"),
    ({"top_k": 0}, "top_k"),
    ({"r1_gamma": -0.1}, "r1_gamma"),
    ({"epochs": 2, "lr_decay_epochs": 3}, "lr_decay_epochs"),  # longer than the run
    ({"mixed_precision": "float16"}, "mixed_precision"),
    ({"limit": 0}, "limit"),
    ({"seed": -1}, "seed"),
    ({"conditional": "maybe"}, "conditional"),
    ({"activate": 0}, "activate"),  # a boolean is true or false, not 0
    ({"checkpoint_every": 0}, "checkpoint_every"),
    ({"recipe": "best"}, "recipe"),
    ({"data": "/etc/passwd"}, "data"),  # clients never pass paths
    ({"out": "/tmp"}, "out"),
]


def test_each_bad_field_is_422_and_starts_nothing(http):
    total = http.get("/jobs").json()["total"]
    for change, field in BAD_FIELDS:
        response = http.post("/jobs", json={"name": "ok", **TINY, **change}, headers=AUTH)
        assert response.status_code == 422, change
        assert response.json()["detail"][0]["loc"] == ["body", field], response.json()
    missing = http.post("/jobs", json=TINY, headers=AUTH)
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "name"]
    assert http.get("/jobs").json()["total"] == total


def test_a_shipped_name_is_a_409_that_says_so(http):
    for body in ({"name": "dcgan"}, {"name": "dcgan", "conditional": True}):
        response = http.post("/jobs", json={**TINY, **body}, headers=AUTH)
        assert response.status_code == 409
        assert "'dcgan' is a shipped model" in response.json()["detail"]


def test_parameters_are_bounded(http):
    assert http.get("/jobs/abc").status_code == 422
    assert http.get("/jobs/0").status_code == 422
    assert http.get("/jobs/1_0").status_code == 422  # not job 10
    assert http.get("/jobs?limit=1_0").status_code == 422
    assert http.get("/jobs/999999").status_code == 404
    assert http.get(f"/jobs/{2**63}").status_code == 422
    assert http.get(f"/jobs?offset={2**63}").status_code == 422
    assert http.get("/jobs/1/samples/abc.png").status_code == 422
    assert http.get("/jobs/999999/samples/1.png").status_code == 404
    assert http.get("/jobs/1/samples/..%2F..%2Fjobs.db").status_code == 404
    job = create(http, epochs=1)
    wait_state(http, job["id"], {"succeeded", "failed"})
    for bad in (str(2**63), "+0.0", "1e3", "-1"):
        response = http.get(f"/jobs/{job['id']}/events", headers={"Last-Event-ID": bad})
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"] == ["header", "last-event-id"]
    assert http.get(f"/jobs/{job['id']}/events").status_code == 200


def test_a_hung_trainer_is_killed_after_the_grace_period_and_the_job_is_cancelled(http):
    job = create(http, epochs=50)
    running = next(e for e in iter_events(http, job["id"]) if e["data"].get("state") == "running")
    pid = running["data"]["pid"]
    wait_event(http, job["id"], "checkpoint")
    os.kill(pid, signal.SIGSTOP)  # it can no longer act on SIGTERM
    try:
        asked = time.monotonic()
        assert http.post(f"/jobs/{job['id']}/cancel", headers=AUTH).status_code == 200
        done = wait_state(http, job["id"], {"cancelled", "failed"}, timeout=GRACE + 5)
        took = time.monotonic() - asked
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert done["state"] == "cancelled" and done["resumable"], done
    assert done["error"] == f"its trainer still ran {GRACE} s after SIGTERM: killed"
    print(f"\nSIGSTOPped trainer: cancelled {took:.1f} s after the cancel (grace {GRACE} s)")


def poll_healthz(url: str, stop: threading.Event, latencies: list[float]) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            started = time.monotonic()
            assert client.get("/healthz").status_code == 200
            latencies.append(time.monotonic() - started)
            stop.wait(0.1)


def test_sqlite_locked_12_s_loses_no_job_and_never_stalls_healthz(service, http):
    """Another process holds jobs.db's write lock for 12 s while one job runs and the next is
    queued: both end as they would have, and /healthz answers throughout."""
    first = create(http, epochs=3)
    second = create(http, epochs=1)
    wait_event(http, first["id"], "epoch")
    stop, latencies = threading.Event(), []
    poller = threading.Thread(target=poll_healthz, args=(service["url"], stop, latencies))
    poller.start()
    try:
        with hold_sqlite_lock(Path(service["env"]["DCGAN_DATA_DIR"]) / "jobs.db", 12) as lock:
            refused = http.post("/jobs", json={"name": unique_name(), **TINY}, headers=AUTH)
            ready = http.get("/readyz")
            assert http.get(f"/jobs/{second['id']}").json()["state"] == "queued"  # reads go on
            lock.wait()
    finally:
        stop.set()
        poller.join(30)
    assert refused.status_code == 503 and "database is locked" in refused.json()["detail"]
    assert ready.status_code == 503 and "job database" in ready.json()["reason"]
    for job in (first, second):
        assert wait_state(http, job["id"], {"succeeded", "failed"})["state"] == "succeeded"
    assert http.get("/readyz").status_code == 200
    assert len(latencies) > 20 and max(latencies) < 5  # generous: the loop never waited on it
    print(
        f"\nSQLite locked 12 s: /healthz x{len(latencies)}, worst {max(latencies) * 1000:.0f} ms; "
        f"POST /jobs meanwhile {refused.status_code}; both jobs succeeded after the release"
    )
