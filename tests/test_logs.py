"""Log lines: JSON when asked (with request and job ids), X-Request-ID on every answer."""

from __future__ import annotations

import json
import logging
import re
import time

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.jobs.store import JobStore
from app.logs import JsonFormatter, RequestId, job_context, redact, request_id
from app.parts import worker_id
from tests.conftest import service_env, start_server, wait_ready

HEX_ID = re.compile(r"[0-9a-f]{32}")
# TensorFlow's C++ code writes its own lines (absl's format) to stderr, past Python's logging.
NATIVE = re.compile(r"[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\] |WARNING: All log messages before absl")


def record(message: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("app", logging.WARNING, __file__, 1, message, args, exc_info)


def test_json_lines_have_time_level_logger_message_and_the_ids_set():
    line = json.loads(JsonFormatter().format(record("job %d: %s", 7, "stopped")))
    assert line.keys() == {"time", "level", "logger", "message"}
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "app", "job 7: stopped")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])

    token = request_id.set("req-1")
    try:
        with job_context(7):
            inside = json.loads(JsonFormatter().format(record("in")))
        after = json.loads(JsonFormatter().format(record("after")))
    finally:
        request_id.reset(token)
    assert (inside["request_id"], inside["job_id"]) == ("req-1", 7)
    assert after["request_id"] == "req-1" and "job_id" not in after


def test_an_exception_is_one_line_with_its_traceback():
    try:
        raise ValueError("bad\nvalue")
    except ValueError as exc:
        text = JsonFormatter().format(record("failed", exc_info=(type(exc), exc, None)))
    assert "\n" not in text
    assert "ValueError: bad\nvalue" in json.loads(text)["exception"]


def test_a_sane_request_id_is_echoed_and_any_other_replaced(client):
    kept = client.get("/healthz", headers={"X-Request-ID": "abc-123.x:y"})
    assert kept.headers["x-request-id"] == "abc-123.x:y"
    assert HEX_ID.fullmatch(client.get("/healthz").headers["x-request-id"])
    for bad in ("", "a b", "x" * 129, "<script>"):
        answer = client.get("/healthz", headers={"X-Request-ID": bad})
        assert HEX_ID.fullmatch(answer.headers["x-request-id"]), bad
    assert client.get("/no/such/page").headers["x-request-id"]
    # refused by the Guard middleware before any route (413: the body is over the limit)
    refused = client.post("/jobs", content=b"x" * 70_000)
    assert refused.status_code == 413 and refused.headers["x-request-id"]


def test_an_unhandled_error_is_a_json_500_with_the_request_id():
    app = FastAPI()
    app.add_middleware(RequestId)

    @app.get("/boom")
    async def boom():
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as http:
        answer = http.get("/boom", headers={"X-Request-ID": "r-500"})
    assert answer.status_code == 500 and answer.headers["x-request-id"] == "r-500"
    assert answer.json() == {"detail": "internal error (request r-500)"}


@pytest.mark.slow
def test_a_json_server_writes_only_json_lines_with_request_and_job_ids(
    tmp_path, models_dir, mnist_path
):
    env = service_env(tmp_path, models_dir, mnist_path, "a-token")
    env |= {"DCGAN_LOG_FORMAT": "json", "DCGAN_ACCESS_LOG": "true"}
    # a job left running by this host's service before a restart: the runner recovers it
    store = JobStore(tmp_path / "data" / "jobs.db")
    job = store.create({"name": "left"})
    store.claim(worker_id("api"))
    store.close()
    proc, url = start_server(env)
    try:
        wait_ready(proc, url)
        answer = httpx.get(f"{url}/healthz", headers={"X-Request-ID": "probe-42"})
        assert answer.headers["x-request-id"] == "probe-42"
        deadline = time.monotonic() + 30
        while '"probe-42"' not in proc.log and time.monotonic() < deadline:
            time.sleep(0.1)  # the access line is read from the server's stderr as it comes
    finally:
        proc.kill()
        proc.wait()
    ours = [line for line in proc.log.splitlines() if line.strip() and not NATIVE.match(line)]
    lines = [json.loads(line) for line in ours]  # each one JSON
    assert any(line["logger"] == "uvicorn.error" for line in lines)  # uvicorn's own lines too
    access = [line for line in lines if line.get("request_id") == "probe-42"]
    assert [line["logger"] for line in access] == ["uvicorn.access"]
    assert (access[0]["method"], access[0]["path"], access[0]["status"]) == ("GET", "/healthz", 200)
    recovered = [line for line in lines if line.get("job_id") == job.id]
    assert any("recovering job" in line["message"] for line in recovered), lines


def test_paths_are_reduced_to_their_last_part():
    assert redact("No such file: /srv/models/x/1/model.json") == "No such file: …/model.json"
    assert (
        redact("../data/mnist.npz and keras.datasets.mnist")
        == "…/mnist.npz and keras.datasets.mnist"
    )
    assert redact("3/4 of 10.5/2") == "3/4 of 10.5/2"  # not paths
