"""The jobs API against a real uvicorn and real trainer processes (tiny runs)."""

import io
import json
import os
import signal
import time

import httpx
import pytest
from PIL import Image

from tests.conftest import service_env, start_server, wait_ready

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TINY = {"limit": 256, "batch_size": 64, "epochs": 2}


@pytest.fixture(scope="module")
def service(models_dir, mnist_path, tmp_path_factory):
    """A server with its own copy of the models folder and its own data folder."""
    root = tmp_path_factory.mktemp("jobs")
    env = service_env(root, models_dir, mnist_path, TOKEN)
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
    response = http.post("/jobs", json={"name": "dcgan", **TINY, **fields}, headers=AUTH)
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
    before = http.get("/generate?n=4&seed=1").headers["x-model"]
    job = create(http)
    events = sse(http, job["id"])
    ids = [int(e["id"]) for e in events]
    assert ids == list(range(1, len(ids) + 1))
    kinds = [e["event"] for e in events]
    assert kinds[:3] == ["state", "state", "start"] and kinds[-2:] == ["done", "state"]
    assert [e["data"]["epoch"] for e in events if e["event"] == "epoch"] == [1, 2]
    assert [e["data"]["state"] for e in events if e["event"] == "state"] == [
        "queued",
        "running",
        "succeeded",
    ]
    for epoch in (1, 2):
        png = http.get(f"/jobs/{job['id']}/samples/{epoch}.png")
        assert png.status_code == 200 and Image.open(io.BytesIO(png.content)).format == "PNG"
    gif = http.get(f"/jobs/{job['id']}/progress.gif")
    assert Image.open(io.BytesIO(gif.content)).n_frames == 2
    done = http.get(f"/jobs/{job['id']}").json()
    assert done["state"] == "succeeded" and done["model_version"] == "dcgan@3"
    assert done["progress"]["epoch"] == 2 and done["progress"]["images_per_sec"] > 0
    assert done["started_at"] <= done["finished_at"]
    # Without activate, an existing name keeps serving its active version.
    assert http.get("/generate?n=4&seed=1").headers["x-model"] == before == "dcgan@2"
    assert http.get("/generate?n=4&seed=1&model=dcgan@3").status_code == 200

    # Reconnecting with Last-Event-ID resends only what was missed.
    replay = sse(http, job["id"], after=ids[-3])
    assert [int(e["id"]) for e in replay] == ids[-2:]


def test_activate_switches_generate_to_the_new_version(http):
    job = create(http, activate=True, epochs=1)
    finished = wait_state(http, job["id"], {"succeeded", "failed"})
    assert finished["state"] == "succeeded", finished["error"]
    assert http.get("/generate?n=4&seed=1").headers["x-model"] == finished["model_version"]
    assert http.get("/models/dcgan").json()["active_version"] == int(
        finished["model_version"].split("@")[1]
    )


def test_cancel_checkpoints_and_resume_continues(http):
    job = create(http, epochs=50)
    wait_event(http, job["id"], "epoch")
    cancelling = http.post(f"/jobs/{job['id']}/cancel", headers=AUTH)
    assert cancelling.status_code == 200
    cancelled = wait_state(http, job["id"], {"cancelled", "failed"})
    assert cancelled["state"] == "cancelled", cancelled["error"]
    again = http.post(f"/jobs/{job['id']}/cancel", headers=AUTH)
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    last = int(sse(http, job["id"])[-1]["id"])  # the job has ended: the stream closes
    resumed = http.post(f"/jobs/{job['id']}/resume", headers=AUTH)
    assert resumed.status_code == 200 and resumed.json()["state"] == "queued"
    start = wait_event(http, job["id"], "start", after=last)
    assert start["data"]["start_epoch"] > 1  # continued from the checkpoint, not restarted
    http.post(f"/jobs/{job['id']}/cancel", headers=AUTH)
    assert wait_state(http, job["id"], {"cancelled", "failed"})["state"] == "cancelled"


def test_sigkilled_trainer_fails_the_job_with_the_reason(http):
    job = create(http, epochs=50)
    running = next(e for e in iter_events(http, job["id"]) if e["data"].get("state") == "running")
    wait_event(http, job["id"], "epoch")
    os.kill(running["data"]["pid"], signal.SIGKILL)
    failed = wait_state(http, job["id"], {"failed", "succeeded", "cancelled"})
    assert failed["state"] == "failed"
    assert failed["error"].startswith("trainer killed by SIGKILL")


def test_restart_marks_running_job_interrupted_and_resume_succeeds(service, http):
    job = create(http, epochs=3)
    wait_event(http, job["id"], "epoch")
    service["proc"].kill()  # the service dies; its trainer is told to checkpoint and stop
    service["proc"].wait()
    time.sleep(3)
    proc, url = start_server(service["env"])
    service["proc"], service["url"] = proc, url
    wait_ready(proc, url)
    with httpx.Client(base_url=url, timeout=30) as fresh:
        listed = fresh.get("/jobs").json()
        assert listed["total"] >= 5 and listed["jobs"][0]["id"] == job["id"]  # newest first
        assert [j["id"] for j in listed["jobs"]] == sorted(
            (j["id"] for j in listed["jobs"]), reverse=True
        )
        interrupted = fresh.get(f"/jobs/{job['id']}").json()
        assert interrupted["state"] == "interrupted"
        assert fresh.post(f"/jobs/{job['id']}/resume", headers=AUTH).status_code == 200
        assert wait_state(fresh, job["id"], {"succeeded", "failed"})["state"] == "succeeded"


def test_token_is_required_for_posts_only(http):
    body = {"name": "x", **TINY}
    assert http.post("/jobs", json=body).status_code == 401
    wrong = http.post("/jobs", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert http.post("/jobs/1/cancel").status_code == 401
    assert http.post("/jobs/1/resume", headers={"Authorization": TOKEN}).status_code == 401
    assert http.get("/jobs").status_code == 200 and http.get("/jobs/1").status_code == 200


BAD_FIELDS = [
    ({"name": "Bad Name"}, "name"),
    ({"name": "x" * 41}, "name"),
    ({"name": "../etc"}, "name"),
    ({"epochs": 0}, "epochs"),
    ({"epochs": 501}, "epochs"),
    ({"batch_size": 0}, "batch_size"),
    ({"learning_rate": 0}, "learning_rate"),
    ({"beta_1": 1}, "beta_1"),
    ({"mixed_precision": "float16"}, "mixed_precision"),
    ({"limit": 0}, "limit"),
    ({"seed": -1}, "seed"),
    ({"conditional": "maybe"}, "conditional"),
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


def test_path_parameters_are_validated(http):
    assert http.get("/jobs/abc").status_code == 422
    assert http.get("/jobs/0").status_code == 422
    assert http.get("/jobs/999999").status_code == 404
    assert http.get("/jobs/1/samples/abc.png").status_code == 422
    assert http.get("/jobs/1/samples/999.png").status_code == 404
    assert http.get("/jobs/1/samples/..%2F..%2Fjobs.db").status_code == 404
